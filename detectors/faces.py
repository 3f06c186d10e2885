"""Finding faces (MTCNN from facenet-pytorch, weights inside its wheel) and the
per-face synthetic detector.

Faces are cropped with the framing of aligned face datasets (a square 1.5x the
face box, centred on it, cut back to the photo's own pixels) at the photo's
native resolution, never resized, and the crop is scored as native tiles like
a whole image. Nothing is invented past the border: on tightly framed photos
(UTKFace) MTCNN's box overhangs the frame and an edge-replicated square was
72% streaks, which the model scored as if they were pixels. A face the
detector cannot see well is reported as such, never scored low.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.explain import to_png
from detectors.registry import register_detector
from detectors.synthetic_image import DEFAULT_MODELS_DIR, CalibratedImageModel
from detectors.tiles import TiledScore

MIN_FACE_PROBABILITY = 0.90
MIN_FACE_PIXELS = 20  # shorter side of the face box, in the original image
CROP_SCALE = 1.5
_DETECT_MIN_SIDE = 160  # small images are upscaled for detection only


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels
    probability: float
    crop: Image.Image

    @property
    def size(self) -> float:
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])


class FaceFinder:
    def __init__(self, device: str = "cpu") -> None:
        from facenet_pytorch import MTCNN

        self.mtcnn = MTCNN(keep_all=True, device=device, min_face_size=20, post_process=False)

    def find(self, image: Image.Image) -> list[Face]:
        """All faces MTCNN is confident about, largest first (including ones too small to score)."""
        image = image.convert("RGB")
        scale = max(1.0, _DETECT_MIN_SIDE / min(image.size))
        probe = image if scale == 1.0 else image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
        boxes, probs = self.mtcnn.detect(probe)
        if boxes is None:
            return []
        faces = []
        for box, prob in zip(np.asarray(boxes, dtype=np.float64) / scale, np.asarray(probs, dtype=np.float64)):
            if prob >= MIN_FACE_PROBABILITY:
                x1, y1, x2, y2 = (float(v) for v in box)
                faces.append(Face((x1, y1, x2, y2), float(prob), crop_face(image, box)))
        return sorted(faces, key=lambda f: -f.size)


_shared: dict[str, FaceFinder] = {}


def shared_face_finder(device: str = "cpu") -> FaceFinder:
    """One MTCNN per process and device (it is reused by training, evaluation and serving)."""
    if device not in _shared:
        _shared[device] = FaceFinder(device)
    return _shared[device]


def crop_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """What ``crop_face`` cuts: the square CROP_SCALE times the face box, centred on it, clipped to the image."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = CROP_SCALE * max(x2 - x1, y2 - y1) / 2
    x0, y0, side = round(cx - half), round(cy - half), max(1, round(2 * half))
    left, top = min(max(0, x0), width - 1), min(max(0, y0), height - 1)
    right, bottom = max(min(width, x0 + side), left + 1), max(min(height, y0 + side), top + 1)
    return left, top, right, bottom


def crop_face(image: Image.Image, box: Sequence[float]) -> Image.Image:
    """The face's crop at native resolution; where the square leaves the image it is cut, never padded."""
    return image.crop(crop_box(box, image.width, image.height))


def boxes_png(image: Image.Image, faces: Sequence[Face], scores: Sequence[float | None], threshold: float) -> bytes:
    """The image with each face box drawn red (flagged), green (below threshold) or grey (not scored)."""
    canvas = image.convert("RGB").copy()
    if max(canvas.size) < 320:
        factor = 320 / max(canvas.size)
        canvas = canvas.resize((round(canvas.width * factor), round(canvas.height * factor)), Image.Resampling.BICUBIC)
    else:
        factor = 1.0
    draw = ImageDraw.Draw(canvas)
    for face, score in zip(faces, scores):
        colour = (150, 150, 150) if score is None else ((220, 40, 40) if score >= threshold else (40, 170, 70))
        box = [v * factor for v in face.box]
        draw.rectangle(box, outline=colour, width=3)
        label = "too small" if score is None else f"{score:.2f}"
        draw.text((box[0] + 3, max(0, box[1] - 12)), label, fill=colour)
    return to_png(canvas)


@register_detector
class FaceSyntheticDetector(Detector):
    """Per-face probability of being synthetic; the image score is the maximum over faces."""

    name = "face-synthetic"
    version = "2.0"
    media_types = frozenset({MediaType.IMAGE})
    weights_name = "face-synthetic.safetensors"

    def __init__(self, models_dir: Path | None = None, device: str = "cpu") -> None:
        super().__init__(models_dir, device)
        self.model = CalibratedImageModel((models_dir or DEFAULT_MODELS_DIR) / self.weights_name, device)
        self.finder = shared_face_finder(device)

    def score_faces(self, faces: Sequence[Face]) -> list[TiledScore | None]:
        """Tiled scores for faces large enough to judge; None for the others."""
        usable = [f for f in faces if f.size >= MIN_FACE_PIXELS]
        scored = iter(self.model.scored([f.crop for f in usable]))
        return [next(scored) if f.size >= MIN_FACE_PIXELS else None for f in faces]

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        return [self._one(Image.open(m.require_path()).convert("RGB")) for m in batch]

    def _one(self, image: Image.Image) -> Finding:
        version = self.model.card.get("version", self.version)
        faces = self.finder.find(image)
        if not faces:
            return Finding(self.name, version, FindingLabel.NOT_APPLICABLE, reason="no face found")
        tiled = self.score_faces(faces)
        scores = [None if t is None else self.model.probability(t) for t in tiled]
        threshold = self.model.calibration.threshold
        evidence: dict[str, Any] = {
            "faces": [
                {"box": [round(v, 1) for v in f.box], "detection_probability": round(f.probability, 4),
                 "score": None if s is None else round(s, 4),
                 "reason": "" if s is not None else f"face smaller than {MIN_FACE_PIXELS} px"}
                for f, s in zip(faces, scores)
            ],
            "weights_sha256": self.model.card["weights_sha256"],
        }
        artifacts = {"faces": boxes_png(image, faces, scores, threshold)}
        scored = [(s, f, t) for s, f, t in zip(scores, faces, tiled) if s is not None and t is not None]
        if not scored:
            return Finding(self.name, version, FindingLabel.NOT_APPLICABLE, reason="face too small to judge",
                           evidence=evidence, artifacts=artifacts)
        top_score, top_face, top_tiles = max(scored, key=lambda triple: triple[0])
        artifacts["heatmap"] = self.model.tile_map(top_face.crop, top_tiles)
        evidence["heatmap_box"] = list(crop_box(top_face.box, image.width, image.height))
        evidence.update(self.model.tiles_evidence(top_tiles))
        return Finding(
            self.name, version, FindingLabel.SYNTHETIC if top_score >= threshold else FindingLabel.AUTHENTIC,
            score=top_score, threshold=threshold, review_threshold=self.model.calibration.review_threshold,
            evidence=evidence, artifacts=artifacts,
        )

    def model_info(self) -> dict[str, Any]:
        return self.model.info(self.name)
