"""Review decisions need a reason, are recorded as audit events, and respect roles and tenants."""
import pytest

from forensics import services
from forensics.models import Analysis, Review
from provenance.audit import verify_chain
from provenance.models import AuditEvent
from tests.conftest import make_user
from tests.support.media import jpeg_bytes
from webapp.accounts.tenancy import system_actor

pytestmark = pytest.mark.usefixtures("eager_celery")


def finished(tenant, seed: int = 60) -> Analysis:  # type: ignore[no-untyped-def]
    analysis = services.submit_chunks(system_actor(tenant), [jpeg_bytes(seed=seed)])
    analysis.refresh_from_db()
    assert analysis.state == "done"
    return analysis


def test_moderator_records_a_decision_in_the_ui(moderator_client, tenant) -> None:
    analysis = finished(tenant)
    response = moderator_client.post(f"/items/{analysis.id}/review",
                                     {"decision": "confirm_synthetic", "reason": "GAN artefacts around the eyes"})
    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.decision, review.reviewer) == ("confirm_synthetic", "user:mod")
    event = AuditEvent.objects.get(action="review.decided")
    assert event.payload["reason"] == "GAN artefacts around the eyes" and event.actor == "user:mod"
    assert event.payload["automated_verdict"] == analysis.verdict
    assert verify_chain(tenant).ok
    page = moderator_client.get(f"/items/{analysis.id}/").content.decode()
    assert "GAN artefacts around the eyes" in page


def test_a_reason_is_required(moderator_client, tenant) -> None:
    analysis = finished(tenant)
    moderator_client.post(f"/items/{analysis.id}/review", {"decision": "escalate", "reason": " "})
    assert Review.objects.count() == 0
    assert not AuditEvent.objects.filter(action="review.decided").exists()


def test_compliance_cannot_review(client, tenant) -> None:
    analysis = finished(tenant)
    client.force_login(make_user(tenant, "carol", role="compliance"))
    assert client.post(f"/items/{analysis.id}/review", {"decision": "escalate", "reason": "x y z"}).status_code == 403


def test_api_review_and_tenant_isolation(api, tenant, other_tenant) -> None:
    ours, theirs = finished(tenant, 61), finished(other_tenant, 62)
    response = api.post(f"/api/v1/analyses/{ours.id}/reviews", {"decision": "confirm_authentic", "reason": "camera original"},
                        format="json")
    assert response.status_code == 201 and response.json()["reviews"][0]["decision"] == "confirm_authentic"
    assert api.post(f"/api/v1/analyses/{theirs.id}/reviews", {"decision": "escalate", "reason": "abc"},
                    format="json").status_code == 404
    bad = api.post(f"/api/v1/analyses/{ours.id}/reviews", {"decision": "delete", "reason": "abc"}, format="json")
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"
