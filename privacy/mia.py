"""Empirical privacy audit: a loss-threshold membership-inference attack (Yeom et al. 2018).

A model that memorised its training images gives them a lower loss than images it never saw; the attacker
ranks images by loss and guesses "member" below a threshold. Its AUC is 0.5 for a model that leaks nothing
this way, and what matters at scale is the TPR at a very low FPR (Carlini et al. 2022). The attack is a
lower bound on leakage, not a proof of privacy; the DP guarantee is the (epsilon, delta) in the model card.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from detectors.evaluation.metrics import auc_score, roc_curve
from detectors.preprocess import MAX_TILES, TILE
from detectors.synthetic_image import CalibratedImageModel
from detectors.tiles import tiled_logits

LabelledImages = Sequence[tuple[Image.Image, int]]


@dataclass(frozen=True)
class AttackResult:
    auc: float
    tpr_at_1pct_fpr: float
    tpr_at_01pct_fpr: float
    members: int
    non_members: int


def _model(model_or_weights: CalibratedImageModel | torch.nn.Module | Path | str,
           device: str) -> tuple[torch.nn.Module, int, int]:
    """The network and the tiling it is served with (a bare network gets the default tiling)."""
    if isinstance(model_or_weights, (str, Path)):
        model_or_weights = CalibratedImageModel(Path(model_or_weights), device)
    if isinstance(model_or_weights, CalibratedImageModel):
        return model_or_weights.model, model_or_weights.tile, model_or_weights.max_tiles
    return model_or_weights, TILE, MAX_TILES


def per_sample_loss(model: torch.nn.Module, images: LabelledImages, device: str = "cpu", tile: int = TILE,
                    max_tiles: int = MAX_TILES) -> np.ndarray:
    """Binary cross-entropy of each image under the model: the undegraded whole image scored as the service
    scores it (the mean logit of its native tiles, ``detectors.tiles.tiled_logits``)."""
    logits = torch.from_numpy(tiled_logits(model, [img for img, _ in images], device, tile, max_tiles)).double()
    labels = torch.tensor([float(label) for _, label in images], dtype=torch.float64)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none").numpy()


def tpr_at_fpr(is_member: np.ndarray, scores: np.ndarray, fpr_limit: float) -> float:
    """The best true-positive rate among thresholds whose false-positive rate is at most ``fpr_limit``."""
    fpr, tpr, _ = roc_curve(is_member, scores)
    allowed = fpr <= fpr_limit + 1e-12
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def loss_threshold_attack(model_or_weights: CalibratedImageModel | torch.nn.Module | Path | str,
                          members: LabelledImages, non_members: LabelledImages, device: str = "cpu") -> AttackResult:
    """Attack AUC and TPR at 1% and 0.1% FPR for telling ``members`` (training images) from ``non_members``."""
    if not members or not non_members:
        raise ValueError("the attack needs at least one member and one non-member image")
    model, tile, max_tiles = _model(model_or_weights, device)
    losses = np.concatenate([per_sample_loss(model, members, device, tile, max_tiles),
                             per_sample_loss(model, non_members, device, tile, max_tiles)])
    is_member = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
    scores = -losses  # lower loss: more likely a member
    return AttackResult(auc=round(auc_score(is_member, scores), 4),
                        tpr_at_1pct_fpr=round(tpr_at_fpr(is_member, scores, 0.01), 4),
                        tpr_at_01pct_fpr=round(tpr_at_fpr(is_member, scores, 0.001), 4),
                        members=len(members), non_members=len(non_members))


def audit_models(base_detector: str, private_weights: Path | str, nonprivate_weights: Path | str,
                 members: LabelledImages, non_members: LabelledImages, device: str = "cpu") -> dict[str, Any]:
    """The same attack on the private and the non-private fine-tune of ``base_detector``, side by side."""
    private = loss_threshold_attack(private_weights, members, non_members, device)
    nonprivate = loss_threshold_attack(nonprivate_weights, members, non_members, device)
    return {
        "base_detector": base_detector,
        "attack": "loss threshold (Yeom et al. 2018): members = training split, non-members = holdout split",
        "private": asdict(private),
        "nonprivate": asdict(nonprivate),
        "private_closer_to_chance": abs(private.auc - 0.5) <= abs(nonprivate.auc - 0.5),
        "note": "Empirical lower bound on leakage; the guarantee is the model card's (epsilon, delta). With few "
                "images, TPR at 0.1% FPR is at most one false positive away from 0.",
    }
