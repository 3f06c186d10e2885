"""Console pages for per-tenant calibration: the tenant's calibrations, a new one from reviewed items, one
calibration's thresholds and ROC plot, activating it, and returning to the shipped thresholds.

Everyone in the tenant may read (a moderator should see which operating point decides the verdicts);
creating and switching operating points needs ``calibrate`` (tenant admins), checked here and again by the
services.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from forensics import calibrations
from forensics.models import Calibration
from forensics.operating_point_use import active_calibration
from webapp.accounts.tenancy import Actor, get_scoped_or_404, scoped
from webapp.ui import calibration_display as display
from webapp.ui.access import console_actor
from webapp.ui.roc_svg import roc_plot

PENDING = (Calibration.State.QUEUED, Calibration.State.RUNNING)
# The scope the services check (tenant admins hold it): checking it here too turns a refusal into a 403 page
# before any work, and shows the actions only to those who may use them.
CALIBRATE = "calibrate"
LIST_SIZE = 50


class CalibrationForm(forms.Form):
    """The target is asked in percent (what people say: "1% false positives"); the service takes a fraction."""

    target_percent = forms.FloatField(label="Target false-positive rate (%)", initial=1.0, min_value=0.1,
                                      max_value=20.0)
    name = forms.CharField(label="Name (optional)", max_length=200, required=False)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _list_page(request: HttpRequest, actor: Actor, form: CalibrationForm, refusal: str = "",
               status: int = 200) -> HttpResponse:
    rows = [display.summary(c) for c in scoped(Calibration, actor)[:LIST_SIZE]]
    can_admin = actor.can(CALIBRATE)
    members = calibrations.reviewed_members(actor.tenant) if can_admin else []
    reals = sum(1 for m in members if m["label"] == 0)
    active = active_calibration(actor.tenant)
    return render(request, "ui/calibrations.html", {
        "rows": rows, "form": form, "refusal": refusal, "can_admin": can_admin,
        "active": display.summary(active) if active else None, "pending": any(r["pending"] for r in rows),
        "reviewed_real": reals, "reviewed_synthetic": len(members) - reals,
        "min_real": settings.FORENSICS_CALIBRATION_MIN_REAL,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def calibrations_home(request: HttpRequest) -> HttpResponse:
    actor = console_actor(request)
    if request.method == "GET":
        return _list_page(request, actor, CalibrationForm())
    actor = console_actor(request, CALIBRATE)
    form = CalibrationForm(request.POST)
    if not form.is_valid():
        return _list_page(request, actor, form, status=400)
    try:
        calibration = calibrations.create_calibration(
            actor, calibrations.reviewed_members(actor.tenant), source=Calibration.Source.REVIEWED,
            target_fpr=form.cleaned_data["target_percent"] / 100, name=form.cleaned_data["name"])
    except calibrations.CalibrationError as exc:
        return _list_page(request, actor, form, refusal=_sentence(str(exc)), status=400)
    messages.success(request, f"Calibration v{calibration.version} queued: a worker scores every reviewed item, "
                              "then fits the thresholds.")
    return redirect("ui:calibration", pk=calibration.pk)


@login_required
def calibration_detail(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request)
    calibration = get_scoped_or_404(Calibration, actor, pk=pk)
    result: dict[str, Any] = calibration.result or {}
    return render(request, "ui/calibration.html", {
        "c": calibration, "s": display.summary(calibration), "pending": calibration.state in PENDING,
        "rows": display.detector_rows(result), "fused": display.fused_row(result), "plot": roc_plot(result),
        "can_admin": actor.can(CALIBRATE),
        "can_activate": actor.can(CALIBRATE) and calibration.state == Calibration.State.DONE
        and not calibration.is_active,
    })


@login_required
@require_POST
def calibration_activate(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request, CALIBRATE)
    calibration = get_scoped_or_404(Calibration, actor, pk=pk)
    try:
        calibration = calibrations.activate(actor, calibration)
    except calibrations.CalibrationError as exc:
        messages.error(request, _sentence(str(exc)))
    else:
        messages.success(request, f"Calibration v{calibration.version} is now your operating point: new analyses "
                                  "use its thresholds (recorded in the audit trail).")
    return redirect("ui:calibration", pk=calibration.pk)


@login_required
@require_POST
def calibration_use_shipped(request: HttpRequest) -> HttpResponse:
    actor = console_actor(request, CALIBRATE)
    retired = calibrations.use_shipped(actor)
    if retired is None:
        messages.info(request, "Already on the shipped thresholds.")
    else:
        messages.success(request, f"Calibration v{retired.version} retired: new analyses use the shipped "
                                  "thresholds (recorded in the audit trail).")
    return redirect("ui:calibrations")
