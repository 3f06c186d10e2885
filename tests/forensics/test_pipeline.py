"""The pipeline run in-process: stages, detectors from the registry, fusion, failure states."""
import pytest

from detectors.base import Detector, MediaType
from detectors.registry import register_detector, unregister_detector
from forensics import services
from forensics.models import Analysis, DetectorResult
from provenance.audit import verify_chain
from provenance.models import AuditEvent
from tests.support.media import XMP_AI, jpeg_bytes, mp4_bytes, noise_image

pytestmark = pytest.mark.usefixtures("eager_celery")


def test_image_runs_registered_detectors_and_fuses(actor) -> None:
    analysis = services.submit_chunks(actor, [jpeg_bytes(seed=1)], original_name="photo.jpg")
    analysis.refresh_from_db()
    assert analysis.state == "done", analysis.error
    result = DetectorResult.objects.get(analysis=analysis, detector="test-brightness")
    assert 0.3 < result.score < 0.7  # uniform noise has mean brightness near 0.5
    gated = DetectorResult.objects.get(analysis=analysis, detector="test-gated")
    assert gated.label == "not_applicable" and gated.score is None
    assert analysis.score == pytest.approx(result.score)
    assert analysis.verdict == ("likely_synthetic" if result.score >= 0.5 else "likely_authentic")
    actions = list(AuditEvent.objects.filter(analysis_id=str(analysis.id)).values_list("action", flat=True))
    assert actions == ["analysis.submitted", "analysis.started", "analysis.completed"]
    completed = AuditEvent.objects.get(analysis_id=str(analysis.id), action="analysis.completed")
    assert {"test-brightness", "test-gated"} <= {m["name"] for m in completed.model_versions}
    assert verify_chain(actor.tenant).ok


def test_without_detectors_the_verdict_is_inconclusive(actor, settings) -> None:
    settings.FORENSICS_DISABLED_DETECTORS = [*settings.FORENSICS_DISABLED_DETECTORS, "test-brightness", "test-gated"]
    analysis = services.submit_chunks(actor, [jpeg_bytes()], original_name="x.jpg")
    analysis.refresh_from_db()
    assert (analysis.state, analysis.verdict, analysis.score) == ("done", "inconclusive", None)
    assert analysis.provenance["sha256"] == analysis.item.sha256


def test_metadata_reaches_the_provenance_section(actor) -> None:
    exif = {0x010F: "Canon", 0x0110: "EOS 5D", 0x0131: "Adobe Photoshop"}
    analysis = services.submit_chunks(actor, [jpeg_bytes(exif=exif, xmp=XMP_AI)])
    analysis.refresh_from_db()
    meta = analysis.provenance["metadata"]
    assert meta["exif"]["Make"] == "Canon"
    assert meta["xmp"]["digital_source_type"].endswith("trainedAlgorithmicMedia")
    assert any("AI digital source type" in flag for flag in meta["flags"])


def test_video_gets_container_metadata(actor) -> None:
    analysis = services.submit_chunks(actor, [mp4_bytes()], original_name="clip.mp4")
    analysis.refresh_from_db()
    assert analysis.state == "done"
    assert analysis.provenance["metadata"]["streams"][0]["type"] == "video"
    assert analysis.verdict == "inconclusive"  # no video detector registered in tests


def test_a_crashing_detector_ends_the_job_failed_with_the_reason(actor) -> None:
    @register_detector
    class Broken(Detector):
        name = "test-broken"
        version = "0"
        media_types = frozenset({MediaType.IMAGE})

        def predict(self, batch):  # type: ignore[no-untyped-def]
            raise RuntimeError("weights file missing: /models/x.safetensors")

    try:
        analysis = services.submit_chunks(actor, [jpeg_bytes(seed=9)])
    finally:
        unregister_detector("test-broken")
    analysis.refresh_from_db()
    assert analysis.state == "failed"
    assert "weights file missing" in analysis.error
    assert AuditEvent.objects.filter(analysis_id=str(analysis.id), action="analysis.failed").exists()


def test_a_finished_job_is_not_claimed_again(actor) -> None:
    from forensics.pipeline import claim

    analysis = services.submit_chunks(actor, [jpeg_bytes(seed=4)])
    assert claim(str(analysis.id)) is None
    assert claim(str(analysis.id), redelivered=True) is None
    assert Analysis.objects.get(pk=analysis.pk).attempts == 1


def test_png_generator_chunks_are_flagged(actor, tmp_path) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a portrait, Steps: 30, Sampler: Euler a, Model: sd_xl_base_1.0")
    path = tmp_path / "gen.png"
    noise_image().save(path, pnginfo=info)
    analysis = services.submit_path(actor, path)
    analysis.refresh_from_db()
    assert "parameters" in analysis.provenance["metadata"]["png_text"]
    assert any("image generators" in f for f in analysis.provenance["metadata"]["flags"])
