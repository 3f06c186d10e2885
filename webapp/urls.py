from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for the compose health check."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def report_public_key(request: HttpRequest) -> HttpResponse:
    """The Ed25519 public key that verifies this service's exported reports."""
    from provenance.reports import published_public_key

    return HttpResponse(published_public_key(), content_type="application/x-pem-file")


handler400 = "webapp.errors.bad_request"
handler404 = "webapp.errors.page_not_found"
handler500 = "webapp.errors.server_error"

urlpatterns = [
    path(".well-known/forensics-report-key.pem", report_public_key, name="report_public_key"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("webapp.api.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("webapp.ui.urls")),
]
