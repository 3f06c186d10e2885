"""Why an upload was refused, with the HTTP status the API answers and a hint for the user."""
from __future__ import annotations


class IngestError(Exception):
    """A file or text we will not analyse. ``str(err)`` is the one-line reason."""

    status = 400
    code = "invalid_media"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class EmptyInput(IngestError):
    code = "empty_input"


class UnsupportedMedia(IngestError):
    status = 415
    code = "unsupported_media_type"


class TooLarge(IngestError):
    status = 413
    code = "too_large"


class CorruptMedia(IngestError):
    status = 422
    code = "corrupt_media"
