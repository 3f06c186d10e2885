"""A report export past its time limit ends failed with the reason: at a heartbeat (the in-task deadline, the only
limit under ``--pool solo``) or when Celery's soft limit raises in the task. Time is driven through the
deadline's clock, never slept."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from webapp import job_lifecycle as lifecycle
from webapp.accounts.tenancy import system_actor
from webapp.reporting import exports
from webapp.reporting.models import ReportExport

PARAMS = {"start": date.today() - timedelta(days=1), "end": date.today() + timedelta(days=1), "format": "json"}
REASON = "exceeded the 60 s time limit for report exports (FORENSICS_REPORT_EXPORT_TIME_LIMIT)"


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    now = [1000.0]
    monkeypatch.setattr(lifecycle, "clock", lambda: now[0])
    return now


def test_an_export_past_its_time_limit_fails_at_the_next_heartbeat(tenant, eager_celery, clock, monkeypatch,
                                                                     settings) -> None:
    settings.FORENSICS_REPORT_EXPORT_TIME_LIMIT = 60
    build = exports.build_period_report

    def slow_build(*args, **kwargs):  # type: ignore[no-untyped-def]
        clock[0] += 61
        return build(*args, **kwargs)

    monkeypatch.setattr(exports, "build_period_report", slow_build)
    job = exports.request_export(system_actor(tenant, "user:compliance"), dict(PARAMS))
    job.refresh_from_db()
    assert (job.state, job.error, job.file) == (ReportExport.State.FAILED, REASON, "")


def test_celery_s_soft_limit_records_the_time_limit_as_the_reason(tenant, eager_celery, clock, monkeypatch,
                                                                   settings) -> None:
    """Where the pool enforces it, the soft limit (a little after the deadline) raises inside the task."""
    settings.FORENSICS_REPORT_EXPORT_TIME_LIMIT = 60

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        clock[0] += 70
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(exports, "export_report", interrupted)
    job = exports.request_export(system_actor(tenant, "user:compliance"), dict(PARAMS))
    job.refresh_from_db()
    assert (job.state, job.error) == (ReportExport.State.FAILED, REASON)


def test_an_export_within_its_limit_finishes(tenant, eager_celery, clock, settings) -> None:
    settings.FORENSICS_REPORT_EXPORT_TIME_LIMIT = 60
    job = exports.request_export(system_actor(tenant, "user:compliance"), dict(PARAMS))
    job.refresh_from_db()
    assert job.state == ReportExport.State.DONE and job.file
