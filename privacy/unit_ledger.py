"""Per-unit privacy accounting: what each image has spent over every job that trained on it, and admission.

The guarantee a model card states is per image, so the spend that matters is per image too: a unit's spend is
every live reservation recorded against it (``UnitReservation`` rows, whichever dataset the job ran on)
composed by the tenant's accountant at the tenant's delta. A job is admitted only if, for every unit it would
train on, that composition plus the job's own mechanism stays within the unit's budget: the tenant's per-image
budget, the dataset's, and the budget of every dataset whose jobs already trained on the unit (a promise made
for one upload follows the image into every re-upload). Otherwise the refusal names the exhausted units, or,
asked to, the job leaves them out and trains on the rest (an individual Rényi filter in the sense of Feldman &
Zrnic 2021: whether a unit participates depends only on the ledger, never on its data). Callers hold the units'
rows locked (:func:`lock_units`) between assessing and recording, as the dataset ledger does with its row.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Subquery

from privacy.accounting import Mechanism, epsilon_spent
from privacy.models import (
    BudgetLedgerEntry,
    DatasetImage,
    PrivacyUnit,
    PrivateDataset,
    TenantPrivacyBudget,
    UnitReservation,
)

Kind = BudgetLedgerEntry.Kind
History = tuple[tuple[float, float, int], ...]  # merged (noise, sample rate, steps), sorted


class UnitBudgetExceeded(Exception):
    """Some units the job would train on have too little budget left; the message names them."""

    def __init__(self, message: str, exhausted: list[UnitState]) -> None:
        super().__init__(message)
        self.exhausted = exhausted


@dataclass(frozen=True)
class UnitState:
    unit_id: int
    image: DatasetImage | None   # the member the job would train on (None when only reporting)
    epsilon_spent: float         # live reservations composed, before this job
    epsilon_after: float         # ... and with this job's mechanism
    epsilon_total: float         # the unit's budget (math.inf when nothing caps it)

    @property
    def exhausted(self) -> bool:
        return self.epsilon_after > self.epsilon_total

    @property
    def epsilon_left(self) -> float:
        return max(0.0, self.epsilon_total - self.epsilon_spent)


def merged(mechanisms: Iterable[Mechanism]) -> History:
    """Runs of the same (noise, sampling rate) summed: exact for RDP and PRV, and a hashable key to cache on."""
    steps: dict[tuple[float, float], int] = defaultdict(int)
    for m in mechanisms:
        if m.steps > 0:
            steps[(m.noise_multiplier, m.sample_rate)] += m.steps
    return tuple(sorted((noise, rate, n) for (noise, rate), n in steps.items()))


class Composer:
    """Composes histories at one (delta, accountant), once per distinct history (most units share one)."""

    def __init__(self, delta: float, accountant: str) -> None:
        self.delta, self.accountant = delta, accountant
        self._cache: dict[History, float] = {}

    def __call__(self, history: History) -> float:
        if history not in self._cache:
            self._cache[history] = epsilon_spent([Mechanism(*h) for h in history], self.delta, self.accountant)
        return self._cache[history]


def composer(policy: TenantPrivacyBudget) -> Composer:
    return Composer(policy.delta, policy.accountant)


def released_jobs() -> Subquery:
    return Subquery(BudgetLedgerEntry.objects.filter(kind=Kind.RELEASE).values("job_id"))


def live_reservations(units: Iterable[int] | None = None, *, dataset: PrivateDataset | None = None
                      ) -> dict[int, list[tuple[Mechanism, str]]]:
    """unit id -> [(mechanism, dataset id of the job)] for every live reservation on the units, oldest first:
    the units given, or every unit with an image in ``dataset``."""
    rows = UnitReservation.objects.exclude(entry__job_id__in=released_jobs())
    if dataset is not None:
        rows = rows.filter(unit_id__in=Subquery(DatasetImage.objects.filter(dataset=dataset).values("unit_id")))
    if units is not None:
        rows = rows.filter(unit_id__in=list(units))
    out: dict[int, list[tuple[Mechanism, str]]] = defaultdict(list)
    for unit_id, noise, rate, steps, dataset_id in rows.order_by("id").values_list(
            "unit_id", "entry__noise_multiplier", "entry__sample_rate", "entry__steps", "entry__dataset_id"):
        out[unit_id].append((Mechanism(noise, rate, steps), str(dataset_id)))
    return out


def _caps(dataset_ids: set[str]) -> dict[str, float]:
    return {str(pk): eps for pk, eps in PrivateDataset.objects.filter(pk__in=dataset_ids).values_list(
        "id", "epsilon_total")}


def assess(policy: TenantPrivacyBudget, dataset: PrivateDataset, images: Sequence[DatasetImage],
           mechanism: Mechanism | None) -> list[UnitState]:
    """Each image's unit before and after ``mechanism`` (None: no new job, for reporting), with its budget."""
    live = live_reservations(dataset=dataset)
    caps = _caps({d for entries in live.values() for _, d in entries})
    tenant_cap = math.inf if policy.epsilon_total is None else policy.epsilon_total
    compose, states = composer(policy), []
    for image in images:
        entries = live.get(image.unit_id, [])
        before = [m for m, _ in entries]
        total = min([tenant_cap, dataset.epsilon_total, *(caps[d] for _, d in entries)])
        spent = compose(merged(before))
        after = spent if mechanism is None else compose(merged([*before, mechanism]))
        states.append(UnitState(image.unit_id, image, spent, after, total))
    return states


