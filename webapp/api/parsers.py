"""Request body parsers that refuse hostile JSON with a 400 instead of failing with a 500."""
from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSONParser, plus: a document nested so deeply that the decoder runs out of stack
    (``[[[[...`` 100,000 levels) is a parse error, not a ``RecursionError``."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:  # type: ignore[no-untyped-def]
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply") from None
