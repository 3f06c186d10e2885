"""What applies to every request: time it for /metrics, refuse NUL bytes in the query string, send a
Content-Security-Policy with console pages, and answer 503 (not 500) while the database cannot be reached."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from webapp import operations
from webapp.errors import API_PREFIX, is_api, problem_response

log = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_SECONDS = 30
NUL_DETAIL = "The query string contains a NUL byte (%00); remove it."
CSP_EXEMPT_PREFIXES = (API_PREFIX, "/admin/")  # Swagger UI and the Django admin bring their own inline scripts


class RequestLatency:
    """Time every request into ``forensics_http_request_seconds`` (``webapp.operations``), by method, URL name
    (``api:analyses``; ``unmatched`` when no URL matched) and status class. First in MIDDLEWARE, so the time
    includes every other middleware and the refusals they answer; a streamed file is timed to its first byte."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.view_name if match is not None else "unmatched"
        operations.observe_request(request.method or "", route, response.status_code, time.perf_counter() - started)
        return response


class RefuseNulBytes:
    """A NUL in a filter (``?state=a%00b``) cannot be stored or compared by PostgreSQL, which raises instead of
    answering; no parameter of ours may hold one, so it is a 400 before any view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            if is_api(request):
                return problem_response(400, "bad_request", "Bad request", NUL_DETAIL)
            return HttpResponseBadRequest(NUL_DETAIL, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class ContentSecurityPolicy:
    """``settings.FORENSICS_CSP`` on HTML pages of the console and the login page. The console has no inline
    script (only ``static/ui/app.js``), so scripts come from this origin only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.FORENSICS_CSP
        if (policy and "Content-Security-Policy" not in response
                and response.get("Content-Type", "").startswith("text/html")
                and not request.path.startswith(CSP_EXEMPT_PREFIXES)):
            response["Content-Security-Policy"] = policy
        return response


class DatabaseUnavailable:
    """A database that refuses connections (down, restarting, out of connections, a lock not granted in time)
    is a temporary condition: 503 with Retry-After, as a problem under /api/, and the error in the log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        log.error("database unavailable", extra={"path": request.path, "error": str(exception)}, exc_info=exception)
        detail = "The database is unavailable; try again shortly."
        if is_api(request):
            response: HttpResponse = problem_response(503, "service_unavailable", "Service unavailable", detail)
        else:
            response = HttpResponse(detail, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
