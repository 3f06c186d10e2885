"""Choosing a tenant's operating point: thresholds that give its own real media a chosen false-positive rate.

A shipped threshold was set for 1% false positives on *our* held-out real photos; on another platform's media
the same threshold can flag far more. Given the scores every detector gave a tenant's known-real items (and,
optionally, known-synthetic ones), :func:`fit_operating_point` picks a threshold per detector so that the
**fused** verdict — ``likely_synthetic`` as soon as any finding reaches its threshold (``forensics.fusion``) —
flags at most the target share of the real items:

- every calibratable detector gets the threshold that flags at most a fraction ``level`` of its own real
  items, and ``level`` is the largest value (at most the target) for which the union over all detectors, the
  ones kept at their shipped threshold included, stays within the target. With one detector ``level`` is the
  target; with several, each gets less, since their false positives add up.
- a detector that judged fewer than ``min_real`` of the real items (a face model on landscapes) keeps its
  shipped threshold: too few to fit a tail quantile honestly.
- positive-only detectors (watermarks) keep theirs: they are decided by a key, not by a score distribution.

The false-positive rate printed beside a verdict is the *expected* one on new media from the same source,
estimated out-of-bag: the fit is repeated on bootstrap resamples of the real items and each fit's fused
false-positive rate is measured on the items its resample left out. The in-sample rate is optimistic by
construction (the thresholds were chosen on those very items), so it is reported but never promised. The
interval is a wide one: each out-of-bag check sees only about a third of the set (with 300 real items, one
false positive moves the rate by ~0.9 points), so it reads as "what a batch of ~n/3 new items could show"
and narrows as the set grows; measured on 300 held-out CelebA photos it held (tests/forensics/
test_calibration_held_out.py).

Pure numpy: no Django, no detectors; the calibration job feeds it a score matrix.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ROC_POINTS = 101  # enough for a smooth curve on the console, few enough to keep in a JSON field
LEVEL_STEPS = 200  # resolution of the search for the per-detector level under the fused target


@dataclass(frozen=True)
class DetectorScores:
    """One detector's scores over the calibration set (NaN where it was not applicable)."""

    name: str
    scores: np.ndarray  # shape (n,), float, NaN = not applicable
    shipped_threshold: float
    positive_only: bool = False


@dataclass
class OperatingPoint:
    """The fitted thresholds and what to expect from them; ``as_dict`` is what the database keeps."""

    target_fpr: float
    level: float
    thresholds: dict[str, float]  # only the detectors this calibration changed
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    fused: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"target_fpr": self.target_fpr, "level": self.level, "thresholds": self.thresholds,
                "detectors": self.detectors, "fused": self.fused}


def tail_threshold(real_scores: np.ndarray, fraction: float) -> float:
    """The lowest threshold at which at most ``fraction`` of ``real_scores`` are flagged (score >= threshold).

    Allowing k = floor(fraction * n) false positives, the threshold sits just above the (k+1)-th highest real
    score, so ties at that score are never flagged.
    """
    ranked = np.sort(real_scores)[::-1]
    k = int(np.floor(fraction * len(ranked) + 1e-9))
    if k >= len(ranked):
        return float(ranked[-1])
    return float(np.nextafter(ranked[k], np.inf))


@dataclass(frozen=True)
class _SortedReals:
    """One detector's applicable real scores sorted once, so every level's threshold is an index into them.

    Gives exactly :func:`tail_threshold` and :func:`flags` for scores that are NaN or finite (a detector's
    score is in [0, 1]). ``ascending`` are the applicable scores; ``reached[i]`` how many of the candidate
    thresholds (each just above one sorted score) item i's score reaches, found by ``searchsorted``. At the
    level allowing k false positives the threshold just above the (k+1)-th highest score is candidate n-1-k,
    and item i is flagged exactly when ``reached[i] >= n - k`` (every item when k >= n, where the threshold is
    the lowest score).
    """

    ascending: np.ndarray
    reached: np.ndarray

    @classmethod
    def of(cls, scores: np.ndarray) -> _SortedReals:
        ascending = np.sort(scores[~np.isnan(scores)])
        above = np.nextafter(ascending, np.inf)  # non-decreasing: candidate n-1-k is tail_threshold's
        reached = np.searchsorted(above, scores, side="right")
        return cls(ascending, np.where(np.isnan(scores), -1, reached))

    def allowed(self, fraction: float) -> int:
        return int(np.floor(fraction * len(self.ascending) + 1e-9))

    def threshold(self, fraction: float) -> float:
        n, k = len(self.ascending), self.allowed(fraction)
        if k >= n:
            return float(self.ascending[0])  # the lowest score (tail_threshold's rule)
        return float(np.nextafter(self.ascending[n - 1 - k], np.inf))

    def flags(self, fraction: float) -> np.ndarray:
        """Which items the threshold at ``fraction`` flags (NaN: never), as ``flags`` would on the scores."""
        n = len(self.ascending)
        return (self.reached >= max(n - self.allowed(fraction), 0)) & (self.reached >= 0)


