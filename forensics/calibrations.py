"""Per-tenant calibration: a platform sets its own operating point on its own real media.

Life cycle of one calibration (a worker job like an analysis: claimed, heartbeating, swept when its worker
dies, always ending in a recorded state):

- ``create_calibration`` checks the set (enough known-real items, within the size limit), stores it and
  queues the job; ``calibration.created`` goes to the audit trail.
- ``run_calibration`` (Celery queue "gpu") scores every member with every applicable detector, exactly as
  the pipeline would for this tenant (its fine-tuned models included), then fits the thresholds
  (``forensics.operating_points``) and records them with their out-of-bag false-positive intervals.
- ``activate`` makes a finished calibration the tenant's operating point (the previous one is retired);
  ``use_shipped`` retires it and returns to the model cards' thresholds. Both are audited.
- The pipeline applies the active calibration to every finding (``forensics.operating_point_use``).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from detectors.base import FindingLabel, MediaInput, MediaType, checked_predict
from forensics.fusion import DEFAULT_THRESHOLD
from forensics.ingest import storage
from forensics.ingest.errors import IngestError
from forensics.ingest.probe import probe
from forensics.ingest.sniff import SNIFF_BYTES, sniff
from forensics.models import Calibration, Review, ReviewState
from forensics.operating_points import DetectorScores, fit_operating_point
from forensics.pipeline import applicable_detectors, detector_for
from forensics.services import current_limits
from provenance.audit import append_event
from webapp import job_lifecycle as lifecycle
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import Actor

log = logging.getLogger(__name__)
State = Calibration.State
WORKER = "system:worker"
BATCH = 16  # members per detector call: detectors batch tiles and faces across a batch
LABELS = {"real": 0, "synthetic": 1}


class CalibrationError(ValueError):
    """The calibration cannot be created or changed; the message says what to do instead."""


# ----------------------------------------------------------------------------------------------- the set


def reviewed_members(tenant: Tenant) -> list[dict[str, Any]]:
    """The tenant's reviewed items as calibration members: confirmed authentic = real, confirmed synthetic = fake.

    Only final decisions count (a single reviewer's final word, or a second reviewer's confirmation); an item
    reviewed several times counts once, by its latest final decision.
    """
    final = (Review.Outcome.FINAL, Review.Outcome.CONFIRMED)
    decisions: dict[str, int] = {Review.Decision.CONFIRM_AUTHENTIC: 0, Review.Decision.CONFIRM_SYNTHETIC: 1}
    latest: dict[str, dict[str, Any]] = {}
    reviews = (Review.objects.filter(analysis__tenant=tenant, analysis__review_state=ReviewState.REVIEWED,
                                     outcome__in=final, decision__in=list(decisions))
               .select_related("analysis__item").order_by("created_at", "id"))
    for review in reviews:
        item = review.analysis.item
        latest[item.sha256] = {"sha256": item.sha256, "path": item.storage_path, "media_type": item.media_type,
                               "label": decisions[review.decision], "item_id": str(item.id)}
    return sorted(latest.values(), key=lambda m: m["sha256"])


def file_members(files: Iterable[tuple[Path, int]]) -> list[dict[str, Any]]:
    """Store (path, label) files content-addressed, checked like uploads (type sniffed from bytes, limits).

    A file that an upload would refuse is refused here too, naming the file: a calibration set that
    silently skipped files would calibrate on something other than what the tenant gave.
    """
    limits, members, seen = current_limits(), [], set()
    media_root = Path(settings.MEDIA_ROOT)
    for path, label in files:
        staged = storage.stage_chunks(storage.read_chunks(path), media_root, limits.max_bytes)
        try:
            with staged.path.open("rb") as fh:
                sniffed = sniff(fh.read(SNIFF_BYTES), looks_like_text=False)
            probe(staged.path, sniffed, limits)
        except IngestError as exc:
            storage.discard(staged)
            raise CalibrationError(f"{path.name}: {exc}") from exc
        if sniffed.media_type is not MediaType.IMAGE:
            storage.discard(staged)
            raise CalibrationError(f"{path.name} is a {sniffed.media_type.value}; calibration sets hold images "
                                   "(use reviewed items to calibrate other media)")
        rel = storage.commit_blob(staged, media_root)
        if staged.sha256 not in seen:
            seen.add(staged.sha256)
            members.append({"sha256": staged.sha256, "path": rel, "media_type": sniffed.media_type.value,
                            "label": label, "name": path.name[:200]})
    return members


def _check_set(members: Sequence[dict[str, Any]]) -> tuple[int, int]:
    reals = sum(1 for m in members if m["label"] == 0)
    fakes = len(members) - reals
    needed = settings.FORENSICS_CALIBRATION_MIN_REAL
    if reals < needed:
        raise CalibrationError(
            f"a calibration needs at least {needed} known-real items and this set has {reals}: add "
            f"{needed - reals} more (review items as 'confirm authentic', or upload more real files)")
    if len(members) > settings.FORENSICS_CALIBRATION_MAX_ITEMS:
        raise CalibrationError(f"the set has {len(members):,} items, more than the limit of "
                               f"{settings.FORENSICS_CALIBRATION_MAX_ITEMS:,} (FORENSICS_CALIBRATION_MAX_ITEMS)")
    return reals, fakes


def create_calibration(actor: Actor, members: Sequence[dict[str, Any]], *, source: str,
                       target_fpr: float = 0.01, name: str = "") -> Calibration:
    """Record a calibration set and queue its job (after the transaction commits)."""
    if not actor.can("calibrate"):
        raise PermissionError("calibrating the tenant's operating point needs the 'calibrate' scope")
    if not (isinstance(target_fpr, (int, float)) and 0.001 <= target_fpr <= 0.2):
        raise CalibrationError(f"target false-positive rate {target_fpr!r} must be between 0.001 and 0.2 "
                               "(e.g. 0.01 for 1%)")
    reals, fakes = _check_set(members)
    with transaction.atomic():
        Tenant.objects.select_for_update().filter(pk=actor.tenant.pk).first()  # serialise version numbers
        version = (Calibration.objects.filter(tenant=actor.tenant).aggregate(v=Max("version"))["v"] or 0) + 1
        calibration = Calibration.objects.create(
            tenant=actor.tenant, version=version, name=name[:200], source=source, target_fpr=float(target_fpr),
            members=list(members), real_count=reals, fake_count=fakes, created_by=actor.label)
        append_event(actor.tenant, actor.label, "calibration.created",
                     payload={"calibration_id": str(calibration.id), "version": version, "source": source,
                              "target_fpr": float(target_fpr), "real_items": reals, "synthetic_items": fakes})
        transaction.on_commit(lambda: enqueue(calibration))
    log.info("calibration created", extra={"tenant": actor.tenant.slug, "calibration": str(calibration.id),
                                           "real": reals, "synthetic": fakes})
    return calibration


def enqueue(calibration: Calibration) -> None:
    """Hand the job to the queue; if the broker is down the sweeper enqueues it again later."""
    lifecycle.send("forensics.tasks.run_calibration", calibration.id, "calibration")


# ----------------------------------------------------------------------------------------------- the job


def _finish(calibration: Calibration, state: str, *, error: str = "", result: dict | None = None,
            thresholds: dict | None = None) -> None:
    """End the job and say so in the audit trail (only the first ending counts)."""
    with transaction.atomic():
        if lifecycle.finish(calibration, state, error=error, result=result or {}, thresholds=thresholds or {}):
            payload: dict[str, Any] = {"calibration_id": str(calibration.id), "version": calibration.version}
            if error:
                payload["error"] = error
            if result:
                payload.update(thresholds=thresholds, fused=result.get("fused"))
            append_event(calibration.tenant, WORKER, f"calibration.{state}", payload=payload)
    log.info("calibration finished", extra={"calibration": str(calibration.id), "state": state, "error": error})


def _score(calibration: Calibration) -> tuple[list[DetectorScores], dict[str, dict[str, Any]]]:
    """Every applicable detector's score for every member (NaN where not applicable), as the pipeline scores."""
    members = calibration.members
    media_root = Path(settings.MEDIA_ROOT)
    by_type: dict[str, list[int]] = {}
    for index, member in enumerate(members):
        by_type.setdefault(member["media_type"], []).append(index)
    jobs = [(media_type, name) for media_type in sorted(by_type)
            for name in applicable_detectors(MediaType(media_type))]
    scores: dict[str, np.ndarray] = {}
    shipped: dict[str, float] = {}
    positive_only: dict[str, bool] = {}
    models: dict[str, dict[str, Any]] = {}
    total, done = sum(len(by_type[t]) for t, _ in jobs) or 1, 0
    for media_type, name in jobs:
        detector = detector_for(name, calibration.tenant)
        info = detector.model_info()
        models[name] = {"version": info.get("version", detector.version), "weights_sha256": info.get("weights_sha256")}
        column = scores.setdefault(name, np.full(len(members), np.nan))
        indices = by_type[media_type]
        for start in range(0, len(indices), BATCH):
            chunk = indices[start:start + BATCH]
            batch = [_media_input(members[i], media_root) for i in chunk]
            findings = checked_predict(detector, batch)
            for i, finding in zip(chunk, findings):
                if finding.label is not FindingLabel.NOT_APPLICABLE and finding.score is not None:
                    column[i] = finding.score
                if finding.threshold is not None:
                    shipped.setdefault(name, finding.threshold)
                positive_only[name] = positive_only.get(name, False) or finding.positive_only
            done += len(chunk)
            lifecycle.beat(calibration, f"scoring with {name}", 0.95 * done / total)
    detectors = [DetectorScores(name, scores[name], shipped.get(name, DEFAULT_THRESHOLD), positive_only[name])
                 for name in scores]
    return detectors, models


