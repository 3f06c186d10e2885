"""Webhook delivery throughput to a local receiver, and batch submission, in-process on embedded SQLite."""
from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from django.test import Client, override_settings

from webapp.accounts.keys import issue_api_key
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import system_actor
from webapp.celery import app
from webapp.webhooks.delivery import attempt_delivery
from webapp.webhooks.models import WebhookDelivery
from webapp.webhooks.services import create_delivery, create_endpoint
from webapp.webhooks.signing import sign, verify_signature


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def run(n_deliveries: int = 200, n_batch: int = 50) -> list[tuple[str, float, str, str]]:
    app.conf.task_always_eager = False  # attempts are driven directly; nothing is queued
    tenant, _ = Tenant.objects.get_or_create(slug="bench-webhooks", defaults={"name": "Bench webhooks"})
    actor = system_actor(tenant, "system:bench")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        with override_settings(FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST=True):
            endpoint = create_endpoint(actor, f"http://127.0.0.1:{server.server_address[1]}/hook").endpoint
            payload = {"analysis": {"id": "x" * 36, "verdict": "likely_synthetic", "detectors": [{}] * 5}}
            ids = [str(create_delivery(endpoint, "bench", payload).id) for _ in range(n_deliveries)]
            start = time.perf_counter()
            for delivery_id in ids:
                attempt_delivery(delivery_id)
            rate = n_deliveries / (time.perf_counter() - start)
        delivered = WebhookDelivery.objects.filter(pk__in=ids, state="delivered").count()
    finally:
        server.shutdown()
        server.server_close()

    body = b"x" * 20_000
    start = time.perf_counter()
    for _ in range(2000):
        verify_signature("whsec_bench", sign("whsec_bench", body), body)
    verify_rate = 2000 / (time.perf_counter() - start)

    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'bench').plaintext}")
    items = [{"text": f"benchmark text number {i} written for the batch endpoint"} for i in range(n_batch)]
    start = time.perf_counter()
    response = client.post("/api/v1/analyses/batch", {"items": items}, content_type="application/json")
    batch_s = time.perf_counter() - start
    assert response.status_code == 202, response.content
    return [
        ("webhook delivery (sign + POST + record)", rate, "deliveries/s",
         f"{delivered}/{n_deliveries} delivered, local receiver, one worker"),
        ("webhook signature verify, 20 kB body", verify_rate, "checks/s", "verify_signature"),
        (f"batch submit, {n_batch} texts", n_batch / batch_s, "items/s", "POST /api/v1/analyses/batch, not analysed"),
    ]
