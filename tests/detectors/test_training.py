"""A tiny end-to-end training run on images made here: it must learn, calibrate and card itself."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detectors.cards import load_weights, sha256_file
from detectors.models.dual_branch import DualBranchClassifier, DualBranchConfig
from detectors.training.train import TrainConfig, train_detector


def make_images(folder: Path, n: int, fake: bool, seed: int) -> None:
    """Reals: smooth images with noise. Fakes: the same plus a faint 2-pixel checkerboard (a transposed-conv trace)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    checker = ((np.arange(32)[:, None] + np.arange(32)[None, :]) % 2)[..., None] * 24.0
    for i in range(n):
        base = rng.random((3,)) * 180 + np.kron(rng.random((8, 8, 1)) * 40, np.ones((4, 4, 1)))
        img = base + rng.normal(0, 6, (32, 32, 3)) + (checker if fake else 0)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i:04d}.png")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("train")
    make_images(root / "real", 160, fake=False, seed=1)
    make_images(root / "fake", 160, fake=True, seed=2)
    cfg = TrainConfig(name="tiny", real_dir=root / "real", fake_dirs={"nearest2x": root / "fake"}, out_dir=root / "out",
                      backbone="resnet10t", image_size=32, epochs=3, batch_size=32, lr=3e-3, max_real=None, augment=False,
                      eval_degradations=("clean", "jpeg90"))
    return cfg, train_detector(cfg)


def test_it_learns_and_cards_itself(trained) -> None:  # type: ignore[no-untyped-def]
    cfg, card = trained
    clean = card["metrics_test_split"]["per_degradation"]["clean"]
    assert clean["auc"] > 0.9, clean
    assert set(card["metrics_test_split"]["per_generator"]) == {"nearest2x"}
    assert 0 < card["calibration"]["threshold"] < 1
    assert card["training_data"]["split_counts"]["train"]["real"] > 100
    weights = cfg.out_dir / "tiny.safetensors"
    assert card["weights_sha256"] == sha256_file(weights)
    assert json.loads(weights.with_suffix(".json").read_text())["name"] == "tiny"


def test_weights_round_trip_and_tampering_is_refused(trained) -> None:  # type: ignore[no-untyped-def]
    cfg, _ = trained
    weights = cfg.out_dir / "tiny.safetensors"
    model = DualBranchClassifier(DualBranchConfig(backbone="resnet10t", image_size=32))
    load_weights(model, weights)
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256"):
        load_weights(model, weights)


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
