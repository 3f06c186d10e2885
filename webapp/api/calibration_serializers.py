"""Requests and responses of the calibration API (``/api/v1/calibrations``)."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from webapp.api.serializers import StrictSerializer


class CalibrationCreateSerializer(StrictSerializer):
    """A calibration set: the tenant's reviewed items (``source: reviewed``, JSON or form) or an uploaded zip
    (``source: files``, multipart) with a real/ folder and optionally a fake/ folder of images."""

    source = serializers.ChoiceField(choices=["reviewed", "files"], default="reviewed",
                                     help_text="reviewed: items reviewed 'confirm authentic' (real) and "
                                               "'confirm synthetic'; files: the images in 'file'")
    target_fpr = serializers.FloatField(default=0.01, min_value=0.001, max_value=0.2,
                                        help_text="the false-positive rate to calibrate for (0.01 = 1%)")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    file = serializers.FileField(required=False, help_text="source 'files': a .zip with real/ (and optional fake/)")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs["source"] == "files") != ("file" in attrs):
            raise serializers.ValidationError("send a zip in 'file' with source 'files', and only then")
        return attrs


class NoBodySerializer(StrictSerializer):
    """Activation takes no fields (refuses any, like every request here); declared so OPTIONS can say so."""


def _interval(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.FloatField(allow_null=True), min_length=2, max_length=2,
                                 help_text=help_text + " ([null, null] without bootstrap values)")


class CalibrationDetectorSerializer(serializers.Serializer):
    """One detector in a calibration (``forensics.operating_points.fit_operating_point``)."""

    status = serializers.ChoiceField(choices=["calibrated", "shipped"])
    threshold = serializers.FloatField()
    shipped_threshold = serializers.FloatField()
    n_real = serializers.IntegerField()
    n_fake = serializers.IntegerField()
    fpr_in_sample = serializers.FloatField(allow_null=True)
    expected_fpr = serializers.FloatField(allow_null=True, help_text="out-of-bag, on new media from the same source")
    fpr_interval = _interval("95% interval of the expected false-positive rate")
    threshold_interval = _interval("95% interval of the threshold over the bootstrap refits")
    reason = serializers.CharField(required=False, help_text="why a shipped threshold stays")
    tpr = serializers.FloatField(required=False, help_text="with synthetic items in the set")
    roc = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), required=False,
                                help_text="(fpr, tpr) points, with synthetic items in the set")
    auc = serializers.FloatField(required=False)


class CalibrationFusedSerializer(serializers.Serializer):
    """The fused verdict's rates: what a tenant gets from these thresholds together."""

    n_real = serializers.IntegerField()
    n_fake = serializers.IntegerField()
    fpr_in_sample = serializers.FloatField(allow_null=True)
    expected_fpr = serializers.FloatField(allow_null=True)
    fpr_interval = _interval("95% interval of the expected false-positive rate")
    tpr = serializers.FloatField(allow_null=True)
    reachable = serializers.BooleanField(help_text="whether the target was met on the set")


class CalibrationSerializer(serializers.Serializer):
    """Read-only; the representation comes from ``forensics.presenters.calibration_to_dict``."""

    id = serializers.UUIDField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    source = serializers.ChoiceField(choices=["reviewed", "files"])
    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed", "refused"])
    stage = serializers.CharField()
    progress = serializers.FloatField()
    error = serializers.CharField(allow_null=True)
    target_fpr = serializers.FloatField()
    real_items = serializers.IntegerField()
    synthetic_items = serializers.IntegerField()
    active = serializers.BooleanField(help_text="whether the pipeline uses these thresholds for this tenant now")
    thresholds = serializers.DictField(child=serializers.FloatField(), help_text="detector -> fitted threshold")
    detectors = serializers.DictField(child=CalibrationDetectorSerializer(),
                                      help_text="per detector: status, thresholds, rates with 95% intervals, ROC")
    fused = CalibrationFusedSerializer(allow_null=True, help_text="the fused verdict's rates with 95% intervals")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)


class OperatingPointSerializer(serializers.Serializer):
    """The tenant's operating point now: its active calibration, or null for the shipped thresholds."""

    active = CalibrationSerializer(allow_null=True)
