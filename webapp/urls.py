from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from webapp import health
from webapp.accounts.forms import ThrottledAdminAuthenticationForm, ThrottledAuthenticationForm


def report_public_key(request: HttpRequest) -> HttpResponse:
    """The Ed25519 public key that verifies this service's exported reports."""
    from provenance.reports import published_public_key

    return HttpResponse(published_public_key(), content_type="application/x-pem-file")


class ThrottledLoginView(auth_views.LoginView):
    """Django's log-in view with throttling; a locked-out attempt answers 429."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_invalid(form)
        if form.lockout_message:
            response.status_code = 429
        return response


admin.site.login_form = ThrottledAdminAuthenticationForm

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
    path("", include("webapp.ui.urls")),
]
