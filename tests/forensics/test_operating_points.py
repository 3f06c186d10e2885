"""Fitting a tenant's operating point: tail thresholds, the fused target, out-of-bag intervals."""
from __future__ import annotations

import numpy as np
import pytest

from detectors.base import Finding, FindingLabel
from forensics.fusion import fuse
from forensics.operating_points import DetectorScores, fit_operating_point, fused_flags, roc_curve, tail_threshold


def test_tail_threshold_flags_at_most_the_fraction_and_never_a_tie() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.9, 0.95])
    t = tail_threshold(scores, 1 / 6)
    assert (scores >= t).sum() == 1  # the 0.95 only
    t = tail_threshold(scores, 2 / 6)
    assert (scores >= t).sum() == 1  # 0.9 is tied twice: allowing two would flag three, so neither is flagged
    assert (scores >= tail_threshold(scores, 0.0)).sum() == 0


def _two_detectors(n: int, rng: np.random.Generator) -> tuple[list[DetectorScores], np.ndarray]:
    labels = np.array([0] * n + [1] * (n // 3))
    a = np.concatenate([rng.beta(2, 5, n), rng.beta(5, 2, n // 3)])
    b = np.concatenate([rng.beta(2, 4, n), rng.beta(4, 2, n // 3)])
    b[: n // 4] = np.nan  # not applicable to a quarter of the reals (a face model on non-faces)
    return [DetectorScores("a", a, 0.5), DetectorScores("b", b, 0.5)], labels


def test_fused_rate_on_the_set_stays_within_the_target_and_each_detector_gives_some_up() -> None:
    detectors, labels = _two_detectors(400, np.random.default_rng(1))
    point = fit_operating_point(detectors, labels, 0.02, min_real=200, n_bootstrap=50)
    assert point.fused["fpr_in_sample"] <= 0.02 and point.fused["reachable"]
    assert 0 < point.level <= 0.02
    assert set(point.thresholds) == {"a", "b"}
    assert point.fused["tpr"] is not None and point.detectors["a"]["auc"] > 0.8
    lo, hi = point.fused["fpr_interval"]
    assert 0.0 <= lo <= point.fused["expected_fpr"] <= hi < 0.1
    assert point.detectors["a"]["roc"][0] == [0.0, 0.0] and point.detectors["a"]["roc"][-1] == [1.0, 1.0]


def test_the_vectorised_fused_decision_is_fusions_own_rule() -> None:
    detectors, labels = _two_detectors(120, np.random.default_rng(2))
    thresholds = {"a": 0.6, "b": 0.55}
    fast = fused_flags(detectors, thresholds)
    for i in range(len(labels)):
        findings = [Finding(d.name, "1", FindingLabel.NOT_APPLICABLE) if np.isnan(d.scores[i]) else
                    Finding(d.name, "1", FindingLabel.AUTHENTIC, score=float(d.scores[i]), threshold=thresholds[d.name])
                    for d in detectors]
        assert fast[i] == (fuse(findings).verdict == "likely_synthetic")


def test_a_detector_with_too_few_judged_reals_keeps_its_shipped_threshold_and_counts_against_the_target() -> None:
    rng = np.random.default_rng(3)
    n = 300
    a = rng.uniform(size=n)
    rare = np.full(n, np.nan)
    rare[:50] = rng.uniform(0.0, 0.8, size=50)  # judged only 50 reals
    rare[0] = 0.99  # and its shipped threshold flags this one
    point = fit_operating_point([DetectorScores("a", a, 0.5), DetectorScores("rare", rare, 0.9)], np.zeros(n),
                                0.01, min_real=200, n_bootstrap=20)
    assert point.thresholds.keys() == {"a"}
    assert point.detectors["rare"]["status"] == "shipped" and "at least 200" in point.detectors["rare"]["reason"]
    assert point.fused["fpr_in_sample"] <= 0.01  # 'a' gave up one false positive to make room for 'rare's


def test_positive_only_detectors_are_never_recalibrated() -> None:
    scores = np.random.default_rng(4).uniform(size=300)
    point = fit_operating_point([DetectorScores("mark", scores, 0.99, positive_only=True)], np.zeros(300), 0.01,
                                min_real=200, n_bootstrap=10)
    assert point.thresholds == {} and point.detectors["mark"]["status"] == "shipped"


def test_roc_auc_is_one_for_separated_scores_and_half_for_identical() -> None:
    assert roc_curve(np.array([0.1, 0.2]), np.array([0.8, 0.9]))[1] == 1.0
    assert roc_curve(np.array([0.5, 0.5]), np.array([0.5, 0.5]))[1] == 0.5


@pytest.mark.parametrize("target", [0.0, 0.5, -1])
def test_an_impossible_target_is_refused(target: float) -> None:
    with pytest.raises(ValueError, match="target false-positive rate"):
        fit_operating_point([DetectorScores("a", np.zeros(10), 0.5)], np.zeros(10), target, min_real=1)


def test_held_out_rate_from_the_same_source_falls_in_the_out_of_bag_interval() -> None:
    """The statistical promise the console prints, checked on a known distribution many times."""
    rng = np.random.default_rng(5)
    inside = 0
    for _ in range(40):
        calib, fresh = rng.normal(size=300), rng.normal(size=3000)
        point = fit_operating_point([DetectorScores("a", 1 / (1 + np.exp(-calib)), 0.5)], np.zeros(300), 0.01,
                                    min_real=200, n_bootstrap=100, seed=int(rng.integers(1000)))
        rate = float((1 / (1 + np.exp(-fresh)) >= point.thresholds["a"]).mean())
        lo, hi = point.fused["fpr_interval"]
        inside += lo <= rate <= hi
    assert inside >= 34  # a 95% interval: nearly every draw


def _fit_level_resorting(detectors, calibratable, real, target_fpr):  # type: ignore[no-untyped-def]
    """The search as it was before each detector's reals were sorted once: a fresh sort at every level."""
    from forensics.operating_points import LEVEL_STEPS, _thresholds_at

    best = (0.0, _thresholds_at(0.0, detectors, calibratable, real))
    if not calibratable:
        return best
    for level in np.linspace(target_fpr, 0.0, LEVEL_STEPS + 1):
        thresholds = _thresholds_at(float(level), detectors, calibratable, real)
        if fused_flags(detectors, thresholds)[real].mean() <= target_fpr + 1e-12:
            return float(level), thresholds
    return best


def _tied_detectors(rng: np.random.Generator, dtype: type) -> tuple[list[DetectorScores], np.ndarray]:
    n = 240
    labels = (rng.uniform(size=n) < 0.3).astype(int)
    coarse = np.round(rng.beta(2, 5, n), 2).astype(dtype)  # many ties, at the threshold too
    fine = rng.beta(2, 4, n).astype(dtype)
    fine[rng.uniform(size=n) < 0.3] = np.nan
    shipped = rng.beta(1, 6, n).astype(dtype)  # judged too few reals: kept at its shipped threshold
    shipped[30:] = np.nan
    key = np.where(rng.uniform(size=n) < 0.02, 1.0, 0.0).astype(dtype)  # positive-only (a watermark)
    return [DetectorScores("coarse", coarse, 0.6), DetectorScores("fine", fine, 0.5),
            DetectorScores("shipped", shipped, 0.45), DetectorScores("key", key, 0.5, positive_only=True)], labels


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sorting_once_gives_the_same_levels_thresholds_and_operating_point(monkeypatch, seed, dtype) -> None:  # type: ignore[no-untyped-def]
    import forensics.operating_points as op

    detectors, labels = _tied_detectors(np.random.default_rng(seed), dtype)
    real = labels == 0
    rng = np.random.default_rng(seed + 100)
    for calibratable in ({"coarse", "fine"}, {"coarse"}, {"fine"}, set()):
        for target in (0.005, 0.01, 0.05, 0.2):
            assert op._fit_level(detectors, calibratable, real, target) == \
                _fit_level_resorting(detectors, calibratable, real, target)
            draw = rng.choice(np.flatnonzero(real), size=int(real.sum()), replace=True)  # a bootstrap resample
            resampled = [DetectorScores(d.name, d.scores[draw], d.shipped_threshold, d.positive_only)
                         for d in detectors]
            everything = np.ones(len(draw), dtype=bool)
            assert op._fit_level(resampled, calibratable, everything, target) == \
                _fit_level_resorting(resampled, calibratable, everything, target)

    fast = op.fit_operating_point(detectors, labels, 0.02, min_real=60, n_bootstrap=30, seed=seed).as_dict()
    monkeypatch.setattr(op, "_fit_level", _fit_level_resorting)
    assert fast == op.fit_operating_point(detectors, labels, 0.02, min_real=60, n_bootstrap=30, seed=seed).as_dict()
