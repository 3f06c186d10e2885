"""Upload -> queue -> a real worker process -> result, on the configured database and broker."""

import pytest

from forensics.models import Analysis
from provenance.audit import verify_chain
from tests.conftest import wait_for, wait_until_stale
from tests.support.media import jpeg_bytes

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def state_of(analysis_id: str) -> str:
    return Analysis.objects.get(pk=analysis_id).state


def test_api_upload_is_processed_by_a_worker(worker, api, tenant) -> None:
    response = api.post("/api/v1/analyses", {"file": _upload("face.jpg", jpeg_bytes(seed=11))}, format="multipart")
    assert response.status_code == 202, response.content
    analysis_id = response.json()["id"]
    # Queued when the response was built; a fast worker (Redis) may already have claimed it by then.
    assert response.json()["state"] in ("queued", "running", "waiting", "done")
    wait_for(lambda: state_of(analysis_id) in ("done", "failed"), what="the worker to finish the analysis")
    body = api.get(f"/api/v1/analyses/{analysis_id}").json()
    assert body["state"] == "done", body["error"]
    assert body["verdict"] in ("likely_synthetic", "likely_authentic")
    assert {"test-brightness", "test-gated"} <= {d["detector"] for d in body["detectors"]}
    assert body["provenance"]["properties"]["width"] == 96
    assert verify_chain(tenant).ok


def test_a_job_survives_its_worker_being_killed(worker_factory, api, tenant, tmp_path, settings) -> None:
    """kill -9 the worker in the middle of a job; a new worker's start-up sweep runs it again."""
    gate = tmp_path / "gate"
    gate.mkdir()
    stale_after = "2"
    env = {"FORENSICS_TEST_GATE_DIR": str(gate), "FORENSICS_STALE_AFTER_SECONDS": stale_after}
    first = worker_factory(env)
    response = api.post("/api/v1/analyses", {"file": _upload("x.jpg", jpeg_bytes(seed=12))}, format="multipart")
    analysis_id = response.json()["id"]
    wait_for(lambda: any(gate.glob("started-*")), what="the first worker to start the job")
    first.kill()
    assert state_of(analysis_id) == "running"

    wait_until_stale(Analysis.objects.get(pk=analysis_id), float(stale_after))
    (gate / "open").touch()
    worker_factory(env)
    wait_for(lambda: state_of(analysis_id) in ("done", "failed"), what="the second worker to finish the job")
    analysis = Analysis.objects.get(pk=analysis_id)
    assert analysis.state == "done", analysis.error
    assert analysis.attempts == 2
    assert verify_chain(tenant).ok


def test_uploads_that_continue_while_the_worker_is_down_all_finish_once(worker_factory, api, tenant, tmp_path) -> None:
    """kill -9 the only worker mid-job while uploads keep coming; a new worker finishes every one of them: one
    analysis per upload, one result per detector, one completion event each, the audit chain intact."""
    from django.utils import timezone

    from forensics.models import DetectorResult
    from provenance.models import AuditEvent

    gate = tmp_path / "gate"
    gate.mkdir()
    env = {"FORENSICS_TEST_GATE_DIR": str(gate), "FORENSICS_STALE_AFTER_SECONDS": "2"}
    first = worker_factory(env)
    ids = [_upload_id(api, seed) for seed in range(30, 33)]
    wait_for(lambda: any(gate.glob("started-*")), what="the worker to start a job")
    first.kill()
    killed_at = timezone.now()
    ids += [_upload_id(api, seed) for seed in range(33, 36)]  # accepted while no worker runs
    assert Analysis.objects.filter(pk__in=ids[3:], state="queued").count() == 3

    wait_for(lambda: (timezone.now() - killed_at).total_seconds() > 3, what="the killed job's heartbeat to go stale")
    (gate / "open").touch()
    worker_factory(env)
    wait_for(lambda: Analysis.objects.filter(pk__in=ids, state__in=("done", "failed")).count() == len(ids),
             timeout=120, what="the new worker to finish every upload")
    analyses = Analysis.objects.filter(tenant=tenant)
    assert sorted(str(pk) for pk in analyses.values_list("pk", flat=True)) == sorted(ids)
    assert set(analyses.values_list("state", flat=True)) == {"done"}, list(analyses.values_list("error", flat=True))
    assert analyses.values("item_id").distinct().count() == len(ids)
    per_detector = DetectorResult.objects.filter(analysis__in=analyses).values_list("analysis_id", "detector")
    assert len(per_detector) == len(set(per_detector))
    assert AuditEvent.objects.filter(tenant=tenant, action="analysis.completed").count() == len(ids)
    assert verify_chain(tenant).ok


