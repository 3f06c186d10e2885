"""The ledger's accountant agrees with Opacus's own accountants and composes soundly."""
from __future__ import annotations

import pytest
from opacus.accountants import PRVAccountant, RDPAccountant

from privacy.accounting import Mechanism, epsilon_spent, noise_for_target

DELTA = 1e-5


@pytest.mark.parametrize("accountant_cls, name", [(RDPAccountant, "rdp"), (PRVAccountant, "prv")])
def test_epsilon_equals_opacus_accountant_stepped_by_hand(accountant_cls, name):
    job_a, job_b = Mechanism(1.1, 0.02, 150), Mechanism(2.0, 0.05, 40)
    reference = accountant_cls()
    for job in (job_a, job_b):
        for _ in range(job.steps):  # what DPOptimizer's hook does, one step at a time
            reference.step(noise_multiplier=job.noise_multiplier, sample_rate=job.sample_rate)
    assert epsilon_spent([job_a, job_b], DELTA, name) == pytest.approx(reference.get_epsilon(delta=DELTA), rel=1e-9)


def test_composition_is_at_least_each_and_at_most_the_sum():
    a, b = Mechanism(1.0, 0.05, 100), Mechanism(1.5, 0.1, 60)
    eps_a, eps_b = epsilon_spent([a], DELTA), epsilon_spent([b], DELTA)
    both = epsilon_spent([a, b], DELTA)
    assert max(eps_a, eps_b) < both <= eps_a + eps_b
    assert epsilon_spent([], DELTA) == 0.0


@pytest.mark.parametrize("name", ["rdp", "prv"])
def test_noise_for_target_lands_just_under_the_target(name):
    noise = noise_for_target(2.0, DELTA, 0.04, 200, name)
    spent = epsilon_spent([Mechanism(noise, 0.04, 200)], DELTA, name)
    assert 2.0 - 0.05 <= spent <= 2.0
    assert epsilon_spent([Mechanism(noise * 0.95, 0.04, 200)], DELTA, name) > 2.0  # smallest, to the search's precision


def test_unreachable_budget_and_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="delta"):
        epsilon_spent([Mechanism(1.0, 0.1, 10)], 0.0)
    with pytest.raises(ValueError, match="accountant"):
        epsilon_spent([Mechanism(1.0, 0.1, 10)], DELTA, "gdp-typo")
    with pytest.raises(ValueError, match="sample_rate"):
        Mechanism(1.0, 1.5, 10)


def test_live_epsilon_curve_matches_the_accountant():
    from privacy.accounting import rdp_epsilon_by_step

    job = Mechanism(1.3, 0.03, 500)
    curve = rdp_epsilon_by_step(job, DELTA)
    for steps in (1, 37, 500):
        assert curve(steps) == pytest.approx(epsilon_spent([Mechanism(1.3, 0.03, steps)], DELTA), rel=1e-9)
