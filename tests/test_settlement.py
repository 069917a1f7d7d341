"""Settling late changes nothing: a request waits to be settled until one of the waiting requests
could place a later purchase before the next epoch ends (``model/simulation.py``,
``CustomerBook.earliest_order``), and the run gives the numbers of settling at the end of every
epoch — the same trace, bit for bit, and sums equal to rounding (they are added in other
batches). Also: the bound on a request's later purchases is checked on every run, and a feed
started late delivers its requests at the instants a feed started on time would have.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import simpy
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.model import retention as retention_module
from returnsim.model import simulation as sim_module
from returnsim.model.desk import Desk


def _both(monkeypatch, sc, seed: int, **kw) -> tuple[rs.RunResult, rs.RunResult]:
    """The run settling every epoch, then the run settling late (the default)."""
    with monkeypatch.context() as m:
        m.setattr(sim_module, "SETTLE_LATE", False)
        every = rs.simulate(sc, "seed", seed=seed, trace=True, **kw)
    late = rs.simulate(sc, "seed", seed=seed, trace=True, **kw)
    return every, late


def _same_numbers(every: rs.RunResult, late: rs.RunResult) -> None:
    pd.testing.assert_frame_equal(late.trace, every.trace, check_exact=True)
    for name, value in every.kpis.items():
        assert late.kpis[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name
    for name, value in every.ledger.items():
        assert late.ledger[name] == pytest.approx(value, rel=1e-12, abs=1e-9), name
    for name in ("queue_area", "busy_hours", "desk_visits", "end_time", "clamped_followons", "followon_requests"):
        assert late.diagnostics[name] == every.diagnostics[name], name


@pytest.mark.parametrize("epoch_days", [14.0, 10.1])
def test_settling_late_gives_the_numbers_of_settling_every_epoch(monkeypatch, epoch_days):
    """With purchases feeding back, some clamped to the end of their epoch (10.1 days: epoch
    ends that are not whole hours)."""
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 200})
    every, late = _both(monkeypatch, sc, seed=1 if epoch_days == 14.0 else 0, epoch_days=epoch_days)
    _same_numbers(every, late)
    assert late.diagnostics["followon_requests"] > 0 and late.diagnostics["clamped_followons"] > 0
    assert late.diagnostics["settlements"] < every.diagnostics["settlements"]


def test_without_feedback_a_small_store_settles_in_a_few_batches(monkeypatch):
    """No later purchases: nothing forces a settlement until FOLD_REQUESTS requests wait."""
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"retention.feedback_into_demand": False})
    every, late = _both(monkeypatch, sc, seed=1)
    _same_numbers(every, late)
    requests = late.kpis["return_requests"]
    assert late.diagnostics["settlements"] <= math.ceil(requests / sim_module.FOLD_REQUESTS) + 1
    assert every.diagnostics["settlements"] > 20


def test_a_bound_that_promises_purchases_too_late_is_caught(monkeypatch):
    """The run checks each later purchase against the bound it deferred on; a wrong bound (one
    that forgets the purchases) stops the run instead of silently placing purchases in the past."""

    def too_late(self, customers, customer, generation, request_time):
        return np.full(len(customer), np.inf)

    monkeypatch.setattr(retention_module.CustomerBook, "earliest_order", too_late)
    with pytest.raises(RuntimeError, match="earliest_order is not a bound"):
        rs.simulate(SEED_SCENARIO, "seed", seed=0)


def test_the_bound_is_below_every_later_purchase():
    """For a run's generation-0 requests, the return request of each of its later purchases
    (generation 1 rows of the same customer) comes no earlier than the bound computed from the
    request alone. (Returners buying 0.5 times a year, not the seed's 0.2, for enough later
    purchases in the horizon.)"""
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 200, "buyer.purchases_per_year.mean": 0.5})
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    real = retention_module.CustomerBook.earliest_order

    def spy(self, customers, customer, generation, request_time):
        due = real(self, customers, customer, generation, request_time)
        seen.append((customer[generation == 0], due[generation == 0]))
        return due

    mp = pytest.MonkeyPatch()
    mp.setattr(retention_module.CustomerBook, "earliest_order", spy)
    try:
        run = rs.simulate(sc, "seed", seed=7, trace=True)
    finally:
        mp.undo()
    bound = dict(zip(np.concatenate([c for c, _ in seen]).tolist(), np.concatenate([d for _, d in seen]).tolist(), strict=True))
    later = run.trace[run.trace.generation == 1]
    assert len(later) > 50
    for customer, request_time in zip(later.customer, later.request_time, strict=True):
        assert bound[customer] <= request_time
    # And it is not vacuous: most customers can place nothing, so they never force a settlement.
    values = np.array(list(bound.values()))
    assert np.isinf(values).mean() > 0.5 and np.isfinite(values).any()


def test_a_feed_started_late_lands_where_one_started_on_time_would():
    """A clock advanced from 387.9 by the delay to 1713.2 lands one bit off 1713.2; a feed that
    starts at 500 but is told it started at 387.9 lands on that same instant, and a feed told
    nothing lands on the request's own time."""
    origin, t = 387.9, 1713.2
    assert origin + (t - origin) != t  # the case worth testing

    def arrival(start: float, origin: float | None) -> float:
        env = simpy.Environment(initial_time=start)
        desk = Desk(env, 1, None, "fifo", 48.0, [t], [1.0], [math.inf], [math.nan], [0.0])
        env.process(desk.feed([0], origin=origin))
        env.run()
        return desk.start[0]

    on_time = arrival(origin, None)
    assert on_time == origin + (t - origin)
    assert arrival(500.0, origin) == on_time
    assert arrival(500.0, None) == t
