"""A tiny end-to-end training run on images made here: it must learn, calibrate and card itself, and the
evaluation command must score its output through the serving path."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detectors.cards import load_weights, sha256_file
from detectors.models.artifact_net import ArtifactNet, ArtifactNetConfig
from detectors.synthetic_image import CalibratedImageModel
from detectors.training.train import Source, TrainConfig, train_detector

SIZE = (96, 80)  # (width, height): not square, larger than a tile


def make_images(folder: Path, n: int, fake: bool, seed: int) -> None:
    """Reals: a smooth field with per-pixel noise at native resolution. Fakes: the same made at half size and
    nearest-upsampled 2x (the trace of a generator's upsampling layer: neighbouring pixels tied together)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    w, h = SIZE
    for i in range(n):
        gw, gh = (w // 2, h // 2) if fake else (w, h)
        field = np.kron(rng.random((gh // 8 + 1, gw // 8 + 1, 3)) * 120, np.ones((8, 8, 1)))[:gh, :gw]
        img = 60 + field + rng.normal(0, 8, (gh, gw, 3))
        if fake:
            img = img.repeat(2, axis=0).repeat(2, axis=1)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i:04d}.png")


def tiny_config(root: Path, **overrides) -> TrainConfig:  # type: ignore[no-untyped-def]
    cfg = {"name": "synthetic-image", "reals": [Source("lab-real", root / "real")],
               "fakes": [Source("upsampling", root / "fake")], "calib_reals": [Source("other-real", root / "real-calib")],
               "out_dir": root / "out", "width": 8, "tile": 32, "max_tiles": 6, "steps": 60, "batch_size": 16, "lr": 3e-3,
               "eval_degradations": ("clean", "jpeg90"), "eval_limit": 60}
    return TrainConfig(**{**cfg, **overrides})


@pytest.fixture(scope="module")
def root(tmp_path_factory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("train")
    make_images(root / "real", 120, fake=False, seed=1)
    make_images(root / "real-calib", 50, fake=False, seed=3)
    make_images(root / "fake", 120, fake=True, seed=2)
    return root


@pytest.fixture(scope="module")
def trained(root):  # type: ignore[no-untyped-def]
    import torch

    torch.set_num_threads(1)
    cfg = tiny_config(root)
    return cfg, train_detector(cfg)


def test_it_learns_and_cards_itself(trained) -> None:  # type: ignore[no-untyped-def]
    cfg, card = trained
    assert {"name", "version", "task", "architecture", "tiling", "preprocessing", "crop", "training_data",
            "training", "calibration", "metrics", "metrics_test_split", "limitations", "reproduce", "created_at",
            "weights_sha256"} <= set(card)
    assert card["architecture"]["family"] == "artifact_net" and card["architecture"]["width"] == 8
    assert card["tiling"] == {"tile": 32, "max_tiles": 6, "pooling": "mean of tile logits"}
    clean = card["metrics_test_split"]["per_degradation"]["clean"]
    assert clean["auc"] > 0.9, clean
    assert set(card["metrics_test_split"]["per_generator"]) == {"upsampling"}
    assert set(card["metrics"]["test_split"]) == {"clean", "jpeg90"}
    assert set(card["metrics"]["test_split"]["clean"]["fpr_per_real_source"]) == {"lab-real", "other-real"}
    assert 0 < card["calibration"]["threshold"] < 1
    counts = card["training_data"]["split_counts"]
    assert counts["train"]["real:lab-real:real"] > 60 and not any("other-real" in k for k in counts["train"])
    weights = cfg.out_dir / "synthetic-image.safetensors"
    assert card["weights_sha256"] == sha256_file(weights)
    assert json.loads(weights.with_suffix(".json").read_text())["name"] == "synthetic-image"


def test_the_serving_class_loads_and_scores_the_result(trained, root) -> None:  # type: ignore[no-untyped-def]
    cfg, _card = trained
    model = CalibratedImageModel(cfg.out_dir / "synthetic-image.safetensors")
    assert (model.tile, model.max_tiles) == (32, 6)
    images = [Image.open(p).convert("RGB") for p in sorted((root / "real").glob("*.png"))[:3]]
    scored = model.scored(images)
    assert all(1 < len(s.tiling.boxes) <= 6 for s in scored)  # the 3x3 grid of 32px tiles, thinned to the cap
    assert model.scores(images) == pytest.approx([model.probability(s) for s in scored])
    assert model.tile_map(images[0], scored[0]).startswith(b"\x89PNG")


def test_weights_round_trip_and_tampering_is_refused(trained) -> None:  # type: ignore[no-untyped-def]
    cfg, card = trained
    weights = cfg.out_dir / "synthetic-image.safetensors"
    model = ArtifactNet(ArtifactNetConfig.from_dict(card["architecture"]))
    load_weights(model, weights)
    tampered = cfg.out_dir.parent / "tampered" / "synthetic-image.safetensors"
    tampered.parent.mkdir()
    tampered.with_suffix(".json").write_text(weights.with_suffix(".json").read_text())
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256"):
        load_weights(model, tampered)


def test_an_old_dual_branch_card_is_refused_with_a_reason(trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg, card = trained
    old = tmp_path / "synthetic-image.safetensors"
    old.write_bytes((cfg.out_dir / "synthetic-image.safetensors").read_bytes())
    old.with_suffix(".json").write_text(json.dumps({**card, "architecture": {"family": "dual_branch"}}))
    with pytest.raises(ValueError, match="dual_branch.*retrain"):
        CalibratedImageModel(old)


def test_leaving_a_family_out_reports_it_and_writes_no_weights(root, tmp_path) -> None:  # type: ignore[no-untyped-def]
    make_images(tmp_path / "fake-b", 40, fake=True, seed=5)
    cfg = tiny_config(root, name="lofo-b", out_dir=tmp_path / "out", steps=20, eval_degradations=("clean",),
                      fakes=[Source("upsampling", root / "fake"), Source("other", tmp_path / "fake-b")],
                      exclude_family="other", write_weights=False)
    card = train_detector(cfg)
    held = card["metrics"]["held_out_family"]
    assert held["family"] == "other" and set(held["clean"]["per_family"]) == {"other"}
    assert card["training_data"]["split_counts"]["held_out_family"]["fake:other:fake-b"] == 40
    assert not any(k.startswith("fake:other:") for k in card["training_data"]["split_counts"]["train"])
    assert "weights_sha256" not in card and not (tmp_path / "out").exists()


def test_weight_averaging_keeps_the_mean_of_the_late_weights_and_says_so(root, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = {"out_dir": tmp_path, "steps": 20, "eval_degradations": ("clean",), "write_weights": True}
    plain = train_detector(tiny_config(root, name="plain", **base))
    averaged = train_detector(tiny_config(root, name="swa", weight_average="swa", **base))
    assert averaged["training"]["weight_average"] == "swa" and plain["training"]["weight_average"] == "none"
    # same seed, same batches: only the kept weights differ
    assert plain["training"]["history"] == averaged["training"]["history"]
    assert plain["weights_sha256"] != averaged["weights_sha256"]
    CalibratedImageModel(tmp_path / "swa.safetensors")  # loads and serves like any other


def test_the_evaluate_command_scores_the_serving_path(trained, root, tmp_path, capsys):  # type: ignore[no-untyped-def]
    from detectors.evaluation.cli import main

    cfg, card = trained
    out = tmp_path / "eval"
    main(["--models-dir", str(cfg.out_dir), "--real", str(root / "real-calib"), "--fake", str(root / "fake"),
          "--limit", "60", "--degradations", "clean,jpeg50", "--out", str(out)])
    report = json.loads((out / "report.json").read_text())
    assert report["weights_sha256"] == card["weights_sha256"] and report["tiling"] == {"tile": 32, "max_tiles": 6}
    assert set(report["per_degradation"]) == {"clean", "jpeg50"}
    assert report["per_generator"]["external"]["auc"] > 0.9 and report["per_generator"]["external"]["n_real"] == 50
    assert set(report["fpr_per_real_source"]["clean"]) == {"real-calib"}
    assert (out / "roc.png").read_bytes().startswith(b"\x89PNG")
    assert "Per degradation" in capsys.readouterr().out
    # The same numbers the serving class gives for the same images
    model = CalibratedImageModel(cfg.out_dir / "synthetic-image.safetensors")
    reals = [Image.open(p).convert("RGB") for p in sorted((root / "real-calib").glob("*.png"))]
    fpr = float(np.mean(np.array(model.scores(reals)) >= model.calibration.threshold))
    assert report["fpr_per_real_source"]["clean"]["real-calib"]["fpr_at_threshold"] == pytest.approx(fpr, abs=1e-4)


def test_logo_points_to_leave_one_family_out_training(tmp_path) -> None:
    from detectors.evaluation.cli import main

    with pytest.raises(SystemExit, match="--exclude-family"):
        main(["--real", str(tmp_path), "--lab", str(tmp_path), "--logo"])


def test_the_reproduce_command_names_packages_inside_and_outside_the_checkout(monkeypatch, tmp_path) -> None:
    """A virtualenv outside the checkout (a git worktree sharing one) ran pytest as .../site-packages/pytest."""
    import sys

    from detectors.training.train import reproduce_command

    outside = tmp_path / "site-packages" / "pytest" / "__main__.py"
    outside.parent.mkdir(parents=True)
    outside.touch()
    monkeypatch.setattr(sys, "argv", [str(outside), "-q", "tests"])
    assert reproduce_command() == "python -m pytest -q tests"
    inside = Path(__file__).resolve().parents[2] / "detectors" / "training" / "__main__.py"
    monkeypatch.setattr(sys, "argv", [str(inside), "--name", "x y"])
    assert reproduce_command() == "python -m detectors.training --name 'x y'"
    module = inside.parent / "repeat.py"
    monkeypatch.setattr(sys, "argv", [str(module), "--seeds", "0,1"])
    assert reproduce_command() == "python -m detectors.training.repeat --seeds 0,1"


def test_self_blends_are_held_out_with_face_swaps_unless_kept(root) -> None:  # type: ignore[no-untyped-def]
    from detectors.training.train import build_splits

    base = {"fakes": [Source("faceswap", root / "fake")], "sbi_from": ("lab-real",), "exclude_family": "faceswap"}
    strict = build_splits(tiny_config(root, **base))
    assert not any(s.source == "sbi" for s in strict.train)
    assert any(s.source == "sbi" for s in strict.held_out_family)
    kept = build_splits(tiny_config(root, **base, keep_self_blends=True))
    assert any(s.source == "sbi" for s in kept.train)
    assert kept.held_out_family and all(s.source == "fake" for s in kept.held_out_family)


def test_small_training_views_come_from_reals_and_fakes_alike(root, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Mirror padding must not mean "generated": reals get small views as often as fakes."""
    from detectors.training import data

    monkeypatch.setattr(data, "random_degradation", lambda img, rng: img)
    monkeypatch.setattr(data, "match_history", lambda img, rng: img)
    samples = data.list_reals(root / "real", limit=5) + data.list_fakes(root / "fake", "fake", limit=5)
    dataset = data.ImageDataset(samples, tile=64, train=True)
    for label in (0, 1):
        sides = [max(dataset.view(i, np.random.default_rng((seed, i))).size)
                 for seed in range(80) for i, s in enumerate(samples) if s.label == label]
        small = [side for side in sides if side < 64]
        assert 0.5 * data.SMALL_VIEW_P < len(small) / len(sides) < 2 * data.SMALL_VIEW_P
        assert all(data.SMALL_VIEW_SIDES[0] <= side <= data.SMALL_VIEW_SIDES[1] for side in small)


def test_an_image_drawn_again_gets_a_fresh_view_that_a_rerun_reproduces(root) -> None:  # type: ignore[no-untyped-def]
    """Step-based training draws images with replacement: one frozen view per image would let the network
    memorise it (the bug before training revision 2). Each draw is a new view, and the same draw is the same view."""
    import torch

    from detectors.training import data

    samples = data.list_reals(root / "real", limit=3)
    dataset = data.ImageDataset(samples, tile=64, train=True, seed=5)
    sampler = data.NumberedDraws(torch.utils.data.WeightedRandomSampler(
        [1.0] * len(samples), num_samples=60, replacement=True, generator=torch.Generator().manual_seed(0)))
    keys = list(sampler)
    assert len(keys) == len(sampler) == 60 and [draw for _, draw in keys] == list(range(60))
    draws = [key for key in keys if key[0] == keys[0][0]]
    assert len(draws) > 5, "with 3 images and 60 draws every image is drawn many times"
    views = {dataset[key][0].numpy().tobytes() for key in draws}
    assert len(views) > 1  # revision 1 gave exactly one
    tile, _ = dataset[keys[0]]
    assert torch.equal(tile, data.ImageDataset(samples, tile=64, train=True, seed=5)[keys[0]][0])


def test_soft_reals_and_sharp_fakes_each_touch_only_their_class(root) -> None:  # type: ignore[no-untyped-def]
    """--soft-reals gives real views the softness generators leave and --sharp-fakes sharpens fake views; the
    other class's views, and every view of a run without the options, are exactly what they were."""
    import numpy as np

    from detectors.training import data

    def sharpness(dataset: data.ImageDataset, index: int) -> float:
        tiles = [dataset[(index, draw)][0].numpy() for draw in range(30)]
        return float(np.mean([np.abs(np.diff(t, axis=-1)).mean() for t in tiles]))

    samples = data.list_reals(root / "real", limit=2) + data.list_fakes(root / "fake", "fake", limit=2)
    plain = data.ImageDataset(samples, tile=64, train=True, seed=3)
    soft = data.ImageDataset(samples, tile=64, train=True, seed=3, soft_reals=1.0)
    unset = data.ImageDataset(samples, tile=64, train=True, seed=3, soft_reals=0.0, sharp_fakes=0.0)
    sharp = data.ImageDataset(samples, tile=64, train=True, seed=3, sharp_fakes=1.0)
    for index, sample in enumerate(samples):
        assert all(np.array_equal(plain[(index, d)][0], unset[(index, d)][0]) for d in range(3))
        untouched, changed = (soft, sharp) if sample.label == 1 else (sharp, soft)
        assert all(np.array_equal(plain[(index, d)][0], untouched[(index, d)][0]) for d in range(3))
        if sample.label == 1:
            assert sharpness(changed, index) > 1.1 * sharpness(plain, index)
        else:
            assert sharpness(changed, index) < 0.8 * sharpness(plain, index)


@pytest.mark.parametrize("option", ["--soft-reals", "--sharp-fakes"])
def test_a_share_outside_zero_to_one_is_refused_before_training(option: str) -> None:
    import argparse

    from detectors.training.cli import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--name", "x", "--real", "r=/nonexistent", "--fake", "f=/nonexistent", option, "1.5"])
    with pytest.raises(SystemExit, match=option):
        config_from_args(args)
