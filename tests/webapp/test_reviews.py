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


# --- Second reviewer above FORENSICS_SECOND_REVIEW_SCORE ----------------------

def bright(tenant, shade: int = 250) -> Analysis:  # type: ignore[no-untyped-def]
    """test-brightness scores a bright picture high (≈ shade / 255)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, shade, shade)).save(buf, "JPEG", quality=95)
    analysis = services.submit_chunks(system_actor(tenant), [buf.getvalue()])
    analysis.refresh_from_db()
    assert analysis.state == "done" and analysis.score >= 0.9
    return analysis


def login(client, tenant, name: str):  # type: ignore[no-untyped-def]
    client.force_login(make_user(tenant, name))
    return client


def test_a_high_score_needs_two_agreeing_reviewers_in_the_ui(client, tenant, settings) -> None:
    settings.FORENSICS_SECOND_REVIEW_SCORE = 0.9
    analysis = bright(tenant)
    first = login(client, tenant, "ann")
    first.post(f"/items/{analysis.id}/review", {"decision": "confirm_synthetic", "reason": "diffusion texture"})
    analysis.refresh_from_db()
    assert analysis.review_state == "pending_second"
    assert Review.objects.get().outcome == "pending_second"
    assert "Needs second review" in first.get("/?review=pending_second").content.decode()

    # The same person cannot be the second reviewer.
    response = first.post(f"/items/{analysis.id}/review", {"decision": "confirm_synthetic", "reason": "still sure"},
                          follow=True)
    assert "needs a second reviewer" in response.content.decode()
    assert Review.objects.count() == 1

    second = login(client, tenant, "ben")
    second.post(f"/items/{analysis.id}/review", {"decision": "confirm_synthetic", "reason": "agree: GAN grid"})
    analysis.refresh_from_db()
    assert analysis.review_state == "reviewed"
    events = AuditEvent.objects.filter(action="review.decided").order_by("seq")
    assert [(e.actor, e.payload["outcome"]) for e in events] == [("user:ann", "pending_second"),
                                                                  ("user:ben", "confirmed")]
    assert verify_chain(tenant).ok


def test_disagreement_escalates(client, tenant, settings) -> None:
    settings.FORENSICS_SECOND_REVIEW_SCORE = 0.9
    analysis = bright(tenant)
    url = f"/items/{analysis.id}/review"
    login(client, tenant, "ann").post(url, {"decision": "confirm_synthetic", "reason": "fake"})
    login(client, tenant, "ben").post(url, {"decision": "confirm_authentic", "reason": "raw"})
    analysis.refresh_from_db()
    assert analysis.review_state == "escalated"
    assert Review.objects.order_by("-id").first().outcome == "disagreed"


def test_the_rule_can_be_switched_off(moderator_client, tenant, settings) -> None:
    settings.FORENSICS_SECOND_REVIEW_SCORE = None
    analysis = bright(tenant)
    moderator_client.post(f"/items/{analysis.id}/review", {"decision": "confirm_synthetic", "reason": "obvious"})
    analysis.refresh_from_db()
    assert analysis.review_state == "reviewed"


def test_the_api_obeys_the_second_reviewer_rule(api, tenant, settings) -> None:
    from rest_framework.test import APIClient

    from webapp.accounts.keys import issue_api_key

    settings.FORENSICS_SECOND_REVIEW_SCORE = 0.9
    analysis = bright(tenant)
    url = f"/api/v1/analyses/{analysis.id}/reviews"
    first = api.post(url, {"decision": "confirm_synthetic", "reason": "face swap seams"}, format="json")
    assert first.status_code == 201 and first.json()["review_state"] == "pending_second"
    assert first.json()["reviews"][0]["outcome"] == "pending_second"
    again = api.post(url, {"decision": "confirm_synthetic", "reason": "face swap seams"}, format="json")
    assert again.status_code == 400 and "second reviewer" in again.content.decode()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'second-desk').plaintext}")
    second = other.post(url, {"decision": "confirm_synthetic", "reason": "agreed"}, format="json")
    assert second.status_code == 201 and second.json()["review_state"] == "reviewed"


def test_bulk_decision_makes_one_audit_event_per_item(moderator_client, tenant, settings) -> None:
    settings.FORENSICS_SECOND_REVIEW_SCORE = None
    chosen = [finished(tenant, seed) for seed in (70, 71, 72)]
    left_alone = finished(tenant, 73)
    response = moderator_client.post("/items/bulk-review", {
        "ids": [str(a.id) for a in chosen], "decision": "escalate", "reason": "same uploader, check together",
        "next": "/?sort=score_desc",
    })
    assert response.status_code == 302 and response["Location"] == "/?sort=score_desc"
    events = AuditEvent.objects.filter(action="review.decided")
    assert sorted(e.analysis_id for e in events) == sorted(str(a.id) for a in chosen)
    assert {e.payload["reason"] for e in events} == {"same uploader, check together"}
    assert set(Analysis.objects.filter(review_state="escalated").values_list("id", flat=True)) == {a.id for a in chosen}
    left_alone.refresh_from_db()
    assert left_alone.review_state == "unreviewed"
    assert verify_chain(tenant).ok


def test_bulk_decision_refuses_items_it_cannot_decide_and_keeps_the_rest(moderator_client, tenant) -> None:
    done = finished(tenant, 74)
    waiting = Analysis.objects.create(tenant=tenant, item=done.item, submitted_by="user:x")  # queued, not done
    response = moderator_client.post("/items/bulk-review", {
        "ids": [str(done.id), str(waiting.id)], "decision": "confirm_authentic", "reason": "camera original",
    }, follow=True)
    page = response.content.decode()
    assert "Decision recorded for 1 item(s)" in page and "only a finished analysis can be reviewed" in page
    assert Review.objects.get().analysis_id == done.id
    assert moderator_client.post("/items/bulk-review", {"decision": "escalate", "reason": "abc"}).status_code == 302
    assert Review.objects.count() == 1
