"""Bad input gets a clear error and leaves nothing half-created behind."""
from pathlib import Path

import pytest
from django.conf import settings

from forensics import services
from forensics.ingest.errors import CorruptMedia, EmptyInput, IngestError, TooLarge, UnsupportedMedia
from forensics.models import Analysis, MediaItem
from provenance.models import AuditEvent
from tests.support.media import jpeg_bytes, mp4_bytes, png_header_only


def assert_nothing_recorded() -> None:
    assert MediaItem.objects.count() == 0
    assert Analysis.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    staging = Path(settings.MEDIA_ROOT) / "staging"
    assert not staging.exists() or not any(staging.iterdir())


@pytest.mark.parametrize(
    "data, error, message",
    [
        (b"", EmptyInput, "empty"),
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100, UnsupportedMedia, "Unsupported file type"),
        (jpeg_bytes()[:400], CorruptMedia, "truncated"),
        (png_header_only(12000, 12000), TooLarge, "decompression bomb"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50, CorruptMedia, "decoded|truncated|corrupt"),
        (mp4_bytes()[:300], CorruptMedia, "video"),
    ],
    ids=["empty", "executable", "truncated-jpeg", "pixel-bomb", "fake-jpeg-header", "truncated-mp4"],
)
def test_bad_files_are_refused_cleanly(actor, eager_celery, data: bytes, error: type[IngestError], message: str) -> None:
    with pytest.raises(error, match=message):
        services.submit_chunks(actor, [data], original_name="upload.bin")
    assert_nothing_recorded()


def test_size_limit_is_enforced_while_streaming(actor, settings) -> None:
    settings.FORENSICS_MAX_UPLOAD_BYTES = 1000
    chunks_read = []

    def chunks():
        for i in range(100):
            chunks_read.append(i)
            yield b"x" * 500

    with pytest.raises(TooLarge, match="FORENSICS_MAX_UPLOAD_BYTES"):
        services.submit_chunks(actor, chunks())
    assert len(chunks_read) == 3  # stopped as soon as the limit was crossed
    assert_nothing_recorded()


@pytest.mark.parametrize("text, error", [("", EmptyInput), ("   \n\t ", EmptyInput), ("x" * 101, TooLarge)])
def test_bad_text_is_refused(actor, settings, text: str, error: type[IngestError]) -> None:
    settings.FORENSICS_MAX_TEXT_CHARS = 100
    with pytest.raises(error):
        services.submit_text(actor, text)
    assert_nothing_recorded()


def test_non_utf8_text_file_is_refused(actor) -> None:
    with pytest.raises(UnsupportedMedia):
        services.submit_chunks(actor, ["café".encode("latin-1") * 3])
    assert_nothing_recorded()


def test_same_bytes_are_stored_once_and_analysed_twice(actor, eager_celery) -> None:
    data = jpeg_bytes(seed=3)
    first = services.submit_chunks(actor, [data], original_name="a.jpg")
    second = services.submit_chunks(actor, [data], original_name="copy.jpg")
    assert first.item_id == second.item_id
    assert MediaItem.objects.count() == 1 and Analysis.objects.count() == 2
    blob = Path(settings.MEDIA_ROOT) / first.item.storage_path
    assert blob.read_bytes() == data
    assert blob.name == first.item.sha256


def test_file_name_does_not_decide_the_type(actor, eager_celery) -> None:
    analysis = services.submit_chunks(actor, [jpeg_bytes()], original_name="notes.txt")
    assert analysis.item.media_type == "image" and analysis.item.mime_type == "image/jpeg"


def test_video_properties_are_probed(actor, eager_celery) -> None:
    analysis = services.submit_chunks(actor, [mp4_bytes(frames=24, fps=12)], original_name="clip.mp4")
    props = analysis.item.properties
    assert (props["width"], props["height"]) == (64, 48)
    assert props["duration_seconds"] == pytest.approx(2.0, abs=0.1)
    assert props["fps"] == pytest.approx(12.0)


def test_overlong_video_is_refused(actor, settings) -> None:
    settings.FORENSICS_MAX_VIDEO_SECONDS = 1.0
    with pytest.raises(TooLarge, match="FORENSICS_MAX_VIDEO_SECONDS"):
        services.submit_chunks(actor, [mp4_bytes(frames=24, fps=12)])
    assert_nothing_recorded()


def test_a_video_without_a_stated_duration_is_measured_against_the_limit(actor, settings) -> None:
    """Matroska may omit its duration; such a video used to pass the duration limit with duration null."""
    from tests.support.media import mkv_without_duration

    settings.FORENSICS_MAX_VIDEO_SECONDS = 2
    with pytest.raises(TooLarge, match="FORENSICS_MAX_VIDEO_SECONDS"):
        services.submit_chunks(actor, [mkv_without_duration(seconds=4)], original_name="long.mkv")
    assert_nothing_recorded()
    short = services.submit_chunks(actor, [mkv_without_duration(seconds=1)], original_name="short.mkv")
    assert short.item.properties["duration_seconds"] == pytest.approx(1.0, abs=0.2)
