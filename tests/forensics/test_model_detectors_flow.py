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


def test_a_video_gets_a_per_frame_timeline(api, tenant, eager_celery, settings) -> None:
    """A short clip of real faces through the API: the video detector's timeline and tracks come back."""
    from PIL import Image

    from detectors.faces import FaceFinder  # noqa: F401 - MTCNN must import before the clip is analysed
    from tests.detectors.test_faces_video import _video

    settings.FORENSICS_DISABLED_DETECTORS = ["test-brightness", "test-gated"]
    frames = [Image.open(p) for p in sorted(REAL_FACES.glob("*.jpg"))[20:22] for _ in range(4)]
    clip = SimpleUploadedFile("clip.mp4", _video(frames, fps=4))
    body = api.get(api.post("/api/v1/analyses", {"file": clip}, format="multipart")["Location"]).json()
    assert body["state"] == "done", body["error"]
    video = {d["detector"]: d for d in body["detectors"]}["video-faces"]
    assert video["label"] in ("authentic", "synthetic"), video["reason"]
    assert len(video["evidence"]["timeline"]) == 4  # 2 s at the default 2 fps
    assert video["evidence"]["tracks"] and set(video["artifacts"]) == {"timeline"}
    assert api.get(video["artifacts"]["timeline"])["Content-Type"] == "image/png"
    assert len(body["provenance"]["pdq"]) >= 2
