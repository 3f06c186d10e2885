"""The item page's evidence as drawable shapes: heatmap overlays and face boxes
placed over the media, per-frame timelines, and text spans cut into segments.

Positions are percentages of the media's own size so the browser can scale the
picture freely (responsive layout) and the overlays stay in place.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from forensics.fusion import decision_key
from forensics.models import DetectorResult

# A heatmap is drawn over the region the detector looked at. Detectors say where in
# their evidence ("heatmap_box", image pixels: the whole image for synthetic-image's
# tile map, the top face's crop for face-synthetic). Results stored before detectors
# said so fall back to the old framing: face-synthetic a square around its top face
# (detectors.faces.crop_face), anything else the centre square.
FACE_CROP_HEATMAPS = frozenset({"face-synthetic"})
_LABEL = re.compile(r"[^a-z0-9-]+")


def _pct(value: float, whole: float) -> float:
    return round(100.0 * value / whole, 3) if whole else 0.0


def _box_style(x1: float, y1: float, x2: float, y2: float, width: float, height: float) -> dict[str, float]:
    return {"left": _pct(x1, width), "top": _pct(y1, height), "width": _pct(x2 - x1, width),
            "height": _pct(y2 - y1, height)}


def _heatmap_region(result: DetectorResult, width: int, height: int) -> dict[str, float] | None:
    box = result.evidence.get("heatmap_box")
    if isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box):
        return _box_style(*box, width, height)
    if result.detector in FACE_CROP_HEATMAPS:
        from detectors.faces import CROP_SCALE

        scored = [f for f in result.evidence.get("faces", []) if f.get("score") is not None]
        if not scored:
            return None
        x1, y1, x2, y2 = max(scored, key=lambda f: f["score"])["box"]
        cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, CROP_SCALE * max(x2 - x1, y2 - y1) / 2
        return _box_style(cx - half, cy - half, cx + half, cy + half, width, height)
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    return _box_style(left, top, left + side, top + side, width, height)


def heatmap_overlays(results: Iterable[DetectorResult], width: int | None, height: int | None) -> list[dict[str, Any]]:
    """Each detector's "heatmap" artifact with where it sits over the image."""
    if not width or not height:
        return []
    out = []
    for r in results:
        if "heatmap" not in r.evidence.get("artifacts", {}):
            continue
        region = _heatmap_region(r, width, height)
        if region is not None:
            out.append({"detector": r.detector, "name": "heatmap", "region": region})
    return out


def face_boxes(results: Iterable[DetectorResult], width: int | None, height: int | None) -> list[dict[str, Any]]:
    """Face boxes of every detector that reports them: red at/above its threshold, green below, grey unscored."""
    if not width or not height:
        return []
    out = []
    for r in results:
        for face in r.evidence.get("faces", []):
            box, score = face.get("box"), face.get("score")
            if not box or len(box) != 4:
                continue
            threshold = r.threshold if r.threshold is not None else 0.5
            kind = "unscored" if score is None else ("over" if score >= threshold else "under")
            out.append({"detector": r.detector, "score": score, "kind": kind, **_box_style(*box, width, height)})
    return out


def timelines(results: Iterable[DetectorResult], duration: float | None, width: int = 600,
              height: int = 120) -> list[dict[str, Any]]:
    """Per-frame scores as SVG points (x: seconds, y: score) plus the threshold line, one per detector.

    Frames come as ``{"seconds", "score"}`` or, from video-faces, ``{"seconds", "faces": [{"score"}]}``
    (the frame's score is then its highest face score; a frame without a face has none).
    """
    out = []
    for r in results:
        frames = r.evidence.get("timeline")
        if not isinstance(frames, list) or not frames:
            continue
        points = []
        for f in frames:
            score = f.get("score")
            if score is None and f.get("faces"):
                score = max(face["score"] for face in f["faces"])
            points.append((float(f.get("seconds", 0.0)), score))
        end = max(duration or 0.0, max(s for s, _ in points)) or 1.0

        def x(seconds: float, end: float = end) -> float:
            return round(width * seconds / end, 1)

        def y(score: float) -> float:
            return round(height * (1.0 - score), 1)

        scored = [(s, v) for s, v in points if v is not None]
        threshold = r.threshold if r.threshold is not None else None
        out.append({
            "detector": r.detector, "width": width, "height": height,
            "polyline": " ".join(f"{x(s)},{y(v)}" for s, v in scored),
            "points": [{"x": x(s), "y": y(v), "seconds": s, "score": v,
                        "over": threshold is not None and v >= threshold} for s, v in scored],
            "threshold_y": y(threshold) if threshold is not None else None, "threshold": threshold,
            "unscored": len(points) - len(scored),
        })
    return out


def _clean_label(label: Any) -> str:
    return _LABEL.sub("-", str(label).lower()).strip("-")[:20] or "span"


def text_segments(text: str, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text cut at span edges: plain pieces have no label. Spans that overlap, run
    backwards or leave the text are skipped rather than trusted (the contract says they never do)."""
    segments: list[dict[str, Any]] = []
    cursor = 0
    for span in spans:
        try:
            start, end = int(span["start"]), int(span["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if start < cursor or end <= start or end > len(text):
            continue
        if start > cursor:
            segments.append({"text": text[cursor:start], "label": ""})
        weight = min(1.0, max(0.0, float(span.get("weight", 1.0))))
        segments.append({"text": text[start:end], "label": _clean_label(span.get("label", "")),
                         "weight": round(weight, 3)})
        cursor = end
    if cursor < len(text):
        segments.append({"text": text[cursor:], "label": ""})
    return segments


def span_views(text: str, results: Iterable[DetectorResult]) -> list[dict[str, Any]]:
    """One highlighted rendering of the text per detector whose evidence carries spans, the deciding one first."""
    views = []
    for r in sorted(results, key=lambda r: decision_key(r.score, r.threshold), reverse=True):
        spans = r.evidence.get("spans")
        if not isinstance(spans, list) or not spans:
            continue
        legend = {_clean_label(k): str(v) for k, v in (r.evidence.get("spans_legend") or {}).items()}
        views.append({"detector": r.detector, "segments": text_segments(text, spans), "legend": legend,
                      "count": len(spans), "truncated": bool(r.evidence.get("spans_truncated"))})
    return views


def evidence_summary(evidence: dict[str, Any]) -> dict[str, Any]:
    """Evidence minus the bulky parts that are drawn instead (spans, per-frame timeline, artifacts)."""
    return {k: v for k, v in evidence.items() if k not in ("spans", "timeline", "artifacts")}
