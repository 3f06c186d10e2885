"""MTCNN face finding, the face detector and the video detector on real photos, with the shipped weights."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detectors.base import FindingLabel, MediaInput, MediaType
from detectors.faces import FaceFinder, crop_face
from tests.support.media import REAL_FACES

pytestmark = pytest.mark.skipif(not REAL_FACES.exists(), reason=f"real photos not available at {REAL_FACES}")


def photo(i: int) -> Path:
    return sorted(REAL_FACES.glob("*.jpg"))[i]


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    return FaceFinder()


def test_mtcnn_finds_the_face_in_a_real_photo(finder) -> None:  # type: ignore[no-untyped-def]
    faces = finder.find(Image.open(photo(0)))
    assert len(faces) == 1 and faces[0].probability > 0.95
    x1, y1, x2, y2 = faces[0].box
    assert 0 <= x1 < x2 <= 89 and 0 <= y1 < y2 <= 109


def test_no_face_in_noise(finder) -> None:  # type: ignore[no-untyped-def]
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8))
    assert finder.find(noise) == []


def test_crop_is_cut_at_the_border_never_padded() -> None:
    """Padding invents pixels the model would score (edge streaks were 72% of a UTKFace crop)."""
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 60, 3), dtype=np.uint8))
    crop = crop_face(img, (30, 30, 50, 50))  # the 1.5x square is 25..55 on both axes; the image is 60 x 50
    assert crop.size == (30, 25)
    assert np.array_equal(np.asarray(crop), np.asarray(img)[25:50, 25:55])
    assert crop_face(img, (10, 10, 20, 20)).size == (15, 15)  # inside the image: the whole square


def test_face_detector_scores_faces_and_says_when_there_is_none(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from detectors.faces import FaceSyntheticDetector

    detector = FaceSyntheticDetector()
    face = detector.predict([MediaInput(MediaType.IMAGE, photo(1))])[0]
    assert face.label in (FindingLabel.AUTHENTIC, FindingLabel.SYNTHETIC) and 0 <= face.score <= 1
    assert face.evidence["faces"][0]["box"] and face.artifacts["faces"].startswith(b"\x89PNG")
    assert face.artifacts["heatmap"].startswith(b"\x89PNG")
    blank = tmp_path / "wall.png"
    Image.new("RGB", (300, 200), (120, 120, 120)).save(blank)
    none = detector.predict([MediaInput(MediaType.IMAGE, blank)])[0]
    assert none.label is FindingLabel.NOT_APPLICABLE and none.reason == "no face found" and none.score is None


def _video(frames: list[Image.Image], fps: int = 4) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 176, 216, "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_image(frame.resize((176, 216)))):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def test_video_detector_tracks_a_face_and_draws_the_timeline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from detectors.video import VideoFaceDetector

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(_video([Image.open(photo(2))] * 12))
    finding = VideoFaceDetector(fps=2.0, max_frames=6).predict([MediaInput(MediaType.VIDEO, clip)])[0]
    assert finding.label is not FindingLabel.NOT_APPLICABLE, finding.reason
    assert finding.evidence["sampled_frames"] == 6
    assert len(finding.evidence["tracks"]) == 1 and finding.evidence["tracks"][0]["frames"] == 6
    assert [f["seconds"] for f in finding.evidence["timeline"]] == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert finding.artifacts["timeline"].startswith(b"\x89PNG")


def test_video_without_faces_is_not_applicable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from detectors.video import VideoFaceDetector

    clip = tmp_path / "wall.mp4"
    clip.write_bytes(_video([Image.new("RGB", (176, 216), (90, 90, 90))] * 8))
    finding = VideoFaceDetector().predict([MediaInput(MediaType.VIDEO, clip)])[0]
    assert finding.label is FindingLabel.NOT_APPLICABLE and "no face" in finding.reason


def test_pooling() -> None:
    from detectors.video import pool

    scores = [0.9, 0.1, 0.8, 0.2]
    assert pool(scores, "max") == 0.9 and pool(scores, "mean") == 0.5
    assert pool(scores, "top50") == pytest.approx(0.85) and pool(scores, "median") == pytest.approx(0.5)
