"""Empirical privacy audit: a loss-threshold membership-inference attack (Yeom et al. 2018).

A model that memorised its training images gives them a lower loss than images it never saw; the attacker
ranks images by loss and guesses "member" below a threshold. Its AUC is 0.5 for a model that leaks nothing
this way, and what matters at scale is the TPR at a very low FPR (Carlini et al. 2022). The attack is a
lower bound on leakage, not a proof of privacy; the DP guarantee is the (epsilon, delta) in the model card.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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


def _attack(member_losses: np.ndarray, non_member_losses: np.ndarray) -> AttackResult:
    losses = np.concatenate([member_losses, non_member_losses])
    is_member = np.r_[np.ones(len(member_losses)), np.zeros(len(non_member_losses))]
    scores = -losses  # lower loss: more likely a member
    return AttackResult(auc=round(auc_score(is_member, scores), 4),
                        tpr_at_1pct_fpr=round(tpr_at_fpr(is_member, scores, 0.01), 4),
                        tpr_at_01pct_fpr=round(tpr_at_fpr(is_member, scores, 0.001), 4),
                        members=len(member_losses), non_members=len(non_member_losses))


def _losses(model_or_weights: CalibratedImageModel | torch.nn.Module | Path | str, members: LabelledImages,
            non_members: LabelledImages, device: str) -> tuple[np.ndarray, np.ndarray]:
    if not members or not non_members:
        raise ValueError("the attack needs at least one member and one non-member image")
    model, tile, max_tiles = _model(model_or_weights, device)
    return (per_sample_loss(model, members, device, tile, max_tiles),
            per_sample_loss(model, non_members, device, tile, max_tiles))


def loss_threshold_attack(model_or_weights: CalibratedImageModel | torch.nn.Module | Path | str,
                          members: LabelledImages, non_members: LabelledImages, device: str = "cpu") -> AttackResult:
    """Attack AUC and TPR at 1% and 0.1% FPR for telling ``members`` (training images) from ``non_members``."""
    return _attack(*_losses(model_or_weights, members, non_members, device))


TRAINING_SPLIT = {"name": "training split",
                  "what": "members = the model's own training split, non-members = its holdout split"}


def audit_models(base_detector: str, private_weights: Path | str, nonprivate_weights: Path | str,
                 members: LabelledImages, non_members: LabelledImages, device: str = "cpu", *,
                 own: Sequence[bool] | None = None, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    """The same attack on the private and the non-private fine-tune of ``base_detector``, side by side.

    ``own`` marks the members this model itself trained on (default: all of them). When some members were
    trained on only by other models of the lineage (``privacy.lineage``), the attack is also reported on this
    model's own members against the same non-members (``this_job_members``): members it never saw score like
    non-members, so the lineage attack alone would look closer to chance than this model's own leakage is.
    ``definition`` says which member definition was used and its counts; it is recorded as given."""
    own_mask = np.ones(len(members), dtype=bool) if own is None else np.asarray(own, dtype=bool)
    if len(own_mask) != len(members):
        raise ValueError("own must mark each member")
    results: dict[str, AttackResult] = {}
    own_results: dict[str, AttackResult] = {}
    for key, weights in (("private", private_weights), ("nonprivate", nonprivate_weights)):
        member_losses, non_member_losses = _losses(weights, members, non_members, device)
        results[key] = _attack(member_losses, non_member_losses)
        if own_mask.any():
            own_results[key] = _attack(member_losses[own_mask], non_member_losses)
    definition = definition or {**TRAINING_SPLIT, "members": len(members), "non_members": len(non_members)}
    private, nonprivate = results["private"], results["nonprivate"]
    return {
        "base_detector": base_detector,
        "attack": f"loss threshold (Yeom et al. 2018): {definition['what']}",
        "members_definition": definition,
        "private": asdict(private),
        "nonprivate": asdict(nonprivate),
        "this_job_members": {k: asdict(v) for k, v in own_results.items()},
        "private_closer_to_chance": abs(private.auc - 0.5) <= abs(nonprivate.auc - 0.5),
        "note": "Empirical lower bound on leakage; the guarantee is the model card's (epsilon, delta). With few "
                "images, TPR at 0.1% FPR is at most one false positive away from 0.",
    }
