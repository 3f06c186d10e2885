"""Repeating a leave-one-family-out run over seeds: the summary's arithmetic, and a tiny real repeat that
shares its test images across seeds, writes its reports and resumes from its cached scores."""
import json
from pathlib import Path

import numpy as np
import pytest

from detectors.evaluation.metrics import auc_score
from detectors.training.repeat import HeldOutScores, load_scores, log_odds, main, save_scores, summarise
from tests.detectors.test_training import make_images


def scores(probabilities: list[float], labels: list[int], paths: tuple[str, ...] = ("a", "b", "c", "d")) -> HeldOutScores:
    return HeldOutScores(paths, np.array(labels), {"clean": np.array(probabilities)})


def test_the_summary_reports_each_seed_their_spread_and_the_ensemble() -> None:
    labels = [0, 0, 1, 1]
    # seed 0 ranks one fake below one real; seed 1 the other fake; their mean log-odds ranks all correctly
    runs = {0: scores([0.1, 0.5, 0.4, 0.9], labels), 1: scores([0.5, 0.1, 0.9, 0.4], labels)}
    row = summarise(runs)["clean"]
    assert row["auc_per_seed"] == {"0": 0.75, "1": 0.75}
    assert row["auc_mean"] == 0.75 and row["auc_sd"] == 0.0 and (row["auc_min"], row["auc_max"]) == (0.75, 0.75)
    mean = np.mean([log_odds(r.probabilities["clean"]) for r in runs.values()], axis=0)
    assert row["ensemble_auc"] == round(auc_score(np.array(labels), mean), 4) == 1.0
    assert (row["n_real"], row["n_fake"]) == (2, 2)
    assert row["per_fake_folder"] == {"": {"n_fake": 2, "auc_mean": 0.75, "ensemble_auc": 1.0}}


def test_each_folder_of_held_out_fakes_is_reported_against_all_reals() -> None:
    paths = ("r/1.png", "r/2.png", "easy/1.png", "hard/1.png")
    row = summarise({0: scores([0.2, 0.4, 0.9, 0.3], [0, 0, 1, 1], paths)})["clean"]
    assert row["per_fake_folder"]["easy"]["auc_mean"] == 1.0 and row["per_fake_folder"]["hard"]["auc_mean"] == 0.5


def test_runs_scored_on_different_images_are_refused() -> None:
    with pytest.raises(ValueError, match="--data-seed"):
        summarise({0: scores([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]),
                   1: scores([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], ("a", "b", "c", "e"))})


def test_scores_round_trip_without_pickles(tmp_path: Path) -> None:
    original = scores([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    save_scores(tmp_path / "s.npz", original)
    loaded = load_scores(tmp_path / "s.npz")
    assert loaded.paths == original.paths and np.array_equal(loaded.labels, original.labels)
    assert np.allclose(loaded.probabilities["clean"], original.probabilities["clean"])


def test_a_tiny_repeat_trains_each_seed_once_and_resumes(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import torch

    torch.set_num_threads(1)
    make_images(tmp_path / "real", 60, fake=False, seed=1)
    make_images(tmp_path / "fake", 60, fake=True, seed=2)
    make_images(tmp_path / "fake-b", 30, fake=True, seed=5)
    argv = ["--name", "lofo-b", "--real", f"lab-real={tmp_path / 'real'}", "--fake", f"upsampling={tmp_path / 'fake'}",
            "--fake", f"other={tmp_path / 'fake-b'}", "--exclude-family", "other", "--width", "8", "--steps", "20",
            "--batch-size", "8", "--degradations", "clean", "--eval-limit", "30", "--out", str(tmp_path / "out"),
            "--scores-dir", str(tmp_path / "scores"), "--seeds", "0,1"]
    main(argv)
    summary = json.loads((tmp_path / "out" / "lofo-b.repeat.json").read_text())
    assert summary["family"] == "other" and summary["seeds"] == [0, 1] and summary["data_seed"] == 0
    row = summary["held_out"]["clean"]
    assert set(row["auc_per_seed"]) == {"0", "1"} and row["n_fake"] == 30
    for seed in (0, 1):
        report = json.loads((tmp_path / "out" / f"lofo-b-seed{seed}.report.json").read_text())
        assert report["training"]["seed"] == seed and report["training"]["data_seed"] == 0
        assert report["metrics"]["held_out_family"]["clean"]["pooled"]["auc"] == row["auc_per_seed"][str(seed)]
    assert not list((tmp_path / "out").glob("*.safetensors"))
    capsys.readouterr()
    main(argv)  # everything cached: summarised again without training
    out = capsys.readouterr().out
    assert out.count("not trained again") == 2 and "ensemble" in out
