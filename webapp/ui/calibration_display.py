"""A calibration's result as the console prints it: percentages with their intervals, one row per detector.

Kept out of the templates because the result is nested JSON with optional fields (no TPR without synthetic
items, no interval without a bootstrap) and every cell needs the same "—" for "not measured".
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from forensics.models import Calibration

NOT_MEASURED = "—"


def percent(value: Any) -> str:
    """0.0123 -> "1.2%"; None (not measured) -> "—"."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return NOT_MEASURED
    return f"{100 * value:.1f}%"


def with_interval(value: Any, interval: Sequence[Any] | None) -> str:
    """The expected rate and its 95% out-of-bag interval: "1.2% (95% interval 0.0–3.4%)"."""
    text = percent(value)
    if text != NOT_MEASURED and interval and len(interval) == 2 and None not in interval:
        text += f" (95% interval {100 * interval[0]:.1f}–{100 * interval[1]:.1f}%)"
    return text


def threshold(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else NOT_MEASURED


def detector_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per detector in the set, calibrated ones first (they are what the tenant changes)."""
    detectors = result.get("detectors") or {}
    rows = []
    for name, entry in detectors.items():
        calibrated = entry.get("status") == "calibrated"
        rows.append({
            "detector": name, "calibrated": calibrated, "status": entry.get("status", "shipped"),
            "reason": entry.get("reason", ""),
            "shipped_threshold": threshold(entry.get("shipped_threshold")),
            "threshold": threshold(entry.get("threshold")),
            "threshold_interval": _threshold_interval(entry.get("threshold_interval")) if calibrated else "",
            "n_real": entry.get("n_real", 0), "n_fake": entry.get("n_fake", 0),
            "fpr_in_sample": percent(entry.get("fpr_in_sample")),
            "expected_fpr": with_interval(entry.get("expected_fpr"), entry.get("fpr_interval")),
            "tpr": percent(entry.get("tpr")),
            "auc": f"{entry['auc']:.3f}" if isinstance(entry.get("auc"), (int, float)) else NOT_MEASURED,
        })
    return sorted(rows, key=lambda r: (not r["calibrated"], r["detector"]))


def _threshold_interval(interval: Any) -> str:
    if not isinstance(interval, (list, tuple)) or len(interval) != 2 or None in interval:
        return ""
    return f"{interval[0]:.3f}–{interval[1]:.3f}"


def fused_row(result: Mapping[str, Any]) -> dict[str, Any] | None:
    fused = result.get("fused")
    if not fused:
        return None
    return {"n_real": fused.get("n_real", 0), "n_fake": fused.get("n_fake", 0),
            "fpr_in_sample": percent(fused.get("fpr_in_sample")),
            "expected_fpr": with_interval(fused.get("expected_fpr"), fused.get("fpr_interval")),
            "tpr": percent(fused.get("tpr")), "reachable": bool(fused.get("reachable"))}


def summary(calibration: Calibration) -> dict[str, Any]:
    """What the list page shows of one calibration."""
    fused = calibration.result.get("fused") or {}
    return {"c": calibration, "target": percent(calibration.target_fpr),
            "expected": with_interval(fused.get("expected_fpr"), fused.get("fpr_interval")) if fused else "",
            "percent": round(100 * calibration.progress),
            "pending": calibration.state in (Calibration.State.QUEUED, Calibration.State.RUNNING)}
