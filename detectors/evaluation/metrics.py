"""Ranking and operating-point metrics for binary detectors (label 1 = synthetic).

Implemented here in numpy so the numbers in model cards do not depend on
which version of a metrics library happens to be installed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class BinaryMetrics:
    n_real: int
    n_fake: int
    auc: float
    average_precision: float
    eer: float
    tpr_at_1pct_fpr: float
    threshold_at_1pct_fpr: float
    accuracy_at_0_5: float

    def to_dict(self) -> dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rates, true-positive rates and thresholds, highest threshold first."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    distinct = np.r_[np.where(np.diff(scores))[0], labels.size - 1]
    tps = np.cumsum(labels)[distinct]
    fps = (1 + distinct) - tps
    pos, neg = max(labels.sum(), 1), max((~labels).sum(), 1)
    tpr = np.r_[0.0, tps / pos]
    fpr = np.r_[0.0, fps / neg]
    thresholds = np.r_[np.inf, scores[distinct]]
    return fpr, tpr, thresholds


def auc_score(labels: np.ndarray, scores: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(np.trapezoid(tpr, fpr))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    hits = labels[order]
    if hits.sum() == 0:
        return 0.0
    precision_at_hit = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
    return float(precision_at_hit.mean())


def threshold_for_fpr(real_scores: np.ndarray, target_fpr: float) -> float:
    """The lowest threshold whose false-positive rate on ``real_scores`` is at most ``target_fpr``.

    Scores at or above the threshold are flagged. With few reals the achievable
    FPR is coarse; the returned threshold never exceeds the target on this data.
    """
    real = np.sort(np.asarray(real_scores, dtype=np.float64))[::-1]
    allowed = int(np.floor(target_fpr * real.size))
    if allowed >= real.size:
        return float(real.min())
    # Flag strictly more than the (allowed)-th highest real score.
    return float(np.nextafter(real[allowed], np.inf))


def binary_metrics(labels: np.ndarray, scores: np.ndarray, target_fpr: float = 0.01) -> BinaryMetrics:
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    fpr, tpr, _ = roc_curve(labels, scores)
    eer_index = int(np.argmin(np.abs(fpr - (1 - tpr))))
    threshold = threshold_for_fpr(scores[~labels], target_fpr)
    return BinaryMetrics(
        n_real=int((~labels).sum()),
        n_fake=int(labels.sum()),
        auc=float(np.trapezoid(tpr, fpr)),
        average_precision=average_precision(labels, scores),
        eer=float((fpr[eer_index] + 1 - tpr[eer_index]) / 2),
        tpr_at_1pct_fpr=float((scores[labels] >= threshold).mean()) if labels.any() else 0.0,
        threshold_at_1pct_fpr=threshold,
        accuracy_at_0_5=float(((scores >= 0.5) == labels).mean()),
    )
