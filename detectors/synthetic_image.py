"""Whole-image detector for generated images (GAN, diffusion, decoders).

It does not need a face: an artifact network (``detectors.models.artifact_net``)
scores native-resolution tiles spread over the whole picture, and the image's
score is their mean. Scores are Platt-calibrated and flagged at the operating
point stored in the model card (1% FPR on a real source the model did not
train on). The per-tile scores are the evidence picture: where the traces are.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.calibration import Calibration
from detectors.cards import load_card, load_weights
from detectors.explain import tile_map_png
from detectors.models.artifact_net import ArtifactNet, ArtifactNetConfig
from detectors.registry import register_detector
from detectors.tiles import TiledScore, tiled_scores

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent / "weights"


class CalibratedImageModel:
    """An ArtifactNet plus its card, tiling and calibration, loaded from safetensors."""

    def __init__(self, weights: Path, device: str = "cpu") -> None:
        if not weights.with_suffix(".json").exists():
            raise FileNotFoundError(
                f"{weights.name} and its model card are missing from {weights.parent}: "
                "run `python manage.py train_detector` or point FORENSICS_MODELS_DIR at a folder that has them"
            )
        card = load_card(weights)
        arch = card["architecture"]
        if arch.get("family") != "artifact_net":
            raise ValueError(f"{weights.name} holds a {arch.get('family')!r} model, which this version no longer "
                             "serves: retrain it with `python manage.py train_detector` (see the README)")
        self.config = ArtifactNetConfig.from_dict(arch)
        self.model = ArtifactNet(self.config)
        self.card = load_weights(self.model, weights)
        self.model.to(device).eval()
        self.device = device
        self.tile = int(card["tiling"]["tile"])
        self.max_tiles = int(card["tiling"]["max_tiles"])
        cal = card["calibration"]
        self.calibration = Calibration.from_dict(cal)

    def scored(self, images: Sequence[Image.Image]) -> list[TiledScore]:
        """Each image's tiles through the network (the one scoring path: tiled_scores)."""
        return tiled_scores(self.model, images, self.device, self.tile, self.max_tiles)

    def scores(self, images: Sequence[Image.Image]) -> list[float]:
        return [float(p) for p in self.calibration.probability([s.logit for s in self.scored(images)])] if images else []

    def probability(self, scored: TiledScore) -> float:
        return float(self.calibration.probability([scored.logit])[0])

    def tile_map(self, image: Image.Image, scored: TiledScore) -> bytes:
        """The "where the traces are" picture: each tile tinted by its own calibrated probability."""
        tile_probabilities = self.calibration.probability(scored.tile_logits)
        return tile_map_png(image, scored.tiling.boxes, tile_probabilities, self.calibration.threshold)

    def tiles_evidence(self, scored: TiledScore) -> dict[str, Any]:
        probabilities = self.calibration.probability(scored.tile_logits)
        return {"tiles_scored": len(scored.tiling.boxes), "tile_size": self.tile,
                "tiles_over_threshold": int((probabilities >= self.calibration.threshold).sum()),
                "tile_score_max": round(float(probabilities.max()), 4)}

    def info(self, name: str) -> dict[str, Any]:
        """What the audit trail and reports record about this model, its card's test metrics included."""
        clean = self.card.get("metrics_test_split", {}).get("per_degradation", {}).get("clean", {})
        info = {"name": name, "version": self.card.get("version", ""),
                "weights_sha256": self.card.get("weights_sha256"),
                "threshold": self.calibration.threshold, "target_fpr": self.calibration.target_fpr,
                "review_threshold": self.calibration.review_threshold,
                "test_auc": clean.get("auc"), "test_tpr_at_threshold": clean.get("tpr_at_threshold"),
                "test_fpr_at_threshold": clean.get("fpr_at_threshold")}
        if "base_model" in self.card:  # a tenant fine-tune: say what it was tuned from and under which guarantee
            privacy = self.card.get("privacy", {})
            info.update({"weights_name": self.card.get("name"), "base_model": self.card["base_model"],
                         "private": privacy.get("private"), "epsilon": privacy.get("epsilon"),
                         "delta": privacy.get("delta")})
        return info


@register_detector
class SyntheticImageDetector(Detector):
    name = "synthetic-image"
    version = "2.0"
    media_types = frozenset({MediaType.IMAGE})
    weights_name = "synthetic-image.safetensors"

    def __init__(self, models_dir: Path | None = None, device: str = "cpu", weights: str | None = None) -> None:
        """``weights``: absolute path to a tenant's fine-tuned safetensors file (its model card beside it)."""
        super().__init__(models_dir, device)
        path = Path(weights) if weights else (models_dir or DEFAULT_MODELS_DIR) / self.weights_name
        self.model = CalibratedImageModel(path, device)

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        images = [Image.open(m.require_path()).convert("RGB") for m in batch]
        threshold = self.model.calibration.threshold
        findings = []
        for img, scored in zip(images, self.model.scored(images)):
            score = self.model.probability(scored)
            findings.append(Finding(
                self.name, self.model.card.get("version", self.version),
                FindingLabel.SYNTHETIC if score >= threshold else FindingLabel.AUTHENTIC,
                score=score, threshold=threshold, review_threshold=self.model.calibration.review_threshold,
                evidence={**self.model.tiles_evidence(scored), "weights_sha256": self.model.card["weights_sha256"],
                          "heatmap_box": [0, 0, img.width, img.height],
                          "heatmap_note": "Each tinted square is one native-resolution tile the model scored; "
                                          "red means generation traces were found there."},
                artifacts={"heatmap": self.model.tile_map(img, scored)},
            ))
        return findings

    def model_info(self) -> dict[str, Any]:
        return self.model.info(self.name)
