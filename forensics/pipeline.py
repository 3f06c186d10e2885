"""The analysis pipeline: claim a job, gather provenance (cpu queue), run the
applicable detectors (gpu queue), fuse their findings and record the result.

Every state change is written to the database and the audit trail, so a job
always ends ``done`` or ``failed`` with a reason, and a job whose worker
died is picked up again (see ``forensics.recovery``).
"""
from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from detectors.base import Detector, Finding, MediaInput, MediaType, checked_predict
from detectors.device import resolve_device
from detectors.registry import add_detector_modules, create_detector, detectors_for
from forensics.detector_options import options_fingerprint, options_for
from forensics.fusion import fuse
from forensics.models import Analysis, Calibration, DetectorResult
from forensics.operating_point_use import active_calibration, apply_operating_point
from forensics.provenance_section import collect_provenance
from forensics.signals import analysis_finished
from provenance.audit import append_event
from webapp import job_lifecycle as lifecycle

log = logging.getLogger(__name__)
DETECTION_TASK = "forensics.tasks.run_detection_stage"  # the sweeper re-sends a lost detection message by name
State = Analysis.State

# One instance per (name, options): detectors load their weights once per
# worker process, and tenants with their own keys or weights never share one.
# Bounded (FORENSICS_DETECTOR_CACHE_SIZE), least recently used out first.
_detector_cache: OrderedDict[tuple[str, str], Detector] = OrderedDict()


def media_path(analysis: Analysis) -> Path:
    return Path(settings.MEDIA_ROOT) / analysis.item.storage_path


def enabled_detector(name: str) -> bool:
    return name not in settings.FORENSICS_DISABLED_DETECTORS


def applicable_detectors(media_type: MediaType) -> list[str]:
    add_detector_modules(settings.FORENSICS_DETECTOR_PLUGINS)
    return detectors_for(media_type, enabled_detector)


def claim(analysis_id: str, *, redelivered: bool = False) -> Analysis | None:
    """The job, now ``running`` its provenance stage on this worker (``webapp.job_lifecycle.claim``); None if
    another worker has it, it is finished, or it gave up after FORENSICS_MAX_ATTEMPTS."""
    analysis = lifecycle.claim(Analysis, analysis_id, redelivered=redelivered, stage="provenance", progress=0.05,
                               give_up=fail, related=("item", "tenant"))
    if analysis is not None:
        append_event(analysis.tenant, "system:worker", "analysis.started", item_id=str(analysis.item_id),
                     analysis_id=str(analysis.id), payload={"attempt": analysis.attempts})
    return analysis


def run_provenance_stage(analysis_id: str, *, redelivered: bool = False) -> bool:
    """The provenance stage; True when the analysis now waits for its detection stage (the caller sends it)."""
    analysis = claim(analysis_id, redelivered=redelivered)
    if analysis is None:
        return False
    try:
        item = analysis.item
        media_type = MediaType(item.media_type)
        analysis.provenance = collect_provenance(item, media_path(analysis))
        Analysis.objects.filter(pk=analysis.pk).update(provenance=analysis.provenance)
        lifecycle.beat(analysis, "provenance done", 0.3)
        if applicable_detectors(media_type):
            return wait_for_detection(analysis)
        finalize(analysis, [], [])
    except Exception as exc:  # noqa: BLE001 - every job must end in a recorded state
        lifecycle.fail(analysis, exc, end=fail)
    return False


def wait_for_detection(analysis: Analysis) -> bool:
    """Mark the job ``waiting`` (in a queue, not a crash candidate); True if the caller is to send its detection
    message (``forensics.tasks`` chains the stages). If that send fails (broker down) the job stays waiting and
    the sweeper re-sends its message after FORENSICS_WAITING_RESEND_SECONDS."""
    return lifecycle.wait(analysis, "waiting for a detection worker", 0.35)


def resend_to_detection(analysis: Analysis) -> None:
    """Send a waiting job's detection message again (the sweeper's remedy for a lost one)."""
    if lifecycle.send(DETECTION_TASK, analysis.id, "analysis detection"):
        log.warning("detection message re-sent", extra={"analysis": str(analysis.id)})


def claim_detection(analysis_id: str, *, redelivered: bool = False) -> Analysis | None:
    """The waiting job, now ``running`` its detection stage on this worker, without counting an attempt
    (``webapp.job_lifecycle.resume``); None if it is not waiting (a duplicate message does nothing)."""
    return lifecycle.resume(Analysis, analysis_id, redelivered=redelivered, stage="detection",
                            related=("item", "tenant"))


def detector_for(name: str, tenant: Any) -> Detector:
    """The loaded detector for this tenant's options (cached per worker: weights load once)."""
    options = options_for(tenant, name)
    key = (name, options_fingerprint(options))
    if key in _detector_cache:
        _detector_cache.move_to_end(key)
        return _detector_cache[key]
    detector = create_detector(
        name, models_dir=Path(settings.MODELS_DIR), device=resolve_device(settings.FORENSICS_DEVICE), **options,
    )
    _detector_cache[key] = detector
    while len(_detector_cache) > settings.FORENSICS_DETECTOR_CACHE_SIZE:
        evicted, _ = _detector_cache.popitem(last=False)
        log.info("detector unloaded", extra={"detector": evicted[0], "cache_size": settings.FORENSICS_DETECTOR_CACHE_SIZE})
    return detector


ARTIFACT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def artifact_relpath(analysis_id: str, detector: str, name: str) -> str:
    return f"artifacts/{analysis_id}/{detector}--{name}.png"


