"""REST API for private fine-tuning: datasets (upload, budget, ledger), jobs (submit, progress), versions.

Scopes: reading needs ``read``; uploading a dataset or submitting a job needs ``analyse`` (the same
permission as submitting media); setting a budget (a dataset's, or the tenant's per-image one) needs ``admin``. Every query is scoped to the caller's
tenant, so another tenant's ids answer 404.
"""
from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from privacy import dataset_store, jobs
from privacy.datasets import DatasetError
from privacy.models import BudgetLedgerEntry, PrivateDataset, PrivateFinetuneJob, TenantDetectorVersion
from privacy.presenters import dataset_to_dict, job_to_dict, ledger_entry_to_dict, version_to_dict
from privacy.tenant_budget import describe, set_tenant_budget
from privacy.units import tenant_budget
from webapp.accounts.tenancy import scoped
from webapp.api.errors import problem
from webapp.api.parsers import SafeJSONParser
from webapp.api.privacy_serializers import (
    BudgetSerializer,
    DatasetCreateSerializer,
    DatasetLedgerSerializer,
    DatasetSerializer,
    JobCreateSerializer,
    JobRefusedSerializer,
    JobSerializer,
    TenantBudgetSerializer,
    TenantBudgetSetSerializer,
    VersionSerializer,
)
from webapp.api.serializers import ProblemSerializer


def tenant_datasets(request: Request) -> QuerySet[PrivateDataset]:
    return scoped(PrivateDataset, request.actor)


def tenant_jobs(request: Request) -> QuerySet[PrivateFinetuneJob]:
    return scoped(PrivateFinetuneJob, request.actor)


def refused(exc: Exception) -> Response:
    if isinstance(exc, PermissionError):
        return problem(403, "forbidden", "Not allowed", str(exc))
    return problem(400, "invalid_dataset" if isinstance(exc, DatasetError) else "invalid_request",
                   "The request was refused", str(exc))


