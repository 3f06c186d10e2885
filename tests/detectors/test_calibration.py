import numpy as np

from detectors.calibration import expected_calibration_error, fit_platt


def test_platt_recovers_a_known_scale_and_sets_the_fpr_threshold() -> None:
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 2, 20000)
    labels = (rng.random(20000) < 1 / (1 + np.exp(-true_logit))).astype(int)
    raw = true_logit / 3.0 + 1.0  # an over-confident-offset model
    cal = fit_platt(raw, labels, target_fpr=0.01)
    assert abs(cal.a - 3.0) < 0.2 and abs(cal.b + 3.0) < 0.3
    probs = cal.probability(raw)
    assert expected_calibration_error(probs, labels) < 0.02
    assert (probs[labels == 0] >= cal.threshold).mean() <= 0.01
