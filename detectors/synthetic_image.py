"""Whole-image detector for fully generated images (GAN, diffusion).

It does not need a face: the pixel branch and the spectral branch look at the
whole frame, fitted to the model's input size. Scores are Platt-calibrated and
flagged at the operating point stored in the model card (1% FPR on held-out
real images by default).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from PIL import Image

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.calibration import Calibration
from detectors.cards import load_weights
from detectors.explain import occlusion_map, overlay_png
from detectors.models.dual_branch import DualBranchClassifier, DualBranchConfig
from detectors.preprocess import fit_square, to_tensor
from detectors.registry import register_detector

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent / "weights"


class CalibratedImageModel:
    """A DualBranchClassifier plus its card and calibration, loaded from safetensors."""

    def __init__(self, weights: Path, device: str = "cpu") -> None:
        card_probe = weights.with_suffix(".json")
        if not card_probe.exists():
            raise FileNotFoundError(
                f"{weights.name} and its model card are missing from {weights.parent}: "
                "run `python manage.py train_detector` or point FORENSICS_MODELS_DIR at a folder that has them"
            )
        import json

        card = json.loads(card_probe.read_text())
        arch = {k: v for k, v in card["architecture"].items() if k != "family"}
        self.config = DualBranchConfig(**arch)
        self.model = DualBranchClassifier(self.config)
        self.card = load_weights(self.model, weights)
        self.model.to(device).eval()
        self.device = device
        cal = card["calibration"]
        self.calibration = Calibration(a=cal["a"], b=cal["b"], threshold=cal["threshold"], target_fpr=cal["target_fpr"])

    @torch.no_grad()
    def scores(self, images: Sequence[Image.Image]) -> list[float]:
        if not images:
            return []
        batch = torch.stack([to_tensor(fit_square(img, self.config.image_size)) for img in images]).to(self.device)
        return [float(p) for p in self.calibration.probability(self.model(batch).float().cpu().numpy())]

    def heatmap_png(self, image: Image.Image) -> bytes:
        fitted = fit_square(image, self.config.image_size)
        heat = occlusion_map(self.model, to_tensor(fitted).to(self.device))
        return overlay_png(fitted, heat)

    def info(self, name: str) -> dict[str, Any]:
        """What the audit trail and reports record about this model, its card's test metrics included."""
        clean = self.card.get("metrics_test_split", {}).get("per_degradation", {}).get("clean", {})
        info = {"name": name, "version": self.card.get("version", ""),
                "weights_sha256": self.card.get("weights_sha256"),
                "threshold": self.calibration.threshold, "target_fpr": self.calibration.target_fpr,
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
    version = "1.0"
    media_types = frozenset({MediaType.IMAGE})
    weights_name = "synthetic-image.safetensors"

    def __init__(self, models_dir: Path | None = None, device: str = "cpu", weights: str | None = None) -> None:
        """``weights``: absolute path to a tenant's fine-tuned safetensors file (its model card beside it)."""
        super().__init__(models_dir, device)
        path = Path(weights) if weights else (models_dir or DEFAULT_MODELS_DIR) / self.weights_name
        self.model = CalibratedImageModel(path, device)

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        images = [Image.open(m.path).convert("RGB") for m in batch]
        scores = self.model.scores(images)
        threshold = self.model.calibration.threshold
        return [
            Finding(
                self.name, self.model.card.get("version", self.version),
                FindingLabel.SYNTHETIC if score >= threshold else FindingLabel.AUTHENTIC,
                score=score, threshold=threshold,
                evidence={"input_size": self.model.config.image_size, "weights_sha256": self.model.card["weights_sha256"],
                          "heatmap_note": "Where the network looked, not what is fake."},
                artifacts={"heatmap": self.model.heatmap_png(img)},
            )
            for img, score in zip(images, scores)
        ]

    def model_info(self) -> dict[str, Any]:
        return self.model.info(self.name)
