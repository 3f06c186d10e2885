"""The moderator console: login, upload, list, item page, tenant isolation."""
from django.core.files.uploadedfile import SimpleUploadedFile

from forensics import services
from forensics.models import Analysis
from tests.conftest import make_user
from tests.support.media import jpeg_bytes
from webapp.accounts.tenancy import system_actor


def test_login_required(client, db) -> None:
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_login_page_and_login(client, tenant) -> None:
    make_user(tenant, "alice")
    assert "Log in" in client.get("/login/").content.decode()
    response = client.post("/login/", {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 302
    assert "Items" in client.get("/").content.decode()


def test_upload_shows_the_item_with_metadata(moderator_client, eager_celery) -> None:
    exif_jpeg = jpeg_bytes(seed=40, exif={0x010F: "Canon", 0x0110: "EOS R5"})
    response = moderator_client.post("/upload/", {"files": [SimpleUploadedFile("cat.jpg", exif_jpeg)]})
    analysis = Analysis.objects.get()
    assert response.status_code == 302 and str(analysis.id) in response["Location"]
    page = moderator_client.get(response["Location"]).content.decode()
    assert analysis.item.sha256 in page and "Canon" in page and "EOS R5" in page
    assert "Done" in page and "test-brightness" in page
    listing = moderator_client.get("/").content.decode()
    assert "cat.jpg" in listing


def test_upload_refusal_is_shown(moderator_client) -> None:
    response = moderator_client.post("/upload/", {"files": [SimpleUploadedFile("e.jpg", b"")]})
    assert response.status_code == 400
    assert "e.jpg: The file is empty" in response.content.decode()
    assert Analysis.objects.count() == 0


def test_items_of_another_tenant_are_invisible(moderator_client, other_tenant) -> None:
    theirs = services.submit_chunks(system_actor(other_tenant), [jpeg_bytes(seed=41)], original_name="secret.jpg")
    assert moderator_client.get(f"/items/{theirs.id}/").status_code == 404
    assert moderator_client.get(f"/items/{theirs.id}/status").status_code == 404
    assert "secret.jpg" not in moderator_client.get("/").content.decode()


def test_compliance_role_cannot_upload(client, tenant) -> None:
    client.force_login(make_user(tenant, "carol", role="compliance"))
    assert client.get("/upload/").status_code == 403
    assert client.get("/").status_code == 200


def test_status_endpoint_reports_progress(moderator_client, tenant) -> None:
    analysis = services.submit_chunks(system_actor(tenant), [jpeg_bytes(seed=42)])
    body = moderator_client.get(f"/items/{analysis.id}/status").json()
    assert body["state"] == "queued" and body["progress"] == 0.0


def test_media_is_served_to_its_tenant_only(moderator_client, tenant, other_tenant) -> None:
    data = jpeg_bytes(seed=43)
    ours = services.submit_chunks(system_actor(tenant), [data])
    theirs = services.submit_chunks(system_actor(other_tenant), [jpeg_bytes(seed=44)])
    response = moderator_client.get(f"/items/{ours.id}/media")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == data
    assert moderator_client.get(f"/items/{theirs.id}/media").status_code == 404


# --- Upload endpoint used by the drop zone --------------------------------------

def test_upload_one_answers_json_per_file(moderator_client, eager_celery, settings) -> None:
    ok = moderator_client.post("/upload/one", {"file": SimpleUploadedFile("a.jpg", jpeg_bytes(seed=45))})
    assert ok.status_code == 201
    body = ok.json()
    analysis = Analysis.objects.get(pk=body["id"])
    assert body["url"] == f"/items/{analysis.id}/" and analysis.source == "ui"
    status = moderator_client.get(body["status_url"]).json()
    assert status["state"] == "done" and status["verdict"] == analysis.verdict and status["url"] == body["url"]
    only_test_detectors(settings)
    text = moderator_client.post("/upload/one", {"text": "A short note typed by a person."})
    assert text.status_code == 201 and Analysis.objects.get(pk=text.json()["id"]).item.media_type == "text"


def test_upload_one_refusal_says_why(moderator_client) -> None:
    bad = moderator_client.post("/upload/one", {"file": SimpleUploadedFile("notes.exe", b"MZ\x90\x00" + bytes(200))})
    assert bad.status_code == 400 and bad.json()["error"]
    empty = moderator_client.post("/upload/one", {})
    assert empty.status_code == 400 and "file" in empty.json()["error"]
    assert Analysis.objects.count() == 0


def test_upload_page_has_a_labelled_drop_zone(moderator_client) -> None:
    page = moderator_client.get("/upload/").content.decode()
    assert 'data-dropzone' in page and '<label for="id_files"' in page and 'aria-live="polite"' in page
    assert 'href="#main"' in page  # skip link
    assert "http://" not in page and "https://" not in page  # no external assets


# --- Review queue: filters, sorting, pagination ---------------------------------

def _queue(tenant, n: int) -> list[Analysis]:  # type: ignore[no-untyped-def]
    from forensics.models import MediaItem

    out = []
    for i in range(n):
        item = MediaItem.objects.create(tenant=tenant, sha256=f"{i:064d}", media_type="image" if i % 2 else "text",
                                        mime_type="image/jpeg", size_bytes=1, original_name=f"item-{i:02d}",
                                        storage_path="x")
        out.append(Analysis.objects.create(tenant=tenant, item=item, submitted_by="t", state="done",
                                           verdict="likely_synthetic" if i % 3 == 0 else "likely_authentic",
                                           score=i / (n - 1)))
    return out


def _names(html: str) -> list[str]:
    import re

    return re.findall(r"data-open>(item-\d\d)<", html)


def test_queue_filters_sorts_and_keeps_filters_across_pages(moderator_client, tenant) -> None:
    from forensics.models import DetectorResult

    analyses = _queue(tenant, 30)
    DetectorResult.objects.create(analysis=analyses[3], detector="test-brightness", version="1", label="synthetic",
                                  score=0.9, threshold=0.5)
    DetectorResult.objects.create(analysis=analyses[4], detector="test-brightness", version="1", label="authentic",
                                  score=0.2, threshold=0.5)

    by_score = _names(moderator_client.get("/?sort=score_desc").content.decode())
    assert by_score[:3] == ["item-29", "item-28", "item-27"] and len(by_score) == 25
    ascending = _names(moderator_client.get("/?sort=score_asc&media_type=image").content.decode())
    assert ascending[:2] == ["item-01", "item-03"]

    page = moderator_client.get("/?verdict=likely_synthetic&min_score=0.2&max_score=0.8").content.decode()
    assert sorted(_names(page)) == ["item-06", "item-09", "item-12", "item-15", "item-18", "item-21"]
    assert _names(moderator_client.get("/?detector=test-brightness").content.decode()) == ["item-03"]

    first = moderator_client.get("/?media_type=text&sort=oldest").content.decode()
    assert "media_type=text&amp;sort=oldest&amp;page=2" not in first  # 15 text items fit one page
    everything = moderator_client.get("/?sort=oldest").content.decode()
    assert "sort=oldest&amp;page=2" in everything
    second = _names(moderator_client.get("/?sort=oldest&page=2").content.decode())
    assert second == [f"item-{i:02d}" for i in range(25, 30)]


def test_queue_filters_on_review_state_and_dates(moderator_client, tenant) -> None:
    from datetime import timedelta

    from django.utils import timezone

    analyses = _queue(tenant, 4)
    Analysis.objects.filter(pk=analyses[1].pk).update(review_state="escalated")
    Analysis.objects.filter(pk=analyses[2].pk).update(created_at=timezone.now() - timedelta(days=10))
    assert _names(moderator_client.get("/?review=escalated").content.decode()) == ["item-01"]
    day = (timezone.localdate() - timedelta(days=10)).isoformat()
    assert _names(moderator_client.get(f"/?since={day}&until={day}").content.decode()) == ["item-02"]
    bad = moderator_client.get("/?min_score=lots&review=maybe").content.decode()
    assert "min score must be a number" in bad and "unknown review" in bad and len(_names(bad)) == 4


# --- Item page evidence ---------------------------------------------------------

def only_test_detectors(settings) -> None:  # type: ignore[no-untyped-def]
    """Model detectors (text LMs included) are tested on their own; here only the test ones run."""
    from detectors.registry import registered_names

    settings.FORENSICS_DISABLED_DETECTORS = [n for n in registered_names() if not n.startswith("test-")]


def test_text_item_highlights_spans_from_every_span_detector(moderator_client, tenant, eager_celery, settings) -> None:
    only_test_detectors(settings)
    text = "Words of uneven length make a deterministic pattern.\nÜber café naïve."
    analysis = services.submit_text(system_actor(tenant), text)
    page = moderator_client.get(f"/items/{analysis.id}/").content.decode()
    assert '<mark class="span span-human" style="--w:0.5" title="human 0.5">Words</mark>' in page
    assert '<mark class="span span-machine" style="--w:0.4" title="machine 0.4">Über</mark>' in page
    assert "even-length word" in page  # the legend
    import re
    from html import unescape

    pre = re.search(r'<pre class="text-preview highlighted">(.*?)</pre>', page, re.DOTALL).group(1)
    assert unescape(re.sub(r"<[^>]+>", "", pre)) == text  # highlighting never changes the text


def test_image_item_has_heatmap_overlay_and_face_boxes(moderator_client, tenant, eager_celery) -> None:
    analysis = services.submit_chunks(system_actor(tenant), [jpeg_bytes(seed=46, size=(120, 80))])
    page = moderator_client.get(f"/items/{analysis.id}/").content.decode()
    heatmap = f"/items/{analysis.id}/artifacts/test-heatmap/heatmap"
    # The heatmap covers the centre square the detector looked at: 80 px of 120 px wide, all 80 px high.
    assert f'src="{heatmap}"' in page and "left:16.667%;top:0.0%;width:66.667%;height:100.0%" in page
    assert 'data-toggle-heatmap' in page and 'data-heatmap-opacity' in page and 'data-facebox' in page
    assert moderator_client.get(heatmap)["Content-Type"] == "image/png"
    assert "test-brightness" in page and "Model version" in page


def test_video_item_has_a_timeline(moderator_client, tenant, eager_celery) -> None:
    from tests.support.media import mp4_bytes

    analysis = services.submit_chunks(system_actor(tenant), [mp4_bytes(frames=24)])
    page = moderator_client.get(f"/items/{analysis.id}/").content.decode()
    assert "data-timeline" in page and page.count('class="tl-point') >= 4
    assert f"/items/{analysis.id}/artifacts/test-timeline/timeline" in page


def test_report_form_works_with_csrf_protection(tenant) -> None:
    """A browser always sends the CSRF token with the form; it must not count as an unknown report field."""
    import re

    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(tenant, "boss", role="admin"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get("/reports/").content.decode()).group(1)
    response = client.post("/reports/", {"csrfmiddlewaretoken": token, "start": "2026-01-01", "end": "2026-02-01",
                                         "format": "json"})
    assert response.status_code == 302


def test_media_answers_byte_ranges_so_videos_can_seek(moderator_client, tenant) -> None:
    data = jpeg_bytes(seed=47)
    analysis = services.submit_chunks(system_actor(tenant), [data])
    part = moderator_client.get(f"/items/{analysis.id}/media", HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and part.content == data[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(data)}" and part["Accept-Ranges"] == "bytes"
    tail = moderator_client.get(f"/items/{analysis.id}/media", HTTP_RANGE="bytes=-5")
    assert tail.content == data[-5:]
    assert moderator_client.get(f"/items/{analysis.id}/media", HTTP_RANGE=f"bytes={len(data) + 5}-").status_code == 416
