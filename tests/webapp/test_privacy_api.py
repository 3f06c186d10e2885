"""The private fine-tuning API: a job end to end on CPU, budget refusal, scopes, and tenant isolation."""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from privacy import jobs
from tests.conftest import make_user
from tests.support.openapi import assert_conforms
from tests.support.privacy_fixtures import clean_ledger, dataset_zip, upload_dataset  # noqa: F401 - fixtures
from webapp.accounts.tenancy import system_actor

JOB = {"target_epsilon": 3.0, "epochs": 1, "batch_size": 6, "learning_rate": 0.01}


def session_client(tenant, username: str, role: str) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(make_user(tenant, username, role))
    return client


def zip_upload(path) -> SimpleUploadedFile:  # type: ignore[no-untyped-def]
    return SimpleUploadedFile("faces.zip", path.read_bytes(), content_type="application/zip")


def test_a_private_job_runs_end_to_end_through_the_api(api, tenant, dataset_zip, eager_celery, clean_ledger) -> None:
    admin = session_client(tenant, "boss", "admin")
    response = admin.post("/api/v1/privacy/datasets", {"name": "faces", "file": zip_upload(dataset_zip),
                                                        "epsilon_total": 3.5, "delta": 1e-5}, format="multipart")
    assert response.status_code == 201, response.content
    assert_conforms(response, "POST", "/api/v1/privacy/datasets")
    dataset = response.json()
    assert dataset["counts"] == {"real": 12, "fake": 12, "train": 18, "holdout": 6}
    assert dataset["budget"]["epsilon_left"] == 3.5  # one ε=3 job fits, a second does not (composed ~4)

    response = api.post("/api/v1/privacy/jobs", {"dataset": dataset["id"], **JOB}, format="json")
    assert response.status_code == 202, response.content
    assert_conforms(response, "POST", "/api/v1/privacy/jobs")
    finished = api.get(response["Location"])
    assert_conforms(finished, "GET", "/api/v1/privacy/jobs/{id}")
    job = finished.json()  # eager: the job ran when its submission committed
    assert job["state"] == "done", job["error"]
    assert job["progress"]["epoch"] == 1 and job["progress"]["epsilon"] <= 3.0
    result = job["result"]
    assert result["privacy"]["epsilon"] <= 3.0 and result["privacy"]["delta"] == 1e-5
    assert set(result["membership_inference"]) == {"private", "nonprivate", "members_definition", "this_job_members"}
    assert result["membership_inference"]["members_definition"]["name"] == "lineage"
    assert result["membership_inference"]["private"]["members"] == 18  # the lineage is this one job
    assert set(result["utility_holdout"]) == {"private", "nonprivate", "base"}

    for path in ("/api/v1/privacy/datasets/{id}", "/api/v1/privacy/datasets/{id}/ledger"):
        assert_conforms(api.get(path.format(id=dataset["id"])), "GET", path)  # now with a per-image budget
    for path in ("/api/v1/privacy/datasets", "/api/v1/privacy/jobs", "/api/v1/privacy/versions"):
        assert_conforms(api.get(path), "GET", path)
    ledger = api.get(dataset["ledger"]).json()
    assert [e["kind"] for e in ledger["entries"]] == ["reserve"]
    assert ledger["entries"][0]["epsilon_composed"] == ledger["dataset"]["budget"]["epsilon_spent"]

    refused = api.post("/api/v1/privacy/jobs", {"dataset": dataset["id"], **JOB}, format="json")
    assert refused.status_code == 409 and refused["Content-Type"] == "application/problem+json"
    assert_conforms(refused, "POST", "/api/v1/privacy/jobs")
    assert "ask an admin to raise the budget" in refused.json()["detail"]
    assert refused.json()["job"]["state"] == "refused"
    versions = api.get("/api/v1/privacy/versions").json()["results"]
    assert [(v["detector"], v["active"], v["weights_sha256"]) for v in versions] == [
        ("synthetic-image", True, result["weights_sha256"])]


