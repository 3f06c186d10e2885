"""``manage.py evaluate_fusion``: the fused verdict's rates over a folder, through the real detectors and fusion."""
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.support.media import REAL_FACES

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not REAL_FACES.exists(), reason=f"real photos not available at {REAL_FACES}")]


def test_rates_for_a_real_folder_name_every_detector_and_add_up(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FORENSICS_DISABLED_DETECTORS = ["video-faces", "text-supervised", "text-binoculars", "text-lm-features"]
    photos = tmp_path / "real"
    photos.mkdir()
    for path in sorted(REAL_FACES.glob("*.jpg"))[:4]:
        Image.open(path).save(photos / path.name)
    out = tmp_path / "fusion.json"
    call_command("evaluate_fusion", "--real", f"celeba={photos}", "--limit", "3", "--out", str(out))
    report = json.loads(out.read_text())["real"]["celeba"]
    assert report["images"] == 3
    assert {"synthetic-image", "face-synthetic"} <= set(report["detectors"])
    assert sum(report["verdicts"].values()) == pytest.approx(1.0, abs=1e-3)  # shares rounded to 4 places
    assert set(report["flagged_by_detector"]) == set(report["detectors"])


def test_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="at least one"):
        call_command("evaluate_fusion")
    with pytest.raises(CommandError, match="not a folder"):
        call_command("evaluate_fusion", "--real", f"x={tmp_path / 'missing'}")
