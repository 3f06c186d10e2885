"""Turning raw logits into calibrated probabilities, and choosing the operating point.

Platt scaling (a*logit + b, fitted by maximum likelihood on a held-out split)
rather than a raw sigmoid, because published detectors are often badly
miscalibrated on new data. The threshold is chosen for a stated false-positive
rate on held-out *real* images (default 1%) and stored with the model, and so
is a lower *review* threshold (default 5% of those reals above it): between the
two an item is worth a reviewer's look. "Above even odds" is no such line: a
Platt fit on a balanced calibration split can put most real photos of one
source above 0.5 (UTKFace: 97% under synthetic-image 2.1, 90% under
face-synthetic 2.0; 5% above 2.1's review threshold).
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import torch

from detectors.evaluation.metrics import threshold_for_fpr

REVIEW_FPR = 0.05  # share of held-out real items at or above the review threshold


@dataclass(frozen=True)
class Calibration:
    a: float = 1.0
    b: float = 0.0
    threshold: float = 0.5
    target_fpr: float = 0.01
    review_threshold: float | None = None  # None: cards calibrated before it existed (fusion then uses even odds)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        """The calibration stored in a model card (extra keys such as the method's description are ignored)."""
        review = data.get("review_threshold")
        return cls(a=float(data["a"]), b=float(data["b"]), threshold=float(data["threshold"]),
                   target_fpr=float(data["target_fpr"]), review_threshold=None if review is None else float(review))

    def probability(self, logits: npt.ArrayLike | torch.Tensor) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64) * self.a + self.b
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)


def fit_platt(logits: np.ndarray, labels: np.ndarray, target_fpr: float = 0.01,
              review_fpr: float = REVIEW_FPR) -> Calibration:
    """Fit a*logit + b with a > 0.

    The slope is kept positive (fitted as exp(log a)): on a calibration source
    where the model ranks reals above fakes, a free slope would turn negative
    and silently invert every score; a positive one flattens towards a
    constant instead, and the card's calibration metrics show the failure.
    """
    x = torch.tensor(np.asarray(logits, dtype=np.float64))
    y = torch.tensor(np.asarray(labels, dtype=np.float64))
    params = torch.tensor([0.0, 0.0], dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([params], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = loss_fn(x * params[0].exp() + params[1], y) + 1e-4 * params[0].exp() ** 2
        loss.backward()
        return loss

    optimiser.step(closure)
    a, b = float(params[0].detach().exp()), float(params[1].detach())
    uncalibrated = Calibration(a=a, b=b)
    probabilities = uncalibrated.probability(np.asarray(logits))
    real = probabilities[np.asarray(labels) == 0]
    threshold = min(threshold_for_fpr(real, target_fpr), 1.0)
    review = min(threshold_for_fpr(real, review_fpr), threshold)
    return Calibration(a=a, b=b, threshold=threshold, target_fpr=target_fpr, review_threshold=review)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    probabilities, labels = np.asarray(probabilities), np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        mask = (probabilities >= lo) & (probabilities < hi if hi < 1 else probabilities <= hi)
        if mask.any():
            ece += mask.mean() * abs(probabilities[mask].mean() - labels[mask].mean())
    return float(ece)
