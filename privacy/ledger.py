"""The per-dataset privacy budget: what is reserved, what is left, and the refusal when a job would overspend.

Every private job's mechanism (noise multiplier, sampling rate, steps) is RESERVED in the append-only ledger
before training starts, and the dataset's spend is all live reservations composed by a sound accountant
(Opacus's RDP or PRV, via ``privacy.accounting``) at the dataset's delta; composing per-job epsilons by
simple addition would overstate the spend, composing them any looser would understate it. A reservation is
RELEASED only when its job failed before its first DP step. Callers hold the dataset row locked
(``select_for_update``; SQLite's IMMEDIATE transactions serialise writers) between reading the ledger and
appending to it, which is what keeps two concurrent jobs from overspending together.
"""
from __future__ import annotations

from dataclasses import dataclass

from privacy.accounting import Mechanism, epsilon_spent
from privacy.models import BudgetLedgerEntry, PrivateDataset, PrivateFinetuneJob

Kind = BudgetLedgerEntry.Kind


class BudgetExceeded(Exception):
    """The job would take the dataset past its budget; the message says by how much and what to do."""


@dataclass(frozen=True)
class Budget:
    epsilon_total: float
    epsilon_spent: float
    delta: float
    accountant: str

    @property
    def epsilon_left(self) -> float:
        return max(0.0, self.epsilon_total - self.epsilon_spent)


def mechanism_of(entry: BudgetLedgerEntry) -> Mechanism:
    return Mechanism(entry.noise_multiplier, entry.sample_rate, entry.steps)


def live_mechanisms(dataset: PrivateDataset) -> list[Mechanism]:
    """The mechanisms of every reservation on ``dataset`` that was not released."""
    entries = list(BudgetLedgerEntry.objects.filter(dataset=dataset).order_by("id"))
    released = {e.job_id for e in entries if e.kind == Kind.RELEASE}
    return [mechanism_of(e) for e in entries if e.kind == Kind.RESERVE and e.job_id not in released]


def composed(mechanisms: list[Mechanism], dataset: PrivateDataset) -> float:
    """All ``mechanisms`` composed at the dataset's delta. Runs of the same (noise, sampling rate) are merged
    into one entry with their steps summed first: exact for both accountants, and it keeps the cost of a
    long ledger at the number of distinct configurations."""
    merged: dict[tuple[float, float], int] = {}
    for m in mechanisms:
        merged[(m.noise_multiplier, m.sample_rate)] = merged.get((m.noise_multiplier, m.sample_rate), 0) + m.steps
    return epsilon_spent([Mechanism(noise, rate, steps) for (noise, rate), steps in merged.items()],
                         dataset.delta, dataset.accountant)


def budget(dataset: PrivateDataset) -> Budget:
    return Budget(dataset.epsilon_total, composed(live_mechanisms(dataset), dataset), dataset.delta,
                  dataset.accountant)


def reserve(dataset: PrivateDataset, job: PrivateFinetuneJob, mechanism: Mechanism, actor: str,
            alone: float | None = None, *, enforce: bool = True) -> BudgetLedgerEntry:
    """Append the job's reservation, or raise :class:`BudgetExceeded` (call with ``dataset`` locked).

    ``alone`` (the mechanism's own epsilon at the dataset's delta) can be computed before taking the lock.
    ``enforce=False`` records without the dataset-wide check: for a job that leaves out the images without
    budget (``privacy.unit_ledger`` checks every image it does train on), where the dataset-wide composition
    is only an upper bound that would refuse the images that still have budget."""
    existing = live_mechanisms(dataset)
    after = composed([*existing, mechanism], dataset)
    alone = composed([mechanism], dataset) if alone is None else alone
    if enforce and after > dataset.epsilon_total:
        left = max(0.0, dataset.epsilon_total - composed(existing, dataset))
        raise BudgetExceeded(
            f"this job needs ε={alone:.3g} (ε={after:.3g} composed with the dataset's earlier jobs, at δ="
            f"{dataset.delta:g}), the dataset has ε={left:.3g} of {dataset.epsilon_total:.3g} left; lower the "
            "target ε or epochs, or ask an admin to raise the budget")
    return BudgetLedgerEntry.objects.create(
        dataset=dataset, job=job, kind=Kind.RESERVE, noise_multiplier=mechanism.noise_multiplier,
        sample_rate=mechanism.sample_rate, steps=mechanism.steps, accountant=dataset.accountant,
        delta=dataset.delta, epsilon_job=alone, epsilon_composed=after, actor=actor)


def release(job: PrivateFinetuneJob, actor: str, reason: str) -> BudgetLedgerEntry | None:
    """Give back the job's reservation (only for a job that never took a DP step; the caller decides that)."""
    dataset = PrivateDataset.objects.select_for_update().get(pk=job.dataset_id)
    entries = {e.kind: e for e in BudgetLedgerEntry.objects.filter(job=job)}
    reservation = entries.get(Kind.RESERVE)
    if reservation is None or Kind.RELEASE in entries:
        return None
    remaining = live_mechanisms(dataset)
    remaining.remove(mechanism_of(reservation))
    return BudgetLedgerEntry.objects.create(
        dataset=dataset, job=job, kind=Kind.RELEASE, noise_multiplier=reservation.noise_multiplier,
        sample_rate=reservation.sample_rate, steps=reservation.steps, accountant=reservation.accountant,
        delta=reservation.delta, epsilon_job=reservation.epsilon_job,
        epsilon_composed=composed(remaining, dataset), actor=actor, reason=reason)


def reservation_of(job: PrivateFinetuneJob) -> BudgetLedgerEntry | None:
    return BudgetLedgerEntry.objects.filter(job=job, kind=Kind.RESERVE).first()
