"""Tenant watermark keys: encrypted at rest, rotated with an audit event, used per tenant."""
import pytest
from django.core.management import call_command

from tests.support.media import textured_image


def test_keys_are_encrypted_at_rest_and_audited_without_the_key(actor) -> None:
    from detectors.watermark.text_greenlist import GreenlistParams
    from provenance.models import AuditEvent
    from webapp.accounts.models import WatermarkKey
    from webapp.accounts.watermark_keys import active_key, issue_key

    issued = issue_key(actor, "text")
    row = WatermarkKey.objects.get(tenant=actor.tenant, kind="text")
    assert issued.plaintext not in row.ciphertext and len(row.ciphertext) > len(issued.plaintext)
    assert active_key(actor.tenant, "text") == (issued.key_id, issued.plaintext)
    assert issued.key_id == GreenlistParams(key=issued.plaintext).public_dict()["key_id"]  # matches the evidence

    event = AuditEvent.objects.get(tenant=actor.tenant, action="watermark_key.issued")
    assert event.payload["key_id"] == issued.key_id
    assert issued.plaintext not in str(event.payload)


def test_rotation_keeps_one_active_key_and_records_the_retired_one(actor) -> None:
    from webapp.accounts.models import WatermarkKey
    from webapp.accounts.watermark_keys import active_key, issue_key

    first = issue_key(actor, "image")
    second = issue_key(actor, "image", plaintext="an imported key of the platform")
    assert active_key(actor.tenant, "image") == (second.key_id, "an imported key of the platform")
    rows = WatermarkKey.objects.filter(tenant=actor.tenant, kind="image")
    assert rows.count() == 2 and rows.filter(retired_at__isnull=True).get().key_id == second.key_id
    from provenance.models import AuditEvent

    last = AuditEvent.objects.filter(action="watermark_key.issued").order_by("-id").first()
    assert last.payload["retired"] == [first.key_id] and last.payload["imported"] is True


def test_only_admins_issue_keys_and_short_keys_are_refused(tenant) -> None:
    from webapp.accounts.tenancy import Actor
    from webapp.accounts.watermark_keys import issue_key

    moderator = Actor(tenant, "user:mod", "moderator", frozenset({"analyse", "read", "review"}))
    with pytest.raises(PermissionError, match="admin"):
        issue_key(moderator, "text")
    from webapp.accounts.tenancy import system_actor

    with pytest.raises(ValueError, match="at least 16"):
        issue_key(system_actor(tenant), "text", plaintext="short")


def test_a_changed_encryption_key_fails_loudly(actor, settings) -> None:
    from cryptography.fernet import Fernet

    from webapp.accounts.secret_box import SecretBoxError
    from webapp.accounts.watermark_keys import active_key, issue_key

    issue_key(actor, "text")
    settings.FORENSICS_KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(SecretBoxError, match="restore that key"):
        active_key(actor.tenant, "text")


def test_commands_issue_a_key_and_mark_an_image_that_the_tenant_pipeline_detects(
    tmp_path, capsys, api, tenant, other_tenant, eager_celery
) -> None:
    from rest_framework.test import APIClient

    from webapp.accounts.keys import issue_api_key

    call_command("watermark_key", "--tenant", tenant.slug, "--kind", "image")
    assert "shown once" in capsys.readouterr().out
    source, marked = tmp_path / "photo.png", tmp_path / "marked.png"
    textured_image(3).save(source)
    call_command("watermark_image", "--tenant", tenant.slug, str(source), str(marked))

    def tenant_mark(client) -> dict:  # type: ignore[no-untyped-def]
        with marked.open("rb") as fh:
            location = client.post("/api/v1/analyses", {"file": fh}, format="multipart")["Location"]
        return {d["detector"]: d for d in client.get(location).json()["detectors"]}["image-tenant-watermark"]

    assert tenant_mark(api)["label"] == "synthetic"
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(other_tenant, 'o').plaintext}")
    assert tenant_mark(other)["label"] == "not_applicable"  # another tenant's key is never used
