"""Ingest (sniff + probe) on broken images, videos and texts: accepted or refused with an IngestError, never
another exception, and a refusal leaves no row and no file."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from forensics import services
from forensics.ingest.errors import IngestError
from forensics.models import Analysis, MediaItem
from tests.support.fuzz import FUZZ, broken
from tests.support.media import jpeg_bytes, mp4_bytes, png_bytes

SEEDS = {
    "jpeg": jpeg_bytes(seed=5, size=(48, 32)),
    "png": png_bytes(seed=5, size=(32, 32)),
    "mp4": mp4_bytes(frames=6, size=(32, 32)),
    "text": "Ein kurzer Text über nichts.\n".encode() * 4,
}


def _staged() -> list[Path]:
    staging = Path(settings.MEDIA_ROOT) / "staging"
    return sorted(staging.iterdir()) if staging.exists() else []


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_broken_uploads_are_accepted_or_refused_cleanly(actor, kind: str) -> None:
    @FUZZ
    @given(data=broken(SEEDS[kind]))
    def check(data: bytes) -> None:
        before = (MediaItem.objects.count(), Analysis.objects.count())
        try:
            services.submit_chunks(actor, [data], original_name=f"fuzz.{kind}")
        except IngestError as exc:
            assert 400 <= exc.status < 500 and exc.detail
            assert (MediaItem.objects.count(), Analysis.objects.count()) == before
        assert _staged() == []

    check()


@FUZZ
@given(data=st.binary(max_size=512))
def test_arbitrary_bytes_are_accepted_or_refused_cleanly(actor, data: bytes) -> None:
    try:
        services.submit_chunks(actor, [data])
    except IngestError as exc:
        assert 400 <= exc.status < 500
    assert _staged() == []