class DatasetListCreate(generics.GenericAPIView):
    parser_classes = [MultiPartParser, FormParser, SafeJSONParser]
    required_scopes = {"GET": "read", "POST": "analyse"}
    serializer_class = DatasetCreateSerializer

    def get_queryset(self) -> QuerySet[PrivateDataset]:
        return tenant_datasets(self.request)

    @extend_schema(operation_id="privacy_datasets_list", responses={200: DatasetSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([dataset_to_dict(d) for d in page])

    @extend_schema(request=DatasetCreateSerializer,
                   responses={201: DatasetSerializer, 400: ProblemSerializer, 403: ProblemSerializer})
    def post(self, request: Request) -> Response:
        form = DatasetCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        budget = {k: data[k] for k in ("epsilon_total", "delta") if k in data}
        try:
            if "file" in data:
                dataset = dataset_store.create_dataset(request.actor, data["file"].chunks(), data["name"],
                                                       accountant=data["accountant"], **budget)
            else:
                labelled = [(str(i["analysis"]), i["label"]) for i in data["items"]]
                dataset = dataset_store.create_dataset_from_items(request.actor, labelled, data["name"],
                                                                  accountant=data["accountant"], **budget)
        except (DatasetError, ValueError, PermissionError) as exc:
            return refused(exc)
        return Response(dataset_to_dict(dataset), status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/privacy/datasets/{dataset.id}"})


class DatasetDetail(generics.GenericAPIView):
    """GET the dataset with its budget; PATCH ``epsilon_total``/``delta`` (tenant admins)."""

    required_scopes = {"GET": "read", "PATCH": "admin"}
    serializer_class = BudgetSerializer

    @extend_schema(responses={200: DatasetSerializer})
    def get(self, request: Request, pk: str) -> Response:
        return Response(dataset_to_dict(get_object_or_404(tenant_datasets(request), pk=pk)))

    @extend_schema(request=BudgetSerializer,
                   responses={200: DatasetSerializer, 400: ProblemSerializer, 403: ProblemSerializer})
    def patch(self, request: Request, pk: str) -> Response:
        dataset = get_object_or_404(tenant_datasets(request), pk=pk)
        form = BudgetSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            dataset = dataset_store.set_budget(request.actor, dataset, **form.validated_data)
        except (ValueError, PermissionError) as exc:
            return refused(exc)
        return Response(dataset_to_dict(dataset))


class DatasetLedger(generics.GenericAPIView):
    """The dataset's append-only budget ledger, oldest first, with the composed ε after each entry."""

    required_scopes = {"GET": "read"}
    pagination_class = None

    @extend_schema(responses={200: DatasetLedgerSerializer})
    def get(self, request: Request, pk: str) -> Response:
        dataset = get_object_or_404(tenant_datasets(request), pk=pk)
        entries = BudgetLedgerEntry.objects.filter(dataset=dataset).order_by("id")
        return Response({"dataset": dataset_to_dict(dataset), "entries": [ledger_entry_to_dict(e) for e in entries]})


class JobListCreate(generics.GenericAPIView):
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]
    required_scopes = {"GET": "read", "POST": "analyse"}
    serializer_class = JobCreateSerializer

    def get_queryset(self) -> QuerySet[PrivateFinetuneJob]:
        return tenant_jobs(self.request)

    @extend_schema(operation_id="privacy_jobs_list", responses={200: JobSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([job_to_dict(j) for j in page])

    @extend_schema(request=JobCreateSerializer, responses={202: JobSerializer, 400: ProblemSerializer,
                                                       403: ProblemSerializer, 409: JobRefusedSerializer})
    def post(self, request: Request) -> Response:
        form = JobCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        params = dict(form.validated_data)
        dataset = get_object_or_404(tenant_datasets(request), pk=params.pop("dataset"))
        try:
            job = jobs.submit_job(request.actor, dataset, **params)
        except (ValueError, PermissionError) as exc:
            return refused(exc)
        if job.state == PrivateFinetuneJob.State.REFUSED:
            return problem(409, "privacy_budget_exceeded", "The dataset's privacy budget does not allow this job",
                           job.error, job=job_to_dict(job))
        return Response(job_to_dict(job), status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/privacy/jobs/{job.id}"})


class JobDetail(generics.GenericAPIView):
    """A job with its live progress (phase, epoch, loss, accuracy, ε spent so far) and, when done, its result."""

    required_scopes = {"GET": "read"}

    @extend_schema(responses={200: JobSerializer})
    def get(self, request: Request, pk: str) -> Response:
        return Response(job_to_dict(get_object_or_404(tenant_jobs(request), pk=pk)))


class VersionList(generics.GenericAPIView):
    """The tenant's fine-tuned detector versions; the active one serves the tenant's analyses."""

    required_scopes = {"GET": "read"}

    def get_queryset(self) -> QuerySet[TenantDetectorVersion]:
        return TenantDetectorVersion.objects.filter(tenant=self.request.actor.tenant)

    @extend_schema(operation_id="privacy_versions_list", responses={200: VersionSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([version_to_dict(v) for v in page])


class TenantBudget(generics.GenericAPIView):
    """The tenant's per-image privacy budget: GET it (``read``); PUT it (tenant admins, audited as
    ``privacy.tenant_budget_set`` like ``manage.py privacy_budget``). No image, with its copies and
    near-copies, may be composed past ``epsilon_per_image`` over every job that trains on it."""

    parser_classes = [SafeJSONParser]
    required_scopes = {"GET": "read", "PUT": "admin"}
    serializer_class = TenantBudgetSetSerializer
    pagination_class = None

    @extend_schema(operation_id="privacy_budget_retrieve", responses={200: TenantBudgetSerializer})
    def get(self, request: Request) -> Response:
        return Response(TenantBudgetSerializer(describe(tenant_budget(request.actor.tenant))).data)

    @extend_schema(operation_id="privacy_budget_update", request=TenantBudgetSetSerializer,
                   responses={200: TenantBudgetSerializer, 400: ProblemSerializer, 403: ProblemSerializer})
    def put(self, request: Request) -> Response:
        form = TenantBudgetSetSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            policy = set_tenant_budget(request.actor, epsilon_total=data["epsilon_per_image"],
                                       delta=data.get("delta"), accountant=data.get("accountant"))
        except (ValueError, PermissionError) as exc:
            return refused(exc)
        return Response(TenantBudgetSerializer(describe(policy)).data)
