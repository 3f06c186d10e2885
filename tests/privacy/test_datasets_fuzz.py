"""Dataset zips broken at random: read, or refused with a DatasetError that says why; never another exception."""
from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given

from privacy.datasets import DatasetError, inspect_zip
from tests.support.fuzz import FUZZ, broken
from tests.support.media import jpeg_bytes, png_bytes

LIMITS = {"max_files": 100, "max_bytes": 10_000_000, "max_pixels": 4_000_000}


def _zip(compression: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        zf.writestr("data/real/a.jpg", jpeg_bytes(seed=1, size=(32, 32)))
        zf.writestr("data/fake/b.png", png_bytes(seed=2, size=(32, 32)))
    return buffer.getvalue()


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_broken_zips_are_read_or_refused_with_a_reason(tmp_path, compression: int) -> None:
    path = tmp_path / "fuzz.zip"

    @FUZZ
    @given(data=broken(_zip(compression)))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            members = inspect_zip(path, **LIMITS)
        except DatasetError as exc:
            assert str(exc)
        else:
            assert {m.label for m in members} == {0, 1}

    check()
