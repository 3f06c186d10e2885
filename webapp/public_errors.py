"""Error text that users see (API problem details, job errors, the console) carries no server paths.

Libraries put the file they were reading into their messages (FFmpeg: ``Invalid data found when processing
input: '/srv/var/media/staging/upload-3f…'``). Those messages are useful, the directory layout of the server
is not: every absolute path is cut to its last part. The full text stays in the server's log.
"""
from __future__ import annotations

import re

# An absolute POSIX path with at least one directory: /a/b, '/srv/x y' is cut at the space.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])/(?:[^\s'\"/:,()]+/)+([^\s'\"/:,()]*)")


def scrub_paths(text: str) -> str:
    """``text`` with each absolute path replaced by its file name."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "…", text)


def public_reason(exc: BaseException) -> str:
    """``Type: message`` for people, without server paths (FFmpeg and OS errors keep their ``strerror``)."""
    return scrub_paths(f"{type(exc).__name__}: {exc}")


def public_detail(exc: BaseException) -> str:
    """The message alone, without server paths."""
    strerror = getattr(exc, "strerror", None)
    return scrub_paths(str(strerror) if strerror else str(exc))
