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