def test_budget_needs_an_admin(tenant, dataset_zip, db) -> None:
    moderator = session_client(tenant, "mod", "moderator")
    response = moderator.post("/api/v1/privacy/datasets", {"name": "x", "file": zip_upload(dataset_zip),
                                                            "epsilon_total": 4.0}, format="multipart")
    assert response.status_code == 403 and "admin" in response.json()["detail"]
    response = moderator.post("/api/v1/privacy/datasets", {"name": "x", "file": zip_upload(dataset_zip)},
                              format="multipart")
    assert response.status_code == 201 and response.json()["budget"]["epsilon_total"] == 0.0
    url = f"/api/v1/privacy/datasets/{response.json()['id']}"
    assert moderator.patch(url, {"epsilon_total": 5.0}, format="json").status_code == 403
    admin = session_client(tenant, "boss", "admin")
    assert admin.patch(url, {"epsilon_total": 5.0}, format="json").json()["budget"]["epsilon_left"] == 5.0


def test_a_bad_zip_is_refused_with_what_to_fix(api, db) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("real/a.jpg", b"not an image at all")
    response = api.post("/api/v1/privacy/datasets",
                        {"name": "bad", "file": SimpleUploadedFile("bad.zip", buffer.getvalue())}, format="multipart")
    assert response.status_code == 400 and "real/a.jpg is not an image" in response.json()["detail"]
    both = api.post("/api/v1/privacy/datasets", {"name": "x", "items": [], "file": ""}, format="json")
    assert both.status_code == 400


