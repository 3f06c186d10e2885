"""What was submitted (MediaItem), each run over it (Analysis) and each
detector's result (DetectorResult), with the item's perceptual hashes (PerceptualHash).
Logic lives in services, not here."""
from __future__ import annotations

import uuid

from django.db import models

from detectors.base import MediaType
from webapp.accounts.models import Tenant
from webapp.job_lifecycle import LifecycleJob


class MediaItem(models.Model):
    """One unique piece of content per tenant, stored content-addressed by SHA-256."""

    MEDIA_TYPES = [(t.value, t.value) for t in MediaType]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="media_items")
    sha256 = models.CharField(max_length=64)
    media_type = models.CharField(max_length=10, choices=MEDIA_TYPES)
    mime_type = models.CharField(max_length=100)
    size_bytes = models.BigIntegerField()
    original_name = models.CharField(max_length=255, blank=True)
    storage_path = models.CharField(max_length=500)
    properties = models.JSONField(default=dict, help_text="Dimensions, duration, frame rate, length.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "sha256"], name="unique_item_per_tenant")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.media_type}:{self.sha256[:12]}"


class Verdict(models.TextChoices):
    LIKELY_SYNTHETIC = "likely_synthetic", "Likely synthetic"
    LIKELY_AUTHENTIC = "likely_authentic", "Likely authentic"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


class ReviewState(models.TextChoices):
    """Where an analysis stands with the people reviewing it (kept on Analysis so the queue can filter on it)."""

    UNREVIEWED = "unreviewed", "Unreviewed"
    PENDING_SECOND = "pending_second", "Needs second review"
    REVIEWED = "reviewed", "Reviewed"
    ESCALATED = "escalated", "Escalated"


class Analysis(LifecycleJob):
    """One run over an item: a job (``webapp.job_lifecycle``: stage, progress, attempts, heartbeat, error) whose
    provenance stage runs on the cpu queue and whose detection stage runs on the gpu queue."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        # Provenance done, the detection message sent: in a queue, not on a worker. Never swept as a crash
        # (a slow or restarting GPU worker is not a dead one); a message lost for long is re-sent.
        WAITING = "waiting", "Waiting for a detection worker"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    TERMINAL_STATES = (State.DONE, State.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="analyses")
    item = models.ForeignKey(MediaItem, on_delete=models.PROTECT, related_name="analyses")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    submitted_by = models.CharField(max_length=150)
    source = models.CharField(max_length=20, default="api")  # api | ui | cli
    verdict = models.CharField(max_length=20, choices=Verdict.choices, blank=True)
    score = models.FloatField(null=True, blank=True)
    verdict_reason = models.TextField(blank=True)
    review_state = models.CharField(max_length=20, choices=ReviewState.choices, default=ReviewState.UNREVIEWED,
                                    db_index=True)
    provenance = models.JSONField(default=dict)
    # The tenant's calibration whose thresholds decided the verdict; None = the shipped operating points.
    calibration = models.ForeignKey("Calibration", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="analyses")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "analyses"

    def __str__(self) -> str:
        return f"analysis {self.id} ({self.state})"


class DetectorResult(models.Model):
    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="detector_results")
    detector = models.CharField(max_length=100)
    version = models.CharField(max_length=50)
    label = models.CharField(max_length=20)
    score = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    evidence = models.JSONField(default=dict)
    model_info = models.JSONField(default=dict)
    seconds = models.FloatField(null=True, blank=True, help_text="How long the detector took on this item.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["analysis", "detector"], name="one_result_per_detector")]
        ordering = ["detector"]


class Review(models.Model):
    """A moderator's decision on an analysis; every review is also an audit event."""

    class Decision(models.TextChoices):
        CONFIRM_SYNTHETIC = "confirm_synthetic", "Confirm synthetic"
        CONFIRM_AUTHENTIC = "confirm_authentic", "Confirm authentic"
        ESCALATE = "escalate", "Escalate"

    class Outcome(models.TextChoices):
        FINAL = "final", "Final"
        PENDING_SECOND = "pending_second", "Awaiting a second reviewer"
        CONFIRMED = "confirmed", "Confirmed by a second reviewer"
        DISAGREED = "disagreed", "Disagreed with the first reviewer: escalated"
        ESCALATED = "escalated", "Escalated"

    analysis = models.ForeignKey(Analysis, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.CharField(max_length=150)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    reason = models.TextField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.FINAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` for a POST, so a retried upload returns the first analysis."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    analysis = models.ForeignKey(Analysis, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="one_idempotency_key_per_tenant")]


class Calibration(LifecycleJob):
    """A tenant's own operating point: thresholds fitted on its known-real (and known-synthetic) media.

    A calibration is a job (``webapp.job_lifecycle``: queued -> running -> done | failed | refused) and, once
    done, a version the tenant
    can activate; at most one is active per tenant, and retiring it returns the tenant to the shipped
    thresholds. Rows are never deleted: every analysis names the calibration that decided it.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"

    class Source(models.TextChoices):
        REVIEWED = "reviewed", "Reviewed items"
        FILES = "files", "Uploaded files"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="calibrations")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    target_fpr = models.FloatField()
    members = models.JSONField(default=list, help_text="[{sha256, path, media_type, label}] (label 0 real, 1 synthetic)")
    real_count = models.PositiveIntegerField(default=0)
    fake_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    result = models.JSONField(default=dict, help_text="forensics.operating_points.OperatingPoint.as_dict()")
    thresholds = models.JSONField(default=dict, help_text="detector name -> threshold, for the detectors it changed")
    is_active = models.BooleanField(default=False)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "version"], name="one_calibration_version_per_tenant"),
            models.UniqueConstraint(fields=["tenant"], condition=models.Q(is_active=True),
                                    name="one_active_calibration_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"calibration v{self.version} ({self.state})"

    def summary(self) -> dict:
        """What an analysis, an audit event and a report say about this calibration."""
        return {"id": str(self.id), "version": self.version, "target_fpr": self.target_fpr,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "expected_fpr": (self.result.get("fused") or {}).get("expected_fpr"),
                "fpr_interval": (self.result.get("fused") or {}).get("fpr_interval")}


class PerceptualHash(models.Model):
    """PDQ hash of an image, or of one sampled frame of a video, for near-duplicate search."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="perceptual_hashes")
    item = models.ForeignKey(MediaItem, on_delete=models.CASCADE, related_name="perceptual_hashes")
    frame_index = models.IntegerField(default=-1, help_text="-1 for a still image")
    pdq = models.CharField(max_length=64)
    quality = models.PositiveSmallIntegerField()

    class Meta:
        db_table = "provenance_perceptualhash"  # created by provenance's migrations; moved without touching the data
        constraints = [models.UniqueConstraint(fields=["item", "frame_index"], name="one_hash_per_frame")]
        indexes = [models.Index(fields=["tenant", "quality"])]
