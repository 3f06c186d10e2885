"""Request validation for the private fine-tuning API (``/api/v1/privacy/...``)."""
from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

from privacy.accounting import ACCOUNTANTS
from webapp.api.serializers import StrictSerializer


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
