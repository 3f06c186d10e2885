"""Content-addressed file storage under MEDIA_ROOT.

Uploads are first streamed into a staging file (hashing as they go and
stopping at the size limit), and only moved to ``blobs/ab/cd/<sha256>`` once
they passed validation. Identical bytes are stored once.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from forensics.ingest.errors import EmptyInput, TooLarge

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class StagedFile:
    path: Path
    sha256: str
    size: int


def _human(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def stage_chunks(chunks: Iterable[bytes], media_root: Path, max_bytes: int) -> StagedFile:
    """Write ``chunks`` to a staging file, refusing more than ``max_bytes``."""
    staging = media_root / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(dir=staging, prefix="upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(
                        f"The file is larger than the limit of {_human(max_bytes)} "
                        "(FORENSICS_MAX_UPLOAD_BYTES)."
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise EmptyInput("The file is empty (0 bytes).")
    return StagedFile(path=path, sha256=digest.hexdigest(), size=size)


def read_chunks(path: Path) -> Iterable[bytes]:
    with path.open("rb") as src:
        while chunk := src.read(CHUNK_BYTES):
            yield chunk


def blob_relpath(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def commit_blob(staged: StagedFile, media_root: Path) -> str:
    """Move a validated staging file to its content address; returns the relative path."""
    rel = blob_relpath(staged.sha256)
    target = media_root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        staged.path.unlink(missing_ok=True)
    else:
        os.replace(staged.path, target)
        target.chmod(0o440)
    return rel


def discard(staged: StagedFile) -> None:
    staged.path.unlink(missing_ok=True)
