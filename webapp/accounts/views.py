"""The console's log-in page: Django's view with throttling (``webapp.accounts.login_throttle``)."""
from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse

from webapp.accounts.forms import ThrottledAuthenticationForm


class ThrottledLoginView(auth_views.LoginView):
    """A locked-out attempt answers 429 with the lock-out message; everything else is Django's ``LoginView``."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "lockout_message", ""):  # set by ThrottledAuthenticationForm on a locked-out attempt
            response.status_code = 429
        return response
