"""The Webhooks page: register endpoints (the secret is shown once), deactivate them, follow deliveries."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from webapp.accounts.tenancy import get_scoped_or_404, scoped
from webapp.ui.access import console_actor
from webapp.webhooks import services
from webapp.webhooks.destinations import DestinationRefused
from webapp.webhooks.models import WebhookEndpoint

SCOPE = "webhooks"


@login_required
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    actor = console_actor(request, SCOPE)
    created, error = None, ""
    if request.method == "POST":
        try:
            # Rendered, not redirected: the secret must not travel through the session or a message.
            created = services.create_endpoint(actor, request.POST.get("url", "").strip(),
                                               request.POST.getlist("events") or None)
        except (DestinationRefused, ValueError) as exc:
            error = str(exc)
    endpoints = scoped(WebhookEndpoint, actor)
    return render(request, "ui/webhooks.html", {
        "endpoints": endpoints, "created": created, "error": error,
        "events": services.SUBSCRIBABLE_EVENTS, "url": request.POST.get("url", "") if error else "",
    }, status=400 if error else 200)


@login_required
@require_POST
def webhook_deactivate(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request, SCOPE)
    services.deactivate_endpoint(get_scoped_or_404(WebhookEndpoint, actor, pk=pk))
    messages.success(request, "Endpoint deactivated; nothing more will be sent to it.")
    return redirect("ui:webhooks")


@login_required
@require_POST
def webhook_test(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request, SCOPE)
    endpoint = get_scoped_or_404(WebhookEndpoint, actor, pk=pk, active=True)
    services.send_ping(endpoint)
    messages.success(request, "Ping queued; its delivery appears below.")
    return redirect("ui:webhook_deliveries", pk=endpoint.pk)


@login_required
def webhook_deliveries(request: HttpRequest, pk: str) -> HttpResponse:
    actor = console_actor(request, SCOPE)
    endpoint = get_scoped_or_404(WebhookEndpoint, actor, pk=pk)
    page = Paginator(endpoint.deliveries.order_by("-created_at", "-id"), 25).get_page(request.GET.get("page"))
    return render(request, "ui/webhook_deliveries.html", {
        "endpoint": endpoint, "page": page, "pending": any(d.state == "pending" for d in page),
    })
