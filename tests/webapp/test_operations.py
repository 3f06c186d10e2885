"""The operator's numbers (``webapp.operations``): jobs by state, stuck jobs, queue depth, latencies, /metrics."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from forensics import services
from forensics.models import Analysis, DetectorResult
from tests.conftest import REPO, database_url, purge_broker, wait_for
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


def request_count(metrics_text: str, method: str, route: str, status: str) -> float:
    """How many requests ``forensics_http_request_seconds`` has counted for these labels (0 before the first)."""
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "forensics_http_request_seconds":
            for sample in family.samples:
                if sample.name.endswith("_count") and sample.labels == {
                        "method": method, "route": route, "status": status}:
                    return sample.value
    return 0.0


@pytest.mark.django_db
def test_an_api_request_is_timed_under_its_route_name(client, api, settings) -> None:
    settings.FORENSICS_METRICS_TOKEN = ""

    def count(route: str, status: str) -> float:
        return request_count(client.get("/metrics").content.decode(), "GET", route, status)

    before, missing = count("api:analyses", "2xx"), count("unmatched", "4xx")
    assert api.get("/api/v1/analyses").status_code == 200
    assert api.get("/api/v1/no-such-thing/42").status_code == 404
    assert count("api:analyses", "2xx") == before + 1
    assert count("unmatched", "4xx") == missing + 1  # a path no URL matches is one series, whatever the path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_under_gunicorn_metrics_add_up_the_requests_of_every_worker_process(api_key, tmp_path) -> None:
    """gunicorn as docker-compose.yml runs it, with PROMETHEUS_MULTIPROC_DIR: each worker process is replaced after
    two requests (--max-requests 2), so the process answering /metrics has seen at most one of the API requests;
    its count is all of them only if it adds up every process's numbers."""
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONPATH": str(REPO), "LOG_LEVEL": "WARNING",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "FORENSICS_METRICS_TOKEN": ""}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "webapp.wsgi", "--bind", f"127.0.0.1:{port}",
                               "--workers", "2", "--max-requests", "2", "--log-level", "warning"], cwd=REPO, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: get(f"{base}/healthz")[0] == 200, timeout=90, what="gunicorn to answer")
        sent = 6
        for _ in range(sent):
            assert get(f"{base}/api/v1/analyses", api_key)[0] == 200
        status, text = get(f"{base}/metrics")
        assert status == 200
        assert request_count(text, "GET", "api:analyses", "2xx") == sent
        assert len(list(metrics_dir.glob("histogram_*.db"))) >= 3  # at least three processes answered them
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
