"""The per-degradation / per-family report of a model on labelled images, through the one scoring path.

Training's held-out metrics (``detectors.training.train.measure``) and ``python -m detectors.evaluation``
both call :func:`measure`, which scores whole images with ``detectors.tiles.tiled_logits`` exactly as the
service does, so a number in a model card and a number from an evaluation run mean the same thing.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from detectors.calibration import Calibration
from detectors.evaluation.metrics import binary_metrics
from detectors.preprocess import MAX_TILES, TILE
from detectors.tiles import tiled_logits
from detectors.training.data import Sample
from detectors.training.degradations import degradation_named


def measure(model: torch.nn.Module, calibration: Calibration, samples: Sequence[Sample], images: Sequence[Image.Image],
            degradations: Sequence[str], *, device: str = "cpu", tile: int = TILE, max_tiles: int = MAX_TILES,
            name: str = "", probabilities: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Per degradation: AUC of all reals against all fakes, and against each fake family; FPR per real source.

    The threshold is the model's stored operating point, so the reported FPR is the one a deployment would
    see, not one refitted on test data. ``probabilities``, when given, receives each degradation's calibrated
    per-image probabilities (for ROC plots).
    """
    labels = np.array([s.label for s in samples])
    families = np.array([s.family for s in samples])
    report: dict[str, Any] = {}
    for degradation in degradations:
        degrade = degradation_named(degradation)
        logits = tiled_logits(model, [degrade(img) for img in images], device, tile, max_tiles)
        probs = calibration.probability(logits)
        if probabilities is not None:
            probabilities[degradation] = probs
        pooled = binary_metrics(labels, probs).to_dict()
        pooled["fpr_at_threshold"] = round(float((probs[labels == 0] >= calibration.threshold).mean()), 4)
        pooled["tpr_at_threshold"] = round(float((probs[labels == 1] >= calibration.threshold).mean()), 4)
        per_family = {}
        for family in sorted(set(families[labels == 1])):
            mask = (labels == 0) | (families == family)
            m = binary_metrics(labels[mask], probs[mask]).to_dict()
            m["tpr_at_threshold"] = round(float((probs[(labels == 1) & (families == family)]
                                                 >= calibration.threshold).mean()), 4)
            per_family[family] = m
        per_real = {family: {"n": int(((labels == 0) & (families == family)).sum()),
                             "fpr_at_threshold": round(float((probs[(labels == 0) & (families == family)]
                                                              >= calibration.threshold).mean()), 4)}
                    for family in sorted(set(families[labels == 0]))}
        report[degradation] = {"pooled": pooled, "per_family": per_family, "fpr_per_real_source": per_real}
        if name:
            print(f"[{name}] {degradation}: AUC {pooled['auc']:.3f}, FPR {pooled['fpr_at_threshold']:.3f}, "
                  + ", ".join(f"{f} {m['auc']:.3f}" for f, m in per_family.items()), flush=True)
    return report
