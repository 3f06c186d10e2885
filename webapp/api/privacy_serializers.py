"""Request validation and the documented responses of the private fine-tuning API (``/api/v1/privacy/...``).

The response serializers only describe: the views return ``privacy.presenters``' dicts unchanged (one shape
for the API, the console and the CLI), and the schema test checks every response against these.
"""
from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

from privacy.accounting import ACCOUNTANTS
from privacy.models import BudgetLedgerEntry, PrivateFinetuneJob
from webapp.api.serializers import ProblemSerializer, StrictSerializer


class LabelledItemSerializer(StrictSerializer):
    analysis = serializers.UUIDField(help_text="An analysis of an image in your tenant.")
    label = serializers.ChoiceField(choices=["real", "fake"])


class DatasetCreateSerializer(StrictSerializer):
    """Either ``file`` (multipart: a zip of real/ and fake/ folders) or ``items`` (JSON), not both. The budget
    fields are for tenant admins; others upload with ε=0 and an admin sets the budget later."""

    name = serializers.CharField(max_length=200)
    file = serializers.FileField(required=False, help_text="A .zip with real/ and fake/ folders of images.")
    items = LabelledItemSerializer(many=True, required=False, help_text="Images already analysed, each labelled.")
    epsilon_total = serializers.FloatField(required=False, min_value=0)
    delta = serializers.FloatField(required=False, min_value=0, max_value=1)
    accountant = serializers.ChoiceField(choices=list(ACCOUNTANTS), required=False, default="rdp")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("items" in attrs):
            raise serializers.ValidationError("Send exactly one of 'file' (multipart zip) or 'items' (JSON).")
        return attrs


class BudgetSerializer(StrictSerializer):
    epsilon_total = serializers.FloatField(required=False, min_value=0)
    delta = serializers.FloatField(required=False, min_value=0, max_value=1)


class JobCreateSerializer(StrictSerializer):
    dataset = serializers.UUIDField()
    base_detector = serializers.CharField(required=False, max_length=64)
    target_epsilon = serializers.FloatField(min_value=0.01, max_value=1000)
    delta = serializers.FloatField(required=False, min_value=0, max_value=1,
                                   help_text="Defaults to the dataset's δ; may not exceed it.")
    epochs = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=3)
    batch_size = serializers.IntegerField(required=False, min_value=1, max_value=65536, default=32,
                                          help_text="Expected batch size (Poisson sampling at batch_size / n).")
    max_grad_norm = serializers.FloatField(required=False, min_value=1e-6, max_value=1e6, default=1.0)
    learning_rate = serializers.FloatField(required=False, min_value=1e-9, max_value=10, default=0.05)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1, default=0)
    drop_exhausted = serializers.BooleanField(
        required=False, default=False,
        help_text="Leave out the images whose privacy budget this job would pass and train on the rest, "
                  "instead of refusing the job.")


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise serializers.ValidationError("Must be a finite number.")
    return value


class TenantBudgetSetSerializer(StrictSerializer):
    """PUT /api/v1/privacy/budget (tenant admins). ``epsilon_per_image`` null removes the tenant's own cap;
    ``delta`` and ``accountant`` are fixed once any job has reserved budget against the tenant's images."""

    epsilon_per_image = serializers.FloatField(
        min_value=0, allow_null=True, validators=[_finite],
        help_text="The most ε any one image (with its copies and near-copies) may spend over every job that "
                  "trains on it; null: no tenant cap (each dataset's budget still caps its images).")
    delta = serializers.FloatField(required=False, min_value=0, max_value=1, validators=[_finite])
    accountant = serializers.ChoiceField(choices=list(ACCOUNTANTS), required=False)


class TenantBudgetSerializer(serializers.Serializer):
    """The tenant's per-image privacy budget."""

    epsilon_per_image = serializers.FloatField(allow_null=True, help_text="null: the tenant set no cap of its own.")
    delta = serializers.FloatField(help_text="Every image's jobs are composed at this δ.")
    accountant = serializers.ChoiceField(choices=list(ACCOUNTANTS))
    delta_fixed = serializers.BooleanField(
        help_text="True once a job has reserved budget against the tenant's images: δ and the accountant can "
                  "no longer change.")
    datasets_above = serializers.IntegerField(
        help_text="Datasets whose own budget is above the per-image ε, so the tenant's budget caps them.")
    updated_at = serializers.DateTimeField()


# ---- responses (describe privacy.presenters' dicts; never used to build them) ----

class DatasetCountsSerializer(serializers.Serializer):
    real = serializers.IntegerField()
    fake = serializers.IntegerField()
    train = serializers.IntegerField()
    holdout = serializers.IntegerField()


class SpreadSerializer(serializers.Serializer):
    """A distribution over the dataset's privacy units (rounded for display)."""

    min = serializers.FloatField()
    median = serializers.FloatField()
    max = serializers.FloatField()


