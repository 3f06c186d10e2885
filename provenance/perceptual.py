"""PDQ perceptual hashes for images and sampled video frames.

Why PDQ: it is the open perceptual hash that trust-and-safety platforms already
exchange (Meta's ThreatExchange, the Tech Coalition's hash lists). A 256-bit PDQ
hash survives re-encoding and resizing, so it finds a re-upload of known media
that a byte hash (SHA-256) misses. It does not survive crops, rotations or heavy
edits, and a distance is evidence of similarity, never of authenticity.

This module is pure Python on top of `pdqhash` (Meta's C++ reference code behind
a Cython binding), Pillow and PyAV; it imports nothing from Django.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import numpy as np
from PIL import Image, ImageOps

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

# The two thresholds every caller must agree on live here and nowhere else.
#: Hamming distance (out of 256 bits) at or below which two PDQ hashes are
#: treated as the same picture; the value Meta recommends for PDQ matching.
MATCH_THRESHOLD: int = 31
#: PDQ quality at or below which a hash is too unreliable to match on (flat or
#: near-uniform images give unstable hashes); Meta's reference tools discard these.
MIN_QUALITY: int = 49
#: Number of bits in a PDQ hash and characters in its hex form.
HASH_BITS: int = 256
HEX_LENGTH: int = HASH_BITS // 4
#: Longest side images are reduced to before hashing. PDQ itself downsamples to
#: 64x64 through a Jarosz filter, so hashing a 4000 px photo costs time without
#: changing the hash in any way that matters (distance stays in single digits).
MAX_SIDE: int = 512

ImageSource = Union[str, "os.PathLike[str]", Image.Image]


@dataclass(frozen=True)
class PdqHash:
    """A PDQ hash in Meta's canonical hex form (64 hex chars, bit 255 first) and its quality (0-100)."""

    hex: str
    quality: int

    @property
    def usable(self) -> bool:
        """True when the quality is high enough to match on (strictly above MIN_QUALITY)."""
        return self.quality > MIN_QUALITY


@dataclass(frozen=True)
class FramePdq:
    """The PDQ hash of one decoded video frame: where it is (index, seconds) and the hash."""

    frame_index: int
    timestamp: float
    hash: str
    quality: int

    @property
    def usable(self) -> bool:
        return self.quality > MIN_QUALITY


