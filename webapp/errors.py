"""Error responses outside the views: problem details for everything under /api/, Django's pages elsewhere.

Django answers some errors before (or instead of) a DRF view: an unknown URL (404), a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``RequestDataTooBig``, a 400 by default), an unhandled exception (500).
API clients get RFC 9457 ``application/problem+json`` for those too, and never a server path or a traceback.
"""
from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from webapp.api.errors import problem_body

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def problem_response(status: int, code: str, title: str, detail: str) -> JsonResponse:
    return JsonResponse(problem_body(status, code, title, detail), status=status,
                        content_type="application/problem+json")


def too_large_response(request: HttpRequest) -> HttpResponse:
    detail = ("The request body is larger than the server accepts outside file parts; send large content as a "
              "file upload (multipart 'file').")
    if is_api(request):
        return problem_response(413, "too_large", "Request body too large", detail)
    return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return too_large_response(request)
    if is_api(request):
        return problem_response(400, "bad_request", "Bad request", "The request could not be read.")
    return defaults.bad_request(request, exception)  # type: ignore[arg-type]  # Django always passes one here


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return problem_response(404, "not_found", "Not found", f"There is no API resource at {request.path}.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Nothing about the failure leaves the server; the traceback is in the log (``django.request``)."""
    if is_api(request):
        return problem_response(500, "server_error", "Internal server error",
                                "The server failed to handle the request; it has been logged.")
    return defaults.server_error(request)
