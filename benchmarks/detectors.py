"""Detector throughput and memory on this machine's CPU (and GPU when FORENSICS_DEVICE=cuda)."""
from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from detectors.base import MediaInput, MediaType
from detectors.device import resolve_device

REAL_FACES = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "celeba-10k" / "images"


def _photos(n: int) -> list[Path]:
    files = sorted(REAL_FACES.glob("*.jpg"))[:n]
    if files:
        return files
    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (109, 89, 3), dtype=np.uint8)).save(tmp / f"{i}.jpg")
    return sorted(tmp.glob("*.jpg"))


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _by_size(image, device: str) -> list[tuple[str, float, str, str]]:  # type: ignore[no-untyped-def]
    """Cost against pixels: the tile cap should make a 12-megapixel photo cost about what a 1-megapixel one does."""
    rows = []
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp())
    for width, height in ((256, 256), (1024, 1024), (4000, 3000)):
        path = tmp / f"{width}x{height}.jpg"
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path, quality=90)
        media = [MediaInput(MediaType.IMAGE, path)] * 4
        image.predict(media[:1])  # warm
        start = time.perf_counter()
        image.predict(media)
        rows.append((f"synthetic-image predict, {width}x{height} JPEG (decode + tiles + tile map)",
                     4 / (time.perf_counter() - start), "images/s", device))
    return rows


def run() -> list[tuple[str, float, str, str]]:
    from detectors.faces import FaceSyntheticDetector
    from detectors.synthetic_image import SyntheticImageDetector
    from detectors.video import VideoFaceDetector

    device = resolve_device(os.environ.get("FORENSICS_DEVICE", "auto"))
    rows = []
    photos = _photos(32)
    batch = [MediaInput(MediaType.IMAGE, p) for p in photos]
    image = SyntheticImageDetector(device=device)
    scores_only = [Image.open(p).convert("RGB") for p in photos]
    start = time.perf_counter()
    image.model.scores(scores_only)
    rows.append(("synthetic-image scores (batch 32)", len(photos) / (time.perf_counter() - start), "images/s", device))
    start = time.perf_counter()
    image.predict(batch[:8])
    rows.append(("synthetic-image with tile map", 8 / (time.perf_counter() - start), "images/s", device))
    rows += _by_size(image, device)
    face = FaceSyntheticDetector(device=device)
    start = time.perf_counter()
    face.predict(batch[:16])
    rows.append(("face-synthetic (MTCNN + model + heatmap)", 16 / (time.perf_counter() - start), "images/s",
                 f"{device}, 89x109 photos"))

    import av

    clip = Path(tempfile.mkdtemp()) / "clip.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 356, 436, "yuv420p"
        for p in photos[:16]:
            frame = Image.open(p).convert("RGB").resize((356, 436))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    video = VideoFaceDetector(device=device, fps=8.0, max_frames=16)
    start = time.perf_counter()
    video.predict([MediaInput(MediaType.VIDEO, clip)])
    rows.append(("video-faces (decode + MTCNN + model)", 16 / (time.perf_counter() - start), "frames/s",
                 f"{device}, 356x436"))

    from detectors.watermark.text_greenlist import GreenlistDetector, GreenlistParams

    ids = list(np.random.default_rng(0).integers(0, 100_000, 20_000))
    detector = GreenlistDetector(GreenlistParams(key="bench"))
    start = time.perf_counter()
    detector.score(ids)
    rows.append(("text green-list watermark detection", len(ids) / (time.perf_counter() - start), "tokens/s", "cpu"))
    rows.append(("peak RSS after detectors", _rss_mib(), "MiB", "whole benchmark process"))
    return rows