def artifact_path(analysis: Analysis, detector: str, name: str) -> Path | None:
    """The stored picture ``name`` of ``detector`` for this analysis, if it exists."""
    result = analysis.detector_results.filter(detector=detector).first()
    rel = (result.evidence.get("artifacts", {}) if result else {}).get(name)
    return Path(settings.MEDIA_ROOT) / rel if rel else None


def store_artifacts(analysis: Analysis, finding: Finding) -> dict[str, str]:
    """Write a finding's pictures under MEDIA_ROOT; returns name -> relative path."""
    stored = {}
    for name, png in finding.artifacts.items():
        if not ARTIFACT_NAME.match(name) or not png.startswith(b"\x89PNG"):
            raise ValueError(f"{finding.detector}: artifact {name!r} must be a PNG with a simple name")
        rel = artifact_relpath(str(analysis.id), finding.detector, name)
        path = Path(settings.MEDIA_ROOT) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        stored[name] = rel
    return stored


def run_detection_stage(analysis_id: str, *, redelivered: bool = False) -> None:
    analysis = claim_detection(analysis_id, redelivered=redelivered)
    if analysis is None:
        return
    try:
        item = analysis.item
        media_type = MediaType(item.media_type)
        path = media_path(analysis)
        media = MediaInput(
            media_type=media_type,
            path=path,
            text=path.read_text("utf-8") if media_type is MediaType.TEXT else None,
            metadata={"properties": item.properties, "provenance": analysis.provenance},
        )
        names = applicable_detectors(media_type)
        # The tenant's own operating point, fixed for the whole analysis (an activation mid-run waits for the next).
        calibration = active_calibration(analysis.tenant)
        findings: list[Finding] = []
        models: list[dict[str, Any]] = []
        marks: list[dict[str, Any]] = []
        for index, name in enumerate(names):
            lifecycle.beat(analysis, f"running {name}", 0.35 + 0.6 * index / len(names))
            detector = detector_for(name, analysis.tenant)
            info = detector.model_info()
            started = time.perf_counter()
            finding = apply_operating_point(checked_predict(detector, [media])[0], calibration, info)
            seconds = round(time.perf_counter() - started, 4)
            evidence = dict(finding.evidence)
            if finding.artifacts:
                evidence["artifacts"] = store_artifacts(analysis, finding)
            DetectorResult.objects.update_or_create(
                analysis=analysis, detector=finding.detector,
                defaults={"version": finding.version, "label": finding.label.value, "score": finding.score,
                          "threshold": finding.threshold, "reason": finding.reason,
                          "evidence": evidence, "model_info": info, "seconds": seconds},
            )
            findings.append(finding)
            models.append(info)
            summary = detector.provenance_summary(finding)
            if summary is not None:
                marks.append({"detector": finding.detector, **summary})
        if marks:  # watermarks are provenance too: list them beside C2PA
            analysis.provenance = {**analysis.provenance, "watermarks": marks}
            Analysis.objects.filter(pk=analysis.pk).update(provenance=analysis.provenance)
        used = calibration if any((f.evidence.get("operating_point") or {}).get("applied") for f in findings) else None
        finalize(analysis, findings, models, used)
    except Exception as exc:  # noqa: BLE001 - every job must end in a recorded state
        lifecycle.fail(analysis, exc, end=fail)


def finalize(analysis: Analysis, findings: list[Finding], models: list[dict[str, Any]],
             calibration: Calibration | None = None) -> None:
    """Record the fused verdict and the calibration whose thresholds decided it (None = the shipped ones)."""
    fused = fuse(findings)
    with transaction.atomic():
        if not lifecycle.finish(analysis, State.DONE, verdict=fused.verdict, score=fused.score,
                                verdict_reason=fused.reason, calibration=calibration):
            return
        append_event(
            analysis.tenant, "system:worker", "analysis.completed",
            item_id=str(analysis.item_id), analysis_id=str(analysis.id),
            payload={"verdict": fused.verdict, "score": fused.score,
                     "findings": [{"detector": f.detector, "label": f.label.value, "score": f.score,
                                   "threshold": f.threshold} for f in findings],
                     "operating_point": calibration.summary() if calibration else "shipped"},
            model_versions=models,
        )
        _announce_when_committed(analysis)
    log.info("analysis done", extra={"analysis": str(analysis.id), "verdict": fused.verdict, "score": fused.score})


def fail(analysis: Analysis, reason: str) -> None:
    """End the job ``failed`` with the reason (audited, announced); nothing if it had already ended."""
    with transaction.atomic():
        if lifecycle.finish(analysis, State.FAILED, error=reason):  # past its deadline: the time limit
            append_event(analysis.tenant, "system:worker", "analysis.failed", item_id=str(analysis.item_id),
                         analysis_id=str(analysis.id), payload={"error": analysis.error})
            _announce_when_committed(analysis)
    log.error("analysis failed", extra={"analysis": str(analysis.id), "error": analysis.error or reason})


def _announce_when_committed(analysis: Analysis) -> None:
    """Tell listeners (webhooks) once the outcome is committed, never about a rolled-back one."""
    analysis_id = analysis.pk

    def send() -> None:
        finished = Analysis.objects.select_related("item", "tenant").get(pk=analysis_id)
        for receiver, outcome in analysis_finished.send_robust(sender=Analysis, analysis=finished):
            if isinstance(outcome, Exception):  # a listener's bug must not undo a recorded result
                log.error("analysis_finished receiver failed",
                          extra={"analysis": str(analysis_id), "receiver": repr(receiver), "error": repr(outcome)})

    transaction.on_commit(send)