def _media_input(member: dict[str, Any], media_root: Path) -> MediaInput:
    path = media_root / member["path"]
    media_type = MediaType(member["media_type"])
    text = path.read_text("utf-8", errors="replace") if media_type is MediaType.TEXT else None
    return MediaInput(media_type=media_type, path=path, text=text)


def run_calibration(calibration_id: str, *, redelivered: bool = False) -> None:
    calibration = lifecycle.claim(Calibration, calibration_id, redelivered=redelivered)
    if calibration is None:
        return
    try:
        detectors, models = _score(calibration)
        labels = np.array([m["label"] for m in calibration.members], dtype=int)
        if not detectors:
            _finish(calibration, State.REFUSED, error="no detector applies to the media in this set")
            return
        lifecycle.beat(calibration, "fitting thresholds", 0.96)
        point = fit_operating_point(detectors, labels, calibration.target_fpr,
                                    min_real=settings.FORENSICS_CALIBRATION_MIN_REAL,
                                    n_bootstrap=settings.FORENSICS_CALIBRATION_BOOTSTRAP,
                                    seed=calibration.version)
        if not point.thresholds:
            judged = ", ".join(f"{n} judged {e['n_real']}" for n, e in point.detectors.items())
            _finish(calibration, State.REFUSED, error=(
                f"no detector judged at least {settings.FORENSICS_CALIBRATION_MIN_REAL} of the real items "
                f"({judged}): add more real items of the kind each detector applies to"))
            return
        result = {**point.as_dict(), "models": models}
        _finish(calibration, State.DONE, result=result, thresholds=point.thresholds)
    except Exception as exc:  # noqa: BLE001 - every job must end in a recorded state
        lifecycle.fail(calibration, exc, end=lambda job, reason: _finish(job, State.FAILED, error=reason))


