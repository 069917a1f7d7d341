"""A run in memory that follows the requests in progress, with the numbers of drawing it all at once.

The scenario's requests are drawn a few days of orders at a time (``model/stream.py``), settled
requests are folded into running totals (``model/tally.py``) and the desk reuses its slots. These
tests check that none of this changes what is simulated: the stream gives exactly the requests,
customers and later-purchase uniforms of drawing every section of the random streams in one call
(as the model did before), settling in small batches gives the same trace and KPIs, and memory
stops growing with the horizon.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.model import simulation as sim_module
from returnsim.model import stream as stream_module
from returnsim.model.columns import concat_rows, take_rows
from returnsim.model.demand import (
    CUSTOMER_UNIFORMS,
    FOLLOWON_SLOTS,
    UNIFORMS,
    build_requests,
    customers,
)
from returnsim.model.desk import BLOCK, Desk
from returnsim.model.simulation import streams
from returnsim.model.sketch import QuantileSketch
from returnsim.model.stream import RequestStream
from returnsim.model.world import HOURS_PER_DAY, World
from returnsim.scenario.distributions import poisson_ppf


def drawn_at_once(world: World, seed: int):
    """The scenario's orders, requests, customers and later-purchase uniforms drawn the way the
    model drew them before streaming: each section of each stream in one call, then sorted."""
    rng = streams(seed)
    sc = world.scenario
    n_days = math.ceil(sc.horizon_days)
    length = np.minimum(1.0, sc.horizon_days - np.arange(n_days))
    dates = np.datetime64(sc.start_date.isoformat(), "D") + np.arange(n_days)
    season = np.asarray(sc.demand.seasonality)[dates.astype("datetime64[M]").astype(np.int64) % 12]
    per_day = rng["orders"].poisson(sc.demand.orders_per_day * season * length)
    returned = rng["orders"].binomial(per_day, world.overall_return_rate)
    day = np.repeat(np.arange(n_days), returned)
    order_time = (day + rng["orders"].random(len(day)) * length[day]) * HOURS_PER_DAY
    h = sc.health
    p_defect = 1 - (1 - h.chargeback_rate) * (1 - h.negative_seller_feedback_rate)
    kept_defects = rng["orders"].binomial(per_day - returned, p_defect)
    n = len(day)
    U = rng["requests"].random((n, len(UNIFORMS)))
    cust = customers(world, rng["requests"].random((n, CUSTOMER_UNIFORMS)))
    followon = rng["requests"].random((n, FOLLOWON_SLOTS, len(UNIFORMS) + 1))
    req = build_requests(world, U, order_time, np.arange(n), np.zeros(n, dtype=np.int64))
    order = np.argsort(req.request_time, kind="stable")
    return per_day, kept_defects, req.take(order), take_rows(cust, order), followon


@pytest.fixture(scope="module")
def seed_world() -> World:
    return World(rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 150}))


def frame(table) -> pd.DataFrame:
    return pd.DataFrame({k: v for k, v in vars(table).items() if isinstance(v, np.ndarray)})


@pytest.mark.parametrize("chunk", [1, 97, 10**9])
def test_the_stream_draws_what_drawing_at_once_would(seed_world, chunk):
    """Chunk by chunk, the released requests are exactly those of one draw per section, in
    request-time order, with consecutive ids; so are the kept orders' defects and every
    customer's later-purchase rows."""
    rng = streams(4)
    stream = RequestStream(seed_world, rng["orders"], rng["requests"], chunk=chunk)
    parts = list(iter(stream.next_part, None))
    per_day, kept_defects, req, cust, followon = drawn_at_once(seed_world, 4)
    assert len(parts) > (1 if chunk < 10**9 else 0)
    ids = np.concatenate([p.ids for p in parts])
    np.testing.assert_array_equal(ids, np.arange(stream.total))
    got_req = concat_rows([p.req for p in parts])
    assert np.all(np.diff(got_req.request_time) >= 0)
    pd.testing.assert_frame_equal(frame(got_req), frame(req))
    pd.testing.assert_frame_equal(frame(concat_rows([p.cust for p in parts])), frame(cust))
    np.testing.assert_array_equal(stream.orders.per_day, per_day)
    np.testing.assert_array_equal(stream.orders.kept_defects, kept_defects)
    who = np.array([0, 5, 5, stream.total - 1, 17, 3])
    slot = np.array([0, 3, 1, 2, 0, 3])
    np.testing.assert_array_equal(stream.followon_rows(who, slot), followon[who, slot])


