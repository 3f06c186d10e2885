"""Video: sample frames, find and track faces, score each face in each frame,
pool over time, and draw the per-frame timeline for reviewers.

How many frames are looked at and how their scores are pooled change results
a lot, so both are options (``fps``, ``max_frames``, ``pooling``) and the
evidence records the values used.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.explain import to_png
from detectors.faces import Face, shared_face_finder
from detectors.registry import register_detector
from detectors.synthetic_image import DEFAULT_MODELS_DIR, CalibratedImageModel

POOLING = ("top50", "mean", "median", "max")


@dataclass(frozen=True)
class SampledFrame:
    index: int
    seconds: float
    image: Image.Image


def sample_frames(path: Path, fps: float = 2.0, max_frames: int = 32) -> Iterator[SampledFrame]:
    """Decode frames at about ``fps`` per second of video, at most ``max_frames``."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        next_time, taken = 0.0, 0
        for index, frame in enumerate(container.decode(stream)):
            seconds = float(frame.time) if frame.time is not None else index / float(stream.average_rate or 25)
            if seconds + 1e-6 < next_time:
                continue
            yield SampledFrame(index, seconds, frame.to_image())
            taken += 1
            next_time = seconds + 1.0 / fps
            if taken >= max_frames:
                return


def pool(scores: Sequence[float], method: str) -> float:
    values = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if method == "max":
        return float(values[0])
    if method == "mean":
        return float(values.mean())
    if method == "median":
        return float(np.median(values))
    return float(values[: max(1, int(np.ceil(len(values) / 2)))].mean())  # top50


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    id: int
    last_box: tuple[float, float, float, float]
    scores: list[float] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)


def assign_tracks(tracks: list[Track], faces: Sequence[Face], min_iou: float = 0.3) -> list[Track]:
    """Greedy IoU matching of this frame's faces to existing tracks; new tracks for the rest."""
    assigned: list[Track] = []
    free = list(tracks)
    for face in faces:
        best = max(free, key=lambda t: _iou(t.last_box, face.box), default=None)
        if best is not None and _iou(best.last_box, face.box) >= min_iou:
            free.remove(best)
            best.last_box = face.box
            assigned.append(best)
        else:
            track = Track(id=len(tracks) + 1, last_box=face.box)
            tracks.append(track)
            assigned.append(track)
    return assigned


def timeline_png(points: Sequence[tuple[float, float | None]], threshold: float, width: int = 640, height: int = 200) -> bytes:
    """Per-frame maximum face score over time, with the threshold as a dashed line."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 40, width - 10, 10, height - 25
    draw.rectangle([left, top, right, bottom], outline=(200, 200, 200))
    for value in (0.0, 0.5, 1.0):
        y = bottom - value * (bottom - top)
        draw.text((5, y - 6), f"{value:.1f}", fill=(90, 90, 90))
    span = max((p[0] for p in points), default=1.0) or 1.0
    ty = bottom - threshold * (bottom - top)
    for dash in range(left, right, 8):
        draw.line([dash, ty, dash + 4, ty], fill=(220, 40, 40))
    xy = [(left + t / span * (right - left), bottom - s * (bottom - top)) for t, s in points if s is not None]
    if len(xy) > 1:
        draw.line(xy, fill=(31, 95, 191), width=2)
    for x, y in xy:
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(31, 95, 191))
    for t, s in points:
        if s is None:
            x = left + t / span * (right - left)
            draw.line([x, bottom - 4, x, bottom], fill=(150, 150, 150))
    draw.text((left, bottom + 6), f"0 s … {span:.1f} s   (grey ticks: no face)", fill=(90, 90, 90))
    return to_png(img)


@register_detector
class VideoFaceDetector(Detector):
    """Face-swap and face-synthesis detection over time."""

    name = "video-faces"
    version = "1.0"
    media_types = frozenset({MediaType.VIDEO})
    weights_name = "face-synthetic.safetensors"

    def __init__(self, models_dir: Path | None = None, device: str = "cpu", fps: float = 2.0, max_frames: int = 32,
                 pooling: str = "top50", min_frames: int = 2) -> None:
        super().__init__(models_dir, device)
        if pooling not in POOLING:
            raise ValueError(f"pooling must be one of {POOLING}")
        self.fps, self.max_frames, self.pooling, self.min_frames = fps, max_frames, pooling, min_frames
        self.model = CalibratedImageModel((models_dir or DEFAULT_MODELS_DIR) / self.weights_name, device)
        self.finder = shared_face_finder(device)

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        return [self._one(m.require_path()) for m in batch]

    def _one(self, path: Path) -> Finding:
        from detectors.faces import MIN_FACE_PIXELS

        version = self.model.card.get("version", self.version)
        threshold = self.model.calibration.threshold
        tracks: list[Track] = []
        frames: list[dict[str, Any]] = []
        timeline: list[tuple[float, float | None]] = []
        for sampled in sample_frames(path, self.fps, self.max_frames):
            faces = [f for f in self.finder.find(sampled.image) if f.size >= MIN_FACE_PIXELS]
            scores = self.model.scores([f.crop for f in faces])
            frame_tracks = assign_tracks(tracks, faces)
            for face_track, score in zip(frame_tracks, scores):
                face_track.scores.append(score)
                face_track.frames.append(sampled.index)
            frames.append({
                "frame": sampled.index, "seconds": round(sampled.seconds, 3),
                "faces": [{"box": [round(v, 1) for v in f.box], "score": round(s, 4), "track": t.id}
                          for f, s, t in zip(faces, scores, frame_tracks)],
            })
            timeline.append((sampled.seconds, max(scores) if scores else None))
        options = {"fps": self.fps, "max_frames": self.max_frames, "pooling": self.pooling}
        if len(frames) < self.min_frames:
            return Finding(self.name, version, FindingLabel.NOT_APPLICABLE,
                           reason=f"too short: {len(frames)} sampled frame(s), need {self.min_frames}",
                           evidence={"options": options})
        if not tracks:
            return Finding(self.name, version, FindingLabel.NOT_APPLICABLE,
                           reason=f"no face of at least {MIN_FACE_PIXELS} px in {len(frames)} sampled frames",
                           evidence={"options": options, "sampled_frames": len(frames)})
        track_scores = [{"track": t.id, "frames": len(t.scores), "score": round(pool(t.scores, self.pooling), 4)}
                        for t in tracks]
        score = max(t["score"] for t in track_scores)
        evidence = {"options": options, "sampled_frames": len(frames), "tracks": track_scores, "timeline": frames,
                    "weights_sha256": self.model.card["weights_sha256"]}
        return Finding(self.name, version, FindingLabel.SYNTHETIC if score >= threshold else FindingLabel.AUTHENTIC,
                       score=float(score), threshold=threshold,
                       review_threshold=self.model.calibration.review_threshold, evidence=evidence,
                       artifacts={"timeline": timeline_png(timeline, threshold)})

    def model_info(self) -> dict[str, Any]:
        return self.model.info(self.name)
