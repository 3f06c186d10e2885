"""kill -9 a real worker in the middle of a report export: after the sweep the export is finished, or failed with
the reason once it is out of attempts. On the configured database and broker (both passes of scripts/test.sh)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.conftest import wait_for, wait_until_stale
from webapp.accounts.tenancy import system_actor
from webapp.reporting.exports import request_export
from webapp.reporting.models import ReportExport

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PARAMS = {"start": date.today() - timedelta(days=1), "end": date.today() + timedelta(days=1), "format": "json"}
STALE_AFTER = 2


def gated_env(gate, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"DJANGO_SETTINGS_MODULE": "tests.webapp.reporting.worker_settings",
            "FORENSICS_TEST_EXPORT_GATE_DIR": str(gate), "FORENSICS_STALE_AFTER_SECONDS": str(STALE_AFTER), **extra}


def state_of(job: ReportExport) -> str:
    return ReportExport.objects.get(pk=job.pk).state


def killed_mid_export(worker_factory, tenant, gate, env):  # type: ignore[no-untyped-def]
    """An export whose worker was SIGKILLed while rendering, its heartbeat now stale."""
    first = worker_factory(env)
    job = request_export(system_actor(tenant, "user:compliance"), dict(PARAMS))
    wait_for(lambda: any(gate.glob("started-*")), what="the first worker to start the export")
    first.kill()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("running", 1)
    wait_until_stale(job, STALE_AFTER)
    return job


def test_an_export_survives_its_worker_being_killed(worker_factory, tenant, tmp_path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    env = gated_env(gate)
    job = killed_mid_export(worker_factory, tenant, gate, env)
    (gate / "open").touch()
    worker_factory(env)  # its start-up sweep requeues the export
    wait_for(lambda: state_of(job) in ("done", "failed"), what="the second worker to finish the export")
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("done", 2), job.error
    assert job.file and job.error == ""


def test_an_export_out_of_attempts_fails_with_the_reason(worker_factory, tenant, tmp_path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    env = gated_env(gate, FORENSICS_MAX_ATTEMPTS="1")
    job = killed_mid_export(worker_factory, tenant, gate, env)
    worker_factory(env)  # its start-up sweep gives up on the export
    wait_for(lambda: state_of(job) == "failed", what="the sweep to give up on the export")
    job.refresh_from_db()
    assert job.error == "the worker stopped responding 1 times; giving up" and not job.file
