"""Report exports as worker jobs: requested (audited), built with progress, stored signed."""
from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import FileResponse

from provenance.audit import append_event
from webapp import job_lifecycle as lifecycle
from webapp.accounts.tenancy import Actor
from webapp.reporting.models import ReportExport
from webapp.reporting.reports import build_period_report, export_report

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
    """Hand the job to the queue; if the broker is down, the sweeper sends it again."""
    lifecycle.send("provenance.tasks.run_report_export", job.id, "report_export")  # its name on the wire


def _give_up(job: ReportExport, reason: str) -> None:
    if lifecycle.finish(job, lifecycle.FAILED, error=reason):
        log.error("report export failed", extra={"export": str(job.id), "error": reason})


def recover_stale_exports() -> dict[str, int]:
    """Exports whose worker died go back to the queue (failed after FORENSICS_MAX_ATTEMPTS); lost ones are re-sent."""
    return lifecycle.sweep(ReportExport, _enqueue, give_up=_give_up)


def _day(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)


def run_export(export_id: str, *, redelivered: bool = False) -> None:
    job = lifecycle.claim(ReportExport, export_id, redelivered=redelivered, stage="collecting")
    if job is None:
        return
    try:
        p = job.params
        lifecycle.beat(job, "collecting the analyses", 0.1)
        report = build_period_report(job.tenant, _day(p["start"]), _day(p["end"]), verdict=p.get("verdict"),
                                     reviewer=p.get("reviewer"), analysis=p.get("analysis"),
                                     actor=job.requested_by)
        lifecycle.beat(job, f"rendering and signing the {job.format.upper()}", 0.5)
        body, detached = export_report(report, job.format, job.tenant, job.requested_by)
        rel = f"reports/{job.tenant.slug}/{job.id}.{job.format}"
        path = Path(settings.MEDIA_ROOT) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        lifecycle.finish(job, lifecycle.DONE, file=rel, signature=detached or "")
    except Exception as exc:  # noqa: BLE001 - every job must end in a recorded state
        lifecycle.fail(job, exc)


def export_to_dict(job: ReportExport) -> dict[str, Any]:
    return {
        "id": str(job.id), "state": job.state, "stage": job.stage, "progress": job.progress, "format": job.format,
        "params": job.params,
        "requested_by": job.requested_by, "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None, "error": job.error or None,
        "download": f"/api/v1/reports/{job.id}/download" if job.state == ReportExport.State.DONE else None,
    }


def report_file_response(job: ReportExport) -> FileResponse:
    """The signed file of a finished export as a download; CSV and PDF carry their detached signature in
    ``X-Signature``. The API and the console both serve it so, each after checking that the job is done."""
    response = FileResponse((Path(settings.MEDIA_ROOT) / job.file).open("rb"), content_type=CONTENT_TYPES[job.format],
                            as_attachment=True, filename=f"report-{job.tenant.slug}-{job.id}.{job.format}")
    if job.signature:
        response["X-Signature"] = json.dumps(json.loads(job.signature), separators=(",", ":"))
    return response
