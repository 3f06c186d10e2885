"""Error bodies as RFC 9457 problem details: ``type``, ``title``, ``status``, ``detail``."""
from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from forensics.ingest.errors import IngestError

PROBLEM_BASE = "https://forensics.invalid/problems/"  # a stable identifier, not a fetched URL


def problem_body(status_code: int, code: str, title: str, detail: Any, **extra: Any) -> dict[str, Any]:
    """The problem object itself; batch results embed one per refused item."""
    return {"type": PROBLEM_BASE + code, "title": title, "status": status_code, "detail": detail, **extra}


def problem(status_code: int, code: str, title: str, detail: Any, **extra: Any) -> Response:
    return Response(problem_body(status_code, code, title, detail, **extra), status=status_code,
                    content_type="application/problem+json")


def problem_details_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, IngestError):
        return problem(exc.status, exc.code, "The submission was refused", exc.detail)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail, errors = "The request is invalid; see 'errors'.", response.data
    else:
        detail, errors = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data, None
    code = getattr(exc, "default_code", "error")
    title = {
        status.HTTP_400_BAD_REQUEST: "Bad request",
        status.HTTP_401_UNAUTHORIZED: "Authentication required",
        status.HTTP_403_FORBIDDEN: "Forbidden",
        status.HTTP_404_NOT_FOUND: "Not found",
        status.HTTP_405_METHOD_NOT_ALLOWED: "Method not allowed",
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
        status.HTTP_429_TOO_MANY_REQUESTS: "Too many requests",
    }.get(response.status_code, "Error")
    extra = {"errors": errors} if errors is not None else {}
    new = problem(response.status_code, str(code), title, str(detail) if not isinstance(detail, (list, dict)) else detail, **extra)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            new[header] = response[header]
    return new
