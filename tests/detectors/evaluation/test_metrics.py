import numpy as np
import pytest
from scipy.stats import norm

from detectors.evaluation.metrics import auc_score, average_precision, binary_metrics, threshold_for_fpr


def test_perfect_and_random_rankings() -> None:
    y = np.array([0, 0, 1, 1])
    assert auc_score(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc_score(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert auc_score(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert average_precision(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0


def test_matches_the_binormal_model() -> None:
    """Reals ~ N(0,1), fakes ~ N(d,1): AUC = Phi(d/sqrt 2), EER = Phi(-d/2)."""
    rng = np.random.default_rng(0)
    d, n = 2.0, 20000
    y = np.r_[np.zeros(n), np.ones(n)]
    s = np.r_[rng.normal(0, 1, n), rng.normal(d, 1, n)]
    m = binary_metrics(y, s)
    assert m.auc == pytest.approx(norm.cdf(d / np.sqrt(2)), abs=0.005)
    assert m.eer == pytest.approx(norm.cdf(-d / 2), abs=0.01)
    assert m.tpr_at_1pct_fpr == pytest.approx(norm.cdf(d - norm.ppf(0.99)), abs=0.02)


def test_threshold_never_exceeds_the_target_fpr() -> None:
    rng = np.random.default_rng(1)
    real = rng.random(1000)
    t = threshold_for_fpr(real, 0.01)
    assert (real >= t).mean() <= 0.01
    assert (real >= np.nextafter(t, -np.inf) - 1e-3).mean() > 0.01 - 1e-9 or t <= real.min()