def flags(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Which items this detector flags: applicable and at or above the threshold (fusion's rule)."""
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(scores, nan=-np.inf) >= threshold


def _thresholds_at(level: float, detectors: Sequence[DetectorScores], calibratable: set[str],
                   real: np.ndarray) -> dict[str, float]:
    out = {}
    for d in detectors:
        if d.name in calibratable:
            reals = d.scores[real]
            out[d.name] = tail_threshold(reals[~np.isnan(reals)], level)
        else:
            out[d.name] = d.shipped_threshold
    return out


def fused_flags(detectors: Sequence[DetectorScores], thresholds: dict[str, float]) -> np.ndarray:
    """The fused ``likely_synthetic`` decision per item: any detector at or above its threshold."""
    flagged = np.zeros(len(detectors[0].scores), dtype=bool)
    for d in detectors:
        flagged |= flags(d.scores, thresholds[d.name])
    return flagged


def _fit_level(detectors: Sequence[DetectorScores], calibratable: set[str], real: np.ndarray,
               target_fpr: float) -> tuple[float, dict[str, float]]:
    """The largest per-detector level whose fused false-positive rate on ``real`` stays within the target.

    Each calibratable detector's real scores are sorted once (not at every level of the search, nor again
    for the thresholds it returns); the detectors kept at their shipped threshold flag the same items at
    every level, so they are counted once.
    """
    if not calibratable:
        return 0.0, _thresholds_at(0.0, detectors, calibratable, real)
    sorted_reals = {d.name: _SortedReals.of(d.scores[real]) for d in detectors if d.name in calibratable}
    fixed = np.zeros(len(detectors[0].scores[real]), dtype=bool)
    for d in detectors:
        if d.name not in calibratable:
            fixed |= flags(d.scores[real], d.shipped_threshold)

    def thresholds_at(level: float) -> dict[str, float]:
        return {d.name: sorted_reals[d.name].threshold(level) if d.name in calibratable else d.shipped_threshold
                for d in detectors}

    for step in np.linspace(target_fpr, 0.0, LEVEL_STEPS + 1):
        level = float(step)
        flagged = fixed.copy()
        for ranked in sorted_reals.values():
            flagged |= ranked.flags(level)
        if flagged.mean() <= target_fpr + 1e-12:
            return level, thresholds_at(level)
    return 0.0, thresholds_at(0.0)


def _interval(values: Sequence[float]) -> list[float | None]:
    """The central 95% of the bootstrap values; [None, None] when there are none (JSON has no NaN)."""
    if not len(values):
        return [None, None]
    lo, hi = np.percentile(np.asarray(values, dtype=np.float64), [2.5, 97.5])
    return [round(float(lo), 5), round(float(hi), 5)]


def roc_curve(real_scores: np.ndarray, fake_scores: np.ndarray) -> tuple[list[list[float]], float]:
    """ROC points (fpr, tpr), thinned to at most ROC_POINTS, and the AUC (ties count half)."""
    thresholds = np.unique(np.concatenate([real_scores, fake_scores]))[::-1]
    fpr = np.array([0.0] + [float((real_scores >= t).mean()) for t in thresholds])
    tpr = np.array([0.0] + [float((fake_scores >= t).mean()) for t in thresholds])
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), ROC_POINTS)).round().astype(int))
    points = [[round(float(fpr[i]), 5), round(float(tpr[i]), 5)] for i in keep]
    greater = (fake_scores[:, None] > real_scores[None, :]).mean()
    ties = (fake_scores[:, None] == real_scores[None, :]).mean()
    return points, round(float(greater + 0.5 * ties), 5)


