"""Named degradations: the fixed evaluation set, and any strength of the sweepable kinds."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from detectors.training.degradations import EVALUATION_DEGRADATIONS, blur, degradation_named


def _textured(seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8))


def test_fixed_names_are_the_evaluation_set() -> None:
    for name, degradation in EVALUATION_DEGRADATIONS.items():
        assert degradation_named(name) is degradation


def test_sweepable_names_apply_that_strength() -> None:
    img = _textured()
    assert np.array_equal(np.asarray(degradation_named("blur2.0")(img)), np.asarray(blur(2.0)(img)))
    assert degradation_named("resize0.25")(img).size == (16, 12)
    heavy, light = (np.asarray(degradation_named(f"jpeg{q}")(img), dtype=np.float32) for q in (10, 95))
    original = np.asarray(img, dtype=np.float32)
    assert np.abs(heavy - original).mean() > np.abs(light - original).mean()


@pytest.mark.parametrize("name", ["sharpen1", "blur", "jpeg0", "jpeg101", "resize0", "resize9", "blur-1"])
def test_unknown_or_out_of_range_names_say_what_is_accepted(name: str) -> None:
    with pytest.raises(ValueError, match="degradation|quality"):
        degradation_named(name)


def test_training_refuses_an_unknown_degradation_before_it_trains() -> None:
    import argparse

    from detectors.training.cli import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--name", "x", "--real", "r=/nonexistent", "--fake", "f=/nonexistent",
                              "--degradations", "clean,sharpen1"])
    with pytest.raises(SystemExit, match="sharpen1"):
        config_from_args(args)
