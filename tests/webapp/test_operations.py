"""The operator's numbers (``webapp.operations``): jobs by state, stuck jobs, queue depth, latencies, /metrics."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from forensics import services
from forensics.models import Analysis, DetectorResult
from tests.conftest import purge_broker
from tests.support.media import jpeg_bytes
from webapp.operations import queue_depth, snapshot


def test_snapshot_counts_jobs_stuck_ones_and_detector_time(actor, eager_celery) -> None:
    done = services.submit_chunks(actor, [jpeg_bytes(seed=31)])
    stuck = services.submit_chunks(actor, [jpeg_bytes(seed=32)])
    Analysis.objects.filter(pk=stuck.pk).update(state="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    data = snapshot()
    assert data["jobs"]["analysis"] == {"done": 1, "running": 1}
    assert data["stuck"]["analysis"] == 1 and data["stuck"]["report_export"] == 0
    assert DetectorResult.objects.get(analysis=done, detector="test-brightness").seconds >= 0
    assert data["detector_seconds"]["test-brightness"]["p50"] is not None
    assert data["analysis_seconds"]["p50"] is not None


def test_queue_depth_reads_the_broker(actor, transactional_db) -> None:
    purge_broker()
    try:
        services.submit_chunks(actor, [jpeg_bytes(seed=33)])  # not eager: the message stays in "cpu"
        assert queue_depth("cpu") == 1 and queue_depth("gpu") == 0
    finally:
        purge_broker()


@pytest.mark.django_db
def test_metrics_answer_loopback_or_the_token_and_nobody_else(client, settings) -> None:
    settings.FORENSICS_METRICS_TOKEN = ""
    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert local.status_code == 200 and local["Content-Type"].startswith("text/plain")
    body = local.content.decode()
    assert 'forensics_queue_depth{queue="gpu"}' in body and "forensics_oldest_waiting_seconds" in body
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 403
    settings.FORENSICS_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


@pytest.mark.django_db
def test_the_operations_page_is_for_staff_only(client, tenant) -> None:
    from tests.conftest import make_user

    admin = make_user(tenant, "tenant-admin", role="admin")
    client.force_login(admin)
    assert client.get("/operations/").status_code == 403  # a tenant admin sees only their tenant, not this
    admin.is_staff = True
    admin.save()
    page = client.get("/operations/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Messages waiting" in html and "Jobs by state" in html and "report export" in html
    assert 'href="/operations/"' in html  # in the nav for staff