def test_settling_in_small_batches_changes_nothing(monkeypatch):
    """Drawing 37 requests at a time and settling every day (instead of a few thousand and once
    a fortnight) gives the same trace and counts, and sums equal to rounding."""
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 120})
    world = World(sc)
    usual = rs.simulate(sc, "seed", seed=9, trace=True)
    assert sim_module._folds_per_epoch(world, 14.0) == 1
    monkeypatch.setattr(stream_module, "CHUNK_REQUESTS", 37)
    monkeypatch.setattr(sim_module, "FOLD_REQUESTS", 20)
    assert sim_module._folds_per_epoch(world, 14.0) == 14
    small = rs.simulate(sc, "seed", seed=9, trace=True)
    pd.testing.assert_frame_equal(small.trace, usual.trace, check_exact=True)
    assert small.diagnostics["followon_requests"] > 0
    for name, value in usual.kpis.items():
        assert small.kpis[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name
    for name, value in usual.ledger.items():
        assert small.ledger[name] == pytest.approx(value, rel=1e-12), name


def test_memory_follows_the_requests_in_progress_not_the_horizon():
    """A store of ~300 requests a day over 4x the horizon: 4x the requests, but the peak of the
    memory the run allocates (Python objects and numpy arrays, traced) and the desk's
    per-request slots grow far less (they would grow 4x if every request were kept)."""
    base = rs.load_scenario(SEED_SCENARIO)
    scale = {"demand.orders_per_day": base.demand.orders_per_day * 20, "desk.staff": base.desk.staff * 20}
    rs.simulate(rs.load_scenario(SEED_SCENARIO, overrides={**scale, "horizon_days": 7}), "seed", seed=1)
    runs, peaks = [], []
    for days in (42, 168):
        sc = rs.load_scenario(SEED_SCENARIO, overrides={**scale, "horizon_days": days})
        tracemalloc.start()
        try:
            runs.append(rs.simulate(sc, "seed", seed=1))
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    short, long = runs
    assert long.kpis["return_requests"] > 3.5 * short.kpis["return_requests"]
    assert peaks[1] < 2.0 * peaks[0], [p / 2**20 for p in peaks]
    assert long.diagnostics["desk_slots"] < 2.0 * short.diagnostics["desk_slots"]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(np.random.default_rng(0).lognormal(2, 1.5, 5000), id="lognormal"),
        pytest.param(np.random.default_rng(1).exponential(5, 3000) * (np.random.default_rng(2).random(3000) < 0.6), id="zeros"),
        pytest.param(np.repeat([0.0, 8.0, 16.0, 24.0], [10, 500, 30, 7]), id="ties"),
        pytest.param(np.array([3.5]), id="one"),
        pytest.param(np.zeros(40), id="all-zero"),
    ],
)
def test_the_quantile_sketch_is_within_its_relative_accuracy(values):
    sketch = QuantileSketch()
    for part in np.array_split(np.random.default_rng(3).permutation(values), 7):
        sketch.add(part)
    assert sketch.count == len(values)
    for q in (0.0, 0.05, 0.5, 0.9, 0.95, 0.99, 1.0):
        exact = np.percentile(values, 100 * q)
        assert abs(sketch.quantile(q) - exact) <= sketch.alpha * exact + 1e-12, q
    assert math.isnan(QuantileSketch().quantile(0.95))


def test_the_desk_reuses_a_block_once_every_slot_in_it_is_released():
    import simpy

    desk = Desk(simpy.Environment(), 1, None, "fifo", 48.0, [], [], [], [], [])

    def inputs(n: int) -> dict[str, list]:
        return {
            "request_time": [float(i) for i in range(n)],
            "service": [0.1] * n,
            "patience": [math.inf] * n,
            "follow_delay": [math.nan] * n,
            "follow_service": [0.0] * n,
            "lapse_at": [math.inf] * n,
            "instant": [False] * n,
        }

    first = desk.add(**inputs(BLOCK + 10))
    assert first == list(range(BLOCK + 10)) and desk.capacity == 2 * BLOCK
    desk.release(first[: BLOCK - 1])  # one slot of the first block still in use
    assert desk.add(**inputs(5))[0] == 2 * BLOCK and desk.capacity == 3 * BLOCK
    desk.release(first[BLOCK - 1 :])  # the first block is free now, the second too
    again = desk.add(**inputs(BLOCK))
    assert desk.capacity == 3 * BLOCK and sorted(again) in (first[:BLOCK], list(range(BLOCK, 2 * BLOCK)))
    assert desk.request_time[again[3]] == 3.0 and math.isnan(desk.start[again[3]])


def test_poisson_quantiles_are_elementwise():
    """Customers' purchases past the horizon are drawn a buffer at a time: that only gives the
    numbers of one call because the quantile function works element by element."""
    rng = np.random.default_rng(5)
    u, mu = rng.random(900), rng.exponential(3, 900)
    whole = poisson_ppf(u, mu)
    np.testing.assert_array_equal(np.concatenate([poisson_ppf(u[:300], mu[:300]), poisson_ppf(u[300:], mu[300:])]), whole)
