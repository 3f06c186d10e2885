"""REST API for per-tenant calibration: create (a worker job), follow, activate, return to the shipped thresholds.

Reading needs ``read``; creating and switching operating points needs ``calibrate`` (tenant admins have it). Every query is scoped to the
caller's tenant, so another tenant's ids answer 404.
"""
from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from forensics import calibrations
from forensics.models import Calibration
from forensics.operating_point_use import active_calibration
from forensics.presenters import calibration_to_dict
from privacy.datasets import DatasetError, inspect_zip
from webapp.accounts.tenancy import scoped
from webapp.api.calibration_serializers import (
    CalibrationCreateSerializer,
    CalibrationSerializer,
    NoBodySerializer,
    OperatingPointSerializer,
)
from webapp.api.errors import problem
from webapp.api.parsers import SafeJSONParser


def tenant_calibrations(request: Request) -> QuerySet[Calibration]:
    return scoped(Calibration, request.actor)


def refused(exc: Exception) -> Response:
    if isinstance(exc, PermissionError):
        return problem(403, "forbidden", "Not allowed", str(exc))
    return problem(422, "calibration_refused", "The calibration was refused", str(exc))


def _zip_members(upload: UploadedFile) -> list[dict]:
    """A zip of real/ (and optional fake/) images, validated like a private dataset, then each image checked and
    stored like an upload (``calibrations.file_members``)."""
    with tempfile.TemporaryDirectory(prefix="calibration-") as tmp:
        archive = Path(tmp) / "set.zip"
        with archive.open("wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        members = inspect_zip(archive, max_files=settings.FORENSICS_CALIBRATION_MAX_ITEMS,
                              max_bytes=settings.FORENSICS_PRIVACY_MAX_DATASET_BYTES,
                              max_pixels=settings.FORENSICS_MAX_IMAGE_PIXELS, require=("real",))
        labelled = []
        with zipfile.ZipFile(archive) as zf:
            for index, member in enumerate(members):
                path = Path(tmp) / f"{index:05d}-{PurePosixPath(member.name).name[-100:]}"
                path.write_bytes(zf.read(member.name))
                labelled.append((path, member.label))
        return calibrations.file_members(labelled)


class CalibrationListCreate(generics.GenericAPIView):
    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]
    required_scopes = {"GET": "read", "POST": "calibrate"}
    serializer_class = CalibrationCreateSerializer

    def get_queryset(self) -> QuerySet[Calibration]:
        return tenant_calibrations(self.request)

    @extend_schema(operation_id="calibrations_list", responses={200: CalibrationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([calibration_to_dict(c) for c in page])

    @extend_schema(request=CalibrationCreateSerializer, responses={202: CalibrationSerializer})
    def post(self, request: Request) -> Response:
        form = CalibrationCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            if data["source"] == "files":
                members = _zip_members(data["file"])
            else:
                members = calibrations.reviewed_members(request.actor.tenant)
            calibration = calibrations.create_calibration(request.actor, members, source=data["source"],
                                                          target_fpr=data["target_fpr"], name=data["name"])
        except (calibrations.CalibrationError, DatasetError, PermissionError) as exc:
            return refused(exc)
        calibration.refresh_from_db()
        return Response(calibration_to_dict(calibration), status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/calibrations/{calibration.id}"})


class CalibrationDetail(generics.GenericAPIView):
    required_scopes = {"GET": "read"}

    @extend_schema(responses={200: CalibrationSerializer})
    def get(self, request: Request, pk: str) -> Response:
        return Response(calibration_to_dict(get_object_or_404(tenant_calibrations(request), pk=pk)))


class CalibrationActivate(generics.GenericAPIView):
    """Make this finished calibration the tenant's operating point (the active one is retired)."""

    required_scopes = {"POST": "calibrate"}
    serializer_class = NoBodySerializer  # describes the (empty) request to OPTIONS

    @extend_schema(request=None, responses={200: CalibrationSerializer})
    def post(self, request: Request, pk: str) -> Response:
        calibration = get_object_or_404(tenant_calibrations(request), pk=pk)
        try:
            calibration = calibrations.activate(request.actor, calibration)
        except (calibrations.CalibrationError, PermissionError) as exc:
            return refused(exc)
        return Response(calibration_to_dict(calibration))


class OperatingPoint(generics.GenericAPIView):
    """GET the tenant's operating point; DELETE returns to the shipped thresholds (the active one is retired)."""

    required_scopes = {"GET": "read", "DELETE": "calibrate"}

    @extend_schema(responses={200: OperatingPointSerializer})
    def get(self, request: Request) -> Response:
        active = active_calibration(request.actor.tenant)
        return Response({"active": calibration_to_dict(active) if active else None})

    @extend_schema(responses={200: OperatingPointSerializer})
    def delete(self, request: Request) -> Response:
        try:
            calibrations.use_shipped(request.actor)
        except PermissionError as exc:
            return refused(exc)
        return Response({"active": None})