def fit_operating_point(detectors: Sequence[DetectorScores], labels: np.ndarray, target_fpr: float, *,
                        min_real: int, n_bootstrap: int = 200, seed: int = 0) -> OperatingPoint:
    """Thresholds for the target fused false-positive rate, with out-of-bag intervals (see the module notes)."""
    if not 0.0 < target_fpr < 0.5:
        raise ValueError(f"target false-positive rate {target_fpr} must be in (0, 0.5), e.g. 0.01 for 1%")
    labels = np.asarray(labels, dtype=int)
    real, fake = labels == 0, labels == 1
    applicable_real = {d.name: int((~np.isnan(d.scores[real])).sum()) for d in detectors}
    calibratable = {d.name for d in detectors if not d.positive_only and applicable_real[d.name] >= min_real}
    level, thresholds = _fit_level(detectors, calibratable, real, target_fpr)

    rng = np.random.default_rng(seed)
    real_idx = np.flatnonzero(real)
    boot_fused: list[float] = []
    boot_each: dict[str, list[float]] = {d.name: [] for d in detectors}
    boot_thr: dict[str, list[float]] = {d.name: [] for d in detectors}
    for _ in range(n_bootstrap if len(real_idx) else 0):
        draw = rng.choice(real_idx, size=len(real_idx), replace=True)
        left_out = np.setdiff1d(real_idx, draw)
        if not len(left_out):
            continue
        # index arrays (not a boolean mask): a resample's duplicates must count in its quantiles
        resampled = [DetectorScores(d.name, d.scores[draw], d.shipped_threshold, d.positive_only) for d in detectors]
        _, fitted = _fit_level(resampled, calibratable, np.ones(len(draw), dtype=bool), target_fpr)
        boot_fused.append(float(fused_flags(detectors, fitted)[left_out].mean()))
        for d in detectors:
            applicable = left_out[~np.isnan(d.scores[left_out])]
            if len(applicable):
                boot_each[d.name].append(float(flags(d.scores[applicable], fitted[d.name]).mean()))
            boot_thr[d.name].append(fitted[d.name])

    point = OperatingPoint(target_fpr, level, {n: t for n, t in thresholds.items() if n in calibratable})
    for d in detectors:
        reals, fakes = d.scores[real], d.scores[fake]
        reals, fakes = reals[~np.isnan(reals)], fakes[~np.isnan(fakes)]
        entry: dict[str, Any] = {
            "status": "calibrated" if d.name in calibratable else "shipped",
            "threshold": thresholds[d.name], "shipped_threshold": d.shipped_threshold,
            "n_real": len(reals), "n_fake": len(fakes),
            "fpr_in_sample": round(float(flags(reals, thresholds[d.name]).mean()), 5) if len(reals) else None,
            "expected_fpr": round(float(np.mean(boot_each[d.name])), 5) if boot_each[d.name] else None,
            "fpr_interval": _interval(boot_each[d.name]),
            "threshold_interval": _interval(boot_thr[d.name]),
        }
        if d.positive_only:
            entry["reason"] = "decided by a key, not a score distribution: its shipped threshold stays"
        elif d.name not in calibratable:
            entry["reason"] = (f"judged {len(reals)} of the real items; at least {min_real} are needed to fit "
                               "its threshold, so its shipped threshold stays")
        if len(fakes) and len(reals):
            entry["tpr"] = round(float(flags(fakes, thresholds[d.name]).mean()), 5)
            entry["roc"], entry["auc"] = roc_curve(reals, fakes)
        point.detectors[d.name] = entry
    fused = fused_flags(detectors, thresholds)
    point.fused = {
        "n_real": int(real.sum()), "n_fake": int(fake.sum()),
        "fpr_in_sample": round(float(fused[real].mean()), 5) if real.any() else None,
        "expected_fpr": round(float(np.mean(boot_fused)), 5) if boot_fused else None,
        "fpr_interval": _interval(boot_fused),
        "tpr": round(float(fused[fake].mean()), 5) if fake.any() else None,
        "reachable": bool(fused[real].mean() <= target_fpr + 1e-12) if real.any() else False,
    }
    return point