def recover_stale_calibrations(now: datetime | None = None) -> dict[str, int]:
    """Requeue calibrations whose worker stopped heartbeating; give up after FORENSICS_MAX_ATTEMPTS."""
    def requeued(calibration: Calibration) -> None:
        append_event(calibration.tenant, "system:sweeper", "calibration.requeued",
                     payload={"calibration_id": str(calibration.id), "attempts": calibration.attempts})

    return lifecycle.sweep(Calibration, enqueue, now=now, requeued=requeued,
                           give_up=lambda calibration, reason: _finish(calibration, State.FAILED, error=reason))


# ------------------------------------------------------------------------------------- operating points


def activate(actor: Actor, calibration: Calibration) -> Calibration:
    """Make ``calibration`` the tenant's operating point; the one active before is retired."""
    if not actor.can("calibrate"):
        raise PermissionError("changing the tenant's operating point needs the 'calibrate' scope")
    with transaction.atomic():
        calibration = Calibration.objects.select_for_update().get(pk=calibration.pk, tenant=actor.tenant)
        if calibration.state != State.DONE:
            raise CalibrationError(f"calibration v{calibration.version} is {calibration.state}; only a finished "
                                   "calibration can be activated")
        if calibration.is_active:
            return calibration
        _retire_active(actor)
        now = timezone.now()
        Calibration.objects.filter(pk=calibration.pk).update(is_active=True, activated_at=now, retired_at=None)
        append_event(actor.tenant, actor.label, "calibration.activated",
                     payload={**calibration.summary(), "thresholds": calibration.thresholds})
    calibration.refresh_from_db()
    return calibration


def use_shipped(actor: Actor) -> Calibration | None:
    """Return the tenant to the shipped thresholds; the calibration that was active (if any) is retired."""
    if not actor.can("calibrate"):
        raise PermissionError("changing the tenant's operating point needs the 'calibrate' scope")
    with transaction.atomic():
        return _retire_active(actor)


def _retire_active(actor: Actor) -> Calibration | None:
    current = Calibration.objects.select_for_update().filter(tenant=actor.tenant, is_active=True).first()
    if current is None:
        return None
    Calibration.objects.filter(pk=current.pk).update(is_active=False, retired_at=timezone.now())
    append_event(actor.tenant, actor.label, "calibration.retired", payload=current.summary())
    return current
