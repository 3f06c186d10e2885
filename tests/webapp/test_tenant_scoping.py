"""Tenant scoping has one helper (``webapp.accounts.tenancy.scoped``), and views use it instead of hand filters."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.http import Http404

from forensics import services
from forensics.models import Analysis
from tests.support.media import jpeg_bytes
from webapp.accounts.tenancy import get_scoped_or_404, scoped, system_actor

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"


def test_views_never_scope_a_query_by_hand() -> None:
    hand = re.compile(r"tenant=(request\.)?actor\.tenant")
    offenders = [f"{path.relative_to(WEBAPP)}:{n}" for folder in ("api", "ui") for path in (WEBAPP / folder).glob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if hand.search(line)]
    assert not offenders, f"use webapp.accounts.tenancy.scoped / get_scoped_or_404: {offenders}"


def test_scoped_sees_only_the_actors_tenant_and_another_tenants_id_is_404(tenant, other_tenant, eager_celery) -> None:
    mine, theirs = system_actor(tenant), system_actor(other_tenant)
    analysis = services.submit_chunks(mine, [jpeg_bytes(seed=41)])
    assert list(scoped(Analysis, mine)) == [Analysis.objects.get(pk=analysis.pk)]
    assert not scoped(Analysis.objects.select_related("item"), theirs).exists()
    assert get_scoped_or_404(Analysis, mine, pk=analysis.pk).pk == analysis.pk
    with pytest.raises(Http404):
        get_scoped_or_404(Analysis, theirs, pk=analysis.pk)
