"""Report exports as worker jobs: requested (audited), built with progress, stored signed."""
from __future__ import annotations

import logging
from datetime import date, datetime, time
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from forensics.public_errors import public_reason
from provenance.audit import append_event
from provenance.models import ReportExport
from provenance.reports import build_period_report, export_report
from webapp.accounts.tenancy import Actor

log = logging.getLogger(__name__)
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv", "pdf": "application/pdf"}


def request_export(actor: Actor, params: dict[str, Any]) -> ReportExport:
    clean = {k: (v.isoformat() if isinstance(v, date) else str(v) if k == "analysis" else v)
             for k, v in params.items() if v not in (None, "")}
    fmt = clean.pop("format", "json")
    with transaction.atomic():
        job = ReportExport.objects.create(tenant=actor.tenant, requested_by=actor.label, params=clean, format=fmt)
        append_event(actor.tenant, actor.label, "report.requested", payload={"export_id": str(job.id), "format": fmt,
                                                                           **clean})
        transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: ReportExport) -> None:
    from provenance.tasks import run_report_export

    try:
        run_report_export.delay(str(job.id))
    except Exception as exc:  # noqa: BLE001 - the job stays queued and can be requested again
        log.error("could not enqueue report export", extra={"export": str(job.id), "error": str(exc)})


def _day(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time.min, tzinfo=dt_timezone.utc)


def run_export(export_id: str) -> None:
    if not ReportExport.objects.filter(pk=export_id, state=ReportExport.State.QUEUED).update(
        state=ReportExport.State.RUNNING, progress=0.1
    ):
        return
    job = ReportExport.objects.select_related("tenant").get(pk=export_id)
    try:
        p = job.params
        report = build_period_report(job.tenant, _day(p["start"]), _day(p["end"]), verdict=p.get("verdict"),
                                     reviewer=p.get("reviewer"), analysis=p.get("analysis"),
                                     actor=job.requested_by)
        ReportExport.objects.filter(pk=job.pk).update(progress=0.5)
        body, detached = export_report(report, job.format, job.tenant, job.requested_by)
        rel = f"reports/{job.tenant.slug}/{job.id}.{job.format}"
        path = Path(settings.MEDIA_ROOT) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        ReportExport.objects.filter(pk=job.pk).update(state=ReportExport.State.DONE, progress=1.0, file=rel,
                                                      signature=detached or "", finished_at=timezone.now())
    except Exception as exc:  # noqa: BLE001 - every job ends in a recorded state
        ReportExport.objects.filter(pk=job.pk).update(state=ReportExport.State.FAILED, error=public_reason(exc),
                                                      finished_at=timezone.now())
        log.exception("report export failed", extra={"export": export_id})


def export_to_dict(job: ReportExport) -> dict[str, Any]:
    return {
        "id": str(job.id), "state": job.state, "progress": job.progress, "format": job.format, "params": job.params,
        "requested_by": job.requested_by, "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None, "error": job.error or None,
        "download": f"/api/v1/reports/{job.id}/download" if job.state == ReportExport.State.DONE else None,
    }
