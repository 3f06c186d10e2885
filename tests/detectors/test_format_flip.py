"""The shipped synthetic-image model must judge generation traces, not file formats.

Our real photos are JPEGs and generators write PNGs, so a detector can score well by learning "JPEG means
real". Here the same held-out reals and fresh fakes are scored twice: fakes saved as JPEG (q95) and reals as
PNG, then the reverse. A model that looks at traces ranks them about the same both times; one that learned
the format swings."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from detectors.cards import load_card
from detectors.evaluation.metrics import auc_score
from detectors.synthetic_image import DEFAULT_MODELS_DIR, CalibratedImageModel
from detectors.training.data import list_fakes, list_reals, split
from tests.support.media import REAL_FACES

WEIGHTS = DEFAULT_MODELS_DIR / "synthetic-image.safetensors"
GENERATORS = DEFAULT_MODELS_DIR / "generators"
IDENTITIES = REAL_FACES.parent / "identity.txt"
MAX_AUC_SWING = 0.05


def _skip_reason() -> str | None:
    if not REAL_FACES.exists():
        return f"real photos not available at {REAL_FACES} (../shared/datasets/celeba-10k is absent)"
    if not (GENERATORS / "gan" / "gan.safetensors").exists():
        return f"the generators' checkpoints are absent from {GENERATORS}"
    if not WEIGHTS.exists() or not WEIGHTS.with_suffix(".json").exists():
        return f"no shipped {WEIGHTS.name} (or its card) in {WEIGHTS.parent}"
    family = load_card(WEIGHTS)["architecture"].get("family")
    if family != "artifact_net":
        return f"the shipped {WEIGHTS.name} is a {family!r} model, not artifact_net: retrain it first"
    return None


def _recode(img: Image.Image, fmt: str) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


@pytest.fixture(scope="module")
def model() -> CalibratedImageModel:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    return CalibratedImageModel(WEIGHTS)


@pytest.fixture(scope="module")
def reals_and_fakes(model, tmp_path_factory):  # type: ignore[no-untyped-def]
    from detectors.generators.diffusion import sample_diffusion
    from detectors.generators.gan import sample_gan

    out = tmp_path_factory.mktemp("flip")
    sample_gan(GENERATORS / "gan" / "gan.safetensors", 40, 5151, out / "gan")
    sample_diffusion(GENERATORS / "diffusion" / "diffusion.safetensors", 20, 5151, out / "diffusion",
                     sampler="ddim", sample_steps=15)
    reals = split(list_reals(REAL_FACES, 1200, seed=0, identity_file=IDENTITIES))["test"][:60]
    fakes = list_fakes(out / "gan", "gan") + list_fakes(out / "diffusion", "diffusion")
    load = lambda samples: [Image.open(s.path).convert("RGB") for s in samples]
    return load(reals), load(fakes)


def _auc(model: CalibratedImageModel, reals: list[Image.Image], fakes: list[Image.Image]) -> float:
    scores = model.scores(reals + fakes)
    return auc_score(np.r_[np.zeros(len(reals)), np.ones(len(fakes))], np.array(scores))


def test_swapping_the_file_formats_of_reals_and_fakes_barely_moves_the_auc(model, reals_and_fakes):  # type: ignore[no-untyped-def]
    reals, fakes = reals_and_fakes
    fakes_jpeg = _auc(model, [_recode(r, "PNG") for r in reals], [_recode(f, "JPEG") for f in fakes])
    reals_jpeg = _auc(model, [_recode(r, "JPEG") for r in reals], [_recode(f, "PNG") for f in fakes])
    assert abs(fakes_jpeg - reals_jpeg) <= MAX_AUC_SWING, (
        f"AUC {fakes_jpeg:.3f} with fakes as JPEG q95 / reals as PNG, {reals_jpeg:.3f} the other way round")
