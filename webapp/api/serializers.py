"""Request validation and the documented response shape of the API."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from forensics.models import Verdict
from forensics.presenters import analysis_to_dict


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error rather than silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [f"Unknown field. Allowed: {', '.join(sorted(self.fields))}."] for name in unknown}
                )
        return super().to_internal_value(data)


class AnalysisCreateSerializer(StrictSerializer):
    """Either ``file`` (multipart) or ``text`` (JSON or form), not both."""

    file = serializers.FileField(required=False, allow_empty_file=True, help_text="An image, a video or a UTF-8 text file.")
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                 help_text="Text to analyse (instead of a file).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("text" in attrs):
            raise serializers.ValidationError("Send exactly one of 'file' (multipart upload) or 'text'.")
        return attrs


class DetectorResultSerializer(serializers.Serializer):
    detector = serializers.CharField()
    version = serializers.CharField()
    label = serializers.ChoiceField(choices=["synthetic", "authentic", "not_applicable"])
    score = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    reason = serializers.CharField()
    evidence = serializers.DictField()
    artifacts = serializers.DictField(child=serializers.CharField(), help_text="Picture name -> URL (PNG)")


class AnalysisSerializer(serializers.Serializer):
    """Read-only; the representation comes from ``forensics.presenters`` (one shape everywhere)."""

    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["queued", "running", "waiting", "done", "failed"],
                                    help_text="waiting: provenance done, in the queue for a detection worker")
    stage = serializers.CharField()
    progress = serializers.FloatField()
    attempts = serializers.IntegerField()
    sha256 = serializers.CharField()
    media_type = serializers.ChoiceField(choices=["image", "video", "text"])
    mime_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    original_name = serializers.CharField()
    properties = serializers.DictField()
    verdict = serializers.ChoiceField(choices=Verdict.values, allow_null=True)
    score = serializers.FloatField(allow_null=True)
    verdict_reason = serializers.CharField()
    review_state = serializers.ChoiceField(
        choices=["unreviewed", "pending_second", "reviewed", "escalated"],
        help_text="pending_second: a first reviewer decided; a different reviewer must agree (FORENSICS_SECOND_REVIEW_SCORE)")
    detectors = DetectorResultSerializer(many=True)
    provenance = serializers.DictField()
    reviews = serializers.ListField(child=serializers.DictField())
    operating_point = serializers.DictField(
        allow_null=True, help_text="The thresholds behind the verdict (the tenant's calibration, or the shipped ones) "
                                   "and the false-positive rate to expect from them; null until the analysis is done")
    error = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    submitted_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return analysis_to_dict(instance)


class ReviewCreateSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=["confirm_synthetic", "confirm_authentic", "escalate"])
    reason = serializers.CharField(min_length=3)


class ReportRequestSerializer(StrictSerializer):
    start = serializers.DateField(help_text="first day (UTC)")
    end = serializers.DateField(help_text="day after the last (UTC)")
    format = serializers.ChoiceField(choices=["json", "csv", "pdf"], default="json")
    verdict = serializers.ChoiceField(choices=Verdict.values, required=False,
                                      allow_blank=True)
    reviewer = serializers.CharField(required=False, allow_blank=True)
    analysis = serializers.UUIDField(required=False, help_text="Only this analysis: a per-item forensic report")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError("'end' must be after 'start'.")
        return attrs
