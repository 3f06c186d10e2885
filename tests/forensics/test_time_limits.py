"""Per-kind time limits (webapp.job_lifecycle): an analysis or a calibration past its deadline ends failed with
the reason. Time is driven through the deadline's clock, never slept."""
from __future__ import annotations

import pytest

from forensics import calibrations, services
from forensics.models import Calibration
from provenance.audit import verify_chain
from provenance.models import AuditEvent
from tests.forensics.test_calibrations import write_set
from tests.support.media import jpeg_bytes
from webapp import job_lifecycle as lifecycle

pytestmark = pytest.mark.usefixtures("eager_celery")


class Clock:
    """The deadline's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advancing(self, seconds: float, func):  # type: ignore[no-untyped-def]
        """``func``, which moves the clock ``seconds`` on before it runs (as if it took that long)."""
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.now += seconds
            return func(*args, **kwargs)
        return wrapped


@pytest.fixture
def clock(monkeypatch) -> Clock:  # type: ignore[no-untyped-def]
    fake = Clock()
    monkeypatch.setattr(lifecycle, "clock", fake)
    return fake


def test_an_analysis_past_its_time_limit_fails_with_the_reason(actor, clock, monkeypatch, settings) -> None:
    from forensics import pipeline

    settings.FORENSICS_ANALYSIS_TIME_LIMIT = 2
    monkeypatch.setattr(pipeline, "collect_provenance", clock.advancing(3, pipeline.collect_provenance))
    analysis = services.submit_chunks(actor, [jpeg_bytes(seed=91)])
    analysis.refresh_from_db()
    reason = "exceeded the 2 s time limit for analyses (FORENSICS_ANALYSIS_TIME_LIMIT)"
    assert (analysis.state, analysis.error, analysis.attempts) == ("failed", reason, 1)
    assert not analysis.detector_results.exists()  # stopped at the first heartbeat past the deadline
    failed = AuditEvent.objects.get(analysis_id=str(analysis.id), action="analysis.failed")
    assert failed.payload["error"] == reason
    assert verify_chain(actor.tenant).ok


def test_the_detection_stage_has_its_own_clock(actor, clock, monkeypatch, settings) -> None:
    """Time spent waiting for a detection worker is not the job's: the detection run starts the clock again."""
    from forensics import pipeline

    settings.FORENSICS_ANALYSIS_TIME_LIMIT = 2
    # Provenance takes 1.5 s, then detection 1.5 s more: each run is within the limit, their sum is not.
    monkeypatch.setattr(pipeline, "collect_provenance", clock.advancing(1.5, pipeline.collect_provenance))
    monkeypatch.setattr(pipeline, "active_calibration", clock.advancing(1.5, pipeline.active_calibration))
    analysis = services.submit_chunks(actor, [jpeg_bytes(seed=92)])
    analysis.refresh_from_db()
    assert analysis.state == "done", analysis.error


def test_a_detector_that_runs_past_the_limit_fails_the_analysis_at_the_next_heartbeat(
        actor, clock, monkeypatch, settings) -> None:
    from forensics import pipeline

    settings.FORENSICS_ANALYSIS_TIME_LIMIT = 5
    monkeypatch.setattr(pipeline, "checked_predict", clock.advancing(6, pipeline.checked_predict))
    analysis = services.submit_chunks(actor, [jpeg_bytes(seed=93)])
    analysis.refresh_from_db()
    assert analysis.state == "failed"
    assert analysis.error == "exceeded the 5 s time limit for analyses (FORENSICS_ANALYSIS_TIME_LIMIT)"
    assert analysis.detector_results.count() == 1  # the first detector's result is kept, the next never started


def test_a_zero_limit_means_none(actor, clock, monkeypatch, settings) -> None:
    from forensics import pipeline

    settings.FORENSICS_ANALYSIS_TIME_LIMIT = 0
    monkeypatch.setattr(pipeline, "collect_provenance", clock.advancing(10 ** 6, pipeline.collect_provenance))
    analysis = services.submit_chunks(actor, [jpeg_bytes(seed=94)])
    analysis.refresh_from_db()
    assert analysis.state == "done", analysis.error


def test_a_calibration_past_its_time_limit_fails_with_the_reason(actor, clock, monkeypatch, settings,
                                                                 tmp_path) -> None:
    settings.FORENSICS_CALIBRATION_MIN_REAL = 4
    settings.FORENSICS_CALIBRATION_TIME_LIMIT = 30
    monkeypatch.setattr(calibrations, "checked_predict", clock.advancing(31, calibrations.checked_predict))
    members = calibrations.file_members([(p, 0) for p in write_set(tmp_path / "real", [0.3, 0.4, 0.5, 0.6])])
    calibration = calibrations.create_calibration(actor, members, source="files", target_fpr=0.05)
    calibration.refresh_from_db()
    assert (calibration.state, calibration.error) == (
        Calibration.State.FAILED, "exceeded the 30 s time limit for calibrations (FORENSICS_CALIBRATION_TIME_LIMIT)")


def test_every_job_task_has_celery_time_limits_behind_the_deadline(settings) -> None:
    limits = {"forensics.tasks.run_provenance_stage": settings.FORENSICS_ANALYSIS_TIME_LIMIT,
              "forensics.tasks.run_detection_stage": settings.FORENSICS_ANALYSIS_TIME_LIMIT,
              "forensics.tasks.run_calibration": settings.FORENSICS_CALIBRATION_TIME_LIMIT,
              "provenance.tasks.run_report_export": settings.FORENSICS_REPORT_EXPORT_TIME_LIMIT,
              "privacy.tasks.run_private_finetune": settings.FORENSICS_PRIVATE_JOB_TIME_LIMIT}
    for name, limit in limits.items():
        annotation = settings.CELERY_TASK_ANNOTATIONS[name]
        assert limit < annotation["soft_time_limit"] < annotation["time_limit"], name
    assert set(lifecycle.TIME_LIMITS) == {"forensics.analysis", "forensics.calibration", "reporting.reportexport",
                                          "privacy.privatefinetunejob"}
