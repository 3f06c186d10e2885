"""A report export that raises ends failed with a reason people may see, its traceback logged by the life cycle."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from django.conf import settings

from tests.support.job_logs import raised_record
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import system_actor
from webapp.reporting.exports import request_export

PARAMS = {"start": date.today() - timedelta(days=1), "end": date.today() + timedelta(days=1), "format": "json"}


def test_an_export_that_cannot_be_stored_fails_with_the_reason_and_a_logged_traceback(eager_celery, caplog) -> None:
    """The tenant's report folder is taken by a file (a storage fault): nothing can be written there."""
    tenant = Tenant.objects.create(slug="blocked-storage", name="A tenant whose report folder is taken")
    blocked = Path(settings.MEDIA_ROOT) / "reports" / tenant.slug
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"")
    try:
        job = request_export(system_actor(tenant, "user:compliance"), dict(PARAMS))
    finally:
        blocked.unlink()
    job.refresh_from_db()
    assert (job.state, job.file) == ("failed", "")
    assert job.error.startswith("FileExistsError: ") and str(blocked.parent) not in job.error
    raised = raised_record(caplog, job)
    assert raised.stage == "rendering and signing the JSON" and str(blocked) in str(raised.exc_info[1])

