import pytest

from detectors.base import MediaType
from forensics.ingest.errors import EmptyInput, UnsupportedMedia
from forensics.ingest.sniff import sniff
from tests.support.media import jpeg_bytes, mp4_bytes, png_bytes


@pytest.mark.parametrize(
    "head, media_type, mime",
    [
        (jpeg_bytes()[:64], MediaType.IMAGE, "image/jpeg"),
        (png_bytes()[:64], MediaType.IMAGE, "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", MediaType.IMAGE, "image/webp"),
        (b"GIF89a\x01\x00", MediaType.IMAGE, "image/gif"),
        (mp4_bytes(frames=2)[:64], MediaType.VIDEO, "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", MediaType.VIDEO, "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x01\x00webm", MediaType.VIDEO, "video/webm"),
    ],
)
def test_sniff_reads_signatures_not_names(head: bytes, media_type: MediaType, mime: str) -> None:
    sniffed = sniff(head, looks_like_text=False)
    assert (sniffed.media_type, sniffed.mime_type) == (media_type, mime)


def test_text_has_no_signature_and_is_decided_by_the_caller() -> None:
    assert sniff(b"hello", looks_like_text=True).media_type is MediaType.TEXT
    with pytest.raises(UnsupportedMedia):
        sniff(b"\x7fELF\x02\x01", looks_like_text=False)


def test_heic_is_refused_with_advice() -> None:
    with pytest.raises(UnsupportedMedia, match="convert to JPEG"):
        sniff(b"\x00\x00\x00\x18ftypheic", looks_like_text=False)


def test_empty() -> None:
    with pytest.raises(EmptyInput):
        sniff(b"", looks_like_text=True)
