from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from provenance.keys import published_public_key
from webapp import health, operations
from webapp.accounts.views import ThrottledLoginView


def report_public_key(request: HttpRequest) -> HttpResponse:
    """The Ed25519 public key that verifies this service's exported reports."""
    return HttpResponse(published_public_key(), content_type="application/x-pem-file")


handler400 = "webapp.errors.bad_request"
handler404 = "webapp.errors.page_not_found"
handler500 = "webapp.errors.server_error"

urlpatterns = [
    path(".well-known/forensics-report-key.pem", report_public_key, name="report_public_key"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("webapp.api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", operations.metrics, name="metrics"),
    path("", include("webapp.ui.urls")),
]
