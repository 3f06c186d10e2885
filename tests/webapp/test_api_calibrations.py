"""``/api/v1/calibrations``: create from reviewed items or a zip, follow, activate, back to shipped; scoping."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from rest_framework.test import APIClient

from forensics import services
from forensics.models import Analysis
from forensics.reviews import record_review
from tests.support.media import gray_png
from tests.support.openapi import assert_conforms
from webapp.accounts.keys import issue_api_key
from webapp.accounts.tenancy import system_actor

pytestmark = pytest.mark.usefixtures("eager_celery")


@pytest.fixture
def small_sets(settings):  # type: ignore[no-untyped-def]
    settings.FORENSICS_CALIBRATION_MIN_REAL = 20
    settings.FORENSICS_CALIBRATION_BOOTSTRAP = 20
    settings.FORENSICS_SECOND_REVIEW_SCORE = None
    settings.FORENSICS_DISABLED_DETECTORS = [*settings.FORENSICS_DISABLED_DETECTORS, "test-gated"]


def client_with(tenant, *scopes: str) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'calibration', list(scopes)).plaintext}")
    return client


def zip_of(real: list[float], fake: list[float] = ()) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, level in enumerate(real):
            zf.writestr(f"set/real/{i:03d}.png", gray_png(level, i))
        for i, level in enumerate(fake):
            zf.writestr(f"set/fake/{i:03d}.png", gray_png(level, 500 + i))
    buf.seek(0)
    buf.name = "set.zip"
    return buf


def test_reviewed_items_calibrate_and_activate_through_the_api(tenant, other_tenant, small_sets) -> None:
    actor = system_actor(tenant, "user:mod")
    for i, level in enumerate(np.linspace(0.3, 0.7, 24)):
        analysis = services.submit_chunks(actor, [gray_png(float(level), i)], original_name=f"{i}.png")
        record_review(actor, Analysis.objects.get(pk=analysis.pk), "confirm_authentic", "our own photo")
    for i in range(4):
        analysis = services.submit_chunks(actor, [gray_png(0.95, 100 + i)], original_name=f"fake{i}.png")
        record_review(actor, Analysis.objects.get(pk=analysis.pk), "confirm_synthetic", "made by a generator")

    admin = client_with(tenant, "read", "calibrate")
    created = admin.post("/api/v1/calibrations", {"source": "reviewed", "target_fpr": 0.05, "name": "june"},
                         format="json")
    assert created.status_code == 202, created.content
    assert_conforms(created, "POST", "/api/v1/calibrations")
    fetched = admin.get(created["Location"])
    assert_conforms(fetched, "GET", "/api/v1/calibrations/{id}")
    body = fetched.json()
    assert body["state"] == "done" and (body["real_items"], body["synthetic_items"]) == (24, 4)
    assert body["fused"]["tpr"] == 1.0 and body["detectors"]["test-brightness"]["status"] == "calibrated"
    assert admin.get("/api/v1/calibrations/active").json() == {"active": None}

    activated = admin.post(f"/api/v1/calibrations/{body['id']}/activate")
    assert activated.status_code == 200 and activated.json()["active"] is True
    assert_conforms(admin.get("/api/v1/calibrations/active"), "GET", "/api/v1/calibrations/active")
    assert admin.get("/api/v1/calibrations/active").json()["active"]["id"] == body["id"]
    analysis = services.submit_chunks(actor, [gray_png(0.6, 999)], original_name="new.png")
    shown_response = admin.get(f"/api/v1/analyses/{analysis.id}")
    assert_conforms(shown_response, "GET", "/api/v1/analyses/{id}")  # its operating point: the calibration's
    shown = shown_response.json()
    assert shown["operating_point"]["calibration"]["id"] == body["id"]
    assert "calibration v1" in shown["operating_point"]["text"]

    listed = admin.get("/api/v1/calibrations").json()
    assert [c["id"] for c in listed["results"]] == [body["id"]]
    theirs = client_with(other_tenant, "read", "calibrate")
    assert theirs.get(f"/api/v1/calibrations/{body['id']}").status_code == 404
    assert theirs.post(f"/api/v1/calibrations/{body['id']}/activate").status_code == 404
    assert theirs.get("/api/v1/calibrations").json()["results"] == []

    assert admin.delete("/api/v1/calibrations/active").json() == {"active": None}
    assert admin.get(f"/api/v1/calibrations/{body['id']}").json()["retired_at"] is not None


def test_a_zip_of_real_and_fake_folders_calibrates(tenant, small_sets) -> None:
    admin = client_with(tenant, "read", "calibrate")
    upload = zip_of(list(np.linspace(0.2, 0.6, 25)), [0.9] * 5)
    created = admin.post("/api/v1/calibrations", {"source": "files", "file": upload, "target_fpr": "0.04"},
                         format="multipart")
    assert created.status_code == 202, created.content
    assert created.json()["state"] == "done" and created.json()["real_items"] == 25


def test_refusals_say_what_to_do(tenant, small_sets) -> None:
    admin = client_with(tenant, "read", "calibrate")
    too_few = admin.post("/api/v1/calibrations", {"source": "files", "file": zip_of([0.3] * 5)}, format="multipart")
    assert too_few.status_code == 422 and "add 15 more" in too_few.json()["detail"]
    no_real = admin.post("/api/v1/calibrations", {"source": "files", "file": zip_of([], [0.9] * 3)},
                         format="multipart")
    assert no_real.status_code == 422 and "real/ folder is empty" in no_real.json()["detail"]
    unknown = admin.post("/api/v1/calibrations", {"source": "reviewed", "threshold": 0.3}, format="json")
    assert unknown.status_code == 400 and "threshold" in unknown.json()["errors"]
    reader = client_with(tenant, "read")
    assert reader.post("/api/v1/calibrations", {"source": "reviewed"}, format="json").status_code == 403
    assert reader.delete("/api/v1/calibrations/active").status_code == 403