def _pil_to_rgb_array(image: Image.Image) -> np.ndarray:
    """Normalise any Pillow image to an upright RGB uint8 array no larger than MAX_SIDE.

    EXIF orientation is applied so a phone photo hashes as it is displayed; alpha
    is composited on white so transparent PNGs hash as a viewer would show them.
    """
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _bits_to_hex(bits: np.ndarray) -> str:
    """pdqhash returns 256 bits with bit 255 first; packing MSB-first gives the canonical hex."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def pdq_array(rgb: np.ndarray) -> PdqHash:
    """PDQ hash of an RGB uint8 array of shape (H, W, 3)."""
    import pdqhash  # imported lazily: a compiled extension, optional for the rest of the package

    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB array of shape (H, W, 3), got {rgb.shape}")
    if rgb.dtype != np.uint8:
        rgb = rgb.astype(np.uint8)
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return PdqHash(hex=_bits_to_hex(bits), quality=int(quality))


def pdq_image(source: ImageSource) -> PdqHash:
    """PDQ hash of an image given as a path or an open Pillow image.

    Raises whatever Pillow raises for unreadable files (callers decide whether a
    broken upload is an error or just "no hash").
    """
    if isinstance(source, Image.Image):
        return pdq_array(_pil_to_rgb_array(source))
    with Image.open(source) as image:
        return pdq_array(_pil_to_rgb_array(image))


def _normalise_hex(value: str | PdqHash | bytes) -> int:
    if isinstance(value, PdqHash):
        value = value.hex
    if isinstance(value, bytes):
        if len(value) != HASH_BITS // 8:
            raise ValueError(f"a PDQ hash is {HASH_BITS // 8} bytes, got {len(value)}")
        return int.from_bytes(value, "big")
    text = value.strip().lower()
    if len(text) != HEX_LENGTH:
        raise ValueError(f"a PDQ hash is {HEX_LENGTH} hex characters, got {len(text)}")
    return int(text, 16)


def hamming(a: str | PdqHash | bytes, b: str | PdqHash | bytes) -> int:
    """Number of differing bits between two PDQ hashes (hex strings, raw 32 bytes or PdqHash)."""
    return (_normalise_hex(a) ^ _normalise_hex(b)).bit_count()


def is_match(a: str | PdqHash | bytes, b: str | PdqHash | bytes, threshold: int = MATCH_THRESHOLD) -> bool:
    """True when two hashes are within the match threshold (inclusive)."""
    return hamming(a, b) <= threshold


def pdq_video(
    path: str | os.PathLike[str],
    *,
    num_frames: int = 16,
    fps: float | None = None,
    max_frames: int = 600,
) -> list[FramePdq]:
    """PDQ hashes of frames sampled from a video, decoded with PyAV.

    Sampling: with ``fps`` set, one frame per ``1/fps`` seconds (capped at
    ``max_frames``); otherwise ``num_frames`` frames spread evenly over the
    duration. Frames are decoded sequentially and the first frame at or after
    each target time is hashed, which is exact on any codec (seeking lands on
    key frames only). Why per frame: a re-upload is often a trimmed or
    re-encoded clip, so matching works frame against frame, not file against file.

    Returns an empty list for a file with no video stream.
    """
    import av  # PyAV; imported lazily so image-only callers never load FFmpeg

    if num_frames < 1:
        raise ValueError("num_frames must be >= 1")
    if fps is not None and fps <= 0:
        raise ValueError("fps must be positive")
    results: list[FramePdq] = []
    with av.open(os.fspath(path)) as container:
        if not container.streams.video:
            return results
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = _video_duration(container, stream)
        if fps is not None:
            step = 1.0 / fps
            targets = [i * step for i in range(max_frames)]
            if duration is not None:
                targets = [t for t in targets if t < duration] or [0.0]
        elif duration:
            count = min(num_frames, max_frames)
            targets = [duration * (i + 0.5) / count for i in range(count)]
        else:
            # Unknown duration: count frames first, then sample by index in a second pass.
            return _sample_by_index(path, num_frames=min(num_frames, max_frames), max_frames=max_frames)
        target_iter = iter(targets)
        next_target = next(target_iter, None)
        time_base = stream.time_base
        start = float(stream.start_time * time_base) if stream.start_time is not None and time_base else 0.0
        for index, frame in enumerate(container.decode(stream)):
            if next_target is None:
                break
            t = ((float(frame.pts * frame.time_base) - start) if frame.pts is not None and frame.time_base
                 else index / _rate(stream))
            if t + 1e-6 < next_target:
                continue
            digest = pdq_array(_pil_to_rgb_array(frame.to_image()))
            results.append(FramePdq(index, round(t, 6), digest.hex, digest.quality))
            # Skip every target this frame already covers (sparse or variable-rate video).
            while next_target is not None and next_target <= t + 1e-6:
                next_target = next(target_iter, None)
    return results


def _rate(stream: VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or 25
    return float(rate)


def _video_duration(container: InputContainer, stream: VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # av.time_base is microseconds
    if stream.frames:
        return stream.frames / _rate(stream)
    return None


def _sample_by_index(path: str | os.PathLike[str], *, num_frames: int, max_frames: int) -> list[FramePdq]:
    """Frames spread evenly over the first ``max_frames`` of a video whose container states no duration.

    Why bounded: such a file's length is known only from its frames, so the count reads packets (no decoding) and
    stops at ``max_frames``, and the hashing pass decodes no further than the last sampled frame. Decoding every
    frame twice made the cost of a long stream unbounded (issue 12)."""
    import av

    with av.open(os.fspath(path)) as container:
        total = 0
        for packet in container.demux(video=0):
            total += packet.size > 0  # the demuxer's final empty packet is no frame
            if total >= max_frames:
                break
    if total == 0:
        return []
    wanted = sorted({min(total - 1, int(total * (i + 0.5) / num_frames)) for i in range(num_frames)})
    wanted_set = set(wanted)
    results: list[FramePdq] = []
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted_set:
                t = (float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base
                     else index / _rate(stream))
                digest = pdq_array(_pil_to_rgb_array(frame.to_image()))
                results.append(FramePdq(index, round(t, 6), digest.hex, digest.quality))
            if index >= wanted[-1]:
                break
    return results


__all__ = [
    "HASH_BITS",
    "MATCH_THRESHOLD",
    "MIN_QUALITY",
    "FramePdq",
    "PdqHash",
    "hamming",
    "is_match",
    "pdq_array",
    "pdq_image",
    "pdq_video",
]
