"""Private fine-tuning: tenants' labelled datasets, their privacy-budget ledger, jobs and the resulting models.

Thin models: the rules (budget arithmetic, job life cycle, serving) live in ``privacy.ledger``,
``privacy.jobs`` and ``privacy.serving``. The ledger is append-only in the model AND in the database
(triggers, see ``privacy.db_triggers``), because a budget that can be edited protects nobody.
"""
from __future__ import annotations

import uuid

from django.db import models

from webapp.accounts.models import Tenant


class AppendOnlyError(RuntimeError):
    pass


class PrivateDataset(models.Model):
    """A tenant's validated zip of real/ and fake/ images, stored content-addressed, with its privacy budget."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="private_datasets")
    name = models.CharField(max_length=200)
    storage_path = models.CharField(max_length=300, help_text="Relative to MEDIA_ROOT (blobs/ab/cd/<sha256>).")
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveBigIntegerField()
    n_real = models.PositiveIntegerField()
    n_fake = models.PositiveIntegerField()
    holdout_fraction = models.FloatField(help_text="Share of each class held out (split seed 0, deterministic).")
    n_train = models.PositiveIntegerField()
    n_holdout = models.PositiveIntegerField()
    epsilon_total = models.FloatField(default=0.0, help_text="Total epsilon all jobs on this dataset may spend.")
    delta = models.FloatField(help_text="The delta at which the ledger composes every job's spend.")
    accountant = models.CharField(max_length=10, default="rdp")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.name}"


class PrivateFinetuneJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="private_jobs")
    dataset = models.ForeignKey(PrivateDataset, on_delete=models.PROTECT, related_name="jobs")
    config = models.JSONField(help_text="privacy.training.FinetuneConfig as a dict.")
    private = models.BooleanField(default=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    progress = models.JSONField(default=dict, help_text="phase, epoch, epochs, step, steps_total, loss, accuracy, "
                                                        "epsilon")
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    result_card = models.JSONField(default=dict)
    mia_audit = models.JSONField(default=dict)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"private job {self.id} ({self.state})"


class BudgetLedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnlyError("the budget ledger is append-only: UPDATE is not allowed")

    def delete(self):  # type: ignore[no-untyped-def]
        raise AppendOnlyError("the budget ledger is append-only: DELETE is not allowed")


class BudgetLedgerEntry(models.Model):
    """One reservation of a job's DP mechanism against a dataset's budget, or the release of one."""

    class Kind(models.TextChoices):
        RESERVE = "reserve", "Reserve (before training)"
        RELEASE = "release", "Release (the job failed before its first DP step)"

    dataset = models.ForeignKey(PrivateDataset, on_delete=models.PROTECT, related_name="ledger")
    job = models.ForeignKey(PrivateFinetuneJob, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    noise_multiplier = models.FloatField()
    sample_rate = models.FloatField()
    steps = models.PositiveIntegerField()
    accountant = models.CharField(max_length=10)
    delta = models.FloatField()
    epsilon_job = models.FloatField(help_text="This mechanism alone, at the dataset's delta.")
    epsilon_composed = models.FloatField(help_text="Every live reservation on the dataset composed, after this entry.")
    actor = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BudgetLedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["dataset_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "kind"], name="one_ledger_entry_per_job_and_kind"),
        ]

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise AppendOnlyError("the budget ledger is append-only: UPDATE is not allowed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnlyError("the budget ledger is append-only: DELETE is not allowed")


class TenantDetectorVersion(models.Model):
    """A detector fine-tuned on one tenant's data: served to that tenant only, while active."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="detector_versions")
    detector = models.CharField(max_length=64)
    version = models.CharField(max_length=100)
    weights_path = models.CharField(max_length=300, help_text="Relative to MEDIA_ROOT; the model card sits beside it.")
    sha256 = models.CharField(max_length=64)
    card = models.JSONField(default=dict)
    source_job = models.OneToOneField(PrivateFinetuneJob, on_delete=models.PROTECT, related_name="detector_version")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "detector"], condition=models.Q(active=True),
                                    name="one_active_version_per_tenant_detector"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.detector}@{self.version}"