def lock_units(dataset: PrivateDataset) -> list[int]:
    """Lock every unit with an image in the dataset, in id order (so two jobs never wait on each other in a
    cycle). PostgreSQL locks the rows; SQLite's IMMEDIATE transactions already serialise writers."""
    return list(PrivacyUnit.objects.select_for_update(of=("self",)).filter(
        pk__in=Subquery(DatasetImage.objects.filter(dataset=dataset).values("unit_id"))).order_by("id")
        .values_list("id", flat=True))


def _names(states: Sequence[UnitState], limit: int = 5) -> str:
    shown = [f"unit {s.unit_id} ({s.image.name if s.image else '?'}: ε {s.epsilon_spent:.3g} spent, "
             f"{s.epsilon_after:.3g} with this job, budget {s.epsilon_total:.3g})" for s in states[:limit]]
    more = f" and {len(states) - limit} more" if len(states) > limit else ""
    return "; ".join(shown) + more


def spread(values: Sequence[float]) -> dict[str, float] | None:
    """min / median / max, rounded for display (None for no values)."""
    if not values:
        return None
    return {"min": round(min(values), 4), "median": round(statistics.median(values), 4),
            "max": round(max(values), 4)}


def refusal(states: Sequence[UnitState], policy: TenantPrivacyBudget, alone: float) -> str:
    exhausted = [s for s in states if s.exhausted]
    rest = [s for s in states if not s.exhausted]
    left = spread([s.epsilon_left for s in rest])
    rest_text = (f"the other {len(rest)} have ε left min {left['min']:.3g} / median {left['median']:.3g} / max "
                 f"{left['max']:.3g}; resubmit with drop_exhausted (CLI --drop-exhausted) to train on those "
                 f"{len(rest)} only, " if left else "no image has budget left for it; ")
    return (f"this job needs ε={alone:.3g} per image, and {len(exhausted)} of {len(states)} training images would "
            f"pass their privacy budget (each image's ε composed over every job that trained on it, a copy or "
            f"a near-copy, at δ={policy.delta:g}): {_names(exhausted)}. {rest_text[:1].upper()}{rest_text[1:]}or lower the "
            "target ε or epochs, or ask an admin to raise the budget")


def check(states: Sequence[UnitState], policy: TenantPrivacyBudget, alone: float) -> None:
    """Raise :class:`UnitBudgetExceeded` if any unit would pass its budget."""
    exhausted = [s for s in states if s.exhausted]
    if exhausted:
        raise UnitBudgetExceeded(refusal(states, policy, alone), exhausted)


def record(entry: BudgetLedgerEntry, states: Sequence[UnitState]) -> list[UnitReservation]:
    """Append the reservation against every unit the job trains on (call with the units locked)."""
    return UnitReservation.objects.bulk_create([
        UnitReservation(entry=entry, unit_id=s.unit_id, image=s.image, epsilon_unit=s.epsilon_after)
        for s in states])


def unit_epsilon(unit_id: int, policy: TenantPrivacyBudget) -> float:
    """One unit's live spend: every job that trained on it, whichever dataset it came through."""
    live = live_reservations([unit_id]).get(unit_id, [])
    return composer(policy)(merged(m for m, _ in live))


def trained_units(entry: BudgetLedgerEntry) -> list[int]:
    return list(UnitReservation.objects.filter(entry=entry).values_list("unit_id", flat=True))


def spent_by_units(unit_ids: Sequence[int], policy: TenantPrivacyBudget) -> list[float]:
    """Each unit's live spend now, in the order given."""
    live, compose = live_reservations(unit_ids), composer(policy)
    return [compose(merged(m for m, _ in live.get(u, []))) for u in unit_ids]
