"""Scoring sample sets with a model, and the per-generator / per-degradation report."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from detectors.calibration import Calibration
from detectors.evaluation.metrics import binary_metrics
from detectors.training.data import ImageDataset, Sample
from detectors.training.degradations import EVALUATION_DEGRADATIONS


@torch.no_grad()
def logits_for(model: torch.nn.Module, dataset: ImageDataset, device: str = "cpu", batch_size: int = 128) -> np.ndarray:
    model.eval()
    out = []
    for images, _ in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        out.append(model(images.to(device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def evaluate(
    model: torch.nn.Module,
    calibration: Calibration,
    samples: Sequence[Sample],
    image_size: int,
    device: str = "cpu",
    degradations: Sequence[str] = tuple(EVALUATION_DEGRADATIONS),
    images: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Metrics for all fakes pooled and for each generator, under each degradation.

    The threshold used for TPR is the model's stored operating point, so the
    reported FPR is the one a deployment would see, not one refitted on test data.
    """
    report: dict[str, Any] = {"per_degradation": {}, "per_generator": {}}
    labels = np.array([s.label for s in samples])
    sources = np.array([s.source for s in samples])
    for name in degradations:
        dataset = ImageDataset(samples, image_size, degradation=EVALUATION_DEGRADATIONS[name], images=images)
        probabilities = calibration.probability(logits_for(model, dataset, device))
        pooled = binary_metrics(labels, probabilities).to_dict()
        pooled["fpr_at_threshold"] = round(float((probabilities[labels == 0] >= calibration.threshold).mean()), 4)
        pooled["tpr_at_threshold"] = round(float((probabilities[labels == 1] >= calibration.threshold).mean()), 4)
        report["per_degradation"][name] = pooled
        if name == "clean":
            per_generator: dict[str, Any] = defaultdict(dict)
            for source in sorted(set(sources) - {"real"}):
                mask = (sources == "real") | (sources == source)
                m = binary_metrics(labels[mask], probabilities[mask]).to_dict()
                m["tpr_at_threshold"] = round(float((probabilities[sources == source] >= calibration.threshold).mean()), 4)
                per_generator[source] = m
            report["per_generator"] = dict(per_generator)
    return report
