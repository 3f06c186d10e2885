"""Validating and reading a tenant's labelled dataset: a zip of real/ and fake/ folders.

The archive is untrusted input. It is checked from its directory AND by reading every member with a hard cap,
because a zip's declared sizes can lie: traversal names, bombs (declared or actual sizes over the limit, or an
absurd compression ratio), members that do not read back as their headers say, non-images (magic bytes, a pixel
cap, then Pillow's verify and a full decode), empty classes and too many files are all refused with a message
that says what to fix.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

LABELS = {"real": 0, "fake": 1}  # the detectors' convention: 1 = synthetic
MAX_RATIO = 200  # image formats barely compress; a higher ratio is a bomb, not a photo
MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"RIFF": "WEBP", b"BM": "BMP", b"GIF8": "GIF"}
IGNORED = ("__MACOSX/", ".DS_Store", "Thumbs.db")


class DatasetError(ValueError):
    """The uploaded dataset is unusable; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class LabelledImage:
    name: str   # the member's name inside the zip
    label: int  # 0 real, 1 fake


def _label_of(name: str) -> int | None:
    """The label of the nearest real/ or fake/ folder in the member's path (any prefix allowed)."""
    for part in reversed(PurePosixPath(name).parts[:-1]):
        if part.lower() in LABELS:
            return LABELS[part.lower()]
    return None


def _check_name(name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DatasetError(f"unsafe path {name!r} in the zip (absolute or '..'): re-create the archive from "
                           "inside the dataset folder")


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """The member's bytes, refusing as soon as more than ``cap`` come out (declared sizes can lie)."""
    try:
        with zf.open(info) as fh:
            data = fh.read(cap + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        # a size or CRC that does not match the data, a cut-off member, an unknown compression or encryption
        raise DatasetError(f"{info.filename} cannot be read from the zip ({exc}): re-create the archive") from exc
    if len(data) > cap:
        raise DatasetError(f"{info.filename} expands beyond {cap:,} bytes: the zip looks like a decompression bomb")
    return data


def _check_image(name: str, data: bytes, max_pixels: int) -> None:
    if not any(data.startswith(magic) for magic in MAGIC) or (data.startswith(b"RIFF") and data[8:12] != b"WEBP"):
        raise DatasetError(f"{name} is not an image (JPEG, PNG, WebP, BMP or GIF expected): remove it from the zip")
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise DatasetError(f"{name} is {width}x{height} pixels, over the limit of {max_pixels:,}: "
                                   "downscale it before uploading")
            img.verify()  # structure and checksums (PNG CRCs)...
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # ...and every pixel: verify() does not decode, so a truncated JPEG would pass it
    except DatasetError:
        raise
    except Exception as exc:  # Pillow raises many types for broken files
        raise DatasetError(f"{name} is not a readable image ({exc}): remove or re-export it") from exc


def inspect_zip(path: Path, *, max_files: int, max_bytes: int, max_pixels: int,
                require: Sequence[str] = tuple(LABELS)) -> list[LabelledImage]:
    """The dataset's images with their labels, after validating the whole archive.

    ``require`` names the folders that must hold images: both for training data; only ``real`` for a
    calibration set, where known-synthetic images are optional.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetError(f"{Path(path).name} is not a readable zip ({exc}): upload a .zip of real/ and fake/ "
                           "folders") from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir() and not any(s in i.filename for s in IGNORED)]
        if len(infos) > max_files:
            raise DatasetError(f"the zip holds {len(infos):,} files, more than the limit of {max_files:,}: "
                               "upload fewer images")
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise DatasetError(f"the zip expands to {declared:,} bytes, more than the limit of {max_bytes:,}: "
                               "upload fewer or smaller images")
        members, total = [], 0
        for info in infos:
            _check_name(info.filename)
            label = _label_of(info.filename)
            if label is None:
                raise DatasetError(f"{info.filename} is in neither a real/ nor a fake/ folder: put every image "
                                   "under real/ or fake/")
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                raise DatasetError(f"{info.filename} compresses {info.file_size // info.compress_size}:1, "
                                   "which no image does: the zip looks like a decompression bomb")
            data = _read_capped(zf, info, min(info.file_size, max_bytes - total))
            total += len(data)
            _check_image(info.filename, data, max_pixels)
            members.append(LabelledImage(info.filename, label))
    for name in require:
        if not any(m.label == LABELS[name] for m in members):
            needs = " and ".join(f"{n}/" for n in require)
            raise DatasetError(f"the {name}/ folder is empty or missing: this upload needs images in {needs}")
    return sorted(members, key=lambda m: m.name)


def load_images(path: Path, members: Sequence[LabelledImage]) -> list[tuple[Image.Image, int]]:
    """The members decoded to RGB (call :func:`inspect_zip` first: this trusts its checks)."""
    with zipfile.ZipFile(path) as zf:
        return [(Image.open(io.BytesIO(zf.read(m.name))).convert("RGB"), m.label) for m in members]


def split_holdout(members: Sequence[LabelledImage], fraction: float = 0.25,
                  seed: int = 0) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """(train, holdout), stratified by label; the same members and seed give the same split on every machine."""
    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}")
    train: list[LabelledImage] = []
    holdout: list[LabelledImage] = []
    for label in sorted({m.label for m in members}):
        group = sorted((m for m in members if m.label == label), key=lambda m: m.name)
        key = hashlib.sha256(f"{seed}:{label}".encode()).digest()
        order = np.random.default_rng(int.from_bytes(key[:8], "big")).permutation(len(group))
        n_holdout = min(max(1, round(len(group) * fraction)), len(group) - 1) if len(group) > 1 else 0
        holdout += [group[i] for i in order[:n_holdout]]
        train += [group[i] for i in order[n_holdout:]]
    return sorted(train, key=lambda m: m.name), sorted(holdout, key=lambda m: m.name)
