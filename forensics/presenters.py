"""The one JSON shape of an analysis (and of a calibration), shared by the API, the CLI and the UI."""
from __future__ import annotations

from typing import Any

from forensics.models import Analysis, Calibration
from forensics.operating_point_use import expected_fpr


def analysis_to_dict(analysis: Analysis) -> dict[str, Any]:
    item = analysis.item
    return {
        "id": str(analysis.id),
        "state": analysis.state,
        "stage": analysis.stage,
        "progress": round(analysis.progress, 3),
        "attempts": analysis.attempts,
        "sha256": item.sha256,
        "media_type": item.media_type,
        "mime_type": item.mime_type,
        "size_bytes": item.size_bytes,
        "original_name": item.original_name,
        "properties": item.properties,
        "verdict": analysis.verdict or None,
        "score": analysis.score,
        "verdict_reason": analysis.verdict_reason,
        "review_state": analysis.review_state,
        "detectors": [
            {
                "detector": r.detector, "version": r.version, "label": r.label, "score": r.score,
                "threshold": r.threshold, "reason": r.reason,
                "evidence": {k: v for k, v in r.evidence.items() if k != "artifacts"},
                "artifacts": {
                    name: f"/api/v1/analyses/{analysis.id}/artifacts/{r.detector}/{name}"
                    for name in r.evidence.get("artifacts", {})
                },
            }
            for r in analysis.detector_results.all()
        ],
        "provenance": analysis.provenance,
        "reviews": [
            {"decision": r.decision, "reason": r.reason, "reviewer": r.reviewer, "outcome": r.outcome,
             "created_at": r.created_at.isoformat()}
            for r in analysis.reviews.all()
        ],
        "operating_point": expected_fpr(analysis) if analysis.state == Analysis.State.DONE else None,
        "error": analysis.error or None,
        "source": analysis.source,
        "submitted_by": analysis.submitted_by,
        "created_at": analysis.created_at.isoformat(),
        "finished_at": analysis.finished_at.isoformat() if analysis.finished_at else None,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def calibration_to_dict(calibration: Calibration) -> dict[str, Any]:
    """A calibration without its member list (which can run to thousands of entries)."""
    return {
        "id": str(calibration.id), "version": calibration.version, "name": calibration.name,
        "source": calibration.source, "state": calibration.state, "stage": calibration.stage,
        "progress": round(calibration.progress, 3), "error": calibration.error or None,
        "target_fpr": calibration.target_fpr, "real_items": calibration.real_count,
        "synthetic_items": calibration.fake_count, "active": calibration.is_active,
        "thresholds": calibration.thresholds,
        "detectors": calibration.result.get("detectors", {}), "fused": calibration.result.get("fused"),
        "created_by": calibration.created_by, "created_at": _iso(calibration.created_at),
        "finished_at": _iso(calibration.finished_at), "activated_at": _iso(calibration.activated_at),
        "retired_at": _iso(calibration.retired_at),
    }
