"""Using a tenant's calibration: which one is active, a finding judged at its threshold, the FPR to expect.

Kept apart from the calibration job (``forensics.calibrations``) because the pipeline needs these and the job
needs the pipeline.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from detectors.base import Finding, FindingLabel
from forensics.models import Analysis, Calibration
from webapp.accounts.models import Tenant


def active_calibration(tenant: Tenant | None) -> Calibration | None:
    if tenant is None:
        return None
    return Calibration.objects.filter(tenant=tenant, is_active=True).first()


def apply_operating_point(finding: Finding, calibration: Calibration | None, model_info: dict[str, Any]) -> Finding:
    """The finding judged at the tenant's threshold, when its calibration covers this detector and model."""
    if calibration is None or finding.detector not in calibration.thresholds or finding.score is None \
            or finding.positive_only:
        return finding
    fitted_on = (calibration.result.get("models") or {}).get(finding.detector, {})
    if fitted_on.get("weights_sha256") != model_info.get("weights_sha256") \
            or str(fitted_on.get("version")) != str(model_info.get("version", finding.version)):
        note = {"calibration_id": str(calibration.id), "applied": False,
                "reason": f"calibration v{calibration.version} was fitted on another version of this model; "
                          "the shipped threshold was used (recalibrate to use your own)"}
        return replace(finding, evidence={**finding.evidence, "operating_point": note})
    threshold = float(calibration.thresholds[finding.detector])
    label = FindingLabel.SYNTHETIC if finding.score >= threshold else FindingLabel.AUTHENTIC
    note = {"calibration_id": str(calibration.id), "version": calibration.version, "applied": True,
            "shipped_threshold": finding.threshold, "threshold": threshold, "target_fpr": calibration.target_fpr}
    return replace(finding, threshold=threshold, label=label, evidence={**finding.evidence, "operating_point": note})


def expected_fpr(analysis: Analysis) -> dict[str, Any]:
    """The false-positive rate to expect from this analysis's verdict, and where that figure comes from."""
    calibration = analysis.calibration
    if calibration is not None:
        fused = calibration.result.get("fused") or {}
        return {"source": "calibration", "calibration": calibration.summary(),
                "expected_fpr": fused.get("expected_fpr"), "interval": fused.get("fpr_interval"),
                "target_fpr": calibration.target_fpr,
                "text": _percent_text(fused.get("expected_fpr"), fused.get("fpr_interval"),
                                      f"on this tenant's real media (calibration v{calibration.version})")}
    shipped = [r.model_info.get("test_fpr_at_threshold") for r in analysis.detector_results.all()
               if isinstance(r.model_info.get("test_fpr_at_threshold"), (int, float))]
    value = max(shipped) if shipped else None
    text = ("not measured: these detectors' model cards state no false-positive rate (shipped thresholds)"
            if value is None else
            _percent_text(value, None, "at most, per detector, on our held-out real photos (shipped thresholds; "
                                       "not measured on your media: calibrate to know)"))
    return {"source": "shipped", "calibration": None, "expected_fpr": value, "interval": None,
            "target_fpr": None, "text": text}


def _percent_text(value: float | None, interval: Sequence[float] | None, where: str) -> str:
    if value is None:
        return f"not measured {where}"
    text = f"{100 * value:.1f}%"
    if interval and None not in interval:
        text += f" (95% interval {100 * interval[0]:.1f}–{100 * interval[1]:.1f}%)"
    return f"{text} {where}"
