"""The run-size estimate on a desk that cannot keep up (returnsim.model.budget).

An overloaded desk holds more than a few days of requests: buyers who wait for their patience
to run out, and auto-authorised requests, which never give up, in a queue that grows for as long
as demand lasts. The estimate's ``held`` must cover the most desk slots a run ever holds
(``diagnostics["desk_slots"]``, a count, the same for the same seed), under every policy, since
the estimate is for any policy.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.model import budget
from returnsim.model.budget import estimate_run

# Two agents and 20 times the seed store's demand for 60 days: the auto-authorised requests
# alone need more agent hours than the desk is open, so their queue grows all along.
OVERLOADED = {"demand.orders_per_day": 3000, "horizon_days": 60}


@pytest.fixture(scope="module")
def overloaded():
    return rs.load_scenario(SEED_SCENARIO, OVERLOADED)


@pytest.mark.parametrize("policy", ["seed", "auto_authorise"])
def test_estimate_holds_every_slot_an_overloaded_desk_holds(overloaded, policy):
    """``seed`` leaves patient requests at the desk (their queue grows); ``auto_authorise`` sends
    no messages, so only buyers who give up are held. The old estimate (nine days of the peak
    month, about 9,800 requests here) fell short of the seed policy's 13,568 slots."""
    est = estimate_run(overloaded)
    slots = rs.simulate(overloaded, policy, seed=1).diagnostics["desk_slots"]
    assert est.held >= slots, (est.held, slots)
    assert est.memory_bytes >= budget.BYTES_PER_REQUEST * slots


def test_a_desk_that_keeps_up_holds_only_the_requests_in_progress():
    """Enough agents: no overload term, the estimate is the usual days of requests in progress
    (so the desk mix is not even sampled)."""
    sc = rs.load_scenario(SEED_SCENARIO, {**OVERLOADED, "desk.staff": 50})
    calls = []
    real = budget._desk_mix
    try:
        budget._desk_mix = lambda s: calls.append(s) or real(s)  # type: ignore[assignment]
        est = estimate_run(sc)
    finally:
        budget._desk_mix = real  # type: ignore[assignment]
    assert not calls
    base = estimate_run(rs.load_scenario(SEED_SCENARIO, {**OVERLOADED, "desk.staff": 100}))
    assert est.held == base.held


def test_patient_queue_grows_with_the_horizon_and_patience_alone_does_not():
    """With a growing queue of patient requests, held slots grow with the days of demand; a desk
    mix without patient requests holds a fixed span of arrivals (patience and a sweep)."""
    mix = budget.DeskMix(patient=0.4, impatient=0.35, patient_hours=0.2, impatient_hours=0.25, patience_days=4.5)
    agent_hours = 2 * 24 * 0.32
    per_day = 400.0
    short = budget._overload_slots(mix, None, per_day * 60, per_day, 60, agent_hours)
    long = budget._overload_slots(mix, None, per_day * 600, per_day, 600, agent_hours)
    # Q / patient: every request of the queue's span keeps its slot (and of the span of the
    # patient requests served in the last epoch, not yet settled).
    served = agent_hours / mix.patient_hours
    growth = per_day - served / mix.patient
    settling = served * budget.SWEEP_DAYS / mix.patient
    assert long == pytest.approx(growth * 600 + settling)
    assert short == pytest.approx(max(growth * 60 + settling, per_day * (mix.patience_days + budget.SWEEP_DAYS)))
    assert long > short
    impatient = budget.DeskMix(patient=0.0, impatient=0.75, patient_hours=0.0, impatient_hours=0.25, patience_days=4.5)
    fixed = per_day * (impatient.patience_days + budget.SWEEP_DAYS)
    assert budget._overload_slots(impatient, None, per_day * 60, per_day, 60, agent_hours) == pytest.approx(fixed)
    assert budget._overload_slots(impatient, None, per_day * 600, per_day, 600, agent_hours) == pytest.approx(fixed)


def test_desk_mix_is_kept_per_scenario_not_reused_for_another():
    """The sampled mix is cached by the scenario's content: the same scenario gets the same
    mix, one with slower handling gets its own."""
    a = rs.load_scenario(SEED_SCENARIO, OVERLOADED)
    b = rs.load_scenario(SEED_SCENARIO, {**OVERLOADED, "desk.handling_minutes.mean": 24})
    first = budget._desk_mix(a)
    assert budget._desk_mix(rs.load_scenario(SEED_SCENARIO, OVERLOADED)) == first
    slow = budget._desk_mix(b)
    assert slow[0].patient_hours > 1.5 * first[0].patient_hours
    assert budget._sample_desk_mix(b) == slow


def test_patient_queue_follows_the_season_day_by_day():
    """A busy month followed by a quiet one: the queue peaks at the end of the busy month
    (Lindley's recursion), longer than the whole period's mean rate would make it."""
    mix = budget.DeskMix(patient=0.4, impatient=0.35, patient_hours=0.2, impatient_hours=0.25, patience_days=4.5)
    agent_hours = 2 * 24 * 0.32
    served = agent_hours / mix.patient_hours
    daily = np.array([400.0] * 30 + [100.0] * 30)
    slots = budget._overload_slots(mix, daily, daily.sum(), 400.0, 60, agent_hours)
    busy_month = 30 * (mix.patient * 400.0 - served)
    assert slots == pytest.approx((busy_month + served * budget.SWEEP_DAYS) / mix.patient)
    assert slots > budget._overload_slots(mix, None, daily.sum(), 400.0, 60, agent_hours)
