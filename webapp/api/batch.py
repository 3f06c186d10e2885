"""``POST /api/v1/analyses/batch``: several files and/or texts in one request, each judged on its own.

The answer is 202 when every item was accepted and 207 (Multi-Status) when
at least one was refused; the body always lists every item in request order:
``{"results": [{"index", "status", "analysis" | "problem"}]}``. Multipart
items are numbered files first, then ``text`` parts. With an
``Idempotency-Key`` a retried batch returns the analyses the first attempt
created (items it refused are checked again); the same key with a different
batch is 422.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from forensics import services
from forensics.idempotency import IdempotencyConflict, file_fingerprint, run_once, text_fingerprint
from forensics.ingest.errors import IngestError
from forensics.models import Analysis, IdempotencyKey
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import Actor
from webapp.api.errors import problem, problem_body
from webapp.api.parsers import SafeJSONParser
from webapp.api.serializers import AnalysisSerializer, ProblemSerializer, StrictSerializer
from webapp.api.views import tenant_analyses


@dataclass(frozen=True)
class BatchItem:
    fingerprint: str
    submit: Callable[[], Analysis]


class BatchTextItemSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)


class BatchJsonSerializer(StrictSerializer):
    items = serializers.ListField(child=serializers.DictField(), min_length=1,
                                  help_text='[{"text": "..."}, ...]; at most FORENSICS_BATCH_MAX_ITEMS (default 50)')


class BatchJsonDocSerializer(serializers.Serializer):
    """How the JSON request looks in the schema (items are still checked one by one)."""

    items = BatchTextItemSerializer(many=True)


class BatchMultipartSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.FileField(), required=False, help_text="repeat the part")
    text = serializers.ListField(child=serializers.CharField(), required=False, help_text="repeat the part")


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="202 accepted, 200 replayed (Idempotency-Key), else the problem's")
    analysis = AnalysisSerializer(required=False)
    problem = ProblemSerializer(required=False)


class BatchResponseSerializer(serializers.Serializer):
    results = BatchResultSerializer(many=True)


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


def items_from_request(request: Request) -> list[BatchItem]:
    """Parse the request into independent items; raises ValidationError for a malformed batch as a whole."""
    actor: Actor = request.actor
    if request.content_type.startswith("multipart/"):
        unknown = sorted(set(request.data.keys()) - {"file", "text"})
        if unknown:
            raise ValidationError({name: ["Unknown field. Allowed: file, text."] for name in unknown})
        files, texts = request.FILES.getlist("file"), request.data.getlist("text")
        items = [_file_item(actor, upload) for upload in files] + [_text_item(actor, text) for text in texts]
    else:
        form = BatchJsonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        items = [_json_item(actor, raw) for raw in form.validated_data["items"]]
    if not items:
        raise ValidationError({"items": ["Send at least one item: 'file' or 'text' parts, or JSON 'items'."]})
    limit = settings.FORENSICS_BATCH_MAX_ITEMS
    if len(items) > limit:
        raise ValidationError({"items": [f"{len(items)} items; at most {limit} per batch. Split the batch."]})
    return items


def _file_item(actor: Actor, upload: Any) -> BatchItem:
    return BatchItem(file_fingerprint(upload.chunks()),
                     lambda: services.submit_chunks(actor, upload.chunks(), original_name=upload.name or "",
                                                    source="api"))


def _text_item(actor: Actor, text: str) -> BatchItem:
    return BatchItem(text_fingerprint(text), lambda: services.submit_text(actor, text, source="api"))


def _json_item(actor: Actor, raw: dict[str, Any]) -> BatchItem:
    if set(raw) != {"text"} or not isinstance(raw["text"], str):
        def refuse() -> Analysis:
            raise ValidationError('Each item must be {"text": "..."} (files go in a multipart request).')

        return BatchItem(_fingerprint("invalid", sorted(map(str, raw))), refuse)
    return _text_item(actor, raw["text"])


def submit_batch(actor: Actor, items: list[BatchItem], key: str) -> tuple[list[dict[str, Any]], bool]:
    """``(results, replayed)``; raises IdempotencyConflict when ``key`` was used for another batch."""
    replayed = False
    if key:
        replayed = _claim_batch_key(actor.tenant, f"batch:{key[:150]}", _fingerprint(*(i.fingerprint for i in items)))
    results = []
    for index, item in enumerate(items):
        results.append(_submit_one(actor, index, item, f"batch:{key[:150]}:{index}" if key else ""))
    return results, replayed


def _claim_batch_key(tenant: Tenant, key: str, fingerprint: str) -> bool:
    """True when this batch was seen before (a retry). The row marks the key as taken by this batch."""
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(tenant=tenant, key=key, fingerprint=fingerprint)
        return False
    except IntegrityError:
        existing = IdempotencyKey.objects.get(tenant=tenant, key=key)
        if existing.fingerprint != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was used with a different batch") from None
        return True


def _submit_one(actor: Actor, index: int, item: BatchItem, key: str) -> dict[str, Any]:
    try:
        if key:
            analysis, replayed = run_once(actor.tenant, key, item.fingerprint, item.submit)
        else:
            analysis, replayed = item.submit(), False
    except IngestError as exc:
        return {"index": index, "status": exc.status,
                "problem": problem_body(exc.status, exc.code, "The submission was refused", exc.detail)}
    except ValidationError as exc:
        detail = exc.detail[0] if isinstance(exc.detail, list) else exc.detail
        return {"index": index, "status": 400, "problem": problem_body(400, "invalid", "Bad request", str(detail))}
    except IdempotencyConflict as exc:
        return {"index": index, "status": 409,
                "problem": problem_body(409, "idempotency_conflict", "Idempotency-Key conflict", str(exc))}
    return {"index": index, "status": 200 if replayed else 202, "analysis": analysis}


class AnalysisBatch(generics.GenericAPIView):
    parser_classes = [MultiPartParser, SafeJSONParser]
    required_scopes = {"POST": "analyse"}
    serializer_class = BatchJsonSerializer  # also describes the request to OPTIONS

    @extend_schema(
        request={"application/json": BatchJsonDocSerializer, "multipart/form-data": BatchMultipartSerializer},
        responses={202: BatchResponseSerializer, 207: BatchResponseSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     description="Retry-safe: the same key and batch return the same analyses.")],
    )
    def post(self, request: Request) -> Response:
        items = items_from_request(request)
        try:
            key = request.headers.get("Idempotency-Key", "").strip()
            results, replayed = submit_batch(request.actor, items, key)
        except IdempotencyConflict as exc:
            return problem(422, "idempotency_conflict", "Idempotency-Key conflict", str(exc))
        ids = [r["analysis"].pk for r in results if "analysis" in r]
        fresh = {a.pk: a for a in tenant_analyses(request).filter(pk__in=ids)}
        for result in results:
            if "analysis" in result:
                result["analysis"] = AnalysisSerializer(fresh[result["analysis"].pk]).data
        accepted = all(r["status"] in (200, 202) for r in results)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response({"results": results}, status=status.HTTP_202_ACCEPTED if accepted else 207, headers=headers)
