"""Tell the real media type from the bytes, never from the file name or the
client's Content-Type (both are attacker-controlled)."""
from __future__ import annotations

from dataclasses import dataclass

from detectors.base import MediaType
from forensics.ingest.errors import EmptyInput, UnsupportedMedia

# How many leading bytes sniffing needs.
SNIFF_BYTES = 64

_MP4_BRANDS_QUICKTIME = {b"qt  "}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif"}


@dataclass(frozen=True)
class Sniffed:
    media_type: MediaType
    mime_type: str


def sniff(head: bytes, *, looks_like_text: bool) -> Sniffed:
    """Classify a file by its first bytes.

    ``looks_like_text`` is decided by the caller over the whole file (valid
    UTF-8, no NUL bytes), because a text file has no signature.
    """
    if not head:
        raise EmptyInput("The file is empty (0 bytes).")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(MediaType.IMAGE, "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(MediaType.IMAGE, "image/png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(MediaType.IMAGE, "image/webp")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed(MediaType.IMAGE, "image/gif")
    if head.startswith(b"BM"):
        return Sniffed(MediaType.IMAGE, "image/bmp")
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return Sniffed(MediaType.IMAGE, "image/tiff")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            raise UnsupportedMedia("HEIC/HEIF/AVIF images are not supported yet; convert to JPEG or PNG.")
        if brand in _MP4_BRANDS_QUICKTIME:
            return Sniffed(MediaType.VIDEO, "video/quicktime")
        return Sniffed(MediaType.VIDEO, "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed(MediaType.VIDEO, "video/webm" if b"webm" in head else "video/x-matroska")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed(MediaType.VIDEO, "video/x-msvideo")
    if looks_like_text:
        return Sniffed(MediaType.TEXT, "text/plain")
    raise UnsupportedMedia(
        "Unsupported file type: not a JPEG, PNG, WebP, GIF, BMP or TIFF image, an MP4, MOV, WebM, MKV "
        "or AVI video, or UTF-8 text."
    )
