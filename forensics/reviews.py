"""Recording a moderator's decision: a reason is required, and the decision is an audit event.

High-scoring items can require two people (``FORENSICS_SECOND_REVIEW_SCORE``):
the first final decision is recorded as *pending second review*; a different
reviewer who agrees makes it final, one who disagrees escalates the item. The
rule lives here so that the console, the bulk actions and the REST API all obey it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from forensics.models import Analysis, Review, ReviewState
from provenance.audit import append_event
from webapp.accounts.tenancy import Actor

FINAL_DECISIONS = (Review.Decision.CONFIRM_SYNTHETIC, Review.Decision.CONFIRM_AUTHENTIC)


class ReviewError(ValueError):
    pass


def needs_second_review(analysis: Analysis) -> bool:
    """True when a final decision on this item takes two agreeing reviewers."""
    limit = settings.FORENSICS_SECOND_REVIEW_SCORE
    return limit is not None and analysis.score is not None and analysis.score >= limit


def _pending_first(analysis: Analysis) -> Review | None:
    return analysis.reviews.filter(outcome=Review.Outcome.PENDING_SECOND).order_by("-created_at", "-id").first()


def _outcome(actor: Actor, analysis: Analysis, decision: str) -> tuple[str, str]:
    """(review outcome, new review state) of ``decision`` given what was decided before."""
    if decision == Review.Decision.ESCALATE:
        return Review.Outcome.ESCALATED, ReviewState.ESCALATED
    if not needs_second_review(analysis):
        return Review.Outcome.FINAL, ReviewState.REVIEWED
    first = _pending_first(analysis) if analysis.review_state == ReviewState.PENDING_SECOND else None
    if first is None:
        return Review.Outcome.PENDING_SECOND, ReviewState.PENDING_SECOND
    if first.reviewer == actor.label:
        raise ReviewError(
            f"this item (score {analysis.score:.2f} ≥ {settings.FORENSICS_SECOND_REVIEW_SCORE:.2f}) needs a second "
            f"reviewer: {actor.label} made the first decision, so someone else must confirm or override it"
        )
    if first.decision == decision:
        return Review.Outcome.CONFIRMED, ReviewState.REVIEWED
    return Review.Outcome.DISAGREED, ReviewState.ESCALATED


def record_review(actor: Actor, analysis: Analysis, decision: str, reason: str) -> Review:
    if not actor.can("review"):
        raise PermissionError("this role cannot review items")
    if decision not in Review.Decision.values:
        raise ReviewError(f"decision must be one of {', '.join(Review.Decision.values)}")
    reason = reason.strip()
    if len(reason) < 3:
        raise ReviewError("a reason is required for every decision")
    with transaction.atomic():
        # Lock the row so two reviewers deciding at once cannot both be "first".
        analysis = Analysis.objects.select_for_update().get(pk=analysis.pk, tenant=actor.tenant)
        if analysis.state != Analysis.State.DONE:
            raise ReviewError("only a finished analysis can be reviewed")
        outcome, state = _outcome(actor, analysis, decision)
        review = Review.objects.create(analysis=analysis, reviewer=actor.label, decision=decision, reason=reason,
                                       outcome=outcome)
        Analysis.objects.filter(pk=analysis.pk).update(review_state=state)
        append_event(
            actor.tenant, actor.label, "review.decided", item_id=str(analysis.item_id), analysis_id=str(analysis.id),
            payload={"decision": decision, "reason": reason, "outcome": outcome, "review_state": state,
                     "automated_verdict": analysis.verdict, "automated_score": analysis.score},
        )
    return review


@dataclass(frozen=True)
class BulkResult:
    recorded: list[Review]
    refused: list[tuple[Analysis, str]]


def record_reviews(actor: Actor, analyses: Iterable[Analysis], decision: str, reason: str) -> BulkResult:
    """One decision and reason for many items; each is its own review and audit event.

    An item that cannot take the decision (still running, second reviewer
    needed) is refused with its reason while the others go through.
    """
    recorded: list[Review] = []
    refused: list[tuple[Analysis, str]] = []
    for analysis in analyses:
        try:
            recorded.append(record_review(actor, analysis, decision, reason))
        except ReviewError as exc:
            refused.append((analysis, str(exc)))
    return BulkResult(recorded, refused)
