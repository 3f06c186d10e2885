"""Private fine-tuning: tenants' labelled datasets, their privacy-budget ledger, jobs and the resulting models.

Thin models: the rules (budget arithmetic, job life cycle, serving) live in ``privacy.ledger``,
``privacy.jobs`` and ``privacy.serving``. The ledger is append-only in the model AND in the database
(triggers, see ``privacy.db_triggers``), because a budget that can be edited protects nobody.
"""
from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from webapp.accounts.models import Tenant
from webapp.job_lifecycle import LifecycleJob


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


class PrivateFinetuneJob(LifecycleJob):
    """A private fine-tuning job (``webapp.job_lifecycle``): claimed, heartbeating through its progress, swept
    when its worker dies (and resumed from its last epoch checkpoint), ended done, failed or refused."""

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
    result_card = models.JSONField(default=dict)
    mia_audit = models.JSONField(default=dict)
    excluded_members = models.JSONField(default=list, blank=True, help_text=(
        "Training-split members this job does not train on: a second copy of a privacy unit already in the "
        "split, or (drop_exhausted) a unit with too little budget left. Fixed at submission."))
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"private job {self.id} ({self.state})"


class BudgetLedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("the budget ledger is append-only: UPDATE is not allowed")

    def delete(self) -> tuple[int, dict[str, int]]:
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("the budget ledger is append-only: UPDATE is not allowed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
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


class TenantPrivacyBudget(models.Model):
    """The tenant's per-image budget: no privacy unit may be composed past ``epsilon_total`` at ``delta``.

    ``epsilon_total`` None means the tenant set no cap of its own; each unit is then bounded by the budgets
    of the datasets whose jobs trained on it. The row is also the tenant's lock for assigning privacy units,
    so two concurrent uploads of the same image cannot make two units of it."""

    tenant = models.OneToOneField(Tenant, on_delete=models.PROTECT, primary_key=True,
                                  related_name="privacy_budget")
    epsilon_total = models.FloatField(null=True, blank=True)
    delta = models.FloatField(help_text="The delta at which every unit's mechanisms are composed.")
    accountant = models.CharField(max_length=10, default="rdp")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant_id}: ε={self.epsilon_total} δ={self.delta:g} per image"


class PrivacyUnit(models.Model):
    """One image of a tenant wherever it appears: byte-identical copies and PDQ near-copies share a unit."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="privacy_units")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"unit {self.pk}"


class DatasetImage(models.Model):
    """One member of a dataset's zip, its hashes, its side of the split and the privacy unit it belongs to."""

    class Split(models.TextChoices):
        TRAIN = "train", "Train"
        HOLDOUT = "holdout", "Holdout"

    class Match(models.TextChoices):
        NEW = "new", "A new unit"
        EXACT = "exact", "Byte-identical to an earlier image"
        NEAR = "near", "A PDQ near-copy of an earlier image"

    dataset = models.ForeignKey(PrivateDataset, on_delete=models.PROTECT, related_name="images")
    name = models.CharField(max_length=500)
    label = models.PositiveSmallIntegerField()
    split = models.CharField(max_length=8, choices=Split.choices)
    sha256 = models.CharField(max_length=64, db_index=True)
    pdq = models.CharField(max_length=64, blank=True, help_text="Empty when the image has no usable PDQ hash.")
    pdq_quality = models.PositiveSmallIntegerField(default=0)
    unit = models.ForeignKey(PrivacyUnit, on_delete=models.PROTECT, related_name="images")
    match = models.CharField(max_length=5, choices=Match.choices)
    pdq_distance = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["dataset_id", "name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="one_image_row_per_member")]

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.name} -> unit {self.unit_id}"


class UnitReservationQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("the unit ledger is append-only: UPDATE is not allowed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("the unit ledger is append-only: DELETE is not allowed")


class UnitReservation(models.Model):
    """A job's reservation (its ledger entry's mechanism) recorded against one privacy unit it trains on.

    Append-only like the ledger; a reservation is live while its job has no RELEASE entry."""

    entry = models.ForeignKey(BudgetLedgerEntry, on_delete=models.PROTECT, related_name="unit_reservations")
    unit = models.ForeignKey(PrivacyUnit, on_delete=models.PROTECT, related_name="reservations")
    image = models.ForeignKey(DatasetImage, on_delete=models.PROTECT, related_name="reservations")
    epsilon_unit = models.FloatField(help_text="The unit's live mechanisms composed after this one, at the "
                                               "tenant's delta.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UnitReservationQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["entry", "unit"], name="one_unit_reservation_per_entry")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("the unit ledger is append-only: UPDATE is not allowed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("the unit ledger is append-only: DELETE is not allowed")
