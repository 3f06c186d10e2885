"""The operations page: queue depth, stuck jobs, jobs by state and latencies, for the people who run the service.

Deployment-wide numbers (every tenant's jobs together), so only staff accounts see it; tenants never do.
The same snapshot feeds ``/metrics`` (``webapp.operations``).
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from webapp.operations import snapshot


@login_required
def operations(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("The operations page is for staff accounts (it shows every tenant's jobs).")
    data = snapshot()
    kinds = sorted(data["jobs"])
    states = ["queued", "running", "waiting", "done", "failed", "refused"]
    rows = [{"kind": kind.replace("_", " "), "counts": [data["jobs"][kind].get(s, 0) for s in states],
             "stuck": data["stuck"][kind]} for kind in kinds]
    return render(request, "ui/operations.html", {"data": data, "rows": rows, "states": states,
                                                  "any_stuck": any(data["stuck"].values())})
