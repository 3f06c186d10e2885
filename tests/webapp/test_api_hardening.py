"""Rate limits per API key with 429 + Retry-After, and idempotent retries of uploads."""
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from forensics.models import Analysis, MediaItem
from tests.support.media import jpeg_bytes
from webapp.accounts.keys import issue_api_key
from webapp.api.throttling import PerCredentialThrottle


@pytest.fixture
def tight_limit(monkeypatch):  # type: ignore[no-untyped-def]
    cache.clear()
    monkeypatch.setattr(PerCredentialThrottle, "THROTTLE_RATES", {"credential": "3/min"})
    yield
    cache.clear()


def test_each_key_has_its_own_rate_limit(tenant, tight_limit) -> None:
    first, second = APIClient(), APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'a').plaintext}")
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'b').plaintext}")
    assert [first.get("/api/v1/analyses").status_code for _ in range(3)] == [200, 200, 200]
    limited = first.get("/api/v1/analyses")
    assert limited.status_code == 429 and limited["Content-Type"] == "application/problem+json"
    assert 0 < int(limited["Retry-After"]) <= 60
    assert second.get("/api/v1/analyses").status_code == 200


def test_a_retried_upload_returns_the_first_analysis(api, eager_celery) -> None:
    def post(data: bytes, key: str):  # type: ignore[no-untyped-def]
        return api.post("/api/v1/analyses", {"file": SimpleUploadedFile("a.jpg", data)}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY=key)

    data = jpeg_bytes(seed=80)
    first, retry = post(data, "upload-1"), post(data, "upload-1")
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json()["id"] == first.json()["id"] and retry["Idempotent-Replayed"] == "true"
    assert Analysis.objects.count() == 1
    conflict = post(jpeg_bytes(seed=81, size=(100, 100)), "upload-1")
    assert conflict.status_code == 422 and "different request" in conflict.json()["detail"]
    assert post(data, "upload-2").status_code == 202  # a new key is a new analysis
    assert Analysis.objects.count() == 2 and MediaItem.objects.count() == 1


def test_a_refused_upload_frees_its_key(api) -> None:
    bad = api.post("/api/v1/analyses", {"text": " "}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert bad.status_code == 400
    good = api.post("/api/v1/analyses", {"text": "now with words"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert good.status_code == 202
