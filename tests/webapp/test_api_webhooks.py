"""REST API for webhooks: the secret is shown once, scopes, tenant isolation, history, and a real worker."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from forensics.models import Analysis
from tests.conftest import wait_for
from tests.support.media import jpeg_bytes
from tests.support.webhook_receiver import Receiver
from webapp.accounts.keys import issue_api_key
from webapp.webhooks.models import WebhookDelivery
from webapp.webhooks.signing import verify_signature


def register(api, receiver: Receiver) -> dict:  # type: ignore[no-untyped-def]
    response = api.post("/api/v1/webhooks", {"url": receiver.url}, format="json")
    assert response.status_code == 201, response.content
    receiver.secret = response.json()["secret"]
    return response.json()


def test_the_secret_is_returned_once(api, receiver) -> None:
    created = register(api, receiver)
    assert created["secret"].startswith("whsec_") and created["events"] == ["analysis.completed", "analysis.failed"]
    listed = api.get("/api/v1/webhooks").json()
    assert [e["id"] for e in listed["results"]] == [created["id"]]
    for body in (listed["results"][0], api.get(f"/api/v1/webhooks/{created['id']}").json()):
        assert "secret" not in body and created["secret"] not in json.dumps(body)
        assert body["secret_hint"] == created["secret"][-4:]


@pytest.mark.parametrize("url", ["http://93.184.216.34/hook", "https://169.254.169.254/", "not a url"])
def test_unsafe_urls_are_refused_with_a_reason(api, settings, url: str) -> None:
    settings.FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST = False
    response = api.post("/api/v1/webhooks", {"url": url}, format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"]["url"]


def test_unknown_events_are_refused(api) -> None:
    response = api.post("/api/v1/webhooks", {"url": "https://93.184.216.34/h", "events": ["analysis.eaten"]},
                        format="json")
    assert response.status_code == 400 and "events" in response.json()["errors"]


def test_the_webhooks_scope_is_needed(tenant) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'submit', ['analyse', 'read']).plaintext}")
    response = client.post("/api/v1/webhooks", {"url": "https://93.184.216.34/h"}, format="json")
    assert response.status_code == 403 and "webhooks" in response.json()["detail"]
    assert client.get("/api/v1/webhooks").status_code == 403


def test_ping_delivery_history_and_deactivation(api, receiver, eager_celery) -> None:
    created = register(api, receiver)
    ping = api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert ping.status_code == 202 and ping.json()["event"] == "ping" and ping.json()["state"] == "delivered"
    assert receiver.received[0].signature_ok and receiver.received[0].headers["Forensics-Event"] == "ping"
    deliveries = api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()
    [delivery] = deliveries["results"]
    assert delivery["history"][0]["status_code"] == 200 and delivery["attempts"] == 1
    assert deliveries["next"] is None and deliveries["previous"] is None
    assert api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert api.get(f"/api/v1/webhooks/{created['id']}").json()["active"] is False
    again = api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert again.status_code == 409 and len(receiver.received) == 1


def test_deliveries_are_cursor_paginated(api, receiver, eager_celery) -> None:
    created = register(api, receiver)
    for _ in range(3):
        api.post(f"/api/v1/webhooks/{created['id']}/test")
    first = api.get(f"/api/v1/webhooks/{created['id']}/deliveries?limit=2").json()
    second = api.get(first["next"]).json()
    ids = [d["id"] for d in first["results"] + second["results"]]
    assert len(ids) == 3 == len(set(ids)) and second["next"] is None
    assert ids == [str(d.id) for d in WebhookDelivery.objects.order_by("-created_at", "-id")]


def test_other_tenants_cannot_see_or_delete_an_endpoint(api, receiver, other_tenant) -> None:
    created = register(api, receiver)
    theirs = APIClient()
    theirs.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(other_tenant, 'x').plaintext}")
    assert theirs.get("/api/v1/webhooks").json()["results"] == []
    for method, url in [("get", ""), ("delete", ""), ("get", "/deliveries"), ("post", "/test")]:
        response = getattr(theirs, method)(f"/api/v1/webhooks/{created['id']}{url}")
        assert response.status_code == 404, (method, url)
    assert api.get(f"/api/v1/webhooks/{created['id']}").json()["active"] is True


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_posts_the_signed_result_when_an_analysis_finishes(worker_factory, api, receiver) -> None:
    register(api, receiver)
    worker_factory({"FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST": "1"})
    photo = SimpleUploadedFile("photo.jpg", jpeg_bytes(seed=61))
    submitted = api.post("/api/v1/analyses", {"file": photo}, format="multipart")
    assert submitted.status_code == 202
    analysis_id = submitted.json()["id"]
    wait_for(lambda: receiver.received, what="the worker to POST the webhook")
    [request] = receiver.received
    verify_signature(receiver.secret, request.headers["Forensics-Signature"], request.body)
    body = json.loads(request.body)
    assert body["type"] == "analysis.completed" and body["data"]["analysis"]["id"] == analysis_id
    assert body["data"]["analysis"]["verdict"] == Analysis.objects.get(pk=analysis_id).verdict
    wait_for(lambda: WebhookDelivery.objects.filter(state="delivered").exists(), what="the delivery to be recorded")
    assert request.headers["Forensics-Delivery"] == str(WebhookDelivery.objects.get().id)
