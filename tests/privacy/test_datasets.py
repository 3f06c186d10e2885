"""A tenant's dataset zip: a good one is read with its labels; unsafe or unusable ones are refused clearly."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from privacy.datasets import DatasetError, inspect_zip, load_images, split_holdout
from tests.support.media import png_bytes, png_header_only
from tests.support.privacy_data import make_labelled_zip

LIMITS = {"max_files": 100, "max_bytes": 10_000_000, "max_pixels": 4_000_000}


def _zip(tmp_path: Path, entries: dict[str, bytes], name: str = "bad.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in entries.items():
            zf.writestr(member, data)
    return path


def test_good_zip_gives_labelled_images_and_a_stratified_split(tmp_path):
    path = make_labelled_zip(tmp_path / "data.zip", 8, 6, seed=3)
    members = inspect_zip(path, **LIMITS)
    assert [m.label for m in members].count(0) == 8 and [m.label for m in members].count(1) == 6
    assert all(m.name.startswith("dataset/") for m in members)  # any folder prefix is accepted
    train, holdout = split_holdout(members, 0.25, seed=1)
    assert sorted(train + holdout, key=lambda m: m.name) == members
    assert [m.label for m in holdout].count(0) == 2 and [m.label for m in holdout].count(1) == 2
    assert split_holdout(members, 0.25, seed=1) == (train, holdout)
    images = load_images(path, holdout)
    assert [label for _, label in images] == [m.label for m in holdout] and images[0][0].mode == "RGB"


def test_the_helper_zip_is_reproducible(tmp_path):
    a = make_labelled_zip(tmp_path / "a.zip", 4, 4, seed=7).read_bytes()
    assert a == make_labelled_zip(tmp_path / "b.zip", 4, 4, seed=7).read_bytes()


def test_path_traversal_is_refused(tmp_path):
    path = _zip(tmp_path, {"real/a.png": png_bytes(1), "fake/../../etc/b.png": png_bytes(2)})
    with pytest.raises(DatasetError, match="unsafe path"):
        inspect_zip(path, **LIMITS)


def test_zip_bomb_is_refused_by_ratio_and_by_size(tmp_path):
    bomb = _zip(tmp_path, {"real/a.png": png_bytes(1), "fake/b.png": b"\x89PNG\r\n\x1a\n" + bytes(5_000_000)})
    with pytest.raises(DatasetError, match="decompression bomb"):
        inspect_zip(bomb, **LIMITS)
    with pytest.raises(DatasetError, match="limit of 1,000"):
        inspect_zip(bomb, **{**LIMITS, "max_bytes": 1_000})


def test_pixel_bomb_is_refused(tmp_path):
    path = _zip(tmp_path, {"real/a.png": png_bytes(1), "fake/huge.png": png_header_only(5000, 5000)})
    with pytest.raises(DatasetError, match="pixels, over the limit"):
        inspect_zip(path, **LIMITS)


def test_non_image_is_refused(tmp_path):
    path = _zip(tmp_path, {"real/a.png": png_bytes(1), "fake/notes.png": b"#!/bin/sh\nrm -rf /\n"})
    with pytest.raises(DatasetError, match="not an image"):
        inspect_zip(path, **LIMITS)
    truncated = _zip(tmp_path, {"real/a.png": png_bytes(1), "fake/cut.png": png_bytes(2)[:60]}, "cut.zip")
    with pytest.raises(DatasetError, match="not a readable image"):
        inspect_zip(truncated, **LIMITS)


def test_empty_class_and_unlabelled_files_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="fake/ folder is empty"):
        inspect_zip(_zip(tmp_path, {"real/a.png": png_bytes(1)}), **LIMITS)
    with pytest.raises(DatasetError, match="neither a real/ nor a fake/"):
        inspect_zip(_zip(tmp_path, {"real/a.png": png_bytes(1), "other/b.png": png_bytes(2)}, "u.zip"), **LIMITS)


def test_too_many_files_and_not_a_zip_are_refused(tmp_path):
    entries = {f"real/{i}.png": png_bytes(i) for i in range(3)} | {f"fake/{i}.png": png_bytes(9 + i) for i in range(3)}
    with pytest.raises(DatasetError, match="more than the limit of 5"):
        inspect_zip(_zip(tmp_path, entries), **{**LIMITS, "max_files": 5})
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(io.BytesIO(b"plain text").getvalue())
    with pytest.raises(DatasetError, match="not a readable zip"):
        inspect_zip(not_zip, **LIMITS)


def _lying_size_zip(tmp_path: Path) -> Path:
    """A stored member whose central-directory size says 10 bytes while the data is a whole PNG."""
    path = _zip(tmp_path, {}, "lying.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("real/a.png", png_bytes(seed=1))
        zf.writestr("fake/b.png", png_bytes(seed=2))
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")  # the first member's central-directory record
    raw[central + 24:central + 28] = (10).to_bytes(4, "little")  # its uncompressed size
    path.write_bytes(bytes(raw))
    return path


def test_a_zip_with_a_lying_size_header_is_refused_not_a_crash(tmp_path):
    with pytest.raises(DatasetError, match="real/a.png cannot be read from the zip"):
        inspect_zip(_lying_size_zip(tmp_path), **LIMITS)


def test_a_truncated_jpeg_is_refused_at_validation(tmp_path):
    """Pillow's verify() does not decode JPEG data, so only a full decode finds the missing half."""
    from tests.support.media import jpeg_bytes

    whole = jpeg_bytes(seed=3, size=(128, 96))
    path = _zip(tmp_path, {"real/cut.jpg": whole[: len(whole) // 2], "fake/b.png": png_bytes(seed=2)})
    with pytest.raises(DatasetError, match="real/cut.jpg is not a readable image"):
        inspect_zip(path, **LIMITS)
