"""POST /api/v1/analyses/batch: items judged one by one, 202 or 207, and idempotent retries."""
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from forensics.models import Analysis
from tests.support.media import jpeg_bytes, png_bytes
from webapp.accounts.keys import issue_api_key


def files(*items: tuple[str, bytes]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, data) for name, data in items]


def test_all_accepted_is_202(api) -> None:
    response = api.post("/api/v1/analyses/batch",
                        {"file": files(("a.jpg", jpeg_bytes(seed=1)), ("b.png", png_bytes(seed=2))),
                         "text": ["a note a person wrote"]}, format="multipart")
    assert response.status_code == 202, response.content
    results = response.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [(0, 202), (1, 202), (2, 202)]
    assert [r["analysis"]["media_type"] for r in results] == ["image", "image", "text"]
    assert [r["analysis"]["original_name"] for r in results[:2]] == ["a.jpg", "b.png"]
    assert Analysis.objects.count() == 3


def test_a_refused_item_makes_it_207_and_the_others_still_go_through(api) -> None:
    response = api.post("/api/v1/analyses/batch",
                        {"file": files(("ok.jpg", jpeg_bytes(seed=3)), ("x.exe", b"MZ\x90\x00" + b"\x00" * 64),
                                       ("t.jpg", jpeg_bytes(seed=4)[:300]))}, format="multipart")
    assert response.status_code == 207, response.content
    ok, exe, truncated = response.json()["results"]
    assert ok["status"] == 202 and ok["analysis"]["state"] == "queued"
    assert exe["status"] == 415 and {"type", "title", "status", "detail"} <= exe["problem"].keys()
    assert truncated["status"] == 422 and "truncated" in truncated["problem"]["detail"].lower()
    assert Analysis.objects.count() == 1


def test_json_items(api) -> None:
    response = api.post("/api/v1/analyses/batch",
                        {"items": [{"text": "first text here"}, {"text": ""}, {"url": "https://x"}]}, format="json")
    assert response.status_code == 207
    first, empty, url = response.json()["results"]
    assert first["status"] == 202 and first["analysis"]["media_type"] == "text"
    assert empty["status"] == 400 and url["status"] == 400 and "text" in url["problem"]["detail"]


def test_malformed_or_oversized_batches_are_refused_whole(api, settings) -> None:
    settings.FORENSICS_BATCH_MAX_ITEMS = 2
    for payload, fmt, needle in [
        ({"items": []}, "json", "items"),
        ({"items": "text"}, "json", "items"),
        ({"things": [1]}, "json", "things"),
        ({"items": [{"text": "a"}] * 3}, "json", "at most 2"),
        ({"note": "x"}, "multipart", "note"),
    ]:
        response = api.post("/api/v1/analyses/batch", payload, format=fmt)
        assert response.status_code == 400 and needle in str(response.json()["errors"]), (payload, response.content)
    assert Analysis.objects.count() == 0


def test_a_retried_batch_returns_the_same_analyses(api) -> None:
    def post(texts: list[str]):  # type: ignore[no-untyped-def]
        return api.post("/api/v1/analyses/batch", {"items": [{"text": t} for t in texts]}, format="json",
                        HTTP_IDEMPOTENCY_KEY="batch-1")

    first = post(["one text", "two text", " "])
    retry = post(["one text", "two text", " "])
    assert (first.status_code, retry.status_code) == (207, 207)
    assert retry["Idempotent-Replayed"] == "true"
    assert [r["status"] for r in retry.json()["results"]] == [200, 200, 400]
    ids = [[r.get("analysis", {}).get("id") for r in resp.json()["results"]] for resp in (first, retry)]
    assert ids[0] == ids[1] and Analysis.objects.count() == 2
    conflict = post(["another batch"])
    assert conflict.status_code == 422 and "different batch" in conflict.json()["detail"]
    assert Analysis.objects.count() == 2


def test_batch_needs_the_analyse_scope(tenant) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'ro', ['read']).plaintext}")
    response = client.post("/api/v1/analyses/batch", {"items": [{"text": "hello"}]}, format="json")
    assert response.status_code == 403
