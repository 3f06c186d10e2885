"""The one JSON shape of an analysis, shared by the API, the CLI and the UI."""
from __future__ import annotations

from typing import Any

from forensics.models import Analysis


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
        "error": analysis.error or None,
        "source": analysis.source,
        "submitted_by": analysis.submitted_by,
        "created_at": analysis.created_at.isoformat(),
        "finished_at": analysis.finished_at.isoformat() if analysis.finished_at else None,
    }
