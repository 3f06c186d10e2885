"""The moderator console: server-rendered pages over the same services as the API."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from forensics import services
from forensics.ingest.errors import IngestError
from forensics.models import Analysis, MediaItem, Review, ReviewState, Verdict
from forensics.operating_point_use import expected_fpr
from forensics.pipeline import artifact_path, media_path
from forensics.presenters import analysis_to_dict
from forensics.reviews import ReviewError, needs_second_review, record_review, record_reviews
from provenance.models import AuditEvent
from webapp.accounts.tenancy import get_scoped_or_404, scoped
from webapp.api.serializers import ReportRequestSerializer
from webapp.reporting.exports import report_file_response, request_export
from webapp.reporting.models import ReportExport
from webapp.ui import evidence, queue
from webapp.ui.access import console_actor

QUEUE_PAGE_SIZE = 25


@login_required
def items(request: HttpRequest) -> HttpResponse:
    """The review queue: filter, sort, page, select rows for a bulk decision."""
    actor = console_actor(request)
    qs = scoped(Analysis, actor).select_related("item")
    qs, filters = queue.apply(qs, request.GET)
    page = Paginator(qs, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ui/items.html", {
        "page": page, "f": filters.values, "filter_errors": filters.errors, "querystring": filters.querystring(),
        "states": Analysis.State.choices, "verdicts": Verdict.choices, "review_states": ReviewState.choices,
        "media_types": MediaItem.MEDIA_TYPES, "sorts": [(k, label) for k, (label, _) in queue.SORTS.items()],
        "detectors": queue.detector_names(actor.tenant), "decisions": Review.Decision.choices,
        "can_review": actor.can("review"),
        "pending": any(a.state not in Analysis.TERMINAL_STATES for a in page),
    })


@login_required
@require_http_methods(["POST"])
def bulk_review(request: HttpRequest) -> HttpResponse:
    """One decision and reason for the selected rows; each item gets its own review and audit event."""
    actor = console_actor(request, "review")
    ids = request.POST.getlist("ids")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) or not back.startswith("/"):
        back = reverse("ui:items")
    if not ids:
        messages.error(request, "Select at least one item (tick its box, or press x on a row) before a bulk decision.")
        return redirect(back)
    try:
        chosen = list(scoped(Analysis, actor).filter(pk__in=ids).select_related("item"))
    except (ValueError, ValidationError):
        messages.error(request, "The selection contained an id that is not an item id.")
        return redirect(back)
    result = record_reviews(actor, chosen, request.POST.get("decision", ""), request.POST.get("reason", ""))
    if result.recorded:
        messages.success(request, f"Decision recorded for {len(result.recorded)} item(s), each in the audit trail.")
    for analysis, why in result.refused:
        messages.error(request, f"{analysis.item.original_name or analysis.item.sha256[:12]}: {why}")
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    actor = console_actor(request, "analyse")
    if request.method == "POST":
        files = request.FILES.getlist("files")
        text = request.POST.get("text", "")
        if not files and not text.strip():
            messages.error(request, "Choose at least one file or paste some text.")
            return render(request, "ui/upload.html", status=400)
        created, refused = [], []
        for upload in files:
            try:
                created.append(services.submit_chunks(actor, upload.chunks(), original_name=upload.name, source="ui"))
            except IngestError as exc:
                refused.append(f"{upload.name}: {exc.detail}")
        if text.strip():
            try:
                created.append(services.submit_text(actor, text, source="ui"))
            except IngestError as exc:
                refused.append(f"Text: {exc.detail}")
        for reason in refused:
            messages.error(request, reason)
        if created:
            messages.success(request, f"{len(created)} item(s) queued for analysis.")
        if len(created) == 1 and not refused:
            return redirect("ui:item", pk=created[0].pk)
        if refused and not created:
            return render(request, "ui/upload.html", status=400)
        return redirect("ui:items")
    return render(request, "ui/upload.html")


def _submitted(analysis: Analysis) -> dict[str, str]:
    return {"id": str(analysis.pk), "url": reverse("ui:item", args=[analysis.pk]),
            "status_url": reverse("ui:item_status", args=[analysis.pk])}


@login_required
@require_http_methods(["POST"])
def upload_one(request: HttpRequest) -> JsonResponse:
    """One file (or the pasted text) per request, so the page can show each file's own
    upload progress and refusal; answers JSON the upload page's script reads."""
    actor = console_actor(request, "analyse")
    upload = request.FILES.get("file")
    text = request.POST.get("text", "")
    try:
        if upload is not None:
            analysis = services.submit_chunks(actor, upload.chunks(), original_name=upload.name, source="ui")
        elif text.strip():
            analysis = services.submit_text(actor, text, source="ui")
        else:
            return JsonResponse({"error": "Send a file in 'file' or text in 'text'."}, status=400)
    except IngestError as exc:
        return JsonResponse({"error": exc.detail}, status=400)
    return JsonResponse(_submitted(analysis), status=201)


def _neighbours(analysis: Analysis) -> tuple[str | None, str | None]:
    """(newer, older) item ids in queue order, for j/k on the item page."""
    same = Analysis.objects.filter(tenant=analysis.tenant)
    newer = same.filter(created_at__gt=analysis.created_at).order_by("created_at").values_list("pk", flat=True).first()
    older = same.filter(created_at__lt=analysis.created_at).order_by("-created_at").values_list("pk", flat=True).first()
    return (str(newer) if newer else None, str(older) if older else None)


