"""The shipped weights against samples their generators make now, with seeds never used in training,
and against real photos from the held-out split. Floors, not the model-card numbers: the card has those."""
from pathlib import Path

import numpy as np
import pytest

from detectors.evaluation.metrics import auc_score
from detectors.synthetic_image import DEFAULT_MODELS_DIR, CalibratedImageModel
from detectors.training.data import list_reals, load_views, split
from tests.support.media import REAL_FACES

GENERATORS = DEFAULT_MODELS_DIR / "generators"
IDENTITIES = REAL_FACES.parent / "identity.txt"
pytestmark = pytest.mark.skipif(not REAL_FACES.exists(), reason=f"real photos not available at {REAL_FACES}")


@pytest.fixture(scope="module")
def held_out_reals():  # type: ignore[no-untyped-def]
    return split(list_reals(REAL_FACES, 1200, seed=0, identity_file=IDENTITIES))["test"][:80]


@pytest.fixture(scope="module")
def fresh_fakes(tmp_path_factory):  # type: ignore[no-untyped-def]
    from detectors.generators.diffusion import sample_diffusion
    from detectors.generators.gan import sample_gan
    from detectors.training.data import list_fakes

    out = tmp_path_factory.mktemp("fresh")
    sample_gan(GENERATORS / "gan" / "gan.safetensors", 60, 4242, out / "gan")
    sample_diffusion(GENERATORS / "diffusion" / "diffusion.safetensors", 40, 4242, out / "diffusion",
                     sampler="ddim", sample_steps=15)
    return list_fakes(out / "gan", "gan") + list_fakes(out / "diffusion", "diffusion")


@pytest.mark.parametrize("name, crop", [("synthetic-image", "none"), ("face-synthetic", "faces")])
def test_well_above_chance_on_unseen_samples(name: str, crop: str, held_out_reals, fresh_fakes) -> None:  # type: ignore[no-untyped-def]
    model = CalibratedImageModel(DEFAULT_MODELS_DIR / f"{name}.safetensors")
    samples, images, _ = load_views(held_out_reals + fresh_fakes, crop)
    labels = np.array([s.label for s in samples])
    assert labels.sum() >= 20 and (1 - labels).sum() >= 40
    scores = np.array(model.scores(images))
    assert auc_score(labels, scores) > 0.85
    assert (scores[labels == 0] >= model.calibration.threshold).mean() <= 0.1  # the 1% FPR point, with slack for n=80


def test_every_shipped_model_has_a_card_that_matches_its_weights() -> None:
    from detectors.cards import load_card, sha256_file

    weights = sorted(DEFAULT_MODELS_DIR.glob("*.safetensors"))
    assert {w.stem for w in weights} >= {"synthetic-image", "face-synthetic"}
    for w in weights:
        card = load_card(w)
        assert card["weights_sha256"] == sha256_file(w)
        assert card["reproduce"] and card["metrics_test_split"]["per_generator"]
        assert w.stat().st_size < 10 * 1024 * 1024


def test_evaluate_command_on_your_own_folders(tmp_path: Path, fresh_fakes, capsys) -> None:  # type: ignore[no-untyped-def]
    """`manage.py evaluate_detectors --real DIR --fake DIR` as a user would run it."""
    import json

    from django.core.management import call_command

    fakes = fresh_fakes[0].path.parent
    out = tmp_path / "eval"
    call_command("evaluate_detectors", "--real", str(REAL_FACES), "--fake", str(fakes), "--limit", "60",
                 "--degradations", "clean,jpeg75", "--out", str(out))
    report = json.loads((out / "report.json").read_text())
    assert report["per_generator"]["external"]["auc"] > 0.85
    assert set(report["per_degradation"]) == {"clean", "jpeg75"}
    assert (out / "roc.png").read_bytes().startswith(b"\x89PNG")
    assert "Per degradation" in capsys.readouterr().out
