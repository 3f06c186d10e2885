"""The promise of a tenant calibration, measured with the shipped image models on real photos.

A tenant calibrates on 300 real photos of one source (CelebA) through ``manage.py calibrate`` (the worker's
job, in-process), then 300 *other* photos of that source are judged at the tenant's thresholds exactly as the
pipeline judges them (each finding through ``apply_operating_point``, then ``fuse``). Their fused
false-positive rate must fall inside the calibration's out-of-bag 95% interval; another tenant keeps the
shipped thresholds. The suite runs this on both database backends.

Only ``synthetic-image`` runs here: with ``face-synthetic`` too (MTCNN on every photo) the test took minutes
per pass; how several detectors share the target is covered in ``test_operating_points``.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from detectors.base import MediaInput, MediaType
from forensics.fusion import fuse
from forensics.models import Calibration, Verdict
from forensics.operating_point_use import active_calibration, apply_operating_point
from forensics.pipeline import applicable_detectors, detector_for
from tests.support.media import REAL_FACES
from webapp.accounts.models import Tenant

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not REAL_FACES.exists(), reason=f"real photos not available at {REAL_FACES}")]

SET = 300
MODEL_DETECTORS = ["synthetic-image"]


def raw_findings(tenant: Tenant, photos: list[Path]) -> list[tuple[list, list[dict]]]:
    """Every applicable detector's findings per photo, with the model info the pipeline passes along."""
    detectors = [detector_for(name, tenant) for name in applicable_detectors(MediaType.IMAGE)]
    infos = [d.model_info() for d in detectors]
    out = []
    for start in range(0, len(photos), 16):
        batch = [MediaInput(MediaType.IMAGE, path=p) for p in photos[start:start + 16]]
        per_detector = [d.predict(batch) for d in detectors]
        out += [(list(findings), infos) for findings in zip(*per_detector)]
    return out


def fused_flag_rate(tenant: Tenant, scored: list[tuple[list, list[dict]]]) -> float:
    """The share of photos whose fused verdict is likely_synthetic for this tenant (the pipeline's rule)."""
    calibration = active_calibration(tenant)
    flagged = sum(fuse([apply_operating_point(f, calibration, info) for f, info in zip(findings, infos)]).verdict
                  is Verdict.LIKELY_SYNTHETIC for findings, infos in scored)
    return flagged / len(scored)


def test_held_out_photos_of_the_same_source_meet_the_calibrated_rate(tmp_path: Path, settings) -> None:
    settings.FORENSICS_DISABLED_DETECTORS = [n for n in settings.FORENSICS_DISABLED_DETECTORS
                                             if n not in MODEL_DETECTORS] + ["test-brightness", "test-gated"]
    photos = sorted(REAL_FACES.glob("*.jpg"))[-2 * SET:]  # the end of the folder, away from the first thousands
    calibration_set, held_out = photos[::2], photos[1::2]
    folder = tmp_path / "real"
    folder.mkdir()
    for path in calibration_set:
        (folder / path.name).symlink_to(path.resolve())
    tenant = Tenant.objects.create(slug="photos", name="Photo platform")
    other = Tenant.objects.create(slug="other", name="Other platform")

    call_command("calibrate", "--tenant", tenant.slug, "--real", str(folder), "--fpr", "0.01", "--activate")
    calibration = Calibration.objects.get(tenant=tenant)
    assert calibration.is_active and calibration.real_count == SET
    assert set(calibration.thresholds) == set(MODEL_DETECTORS)
    fused = calibration.result["fused"]
    assert fused["fpr_in_sample"] <= 0.01
    lo, hi = fused["fpr_interval"]

    scored = raw_findings(tenant, held_out)
    rate = fused_flag_rate(tenant, scored)
    assert lo <= rate <= hi, f"held-out fused FPR {rate:.4f} outside the calibration's interval [{lo}, {hi}]"
    assert active_calibration(other) is None
    shipped_rate = fused_flag_rate(other, scored)
    print(f"held-out fused FPR: tenant calibration {rate:.4f} (interval {lo}-{hi}); shipped thresholds "
          f"{shipped_rate:.4f}")
