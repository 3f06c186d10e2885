"""The README's refusal table and error format, checked row by row where they had drifted."""
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from forensics.models import Analysis, MediaItem
from tests.support.media import jpeg_bytes, mp4_bytes

PROBLEM = "application/problem+json"


def upload(api, name: str, data: bytes, **headers):  # type: ignore[no-untyped-def]
    return api.post("/api/v1/analyses", {"file": SimpleUploadedFile(name, data)}, format="multipart", **headers)


def assert_refused_cleanly(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert str(settings.MEDIA_ROOT) not in body["detail"] and "/staging/" not in body["detail"]  # no server paths
    assert not Analysis.objects.exists() and not MediaItem.objects.exists()
    staging = Path(settings.MEDIA_ROOT) / "staging"
    assert not staging.exists() or not any(staging.iterdir())
    return body


def test_a_one_megabyte_text_file_is_413_over_the_text_limit(api) -> None:
    body = assert_refused_cleanly(upload(api, "long.txt", ("Ein Satz über nichts. " * 50_000).encode()), 413)
    assert "FORENSICS_MAX_TEXT_CHARS" in body["detail"]


def test_a_large_binary_is_still_415(api) -> None:
    assert_refused_cleanly(upload(api, "blob.bin", b"\x00\x01\x02\xfe" * 300_000), 415)


def _moov_offset(data: bytes) -> int:
    offset = 0
    while data[offset + 4:offset + 8] != b"moov":
        offset += int.from_bytes(data[offset:offset + 4], "big")
    return offset


@pytest.mark.parametrize("cut", ["inside-mdat", "inside-moov"])
def test_a_truncated_mp4_is_422_without_server_paths(api, cut: str) -> None:
    """Cut inside the media data (FFmpeg: "Invalid data … '/srv/…/staging/upload-…'") or inside the index box,
    where the container opens with no stream at all (it used to be called audio-only, 415)."""
    data = mp4_bytes(frames=24)
    end = _moov_offset(data) // 2 if cut == "inside-mdat" else _moov_offset(data) + 220
    body = assert_refused_cleanly(upload(api, "clip.mp4", data[:end]), 422)
    assert "truncated or corrupt" in body["detail"] and "audio-only" not in body["detail"]


def test_the_idempotency_fingerprint_is_the_content_not_the_name_and_size(api) -> None:
    first, other = jpeg_bytes(seed=1, size=(64, 64)), jpeg_bytes(seed=2, size=(64, 64))
    other = other[: len(first)] if len(other) >= len(first) else other + b"\x00" * (len(first) - len(other))
    assert len(first) == len(other) and first != other
    assert upload(api, "same.jpg", first, HTTP_IDEMPOTENCY_KEY="k1").status_code == 202
    conflict = upload(api, "same.jpg", other, HTTP_IDEMPOTENCY_KEY="k1")
    assert conflict.status_code == 422 and conflict["Content-Type"] == PROBLEM
    assert "different request" in conflict.json()["detail"]
    replay = upload(api, "renamed.jpg", first, HTTP_IDEMPOTENCY_KEY="k1")  # same bytes under another name
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"


def test_the_batch_idempotency_fingerprint_is_the_content_too(api) -> None:
    first, other = jpeg_bytes(seed=3, size=(64, 64)), jpeg_bytes(seed=4, size=(64, 64))
    other = other[: len(first)] if len(other) >= len(first) else other + b"\x00" * (len(first) - len(other))

    def batch(data: bytes):  # type: ignore[no-untyped-def]
        return api.post("/api/v1/analyses/batch", {"file": [SimpleUploadedFile("a.jpg", data)]}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="b1")

    assert batch(first).status_code == 202
    assert batch(other).status_code == 422


@pytest.mark.parametrize("url", ["/api/v1/nothing-here", "/api/v1/analyses/not-a-uuid", "/api/v2/analyses"])
def test_unknown_api_urls_are_404_problems(api, url: str) -> None:
    response = api.get(url)
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 404


def test_the_console_keeps_its_html_404(moderator_client) -> None:
    response = moderator_client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_a_body_over_the_memory_limit_is_a_413_problem(api, fmt: str) -> None:
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)
    response = api.post("/api/v1/analyses", {"text": big}, format=fmt)
    assert response.status_code == 413 and response["Content-Type"] == PROBLEM
    assert not Analysis.objects.exists()