def _upload_id(api, seed: int) -> str:  # type: ignore[no-untyped-def]
    response = api.post("/api/v1/analyses", {"file": _upload(f"u{seed}.jpg", jpeg_bytes(seed=seed))},
                        format="multipart")
    assert response.status_code == 202, response.content
    return str(response.json()["id"])


def test_items_wait_for_an_absent_detection_worker_then_finish(worker_factory, api, tenant, settings) -> None:
    """No GPU worker for longer than the stale window: the item waits (never swept as a crash), then finishes."""
    from django.utils import timezone

    from forensics.recovery import recover_stale_jobs

    env = {"FORENSICS_STALE_AFTER_SECONDS": "1"}
    worker_factory(env, queues="cpu,control")
    response = api.post("/api/v1/analyses", {"file": _upload("w.jpg", jpeg_bytes(seed=13))}, format="multipart")
    analysis_id = response.json()["id"]
    wait_for(lambda: state_of(analysis_id) == "waiting", what="provenance to finish and the job to wait")
    waited_since = Analysis.objects.get(pk=analysis_id).heartbeat_at
    wait_for(lambda: (timezone.now() - waited_since).total_seconds() > 2, what="the stale window to pass")
    settings.FORENSICS_STALE_AFTER_SECONDS = 1  # the sweep in this process uses the workers' window
    counts = recover_stale_jobs()
    assert (counts["requeued"], counts["failed"], counts["resent"]) == (0, 0, 0)
    waiting = Analysis.objects.get(pk=analysis_id)
    assert (waiting.state, waiting.attempts) == ("waiting", 1)
    assert api.get(f"/api/v1/analyses/{analysis_id}").json()["state"] == "waiting"

    worker_factory(env, queues="gpu")  # the detection worker comes back
    wait_for(lambda: state_of(analysis_id) in ("done", "failed"), what="the detection worker to finish the job")
    finished = Analysis.objects.get(pk=analysis_id)
    assert (finished.state, finished.attempts) == ("done", 1), finished.error
    assert verify_chain(tenant).ok


def test_a_calibration_survives_its_worker_being_killed(worker_factory, actor, tmp_path, settings) -> None:
    """kill -9 the worker while it scores the calibration set; a new worker's start-up sweep runs it again."""
    from forensics import calibrations
    from forensics.models import Calibration
    from tests.forensics.test_calibrations import write_set

    gate = tmp_path / "gate"
    gate.mkdir()
    stale_after = "2"
    env = {"FORENSICS_TEST_GATE_DIR": str(gate), "FORENSICS_STALE_AFTER_SECONDS": stale_after,
           "FORENSICS_CALIBRATION_MIN_REAL": "4", "FORENSICS_CALIBRATION_BOOTSTRAP": "20"}
    settings.FORENSICS_CALIBRATION_MIN_REAL = 4  # here as in the workers
    first = worker_factory(env)
    members = calibrations.file_members([(p, 0) for p in write_set(tmp_path / "real", [0.3, 0.4, 0.5, 0.6])])
    calibration = calibrations.create_calibration(actor, members, source="files", target_fpr=0.05)
    wait_for(lambda: any(gate.glob("started-*")), what="the first worker to score with the gated detector")
    first.kill()
    calibration.refresh_from_db()
    assert (calibration.state, calibration.attempts) == ("running", 1)

    wait_until_stale(calibration, float(stale_after))
    (gate / "open").touch()
    worker_factory(env)
    wait_for(lambda: Calibration.objects.get(pk=calibration.pk).state not in ("queued", "running"),
             what="the second worker to finish the calibration")
    calibration.refresh_from_db()
    assert (calibration.state, calibration.attempts) == ("done", 2), calibration.error
    assert "test-brightness" in calibration.thresholds
    assert verify_chain(actor.tenant).ok


def _upload(name: str, data: bytes):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)
