"""Open each accepted file for real, so truncated files, decompression bombs
and over-long videos are refused at the door rather than in a worker."""
from __future__ import annotations

import codecs
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

from detectors.base import MediaType
from forensics.ingest.errors import CorruptMedia, EmptyInput, TooLarge, UnsupportedMedia
from forensics.ingest.sniff import Sniffed
from webapp.public_errors import public_detail

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_image_pixels: int
    max_video_seconds: float
    max_text_chars: int


def decode_text(data: bytes) -> str | None:
    """The text if ``data`` is UTF-8 without NUL bytes, else None."""
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def starts_like_text(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) is UTF-8 without NUL bytes, allowing a character cut in
    two at its end: how a text too large to read whole is still recognised as text."""
    if not head or b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def probe(path: Path, sniffed: Sniffed, limits: Limits) -> dict[str, Any]:
    """Validate the file fully and return its properties (dimensions, duration, ...)."""
    if sniffed.media_type is MediaType.IMAGE:
        return probe_image(path, limits)
    if sniffed.media_type is MediaType.VIDEO:
        return probe_video(path, limits)
    return probe_text(path.read_bytes(), limits)


def probe_image(path: Path, limits: Limits) -> dict[str, Any]:
    # Pillow's own guard (checked at open) uses the same limit as ours.
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                pixels = width * height
                if pixels > limits.max_image_pixels:
                    raise TooLarge(
                        f"The image is {width}×{height} = {pixels / 1e6:.1f} megapixels; the limit is "
                        f"{limits.max_image_pixels / 1e6:.1f} (FORENSICS_MAX_IMAGE_PIXELS). "
                        "Very large images are refused to protect against decompression bombs."
                    )
                fmt = img.format
                mode = img.mode
                frames = getattr(img, "n_frames", 1)
                img.load()  # decodes every byte: a truncated file fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge(
            f"The image has more pixels than the limit of {limits.max_image_pixels / 1e6:.1f} megapixels "
            f"(FORENSICS_MAX_IMAGE_PIXELS) and is refused as a possible decompression bomb ({public_detail(exc)})."
        ) from None
    except UnidentifiedImageError:
        raise CorruptMedia("The file has an image signature but could not be decoded.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptMedia(f"The image is truncated or corrupt ({public_detail(exc)}).") from None
    return {"width": width, "height": height, "format": fmt, "mode": mode, "frames": frames}


def probe_video(path: Path, limits: Limits) -> dict[str, Any]:
    import av  # imported here: only video needs FFmpeg

    try:
        with av.open(str(path)) as container:
            streams = container.streams.video
            if not streams and container.streams.audio:
                raise UnsupportedMedia("The container has no video stream (audio-only files are not supported).")
            if not streams:  # no stream of any kind: the index (an MP4's moov box) is cut off or broken
                raise CorruptMedia("The video is truncated or corrupt (no readable stream in the container).")
            stream = streams[0]
            duration = _video_seconds(container, stream)
            if duration is not None and duration > limits.max_video_seconds:
                raise TooLarge(
                    f"The video is {duration:.0f} s long; the limit is {limits.max_video_seconds:.0f} s "
                    "(FORENSICS_MAX_VIDEO_SECONDS)."
                )
            first = next(container.decode(stream), None)
            if first is None:
                raise CorruptMedia("The video has no decodable frame.")
            if duration is None:  # no duration in the container (Matroska can omit it): measure, up to the limit
                duration = _measured_seconds(container, stream, limits.max_video_seconds)
                if duration > limits.max_video_seconds:
                    raise TooLarge(
                        f"The video is longer than the limit of {limits.max_video_seconds:.0f} s "
                        "(FORENSICS_MAX_VIDEO_SECONDS); its container does not state a duration, so it was measured."
                    )
            width, height = first.width, first.height
            if width * height > limits.max_image_pixels:
                raise TooLarge(f"Video frames of {width}×{height} exceed the pixel limit.")
            rate = stream.average_rate or stream.base_rate
            return {
                "width": width,
                "height": height,
                "duration_seconds": round(duration, 3) if duration is not None else None,
                "fps": round(float(rate), 3) if rate else None,
                "frames": stream.frames or None,
                "codec": stream.codec_context.name,
                "container": container.format.name,
            }
    except (UnsupportedMedia, TooLarge, CorruptMedia):
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise CorruptMedia(f"The video is truncated or corrupt ({public_detail(exc)}).") from None


def _measured_seconds(container: InputContainer, stream: VideoStream, limit: float) -> float:
    """The video's length from its packets' timestamps (no decoding), stopping as soon as it passes ``limit``;
    without timestamps, from the packet count and the frame rate (a rate of 1 fps if none is stated)."""
    rate = float(stream.average_rate or stream.base_rate or 1)
    end, packets = 0.0, 0
    for packet in container.demux(stream):
        if packet.size == 0:  # the demuxer's final empty packet
            continue
        packets += 1
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        seconds = max(end, packets / rate)
        if seconds > limit:
            return seconds
    return max(end, packets / rate)


def _video_seconds(container: InputContainer, stream: VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def probe_text(data: bytes, limits: Limits) -> dict[str, Any]:
    text = decode_text(data)
    if text is None:
        raise UnsupportedMedia("Text must be UTF-8 without NUL bytes.")
    return text_properties(text, limits)


def text_properties(text: str, limits: Limits) -> dict[str, Any]:
    if not text.strip():
        raise EmptyInput("The text is empty or only whitespace.")
    if len(text) > limits.max_text_chars:
        raise TooLarge(
            f"The text has {len(text)} characters; the limit is {limits.max_text_chars} (FORENSICS_MAX_TEXT_CHARS)."
        )
    return {"characters": len(text), "words": len(text.split()), "lines": text.count("\n") + 1}