class PerImageBudgetSerializer(serializers.Serializer):
    """What the dataset's images have left, over its privacy units (an image with its copies and near-copies)."""

    units = serializers.IntegerField()
    epsilon_left = SpreadSerializer(allow_null=True)
    epsilon_spent = SpreadSerializer(allow_null=True)
    epsilon_total_tenant = serializers.FloatField(allow_null=True, help_text="The tenant's per-image ε; null: none.")
    delta = serializers.FloatField()
    accountant = serializers.ChoiceField(choices=list(ACCOUNTANTS))


class DatasetBudgetSerializer(serializers.Serializer):
    epsilon_total = serializers.FloatField()
    epsilon_spent = serializers.FloatField()
    epsilon_left = serializers.FloatField()
    delta = serializers.FloatField()
    accountant = serializers.ChoiceField(choices=list(ACCOUNTANTS))
    per_image = PerImageBudgetSerializer(
        allow_null=True, help_text="null: uploaded before per-image accounting (indexed at its next job).")


class DatasetSerializer(serializers.Serializer):
    """A private dataset with its budget (``privacy.presenters.dataset_to_dict``)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField()
    counts = DatasetCountsSerializer()
    budget = DatasetBudgetSerializer()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    ledger = serializers.CharField(help_text="The URL of the dataset's budget ledger.")


class MechanismSerializer(serializers.Serializer):
    noise_multiplier = serializers.FloatField()
    sample_rate = serializers.FloatField()
    steps = serializers.IntegerField()


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    job = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=BudgetLedgerEntry.Kind.values)
    mechanism = MechanismSerializer()
    accountant = serializers.ChoiceField(choices=list(ACCOUNTANTS))
    delta = serializers.FloatField()
    epsilon_job = serializers.FloatField(help_text="This mechanism alone, at the dataset's δ.")
    epsilon_composed = serializers.FloatField(help_text="Every live reservation on the dataset composed, after this.")
    actor = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class DatasetLedgerSerializer(serializers.Serializer):
    """The dataset's append-only budget ledger, oldest first."""

    dataset = DatasetSerializer()
    entries = LedgerEntrySerializer(many=True)


class JobConfigSerializer(serializers.Serializer):
    """``privacy.training.FinetuneConfig``: what the job trains with."""

    base_detector = serializers.CharField()
    target_epsilon = serializers.FloatField(allow_null=True, help_text="null for a non-private run")
    delta = serializers.FloatField()
    epochs = serializers.IntegerField()
    batch_size = serializers.IntegerField()
    max_grad_norm = serializers.FloatField()
    learning_rate = serializers.FloatField()
    private = serializers.BooleanField()
    seed = serializers.IntegerField()


class TrainingProgressSerializer(serializers.Serializer):
    epoch = serializers.IntegerField(required=False)
    epochs = serializers.IntegerField(required=False)
    step = serializers.IntegerField(required=False)
    steps_total = serializers.IntegerField(required=False)
    loss = serializers.FloatField(required=False)
    accuracy = serializers.FloatField(required=False)


class JobProgressSerializer(TrainingProgressSerializer):
    """Live progress; every key appears once its phase has reported (an empty object before the first)."""

    phase = serializers.CharField(required=False, help_text="loading, private, baseline, audit, ... done")
    fraction = serializers.FloatField(required=False, help_text="of the whole job, 0..1")
    epsilon = serializers.FloatField(required=False, help_text="ε spent so far by the private run")
    dp_steps = serializers.IntegerField(required=False)
    baseline = TrainingProgressSerializer(required=False, help_text="the non-private baseline's run")


class JobSerializer(serializers.Serializer):
    """A private fine-tuning job (``privacy.presenters.job_to_dict``)."""

    id = serializers.UUIDField()
    dataset = serializers.UUIDField()
    state = serializers.ChoiceField(choices=PrivateFinetuneJob.State.values)
    private = serializers.BooleanField()
    config = JobConfigSerializer()
    progress = JobProgressSerializer()
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    result = serializers.DictField(allow_null=True, help_text="The fine-tuned weights' model card, when done.")
    mia_audit = serializers.DictField(allow_null=True, help_text="The membership-inference audit, when done.")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class JobRefusedSerializer(ProblemSerializer):
    """409: the dataset's (or the tenant's per-image) privacy budget does not allow the job."""

    job = JobSerializer(help_text="The job, recorded as refused.")


class VersionSerializer(serializers.Serializer):
    """A tenant's fine-tuned detector version (``privacy.presenters.version_to_dict``)."""

    id = serializers.UUIDField()
    detector = serializers.CharField()
    version = serializers.CharField()
    weights_sha256 = serializers.CharField()
    active = serializers.BooleanField(help_text="whether it serves the tenant's analyses now")
    source_job = serializers.UUIDField()
    created_at = serializers.DateTimeField()
