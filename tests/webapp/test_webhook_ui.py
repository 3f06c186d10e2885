"""The Webhooks page: admins register endpoints (secret shown once), ping, deactivate, read the history."""
import re

from tests.conftest import make_user
from webapp.webhooks.models import WebhookDelivery, WebhookEndpoint


def admin_client(client, tenant):  # type: ignore[no-untyped-def]
    client.force_login(make_user(tenant, "boss", role="admin"))
    return client


def test_only_roles_with_the_webhooks_scope_see_the_page(moderator_client) -> None:
    assert moderator_client.get("/webhooks/").status_code == 403
    assert "/webhooks/" not in moderator_client.get("/").content.decode()


def test_register_ping_history_and_deactivate(client, tenant, receiver, eager_celery) -> None:
    client = admin_client(client, tenant)
    assert 'href="/webhooks/"' in client.get("/").content.decode()
    page = client.post("/webhooks/", {"url": receiver.url, "events": ["analysis.completed"]})
    assert page.status_code == 200
    receiver.secret = re.search(r"data-secret>(whsec_[^<]+)<", page.content.decode()).group(1)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["analysis.completed"]
    assert receiver.secret not in client.get("/webhooks/").content.decode()  # shown once

    client.post(f"/webhooks/{endpoint.pk}/test")
    assert receiver.received[0].signature_ok
    history = client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    delivery = WebhookDelivery.objects.get()
    assert str(delivery.id) in history and "HTTP 200" in history and "Delivered" in history

    client.post(f"/webhooks/{endpoint.pk}/deactivate")
    endpoint.refresh_from_db()
    assert not endpoint.active and "deactivated" in client.get("/webhooks/").content.decode()


def test_a_refused_url_says_why(client, tenant, settings) -> None:
    settings.FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST = False
    page = admin_client(client, tenant).post("/webhooks/", {"url": "http://93.184.216.34/x"})
    assert page.status_code == 400 and "must use https" in page.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_other_tenants_endpoints_are_not_reachable(client, tenant, other_tenant) -> None:
    from webapp.accounts.tenancy import system_actor
    from webapp.webhooks.services import create_endpoint

    theirs = create_endpoint(system_actor(other_tenant), "https://93.184.216.34/hook").endpoint
    client = admin_client(client, tenant)
    assert client.get(f"/webhooks/{theirs.pk}/").status_code == 404
    assert client.post(f"/webhooks/{theirs.pk}/deactivate").status_code == 404
    assert "93.184.216.34" not in client.get("/webhooks/").content.decode()
