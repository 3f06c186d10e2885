"""Fusing detector findings into one verdict.

The rule, documented so a reviewer can follow it:
1. Findings that are not applicable (no face, text too short, ...) are left out,
   and so are "positive-only" findings below their threshold (a watermark that
   is absent proves nothing, so it must neither lower nor raise the score).
2. If no finding remains, the verdict is ``inconclusive`` with no score.
3. The fused score is the maximum calibrated score: a single confident
   detector is enough to flag an item (per-face maxima follow the same rule),
   which favours catching fakes over silencing them.
4. The verdict is ``likely_synthetic`` if any finding reaches its own
   calibrated threshold (an operating point chosen for few false positives).
5. Otherwise, if a finding reaches its *review* threshold (from its model
   card: the score that 5% of held-out real items reach; even odds, 0.5, for
   cards calibrated before review thresholds existed), the verdict is
   ``inconclusive``: the evidence leans synthetic but not enough to flag.
6. Otherwise it is ``likely_authentic``.

The detector that decided (the flagged one with the highest score, else the
highest score) is named in ``decided_by``; the item page shows its evidence
first.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detectors.base import Finding, FindingLabel
from forensics.models import Verdict

# Used only for a finding that came without its own calibrated threshold.
DEFAULT_THRESHOLD = 0.5
# Where a card has no review threshold, calibrated probabilities at or above this lean synthetic.
EVEN_ODDS = 0.5


@dataclass(frozen=True)
class FusedVerdict:
    verdict: Verdict  # the one verdict type: the database, the API and reports use the same values
    score: float | None
    reason: str
    decided_by: str | None = None


def decision_key(score: float | None, threshold: float | None) -> tuple[bool, float]:
    """Sort key, highest first, for "which detector decided": flagged ones before the rest, then by score."""
    value = score if score is not None else -1.0
    return (value >= (threshold if threshold is not None else DEFAULT_THRESHOLD), value)


def _threshold(finding: Finding) -> float:
    return finding.threshold if finding.threshold is not None else DEFAULT_THRESHOLD


def _review_threshold(finding: Finding) -> float:
    """Never above the flagging threshold (a tenant's calibration may have lowered that one)."""
    review = finding.review_threshold if finding.review_threshold is not None else EVEN_ODDS
    return min(review, _threshold(finding))


def fuse(findings: Sequence[Finding]) -> FusedVerdict:
    applicable = [
        f for f in findings
        if f.label is not FindingLabel.NOT_APPLICABLE and f.score is not None
        and not (f.positive_only and f.score < _threshold(f))
    ]
    if not applicable:
        skipped = [f"{f.detector}: {f.reason}" for f in findings if f.reason]
        why = "no detector applies to this item" if not findings else "no detector could judge this item"
        return FusedVerdict(Verdict.INCONCLUSIVE, None, "; ".join([why, *skipped]))
    top = max(applicable, key=lambda f: f.score or 0.0)
    decider = max(applicable, key=lambda f: decision_key(f.score, f.threshold))
    flagged = [f for f in applicable if (f.score or 0.0) >= _threshold(f)]
    if flagged:
        names = ", ".join(f"{f.detector} ({f.score:.2f} ≥ {_threshold(f):.2f})" for f in flagged)
        why = f" {decider.detector}: {decider.reason}" if decider.reason else ""
        return FusedVerdict(Verdict.LIKELY_SYNTHETIC, top.score, f"Above the calibrated threshold: {names}.{why}",
                            decider.detector)
    leaning = [f for f in applicable if (f.score or 0.0) >= _review_threshold(f)]
    if leaning:
        lean = max(leaning, key=lambda f: f.score or 0.0)
        return FusedVerdict(
            Verdict.INCONCLUSIVE, top.score,
            f"{lean.detector} leans synthetic ({lean.score:.2f} ≥ its review line {_review_threshold(lean):.2f}) "
            f"but stays below its calibrated threshold ({_threshold(lean):.2f}); a reviewer should look.",
            lean.detector,
        )
    return FusedVerdict(
        Verdict.LIKELY_AUTHENTIC, top.score,
        f"All {len(applicable)} applicable detector(s) scored below their calibrated thresholds "
        f"(highest: {top.detector} at {top.score:.2f}).", decider.detector,
    )
