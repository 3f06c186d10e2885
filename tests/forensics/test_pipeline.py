"""The pipeline run in-process: stages, detectors from the registry, fusion, failure states."""
import pytest

from detectors.base import Detector, MediaType
from detectors.registry import register_detector, unregister_detector
from forensics import services
from forensics.models import Analysis, DetectorResult
from provenance.audit import verify_chain
from provenance.models import AuditEvent
from tests.support.detectors import raising_detector
from tests.support.job_logs import raised_record
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


def test_a_crashing_detector_ends_the_job_failed_with_the_reason(actor, caplog) -> None:
    """The reason is recorded for people (without the server's paths); the traceback is logged."""
    with raising_detector("weights file missing: /models/x.safetensors"):
        analysis = services.submit_chunks(actor, [jpeg_bytes(seed=9)])
    analysis.refresh_from_db()
    assert analysis.state == "failed"
    assert analysis.error == "RuntimeError: weights file missing: x.safetensors"
    assert AuditEvent.objects.filter(analysis_id=str(analysis.id), action="analysis.failed").exists()
    raised = raised_record(caplog, analysis)  # logged by webapp.job_lifecycle.fail, as for every job kind
    assert raised.stage == "running test-broken" and raised.reason == analysis.error
    assert "/models/x.safetensors" in str(raised.exc_info[1])  # the log keeps it all


def test_a_detector_that_breaks_the_contract_fails_the_job_instead_of_lending_its_result(actor) -> None:
    """Two findings for one item: the pipeline used to take [0]; now the job fails and says why."""
    from detectors.base import Finding, FindingLabel

    @register_detector
    class Chatty(Detector):
        name = "test-chatty"
        version = "0"
        media_types = frozenset({MediaType.IMAGE})

        def predict(self, batch):  # type: ignore[no-untyped-def]
            return [Finding(self.name, self.version, FindingLabel.AUTHENTIC, score=0.1)] * (len(batch) + 1)

    try:
        analysis = services.submit_chunks(actor, [jpeg_bytes(seed=10)])
    finally:
        unregister_detector("test-chatty")
    analysis.refresh_from_db()
    assert analysis.state == "failed"
    assert analysis.error == ("DetectorContractError: detector 'test-chatty' returned 2 findings for 1 inputs; "
                              "it must return one Finding per input, in order")


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


def test_listeners_hear_once_about_a_finished_and_a_failed_analysis(actor) -> None:
    from forensics.signals import analysis_finished

    heard: list[tuple[str, str]] = []

    def listener(sender, analysis, **kwargs):  # type: ignore[no-untyped-def]
        heard.append((str(analysis.id), analysis.state))

    def broken_listener(sender, analysis, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a buggy webhook receiver")

    analysis_finished.connect(listener)
    analysis_finished.connect(broken_listener)
    try:
        done = services.submit_chunks(actor, [jpeg_bytes(seed=2)], original_name="a.jpg")

        with raising_detector("model exploded", name="test-broken-2"):
            failed = services.submit_chunks(actor, [jpeg_bytes(seed=3)], original_name="b.jpg")
    finally:
        analysis_finished.disconnect(listener)
        analysis_finished.disconnect(broken_listener)
    assert heard == [(str(done.id), "done"), (str(failed.id), "failed")]  # the broken listener changed nothing


def test_detectors_are_cached_per_tenant_options_and_bounded(actor, other_tenant, settings) -> None:
    from forensics import pipeline

    @register_detector
    class Tunable(Detector):
        name, version, media_types = "test-tunable", "0", frozenset({MediaType.IMAGE})

        def __init__(self, threshold: float = 0.5, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(**kwargs)
            self.threshold = threshold

        def predict(self, batch):  # type: ignore[no-untyped-def]
            return []

    settings.FORENSICS_DETECTOR_CACHE_SIZE = 2
    settings.FORENSICS_TENANT_DETECTOR_PROVIDERS = ["tests.forensics.test_pipeline.tenant_threshold_option"]
    pipeline._detector_cache.clear()
    try:
        mine, theirs = pipeline.detector_for("test-tunable", actor.tenant), pipeline.detector_for("test-tunable", other_tenant)
        assert (mine.threshold, theirs.threshold) == (0.4, 0.6)
        assert pipeline.detector_for("test-tunable", actor.tenant) is mine
        pipeline.detector_for("test-brightness", actor.tenant)
        assert len(pipeline._detector_cache) == 2  # the least recently used instance was unloaded
        assert pipeline.detector_for("test-tunable", actor.tenant) is mine
    finally:
        unregister_detector("test-tunable")
        pipeline._detector_cache.clear()


def tenant_threshold_option(tenant, detector_name):  # type: ignore[no-untyped-def]
    """A per-tenant option provider, as FORENSICS_TENANT_DETECTOR_PROVIDERS lists them."""
    return {"threshold": 0.4 if tenant.slug == "acme" else 0.6} if detector_name == "test-tunable" else {}
