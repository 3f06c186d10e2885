"""The log-in forms of the console and the admin, with throttling (``webapp.accounts.login_throttle``)."""
from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from webapp.accounts import login_throttle


class ThrottledLoginMixin:
    """Refuses a locked-out username+address before checking the password, and counts failures."""

    lockout_message = ""
    # Given by the AuthenticationForm this mixes into (annotations only, for the type checker).
    request: HttpRequest | None
    data: Any

    def clean(self) -> dict[str, Any]:
        attempt = login_throttle.Attempt.of(self.request, self.data.get("username", ""))
        seconds = login_throttle.locked_for(attempt)
        if seconds:
            self._lock(seconds)
        try:
            cleaned = super().clean()  # type: ignore[misc]  # the form class after the mixin defines clean()
        except ValidationError:
            if login_throttle.record_failure(attempt):
                self._lock(login_throttle.locked_for(attempt))
            raise
        login_throttle.record_success(attempt)
        return cleaned

    def _lock(self, seconds: int) -> None:
        minutes = max(1, -(-seconds // 60))
        plural = "s" if minutes != 1 else ""
        self.lockout_message = (f"Too many failed log-ins for this username from your address. Try again in "
                                f"{minutes} minute{plural}, or ask an admin to reset your password.")
        raise ValidationError(self.lockout_message, code="locked_out")


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
