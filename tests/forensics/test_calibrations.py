"""Per-tenant calibration end to end, in-process: a set, the job, activation, the pipeline using it, the sweeper.

The detector here is the test plugin ``test-brightness`` (score = mean brightness), so the images' brightness
is the score and every expected threshold can be worked out by hand.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from forensics import calibrations, services
from forensics.models import Analysis, Calibration, DetectorResult
from forensics.operating_point_use import active_calibration, apply_operating_point
from forensics.reviews import record_review
from provenance.audit import verify_chain
from provenance.models import AuditEvent
from tests.support.detectors import raising_detector
from tests.support.job_logs import raised_record
from tests.support.media import gray_png
from webapp.accounts.tenancy import Actor, system_actor

pytestmark = pytest.mark.usefixtures("eager_celery")


def write_set(folder: Path, levels: list[float], seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, level in enumerate(levels):
        path = folder / f"{seed}-{i:04d}.png"
        path.write_bytes(gray_png(level, seed * 10_000 + i))
        paths.append(path)
    return paths


@pytest.fixture
def small_sets(settings):  # type: ignore[no-untyped-def]
    settings.FORENSICS_CALIBRATION_MIN_REAL = 40
    settings.FORENSICS_CALIBRATION_BOOTSTRAP = 50
    settings.FORENSICS_DISABLED_DETECTORS = [*settings.FORENSICS_DISABLED_DETECTORS, "test-gated"]


def calibrate(actor: Actor, tmp_path: Path, real_levels: list[float], fake_levels: list[float] = (),
              target: float = 0.05) -> Calibration:
    labelled = [(p, 0) for p in write_set(tmp_path / "real", list(real_levels), 1)]
    labelled += [(p, 1) for p in write_set(tmp_path / "fake", list(fake_levels), 2)]
    calibration = calibrations.create_calibration(actor, calibrations.file_members(labelled), source="files",
                                                  target_fpr=target)
    calibration.refresh_from_db()
    return calibration


def test_a_calibration_fits_the_tenants_threshold_and_the_pipeline_uses_it_once_active(
        actor, other_tenant, tmp_path, small_sets) -> None:
    # This platform's real photos are bright: the shipped 0.5 would flag most of them.
    reals = list(np.linspace(0.40, 0.80, 40))
    calibration = calibrate(actor, tmp_path, reals, [0.9] * 10, target=0.05)
    assert calibration.state == "done", calibration.error
    threshold = calibration.thresholds["test-brightness"]
    assert 0.75 < threshold < 0.80  # two of the 40 reals (5%) may be flagged: those at 0.79 and 0.80
    fused = calibration.result["fused"]
    assert fused["fpr_in_sample"] <= 0.05 and fused["tpr"] == 1.0
    lo, hi = fused["fpr_interval"]
    assert 0.0 <= lo <= fused["expected_fpr"] <= hi
    assert calibration.result["detectors"]["test-brightness"]["roc"]

    before = services.submit_chunks(actor, [gray_png(0.7, 99)], original_name="bright.png")
    before.refresh_from_db()
    assert before.verdict == "likely_synthetic" and before.calibration is None  # shipped threshold 0.5

    calibrations.activate(actor, calibration)
    after = services.submit_chunks(actor, [gray_png(0.7, 98)], original_name="bright2.png")
    after.refresh_from_db()
    result = DetectorResult.objects.get(analysis=after, detector="test-brightness")
    assert result.threshold == pytest.approx(threshold) and result.label == "authentic"
    assert result.evidence["operating_point"]["shipped_threshold"] == 0.5
    # no longer flagged; above even odds, so fusion leaves it to a person (forensics.fusion, rule 5)
    assert after.verdict == "inconclusive" and after.calibration_id == calibration.id
    completed = AuditEvent.objects.get(analysis_id=str(after.id), action="analysis.completed")
    assert completed.payload["operating_point"]["version"] == calibration.version

    theirs = services.submit_chunks(system_actor(other_tenant), [gray_png(0.7, 97)], original_name="x.png")
    theirs.refresh_from_db()
    assert theirs.verdict == "likely_synthetic" and theirs.calibration is None  # another tenant: unaffected

    calibrations.use_shipped(actor)
    back = services.submit_chunks(actor, [gray_png(0.7, 96)], original_name="bright3.png")
    back.refresh_from_db()
    assert back.verdict == "likely_synthetic" and back.calibration is None
    actions = list(AuditEvent.objects.filter(tenant=actor.tenant, action__startswith="calibration.")
                   .order_by("seq").values_list("action", flat=True))
    assert actions == ["calibration.created", "calibration.done", "calibration.activated", "calibration.retired"]
    assert verify_chain(actor.tenant).ok


def test_activating_a_new_version_retires_the_old_one(actor, tmp_path, small_sets) -> None:
    first = calibrate(actor, tmp_path / "a", list(np.linspace(0.1, 0.5, 40)))
    second = calibrate(actor, tmp_path / "b", list(np.linspace(0.2, 0.6, 40)))
    assert (first.version, second.version) == (1, 2)
    calibrations.activate(actor, first)
    calibrations.activate(actor, second)
    first.refresh_from_db()
    assert not first.is_active and first.retired_at is not None
    assert active_calibration(actor.tenant) == second


def test_too_few_real_items_are_refused_with_the_count_needed(actor, tmp_path, small_sets) -> None:
    labelled = [(p, 0) for p in write_set(tmp_path, [0.3] * 25)]
    with pytest.raises(calibrations.CalibrationError, match="at least 40 known-real items and this set has 25: add 15"):
        calibrations.create_calibration(actor, calibrations.file_members(labelled), source="files")
    assert not Calibration.objects.exists()


def test_a_detector_that_judged_too_few_leaves_the_job_refused_with_why(actor, tmp_path, settings,
                                                                        small_sets) -> None:
    settings.FORENSICS_DISABLED_DETECTORS = [*settings.FORENSICS_DISABLED_DETECTORS, "test-brightness"]
    settings.FORENSICS_DISABLED_DETECTORS.remove("test-gated")  # not applicable to every item
    calibration = calibrate(actor, tmp_path, [0.3] * 40)
    assert calibration.state == "refused"
    assert "no detector judged at least 40" in calibration.error and "test-gated judged 0" in calibration.error
    with pytest.raises(calibrations.CalibrationError, match="only a finished calibration"):
        calibrations.activate(actor, calibration)


def test_a_file_an_upload_would_refuse_is_named(tmp_path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture at all")
    with pytest.raises(calibrations.CalibrationError, match="notes.png"):
        calibrations.file_members([(bad, 0)])


def test_only_admins_calibrate_or_switch(tenant, tmp_path, small_sets) -> None:
    moderator = Actor(tenant, "user:mod", "moderator", frozenset({"analyse", "read", "review"}))
    with pytest.raises(PermissionError, match="calibrate"):
        calibrations.create_calibration(moderator, [], source="files")
    with pytest.raises(PermissionError, match="calibrate"):
        calibrations.use_shipped(moderator)


def test_reviewed_items_become_the_set_by_their_final_decision(actor, settings) -> None:
    settings.FORENSICS_SECOND_REVIEW_SCORE = None
    decisions = ["confirm_authentic", "confirm_authentic", "confirm_synthetic", "escalate"]
    for seed, decision in enumerate(decisions):
        analysis = services.submit_chunks(actor, [gray_png(0.2 + 0.1 * seed, seed)], original_name=f"{seed}.png")
        record_review(actor, Analysis.objects.get(pk=analysis.pk), decision, "checked by hand")
    members = calibrations.reviewed_members(actor.tenant)
    assert sorted(m["label"] for m in members) == [0, 0, 1]  # the escalated item is not known either way


def test_a_calibration_fitted_on_another_model_version_is_not_applied(actor, tmp_path, small_sets) -> None:
    calibration = calibrate(actor, tmp_path, list(np.linspace(0.4, 0.8, 40)))
    from detectors.base import Finding, FindingLabel

    finding = Finding("test-brightness", "1.0", FindingLabel.SYNTHETIC, score=0.7, threshold=0.5)
    fitted = calibration.result["models"]["test-brightness"]
    assert apply_operating_point(finding, calibration, fitted).label is FindingLabel.AUTHENTIC
    other = apply_operating_point(finding, calibration, {**fitted, "version": "2.0"})
    assert other.threshold == 0.5 and other.evidence["operating_point"]["applied"] is False


def test_a_calibration_whose_worker_died_is_requeued_then_given_up(actor, tmp_path, small_sets, settings) -> None:
    calibration = calibrate(actor, tmp_path, list(np.linspace(0.1, 0.5, 40)))
    stale = timezone.now() - timedelta(seconds=settings.FORENSICS_STALE_AFTER_SECONDS + 5)
    Calibration.objects.filter(pk=calibration.pk).update(state="running", heartbeat_at=stale, attempts=1)
    counts = calibrations.recover_stale_calibrations()
    calibration.refresh_from_db()
    assert counts["requeued"] == 1 and calibration.state == "done"  # requeued, and the eager worker re-ran it
    Calibration.objects.filter(pk=calibration.pk).update(state="running", heartbeat_at=stale,
                                                         attempts=settings.FORENSICS_MAX_ATTEMPTS)
    assert calibrations.recover_stale_calibrations()["failed"] == 1
    calibration.refresh_from_db()
    assert calibration.state == "failed" and "stopped responding" in calibration.error


def test_a_calibration_whose_detector_raises_fails_with_the_reason_and_a_logged_traceback(
        actor, tmp_path, small_sets, caplog) -> None:
    with raising_detector("weights file missing: /models/x.safetensors"):
        calibration = calibrate(actor, tmp_path, list(np.linspace(0.1, 0.5, 40)))
    assert calibration.state == "failed"
    assert calibration.error == "RuntimeError: weights file missing: x.safetensors"  # no server path
    failed = AuditEvent.objects.get(action="calibration.failed", payload__calibration_id=str(calibration.id))
    assert failed.payload["error"] == calibration.error
    raised = raised_record(caplog, calibration)
    assert raised.stage == "scoring with test-brightness"  # the last beat before test-broken raised
    assert "/models/x.safetensors" in str(raised.exc_info[1])
