"""DP fine-tuning: spends no more than planned, keeps utility, and resumes after a crash without double spending."""
from __future__ import annotations

import itertools
import math

import pytest

from detectors.synthetic_image import SyntheticImageDetector
from privacy.accounting import Mechanism, epsilon_spent
from privacy.training import FinetuneConfig, Progress, finetune, plan
from tests.support.privacy_data import MODELS_DIR, labelled_splits

CONFIG = FinetuneConfig(target_epsilon=4.0, epochs=2, batch_size=8, learning_rate=0.01, seed=3)


class WorkerKilled(RuntimeError):
    pass


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return labelled_splits(tmp_path_factory.mktemp("privacy-data"), 12, 12, seed=2)


def test_private_run_spends_at_most_the_target_and_keeps_utility(data, tmp_path):
    train, holdout = data
    seen: list[Progress] = []
    result = finetune(CONFIG, train, holdout, tmp_path / "job", MODELS_DIR, on_progress=seen.append)
    planned = plan(CONFIG, len(train))
    assert result.mechanism == planned and planned.sample_rate == pytest.approx(8 / len(train))
    assert result.epsilon is not None and 0.9 * CONFIG.target_epsilon < result.epsilon <= CONFIG.target_epsilon
    assert [p.step for p in seen] == list(range(1, planned.steps + 1))
    assert all(a.epsilon < b.epsilon for a, b in itertools.pairwise(seen))  # live epsilon grows step by step
    losses = [h["loss"] for h in result.metrics["history"]]
    # The shipped detector is already good on this data, so DP-SGD should keep the loss bounded, not fall far.
    assert all(math.isfinite(v) for v in losses) and losses[-1] <= 2 * losses[0] + 0.1
    assert result.metrics["auroc"] >= 0.75
    card = result.card
    assert card["privacy"]["noise_multiplier"] == planned.noise_multiplier
    assert card["privacy"]["accountant_history"] == [[planned.noise_multiplier, planned.sample_rate, planned.steps]]
    assert card["base_model"]["weights_sha256"] and card["calibration"]["method"].startswith("Platt")
    served = SyntheticImageDetector(weights=str(result.weights_path))  # the serving class loads the result
    assert served.model_info()["weights_sha256"] == card["weights_sha256"] and served.model_info()["private"]


def test_killed_worker_resumes_to_the_same_model_without_double_spending(data, tmp_path):
    train, holdout = data
    planned = plan(CONFIG, len(train))
    per_epoch = planned.steps // CONFIG.epochs

    def crash_after_first_epoch(p: Progress) -> None:
        if p.step == per_epoch:  # the epoch's checkpoint is already on disk when this call comes
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        finetune(CONFIG, train, holdout, tmp_path / "crashed", MODELS_DIR, on_progress=crash_after_first_epoch)
    resumed_steps: list[int] = []
    resumed = finetune(CONFIG, train, holdout, tmp_path / "crashed", MODELS_DIR,
                       on_progress=lambda p: resumed_steps.append(p.step))
    straight = finetune(CONFIG, train, holdout, tmp_path / "straight", MODELS_DIR)

    assert resumed_steps == list(range(per_epoch + 1, planned.steps + 1))  # only the missing epoch ran
    assert resumed.card["privacy"]["accountant_history"] == [[planned.noise_multiplier, planned.sample_rate,
                                                             planned.steps]]
    assert resumed.epsilon == epsilon_spent([planned], CONFIG.delta) == straight.epsilon
    assert resumed.card["training"]["resumed_at_epochs"] == [1]
    # Model, momentum and every RNG (Poisson sampling, noise, torch) are restored, so the result is bit-identical.
    assert resumed.card["weights_sha256"] == straight.card["weights_sha256"]
    assert resumed.metrics["auroc"] == straight.metrics["auroc"]


def test_a_checkpoint_of_another_job_is_never_resumed(data, tmp_path):
    train, holdout = data
    one_epoch = FinetuneConfig(target_epsilon=4.0, epochs=1, batch_size=8, learning_rate=0.01)
    finetune(one_epoch, train, holdout, tmp_path / "job", MODELS_DIR)
    with pytest.raises(ValueError, match="different job"):
        finetune(CONFIG, train, holdout, tmp_path / "job", MODELS_DIR)


def test_plan_refuses_unsound_settings():
    with pytest.raises(ValueError, match="delta"):
        plan(FinetuneConfig(delta=0.1), 100)
    with pytest.raises(ValueError, match="target_epsilon"):
        plan(FinetuneConfig(private=False), 100)
    assert plan(FinetuneConfig(private=False, target_epsilon=None), 100) is None
    assert plan(FinetuneConfig(epochs=3, batch_size=32), 320) == Mechanism(
        plan(FinetuneConfig(epochs=3, batch_size=32), 320).noise_multiplier, 0.1, 30)
