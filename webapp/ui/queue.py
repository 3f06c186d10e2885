"""The review queue's filters and sort orders, read from the query string.

Bad values are reported (and ignored) instead of raising, so a hand-edited URL
still shows a queue with a note about what was not understood.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, F, OuterRef
from django.db.models.query import QuerySet
from django.http import QueryDict
from django.utils import timezone

from forensics.models import Analysis, DetectorResult, MediaItem, ReviewState, Verdict

SORTS = {
    "newest": ("Newest first", ("-created_at",)),
    "oldest": ("Oldest first", ("created_at",)),
    "score_desc": ("Highest score first", (F("score").desc(nulls_last=True), "-created_at")),
    "score_asc": ("Lowest score first", (F("score").asc(nulls_last=True), "-created_at")),
}
FILTER_KEYS = ("state", "verdict", "media_type", "detector", "review", "min_score", "max_score", "since", "until",
               "sort")


@dataclass
class QueueFilters:
    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def querystring(self) -> str:
        """The filters as a query string (without the page), for pagination and bulk-action returns."""
        q = QueryDict(mutable=True)
        for key, value in self.values.items():
            if value:
                q[key] = value
        return q.urlencode()


def _score(raw: str, name: str, errors: list[str]) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        errors.append(f"{name} must be a number between 0 and 1, not {raw!r}")
        return None
    if not 0.0 <= value <= 1.0:
        errors.append(f"{name} must be between 0 and 1, not {raw!r}")
        return None
    return value


def _day(raw: str, name: str, errors: list[str]) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{name} must be a date like 2026-01-31, not {raw!r}")
        return None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def apply(qs: QuerySet[Analysis], params: QueryDict) -> tuple[QuerySet[Analysis], QueueFilters]:
    found = QueueFilters()
    errors = found.errors
    get = {key: params.get(key, "").strip() for key in FILTER_KEYS}
    choices: dict[str, tuple[list[str], str]] = {
        "state": (Analysis.State.values, "state"), "verdict": (Verdict.values, "verdict"),
        "media_type": ([v for v, _ in MediaItem.MEDIA_TYPES], "item__media_type"),
        "review": (ReviewState.values, "review_state"),
    }
    for key, (allowed, lookup) in choices.items():
        if get[key] in allowed:
            qs = qs.filter(**{lookup: get[key]})
            found.values[key] = get[key]
        elif get[key]:
            errors.append(f"unknown {key} {get[key]!r}; choose one of {', '.join(allowed)}")
    if get["detector"]:
        reached = DetectorResult.objects.filter(analysis=OuterRef("pk"), detector=get["detector"],
                                                score__isnull=False, threshold__isnull=False,
                                                score__gte=F("threshold"))
        qs = qs.filter(Exists(reached))
        found.values["detector"] = get["detector"]
    for key, lookup in (("min_score", "score__gte"), ("max_score", "score__lte")):
        if get[key] and (value := _score(get[key], key.replace("_", " "), errors)) is not None:
            qs = qs.filter(**{lookup: value})
            found.values[key] = get[key]
    if get["since"] and (day := _day(get["since"], "from", errors)):
        qs = qs.filter(created_at__gte=_start_of(day))
        found.values["since"] = get["since"]
    if get["until"] and (day := _day(get["until"], "to", errors)):
        if day < date.max:  # the last representable day has no "next day": it bounds nothing
            qs = qs.filter(created_at__lt=_start_of(day + timedelta(days=1)))  # the whole last day
        found.values["until"] = get["until"]
    sort = get["sort"] if get["sort"] in SORTS else "newest"
    if get["sort"] and get["sort"] not in SORTS:
        errors.append(f"unknown sort {get['sort']!r}")
    found.values["sort"] = sort if sort != "newest" else ""
    return qs.order_by(*SORTS[sort][1]), found


def detector_names(tenant: Any) -> list[str]:
    """Detectors that have produced a score for this tenant, for the filter's choices."""
    return sorted(set(DetectorResult.objects.filter(analysis__tenant=tenant, score__isnull=False)
                      .values_list("detector", flat=True).distinct()))
