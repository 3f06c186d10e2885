"""Request validation and the documented response shape of the API."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from forensics.models import Verdict
from forensics.presenters import analysis_to_dict
from webapp.reporting.models import ReportExport


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


class ProblemSerializer(serializers.Serializer):
    """An error as RFC 9457 problem details (``webapp.api.errors.problem``)."""

    type = serializers.CharField(help_text="A stable identifier of the problem (not a fetched URL).")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.JSONField(help_text="What went wrong: usually a sentence.")
    errors = serializers.JSONField(required=False, help_text="400 on invalid fields: the messages per field.")


class DetectorResultSerializer(serializers.Serializer):
    detector = serializers.CharField()
    version = serializers.CharField()
    label = serializers.ChoiceField(choices=["synthetic", "authentic", "not_applicable"])
    score = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    reason = serializers.CharField()
    evidence = serializers.DictField()
    artifacts = serializers.DictField(child=serializers.CharField(), help_text="Picture name -> URL (PNG)")


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["confirm_synthetic", "confirm_authentic", "escalate"])
    reason = serializers.CharField()
    reviewer = serializers.CharField()
    outcome = serializers.CharField(allow_blank=True, help_text="What the decision did (see review_state).")
    created_at = serializers.DateTimeField()


class CalibrationSummarySerializer(serializers.Serializer):
    """The calibration behind a verdict, as an analysis, an audit event and a report name it."""

    id = serializers.UUIDField()
    version = serializers.IntegerField()
    target_fpr = serializers.FloatField()
    created_at = serializers.DateTimeField(allow_null=True)
    expected_fpr = serializers.FloatField(allow_null=True)
    fpr_interval = serializers.ListField(child=serializers.FloatField(allow_null=True), allow_null=True)


class AnalysisOperatingPointSerializer(serializers.Serializer):
    """The thresholds behind a verdict and the false-positive rate to expect from them
    (``forensics.operating_point_use.expected_fpr``)."""

    source = serializers.ChoiceField(choices=["calibration", "shipped"])
    calibration = CalibrationSummarySerializer(allow_null=True)
    expected_fpr = serializers.FloatField(allow_null=True)
    interval = serializers.ListField(child=serializers.FloatField(allow_null=True), allow_null=True)
    target_fpr = serializers.FloatField(allow_null=True)
    text = serializers.CharField()


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
    reviews = ReviewSerializer(many=True)
    operating_point = AnalysisOperatingPointSerializer(
        allow_null=True, help_text="The thresholds behind the verdict (the tenant's calibration, or the shipped ones) "
                                   "and the false-positive rate to expect from them; null until the analysis is done")
    error = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    submitted_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return analysis_to_dict(instance)


class ReportParamsSerializer(serializers.Serializer):
    """What the report was asked for (the request's fields that were given, format aside)."""

    start = serializers.DateField()
    end = serializers.DateField()
    verdict = serializers.ChoiceField(choices=Verdict.values, required=False)
    reviewer = serializers.CharField(required=False)
    analysis = serializers.UUIDField(required=False)


class ReportExportSerializer(serializers.Serializer):
    """A report export job (``webapp.reporting.exports.export_to_dict``): poll it, then follow ``download``."""

    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=ReportExport.State.values)
    stage = serializers.CharField()
    progress = serializers.FloatField()
    format = serializers.ChoiceField(choices=["json", "csv", "pdf"])
    params = ReportParamsSerializer()
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    download = serializers.CharField(allow_null=True, help_text="The signed file's URL once the job is done.")


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
