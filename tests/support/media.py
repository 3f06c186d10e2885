"""Real media files made on the fly for tests (no fixtures checked in)."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, PngImagePlugin

# The shared image datasets lie beside the checkout (../shared/datasets); FORENSICS_TEST_DATASETS points the
# tests elsewhere (or at a missing folder, to check that data-dependent tests skip and say why).
SHARED_DATASETS = Path(os.environ.get("FORENSICS_TEST_DATASETS")
                       or Path(__file__).resolve().parents[2].parent / "shared" / "datasets")
REAL_FACES = SHARED_DATASETS / "celeba-10k" / "images"


def noise_image(size: tuple[int, int] = (96, 64), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (96, 64), exif: dict[int, object] | None = None,
               xmp: bytes | None = None) -> bytes:
    img = noise_image(size, seed)
    buf = io.BytesIO()
    kwargs: dict[str, object] = {"quality": 90}
    if exif:
        e = Image.Exif()
        for tag, value in exif.items():
            e[tag] = value
        kwargs["exif"] = e
    if xmp:
        kwargs["xmp"] = xmp
    img.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def png_bytes(seed: int = 0, size: tuple[int, int] = (64, 64), text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buf = io.BytesIO()
    noise_image(size, seed).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares a huge canvas: the shape of a decompression bomb."""
    buf = io.BytesIO()
    Image.new("1", (width, height)).save(buf, "PNG")
    return buf.getvalue()


def mkv_without_duration(seconds: float, fps: int = 12, size: tuple[int, int] = (64, 48)) -> bytes:
    """A Matroska video whose Segment Info holds no Duration (the element is overwritten with an EBML Void of the
    same length), as a streaming muxer writes it: its length is known only from its frames."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * fps)):
            arr = np.full((size[1], size[0], 3), (i * 5) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = buf.getvalue()
    at = data.index(b"\x44\x89")  # Duration element: ID, a one-byte size, then the float
    length = 3 + (data[at + 2] & 0x7F)
    return data[:at] + bytes([0xEC, 0x80 | (length - 2)]) + bytes(length - 2) + data[at + length:]


def mp4_bytes(frames: int = 12, size: tuple[int, int] = (64, 48), fps: int = 12) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            arr = np.full((size[1], size[0], 3), (i * 20) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


XMP_AI = b"""<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
 xmp:CreatorTool="Stable Diffusion XL"/>
</rdf:RDF></x:xmpmeta><?xpacket end='w'?>"""


def textured_image(seed: int, size: int = 512) -> Image.Image:
    """A deterministic photo-like image: noise at several scales plus gradients."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((size, size, 3))
    for cell, weight in ((64, 90.0), (16, 50.0), (4, 25.0)):
        small = rng.uniform(-1, 1, (size // cell, size // cell, 3))
        acc += weight * np.asarray(
            Image.fromarray(((small + 1) * 127.5).astype(np.uint8)).resize((size, size), Image.BICUBIC), dtype=float
        ) / 255.0
    yy, xx = np.mgrid[0:size, 0:size] / size
    acc += np.stack([60 * xx, 60 * yy, 60 * (1 - xx)], axis=-1)
    img = Image.fromarray(np.clip(acc + 40, 0, 255).astype(np.uint8))
    return img.filter(ImageFilter.GaussianBlur(0.6))


def gray_png(level: float, seed: int) -> bytes:
    """A 32x32 PNG whose mean brightness is ``level`` (0..1): the ``test-brightness`` detector's score, so a
    test can choose every score (calibration tests work their thresholds out by hand)."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(level * 255 + rng.integers(-2, 3, size=(32, 32)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "L").save(buf, "PNG")
    return buf.getvalue()
