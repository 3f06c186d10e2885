"""The JSON manifest written beside every batch of generated fakes.

A manifest answers, for any fake in a detector's training set: which
generator family and checkpoint (by sha256) made it, with which config and
seed, and from which real data the generator learned. That is what a
detector's model card needs for "generators seen" and for leave-one-
generator-out evaluation.
"""
from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from detectors.generators.common import sha256_file, write_json

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = "forensics.generators.manifest/1"

FORMAT_NOTE = (
    "Fakes are saved as lossless PNG. Before training or evaluating a detector, give reals and "
    "fakes the same format, size and compression history (FIELD_NOTES: format shortcuts)."
)


def write_manifest(
    out_dir: str | os.PathLike[str],
    *,
    family: str,
    config: Mapping[str, Any],
    seed: int,
    checkpoint: str | os.PathLike[str] | None,
    outputs: Sequence[str | os.PathLike[str]],
    source_dir: str | os.PathLike[str] | None,
    source_items: int | None,
    extra: Mapping[str, Any] | None = None,
    checkpoint_sha256: str | None = None,
    hash_outputs: bool = True,
) -> Path:
    """Write ``out_dir/manifest.json`` and return its path.

    ``outputs`` are listed by file name (relative to ``out_dir`` when inside it)
    with their own sha256, so a later tampering or re-encoding is detectable.
    """
    out = Path(out_dir)
    files = []
    for item in outputs:
        p = Path(item)
        try:
            name = str(p.resolve().relative_to(out.resolve()))
        except ValueError:
            name = str(p)
        entry: dict[str, Any] = {"file": name}
        if hash_outputs and p.is_file():
            entry["sha256"] = sha256_file(p)
        files.append(entry)
    ckpt_hash = checkpoint_sha256
    if ckpt_hash is None and checkpoint is not None and Path(checkpoint).is_file():
        ckpt_hash = sha256_file(checkpoint)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "family": family,
        "label": "synthetic",
        "config": dict(config),
        "seed": int(seed),
        "checkpoint": {"path": str(checkpoint) if checkpoint is not None else None, "sha256": ckpt_hash},
        "count": len(files),
        "files": files,
        "format": "png",
        "format_note": FORMAT_NOTE,
        "source_data": {
            "dir": str(source_dir) if source_dir is not None else None,
            "items": source_items,
        },
        "software": {"torch": torch.__version__, "python": platform.python_version()},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "extra": dict(extra or {}),
    }
    return write_json(out / MANIFEST_NAME, manifest)