@login_required
def item(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request)
    analysis = get_scoped_or_404(
        Analysis.objects.select_related("item", "calibration").prefetch_related("detector_results", "reviews"),
        actor, pk=pk,
    )
    data = analysis_to_dict(analysis)
    results = list(analysis.detector_results.all())
    props = analysis.item.properties or {}
    width, height = props.get("width"), props.get("height")
    text = media_path(analysis).read_text("utf-8") if analysis.item.media_type == "text" else ""
    history = scoped(AuditEvent, actor).filter(item_id=str(analysis.item_id)).order_by("seq")
    newer, older = _neighbours(analysis)
    overlays = evidence.heatmap_overlays(results, width, height)
    return render(request, "ui/item.html", {
        "analysis": analysis, "data": data, "history": history, "text_preview": text,
        "results": [{"r": r, "summary": evidence.evidence_summary(r.evidence),
                     "artifacts": sorted(r.evidence.get("artifacts", {}))} for r in results],
        "reviews": analysis.reviews.all(), "decisions": Review.Decision.choices,
        "report_end": analysis.created_at + timedelta(days=1),
        "can_review": actor.can("review"),
        "second_review": needs_second_review(analysis),
        "second_review_score": settings.FORENSICS_SECOND_REVIEW_SCORE,
        "pictures": [{"detector": d["detector"], "name": name} for d in data["detectors"] for name in d["artifacts"]
                     if not any(o["detector"] == d["detector"] and o["name"] == name for o in overlays)],
        "overlays": overlays,
        "boxes": evidence.face_boxes(results, width, height),
        "timelines": evidence.timelines(results, props.get("duration_seconds")),
        "span_views": evidence.span_views(text, results),
        "media_ratio": f"{width} / {height}" if width and height else "",
        "newer": newer, "older": older,
        # the false-positive rate behind the verdict: the tenant's calibration, or the model cards' own
        "expected_fpr": expected_fpr(analysis) if analysis.verdict else None,
        "metadata": data["provenance"].get("metadata", {}),
        "provenance_json": json.dumps(data["provenance"], indent=2, ensure_ascii=False),
    })


@login_required
@require_http_methods(["POST"])
def review(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request, "review")
    analysis = get_scoped_or_404(Analysis, actor, pk=pk)
    try:
        record_review(actor, analysis, request.POST.get("decision", ""), request.POST.get("reason", ""))
        messages.success(request, "Decision recorded in the audit trail.")
    except ReviewError as exc:
        messages.error(request, str(exc))
    return redirect("ui:item", pk=analysis.pk)


_BYTE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``Range: bytes=a-b`` request, or None to send the whole file."""
    match = _BYTE_RANGE.match(header.strip())
    if not match or size == 0 or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # the last N bytes
        return max(0, size - int(last)), size - 1
    return int(first), min(size - 1, int(last)) if last else size - 1


@login_required
def item_media(request: HttpRequest, pk: str) -> HttpResponse:
    """The submitted file itself, for the item page (same tenant only; never executed by the browser).

    Answers byte ranges: a browser can only seek a video (timeline clicks) when the server does.
    """
    actor = console_actor(request)
    analysis = get_scoped_or_404(Analysis.objects.select_related("item"), actor, pk=pk)
    path = media_path(analysis)
    size = path.stat().st_size
    wanted = _byte_range(request.headers.get("Range", ""), size)
    if wanted is not None and wanted[0] > wanted[1]:
        response: HttpResponse = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if wanted is None:
        response = FileResponse(path.open("rb"), content_type=analysis.item.mime_type)
    else:
        first, last = wanted
        with path.open("rb") as fh:
            fh.seek(first)
            response = HttpResponse(fh.read(last - first + 1), status=206, content_type=analysis.item.mime_type)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def item_artifact(request: HttpRequest, pk: str, detector: str, name: str) -> FileResponse:
    actor = console_actor(request)
    analysis = get_scoped_or_404(Analysis, actor, pk=pk)
    path = artifact_path(analysis, detector, name)
    if path is None or not path.exists():
        raise Http404("no such picture")
    return FileResponse(path.open("rb"), content_type="image/png")


@login_required
def item_status(request: HttpRequest, pk: str) -> JsonResponse:
    """Polled by the item and list pages for live progress."""
    actor = console_actor(request)
    analysis = get_scoped_or_404(Analysis, actor, pk=pk)
    return JsonResponse({"state": analysis.state, "stage": analysis.stage, "progress": analysis.progress,
                         "verdict": analysis.verdict or None,
                         "verdict_label": analysis.get_verdict_display() if analysis.verdict else None,
                         "score": analysis.score, "review_state": analysis.review_state,
                         "error": analysis.error or None, "url": reverse("ui:item", args=[analysis.pk])})


@login_required
@require_http_methods(["GET", "POST"])
def reports(request: HttpRequest) -> HttpResponse:
    """Compliance exports: request a signed period report, follow its progress, download it."""
    actor = console_actor(request, "export")
    fields = request.POST.copy()
    fields.pop("csrfmiddlewaretoken", None)  # the form's CSRF token is not a report parameter
    form = ReportRequestSerializer(data=fields or None)
    if request.method == "POST" and form.is_valid():
        request_export(actor, form.validated_data)
        messages.success(request, "Report requested; it is being built on a worker.")
        return redirect("ui:reports")
    errors = form.errors if request.method == "POST" else {}
    jobs = scoped(ReportExport, actor)[:20]
    return render(request, "ui/reports.html", {
        "errors": errors, "jobs": jobs, "pending": any(j.state in ("queued", "running") for j in jobs),
    }, status=400 if errors else 200)


@login_required
def report_download(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request, "export")
    job = get_scoped_or_404(ReportExport, actor, pk=pk)
    if job.state != ReportExport.State.DONE:
        raise Http404("the report is not ready")
    return report_file_response(job)
