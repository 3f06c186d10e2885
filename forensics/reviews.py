"""Recording a moderator's decision: a reason is required, and the decision is an audit event."""
from __future__ import annotations

from django.db import transaction

from forensics.models import Analysis, Review
from provenance.audit import append_event
from webapp.accounts.tenancy import Actor


class ReviewError(ValueError):
    pass


def record_review(actor: Actor, analysis: Analysis, decision: str, reason: str) -> Review:
    if not actor.can("review"):
        raise PermissionError("this role cannot review items")
    if decision not in Review.Decision.values:
        raise ReviewError(f"decision must be one of {', '.join(Review.Decision.values)}")
    reason = reason.strip()
    if len(reason) < 3:
        raise ReviewError("a reason is required for every decision")
    if analysis.state != Analysis.State.DONE:
        raise ReviewError("only a finished analysis can be reviewed")
    with transaction.atomic():
        review = Review.objects.create(analysis=analysis, reviewer=actor.label, decision=decision, reason=reason)
        append_event(
            actor.tenant, actor.label, "review.decided", item_id=str(analysis.item_id), analysis_id=str(analysis.id),
            payload={"decision": decision, "reason": reason, "automated_verdict": analysis.verdict,
                     "automated_score": analysis.score},
        )
    return review
