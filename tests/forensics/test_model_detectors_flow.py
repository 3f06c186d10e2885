"""The shipped model detectors in the real flow: upload -> worker -> per-detector scores, boxes, heatmaps."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import wait_for
from tests.support.media import REAL_FACES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REAL_FACES.exists(), reason=f"real photos not available at {REAL_FACES}"),
]


def test_a_face_photo_gets_scores_boxes_and_heatmaps(worker_factory, api, tenant) -> None:
    from forensics.models import Analysis

    worker_factory({"FORENSICS_DISABLED_DETECTORS": "test-brightness,test-gated"})
    photo = sorted(REAL_FACES.glob("*.jpg"))[10].read_bytes()
    response = api.post("/api/v1/analyses", {"file": SimpleUploadedFile("face.jpg", photo)}, format="multipart")
    analysis_id = response.json()["id"]
    wait_for(lambda: Analysis.objects.get(pk=analysis_id).state in ("done", "failed"), timeout=120,
             what="the worker to run the model detectors")
    body = api.get(f"/api/v1/analyses/{analysis_id}").json()
    assert body["state"] == "done", body["error"]
    results = {d["detector"]: d for d in body["detectors"]}
    assert {"synthetic-image", "face-synthetic", "image-invisible-watermark"} <= set(results)
    face = results["face-synthetic"]
    assert face["label"] in ("authentic", "synthetic") and len(face["evidence"]["faces"]) == 1
    assert body["verdict"] in ("likely_authentic", "likely_synthetic", "inconclusive") and body["score"] is not None
    assert results["image-invisible-watermark"]["label"] == "not_applicable"  # an 89x109 photo is too small
    for detector in results.values():
        for url in detector["artifacts"].values():
            picture = api.get(url)
            assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert set(face["artifacts"]) == {"faces", "heatmap"}