def test_a_dataset_from_analysed_images_with_labels(api, actor, other_tenant) -> None:
    from forensics import services
    from tests.support.media import jpeg_bytes

    analyses = [services.submit_chunks(actor, [jpeg_bytes(seed=60 + i)]) for i in range(4)]
    items = [{"analysis": str(a.id), "label": "real" if i < 2 else "fake"} for i, a in enumerate(analyses)]
    response = api.post("/api/v1/privacy/datasets", {"name": "from items", "items": items}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["counts"] == {"real": 2, "fake": 2, "train": 2, "holdout": 2}
    theirs = services.submit_chunks(system_actor(other_tenant, "user:b"), [jpeg_bytes(seed=70)])
    response = api.post("/api/v1/privacy/datasets", {"name": "x", "items": [
        *items, {"analysis": str(theirs.id), "label": "fake"}]}, format="json")
    assert response.status_code == 400 and "does not exist in your tenant" in response.json()["detail"]


def test_datasets_jobs_and_ledgers_are_invisible_to_other_tenants(api, actor, other_tenant, dataset_zip) -> None:
    from webapp.accounts.keys import issue_api_key

    dataset = upload_dataset(actor, dataset_zip)
    job = jobs.submit_job(actor, dataset, **JOB)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(other_tenant, 'b').plaintext}")
    for url in (f"/api/v1/privacy/datasets/{dataset.id}", f"/api/v1/privacy/datasets/{dataset.id}/ledger",
                f"/api/v1/privacy/jobs/{job.id}"):
        assert api.get(url).status_code == 200
        assert other.get(url).status_code == 404
    for url in ("/api/v1/privacy/datasets", "/api/v1/privacy/jobs", "/api/v1/privacy/versions"):
        assert other.get(url).json()["results"] == []
    response = other.post("/api/v1/privacy/jobs", {"dataset": str(dataset.id), **JOB}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize("field, value", [("target_epsilon", 0), ("epochs", 0), ("colour", "blue")])
def test_invalid_job_parameters_are_400(api, actor, dataset_zip, field: str,  # type: ignore[no-untyped-def]
                                        value) -> None:
    dataset = upload_dataset(actor, dataset_zip)
    response = api.post("/api/v1/privacy/jobs", {"dataset": str(dataset.id), **JOB, field: value}, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_a_zip_with_a_lying_size_header_is_a_400_and_leaves_nothing(api, tmp_path, settings) -> None:
    from pathlib import Path

    from privacy.models import PrivateDataset
    from tests.privacy.test_datasets import _lying_size_zip

    def files() -> set[Path]:
        return {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}

    before = files()
    response = api.post("/api/v1/privacy/datasets", {"name": "liar", "file": zip_upload(_lying_size_zip(tmp_path))},
                        format="multipart")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert "cannot be read from the zip" in response.json()["detail"]
    assert not PrivateDataset.objects.exists()
    assert files() == before


def test_the_tenant_per_image_budget_is_read_by_all_and_set_by_admins_only(tenant, other_tenant, actor) -> None:
    from privacy.units import tenant_budget
    from provenance.models import AuditEvent
    from webapp.accounts.keys import issue_api_key

    admin, moderator = session_client(tenant, "boss", "admin"), session_client(tenant, "mod", "moderator")
    read_only = APIClient()
    read_only.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'ro', ['read']).plaintext}")
    fresh = read_only.get("/api/v1/privacy/budget")
    assert fresh.status_code == 200 and fresh.json()["epsilon_per_image"] is None
    assert (fresh.json()["delta"], fresh.json()["accountant"], fresh.json()["delta_fixed"]) == (1e-5, "rdp", False)

    response = admin.put("/api/v1/privacy/budget", {"epsilon_per_image": 4.0}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["epsilon_per_image"] == 4.0 and tenant_budget(tenant).epsilon_total == 4.0
    assert moderator.get("/api/v1/privacy/budget").json()["epsilon_per_image"] == 4.0
    event = AuditEvent.objects.get(tenant=tenant, action="privacy.tenant_budget_set")
    assert event.actor == "user:boss" and event.payload["before"]["epsilon_total"] is None
    assert event.payload["after"]["epsilon_total"] == 4.0

    # Not an admin: refused, nothing changes, nothing is audited.
    for client in (moderator, read_only):
        refused = client.put("/api/v1/privacy/budget", {"epsilon_per_image": 99}, format="json")
        assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert tenant_budget(tenant).epsilon_total == 4.0
    assert AuditEvent.objects.filter(action="privacy.tenant_budget_set").count() == 1

    # Another tenant's admin reads and sets only their own tenant's budget.
    theirs = session_client(other_tenant, "globex-boss", "admin")
    assert theirs.get("/api/v1/privacy/budget").json()["epsilon_per_image"] is None
    assert theirs.put("/api/v1/privacy/budget", {"epsilon_per_image": 1.5}, format="json").status_code == 200
    assert tenant_budget(tenant).epsilon_total == 4.0 and tenant_budget(other_tenant).epsilon_total == 1.5
    assert AuditEvent.objects.get(tenant=other_tenant, action="privacy.tenant_budget_set").actor == "user:globex-boss"

    # null removes the tenant's own cap.
    assert admin.put("/api/v1/privacy/budget", {"epsilon_per_image": None},
                     format="json").json()["epsilon_per_image"] is None


@pytest.mark.parametrize("body", [{}, {"epsilon_per_image": -1}, {"epsilon_per_image": "lots"},
                                  {"epsilon_per_image": 2, "delta": 0}, {"epsilon_per_image": 2, "delta": 1},
                                  {"epsilon_per_image": 2, "accountant": "gdp"}, {"epsilon_per_image": 2, "eps": 3}])
def test_a_bad_tenant_budget_is_a_400(tenant, body) -> None:  # type: ignore[no-untyped-def]
    from privacy.units import tenant_budget

    response = session_client(tenant, "boss", "admin").put("/api/v1/privacy/budget", body, format="json")
    assert response.status_code == 400, response.content
    assert tenant_budget(tenant).epsilon_total is None


def test_the_tenant_budget_caps_datasets_and_fixes_delta_once_jobs_reserved(tenant, actor, dataset_zip) -> None:
    admin = session_client(tenant, "boss", "admin")
    dataset = upload_dataset(actor, dataset_zip, epsilon_total=8.0)
    assert jobs.submit_job(actor, dataset, **JOB).state == "queued"
    shown = admin.put("/api/v1/privacy/budget", {"epsilon_per_image": 5}, format="json").json()
    assert shown["datasets_above"] == 1 and shown["delta_fixed"] is True
    refused = admin.put("/api/v1/privacy/budget", {"epsilon_per_image": 5, "delta": 1e-6}, format="json")
    assert refused.status_code == 400 and "cannot change once jobs have reserved" in refused.json()["detail"]
