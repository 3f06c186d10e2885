"""REST API v1: thin views over ``forensics.services``; tenant scoping on every query."""
from __future__ import annotations

from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from forensics import services
from forensics.idempotency import IdempotencyConflict, file_fingerprint, run_once, text_fingerprint
from forensics.models import Analysis
from forensics.pipeline import artifact_path
from forensics.reviews import ReviewError, record_review
from webapp.accounts.tenancy import get_scoped_or_404, scoped
from webapp.api.errors import problem
from webapp.api.parsers import SafeJSONParser
from webapp.api.serializers import (
    AnalysisCreateSerializer,
    AnalysisSerializer,
    ReportExportSerializer,
    ReportRequestSerializer,
    ReviewCreateSerializer,
)
from webapp.reporting.exports import export_to_dict, report_file_response, request_export
from webapp.reporting.models import ReportExport

FILTERS = ("state", "verdict", "media_type")


def tenant_analyses(request: Request) -> QuerySet[Analysis]:
    return (
        scoped(Analysis, request.actor)
        .select_related("item", "calibration")
        .prefetch_related("detector_results", "reviews")
    )


class AnalysisListCreate(generics.ListCreateAPIView):
    serializer_class = AnalysisSerializer
    parser_classes = [MultiPartParser, FormParser, SafeJSONParser]
    required_scopes = {"GET": "read", "POST": "analyse"}

    def get_queryset(self) -> QuerySet[Analysis]:
        qs = tenant_analyses(self.request)
        for name in FILTERS:
            value = self.request.query_params.get(name)
            if value:
                qs = qs.filter(**{("item__media_type" if name == "media_type" else name): value})
        return qs.order_by("-created_at")

    @extend_schema(
        parameters=[OpenApiParameter(name, OpenApiTypes.STR, description=f"Filter by {name}") for name in FILTERS]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=AnalysisCreateSerializer,
        responses={202: AnalysisSerializer, 200: AnalysisSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     description="Retry-safe: the same key returns the first analysis (200).")],
    )
    def post(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        form = AnalysisCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if "file" in data:
            upload = data["file"]
            fingerprint = file_fingerprint(upload.chunks())

            def submit() -> Analysis:
                return services.submit_chunks(request.actor, upload.chunks(), original_name=upload.name or "",
                                              source="api")
        else:
            fingerprint = text_fingerprint(data["text"])

            def submit() -> Analysis:
                return services.submit_text(request.actor, data["text"], source="api")

        key = request.headers.get("Idempotency-Key", "").strip()
        replayed = False
        if key:
            try:
                analysis, replayed = run_once(request.actor.tenant, key[:200], fingerprint, submit)
            except IdempotencyConflict as exc:
                return problem(409 if "processed" in str(exc) else 422, "idempotency_conflict",
                               "Idempotency-Key conflict", str(exc))
        else:
            analysis = submit()
        analysis = tenant_analyses(request).get(pk=analysis.pk)
        headers = {"Location": f"/api/v1/analyses/{analysis.id}"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(AnalysisSerializer(analysis).data,
                        status=status.HTTP_200_OK if replayed else status.HTTP_202_ACCEPTED, headers=headers)


class AnalysisDetail(generics.RetrieveAPIView):
    serializer_class = AnalysisSerializer
    lookup_field = "pk"
    required_scopes = {"GET": "read"}

    def get_queryset(self) -> QuerySet[Analysis]:
        return tenant_analyses(self.request)


class AnalysisArtifact(generics.GenericAPIView):
    """A picture produced by a detector (heatmap, face boxes, timeline), as PNG."""

    required_scopes = {"GET": "read"}

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: str, detector: str, name: str) -> FileResponse:
        analysis = get_object_or_404(tenant_analyses(request), pk=pk)
        path = artifact_path(analysis, detector, name)
        if path is None or not path.exists():
            raise NotFound(f"analysis {pk} has no picture {name!r} from {detector!r}")
        return FileResponse(path.open("rb"), content_type="image/png")


class AnalysisReviews(generics.GenericAPIView):
    """Record a moderator's decision (with a reason) on a finished analysis."""

    required_scopes = {"POST": "review"}
    serializer_class = ReviewCreateSerializer  # also describes the request to OPTIONS

    @extend_schema(request=ReviewCreateSerializer, responses={201: AnalysisSerializer})
    def post(self, request: Request, pk: str) -> Response:
        analysis = get_object_or_404(tenant_analyses(request), pk=pk)
        form = ReviewCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            record_review(request.actor, analysis, form.validated_data["decision"], form.validated_data["reason"])
        except ReviewError as exc:
            raise ValidationError({"detail": [str(exc)]}) from None
        return Response(AnalysisSerializer(tenant_analyses(request).get(pk=pk)).data, status=status.HTTP_201_CREATED)


class Reports(generics.GenericAPIView):
    """Request a signed period report; it is built on a worker (poll the job, then download)."""

    required_scopes = {"POST": "export"}
    serializer_class = ReportRequestSerializer  # also describes the request to OPTIONS

    @extend_schema(request=ReportRequestSerializer, responses={202: ReportExportSerializer})
    def post(self, request: Request) -> Response:
        form = ReportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        job = request_export(request.actor, form.validated_data)
        return Response(export_to_dict(job), status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/reports/{job.id}"})


class ReportDetail(generics.GenericAPIView):
    required_scopes = {"GET": "export"}

    @extend_schema(responses={200: ReportExportSerializer})
    def get(self, request: Request, pk: str) -> Response:
        return Response(export_to_dict(get_scoped_or_404(ReportExport, request.actor, pk=pk)))


class ReportDownload(generics.GenericAPIView):
    """The signed file. CSV and PDF carry their detached signature in ``X-Signature``."""

    required_scopes = {"GET": "export"}

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, pk: str) -> FileResponse:
        job = get_scoped_or_404(ReportExport, request.actor, pk=pk)
        if job.state != ReportExport.State.DONE:
            raise NotFound(f"report {job.id} is {job.state}, not ready")
        return report_file_response(job)
