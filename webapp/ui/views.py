"""The moderator console: server-rendered pages over the same services as the API."""
from __future__ import annotations

import json
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from forensics import services
from forensics.ingest.errors import IngestError
from forensics.models import Analysis, Review, Verdict
from forensics.pipeline import artifact_path, media_path
from forensics.presenters import analysis_to_dict
from forensics.reviews import ReviewError, record_review
from provenance.exports import request_export
from provenance.models import AuditEvent, ReportExport
from webapp.accounts.tenancy import Actor, actor_for_request
from webapp.api.serializers import ReportRequestSerializer
from webapp.api.views import report_file_response


def _actor(request: HttpRequest, scope: str = "read") -> Actor:
    actor = actor_for_request(request)
    if actor is None:
        raise PermissionDenied("Your account does not belong to a tenant; ask an admin to add you.")
    if not actor.can(scope):
        raise PermissionDenied(f"Your role cannot do this (needs '{scope}').")
    return actor


@login_required
def items(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    qs = Analysis.objects.filter(tenant=actor.tenant).select_related("item").order_by("-created_at")
    state, verdict = request.GET.get("state", ""), request.GET.get("verdict", "")
    if state:
        qs = qs.filter(state=state)
    if verdict:
        qs = qs.filter(verdict=verdict)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, "ui/items.html", {
        "page": page, "state": state, "verdict": verdict,
        "states": Analysis.State.choices, "verdicts": Verdict.choices,
        "pending": any(a.state in ("queued", "running") for a in page),
    })


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    actor = _actor(request, "analyse")
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


@login_required
def item(request: HttpRequest, pk: str) -> HttpResponse:
    actor = _actor(request)
    analysis = get_object_or_404(
        Analysis.objects.select_related("item").prefetch_related("detector_results"), pk=pk, tenant=actor.tenant
    )
    data = analysis_to_dict(analysis)
    text_preview = ""
    if analysis.item.media_type == "text":
        text_preview = media_path(analysis).read_text("utf-8")[:5000]
    history = AuditEvent.objects.filter(tenant=actor.tenant, item_id=str(analysis.item_id)).order_by("seq")
    return render(request, "ui/item.html", {
        "analysis": analysis, "data": data, "history": history, "text_preview": text_preview,
        "reviews": analysis.reviews.all(), "decisions": Review.Decision.choices,
        "report_end": analysis.created_at + timedelta(days=1),
        "can_review": actor.can("review"),
        "pictures": [{"detector": d["detector"], "name": name} for d in data["detectors"] for name in d["artifacts"]],
        "metadata": data["provenance"].get("metadata", {}),
        "provenance_json": json.dumps(data["provenance"], indent=2, ensure_ascii=False),
    })


@login_required
@require_http_methods(["POST"])
def review(request: HttpRequest, pk: str) -> HttpResponse:
    actor = _actor(request, "review")
    analysis = get_object_or_404(Analysis, pk=pk, tenant=actor.tenant)
    try:
        record_review(actor, analysis, request.POST.get("decision", ""), request.POST.get("reason", ""))
        messages.success(request, "Decision recorded in the audit trail.")
    except ReviewError as exc:
        messages.error(request, str(exc))
    return redirect("ui:item", pk=analysis.pk)


@login_required
def item_media(request: HttpRequest, pk: str) -> FileResponse:
    """The submitted file itself, for the item page (same tenant only; never executed by the browser)."""
    actor = _actor(request)
    analysis = get_object_or_404(Analysis.objects.select_related("item"), pk=pk, tenant=actor.tenant)
    response = FileResponse(media_path(analysis).open("rb"), content_type=analysis.item.mime_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def item_artifact(request: HttpRequest, pk: str, detector: str, name: str) -> FileResponse:
    actor = _actor(request)
    analysis = get_object_or_404(Analysis, pk=pk, tenant=actor.tenant)
    path = artifact_path(analysis, detector, name)
    if path is None or not path.exists():
        raise Http404("no such picture")
    return FileResponse(path.open("rb"), content_type="image/png")


@login_required
def item_status(request: HttpRequest, pk: str) -> JsonResponse:
    """Polled by the item and list pages for live progress."""
    actor = _actor(request)
    analysis = get_object_or_404(Analysis, pk=pk, tenant=actor.tenant)
    return JsonResponse({"state": analysis.state, "stage": analysis.stage, "progress": analysis.progress,
                         "verdict": analysis.verdict or None})


@login_required
@require_http_methods(["GET", "POST"])
def reports(request: HttpRequest) -> HttpResponse:
    """Compliance exports: request a signed period report, follow its progress, download it."""
    actor = _actor(request, "export")
    form = ReportRequestSerializer(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        request_export(actor, form.validated_data)
        messages.success(request, "Report requested; it is being built on a worker.")
        return redirect("ui:reports")
    errors = form.errors if request.method == "POST" else {}
    jobs = ReportExport.objects.filter(tenant=actor.tenant)[:20]
    return render(request, "ui/reports.html", {
        "errors": errors, "jobs": jobs, "pending": any(j.state in ("queued", "running") for j in jobs),
    }, status=400 if errors else 200)


@login_required
def report_download(request: HttpRequest, pk: str) -> HttpResponse:
    actor = _actor(request, "export")
    job = get_object_or_404(ReportExport, pk=pk, tenant=actor.tenant)
    if job.state != ReportExport.State.DONE:
        raise Http404("the report is not ready")
    return report_file_response(job)
