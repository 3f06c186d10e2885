"""REST API v1: auth, tenant isolation, uploads, errors as problem details, the schema."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from forensics import services
from forensics.models import Analysis, MediaItem
from tests.support.media import jpeg_bytes
from webapp.accounts.keys import issue_api_key


def upload(data: bytes, name: str = "x.jpg") -> dict:
    return {"file": SimpleUploadedFile(name, data)}


def test_requires_credentials(db) -> None:
    response = APIClient().get("/api/v1/analyses")
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/problem+json"
    assert {"type", "title", "status", "detail"} <= response.json().keys()


def test_wrong_or_revoked_key_is_refused(tenant) -> None:
    from django.utils import timezone

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer fk_deadbeef_nope")
    assert client.get("/api/v1/analyses").status_code == 401
    issued = issue_api_key(tenant, "old")
    issued.api_key.revoked_at = timezone.now()
    issued.api_key.save()
    client.credentials(HTTP_X_API_KEY=issued.plaintext)
    assert client.get("/api/v1/analyses").status_code == 401


def test_keys_are_hashed_at_rest(tenant) -> None:
    issued = issue_api_key(tenant, "k")
    assert issued.plaintext not in issued.api_key.key_hash
    assert issued.api_key.key_hash == __import__("hashlib").sha256(issued.plaintext.encode()).hexdigest()


def test_scopes_are_enforced(tenant) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'ro', ['read']).plaintext}")
    assert client.get("/api/v1/analyses").status_code == 200
    response = client.post("/api/v1/analyses", {"text": "hello there"}, format="json")
    assert response.status_code == 403 and "analyse" in response.json()["detail"]


def test_upload_returns_202_and_location(api, eager_celery) -> None:
    response = api.post("/api/v1/analyses", upload(jpeg_bytes(seed=5)), format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/analyses/{body['id']}"
    assert body["media_type"] == "image" and len(body["sha256"]) == 64
    detail = api.get(response["Location"]).json()
    assert detail["state"] == "done"
    assert detail["detectors"] and detail["provenance"]["mime_type"] == "image/jpeg"


def test_text_submission(api, eager_celery) -> None:
    response = api.post("/api/v1/analyses", {"text": "Some words written by a person."}, format="json")
    assert response.status_code == 202
    assert response.json()["media_type"] == "text"


@pytest.mark.parametrize(
    "payload, fmt, status, needle",
    [
        ({"text": "hi", "colour": "red"}, "json", 400, "Unknown field"),
        ({}, "json", 400, "exactly one"),
        ({"text": ""}, "json", 400, "empty"),
        ({"file": SimpleUploadedFile("e.jpg", b"")}, "multipart", 400, "empty"),
        ({"file": SimpleUploadedFile("x.exe", b"MZ\x90\x00" + b"\x00" * 64)}, "multipart", 415, "Unsupported"),
        ({"file": SimpleUploadedFile("t.jpg", jpeg_bytes()[:300])}, "multipart", 422, "truncated"),
    ],
    ids=["unknown-field", "nothing", "empty-text", "empty-file", "wrong-type", "truncated"],
)
def test_bad_requests_get_problem_details(api, payload, fmt, status, needle) -> None:
    response = api.post("/api/v1/analyses", payload, format=fmt)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert needle.lower() in str(response.json()).lower()
    assert Analysis.objects.count() == 0 and MediaItem.objects.count() == 0


def test_too_large_is_413(api, settings) -> None:
    settings.FORENSICS_MAX_UPLOAD_BYTES = 1000
    response = api.post("/api/v1/analyses", upload(jpeg_bytes(size=(200, 200))), format="multipart")
    assert response.status_code == 413


def test_tenants_never_see_each_other(api, tenant, other_tenant) -> None:
    from webapp.accounts.tenancy import system_actor

    theirs = services.submit_chunks(system_actor(other_tenant), [jpeg_bytes(seed=21)])
    ours = services.submit_chunks(system_actor(tenant), [jpeg_bytes(seed=22)])
    assert api.get(f"/api/v1/analyses/{theirs.id}").status_code == 404
    assert api.get(f"/api/v1/analyses/{ours.id}").status_code == 200
    listed = [a["id"] for a in api.get("/api/v1/analyses").json()["results"]]
    assert listed == [str(ours.id)]


def test_list_filters_and_paginates(api, actor) -> None:
    for seed in range(3):
        services.submit_chunks(actor, [jpeg_bytes(seed=30 + seed)])
    services.submit_text(actor, "a short human note")
    page = api.get("/api/v1/analyses?limit=2").json()
    assert len(page["results"]) == 2 and page["next"] and page["previous"] is None
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 2 and rest["next"] is None and rest["previous"]
    listed = [a["id"] for a in page["results"] + rest["results"]]
    assert listed == [str(a.id) for a in Analysis.objects.order_by("-created_at", "-id")]
    texts = api.get("/api/v1/analyses?media_type=text").json()
    assert len(texts["results"]) == 1 and texts["results"][0]["media_type"] == "text"
    assert api.get("/api/v1/analyses?state=done").json()["results"] == []


def test_cursor_pages_do_not_shift_when_new_analyses_arrive(api, actor) -> None:
    """Why cursors and not offsets: a new upload between two page requests neither repeats nor hides a row."""
    for seed in range(3):
        services.submit_chunks(actor, [jpeg_bytes(seed=40 + seed)])
    page = api.get("/api/v1/analyses?limit=2").json()
    services.submit_text(actor, "arrived while the client was paging")
    rest = api.get(page["next"]).json()
    ids = [a["id"] for a in page["results"] + rest["results"]]
    assert len(ids) == 3 == len(set(ids))


def test_schema_and_docs_are_served_offline(client, db) -> None:
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    spec = schema.json()
    assert "/api/v1/analyses" in spec["paths"] and "/api/v1/analyses/{id}" in spec["paths"]
    props = spec["components"]["schemas"]["Analysis"]["properties"]
    from forensics.presenters import analysis_to_dict  # noqa: F401 - the shape the schema documents

    assert {"sha256", "media_type", "state", "verdict", "score", "detectors", "provenance"} <= props.keys()
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()


def test_options_describes_every_endpoint_without_errors(api, actor) -> None:
    """Found by a schemathesis run: OPTIONS on views without a serializer answered 500."""
    analysis = services.submit_text(actor, "some words for the test")
    for url in ("/api/v1/analyses", f"/api/v1/analyses/{analysis.id}", f"/api/v1/analyses/{analysis.id}/reviews",
                "/api/v1/reports"):
        assert api.options(url).status_code == 200, url


def test_absurd_pagination_numbers_are_clamped(api, actor) -> None:
    """Found by schemathesis: a 25-digit limit overflowed SQLite's integers (500)."""
    services.submit_text(actor, "some words for the test")
    big = "1467678397090072820187136"
    assert len(api.get(f"/api/v1/analyses?limit={big}").json()["results"]) == 1


@pytest.mark.parametrize("cursor, status", [("garbage", 400), ("%C3%A9", 400), ("cD1ub3QtYS1kYXRl", 400),
                                            ("bz05OTk5OTk5OTk5OTk5OTk5OTk5", 200)],
                         ids=["not-base64", "not-ascii", "position-not-a-date", "huge-offset-clamped"])
def test_bad_cursors_are_refused_not_server_errors(api, actor, cursor: str, status: int) -> None:
    services.submit_text(actor, "some words for the test")
    response = api.get(f"/api/v1/analyses?cursor={cursor}")
    assert response.status_code == status, response.content
    if status == 400:
        assert "cursor" in response.json()["errors"]
