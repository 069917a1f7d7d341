"""The faster forms of drawing and planning requests (issue 24) give the numbers of the forms
they replace, bit for bit: a categorical draw counted over a transposed table (``demand.pick``)
against counting along the gathered rows (``demand.pick_rows``); one ``ppf`` call for a per-row
limit (``demand.ppf_below_each``) against one ``ppf_below`` call per distinct limit, for every
family of distribution (those that override ``ppf_below`` included); holiday return windows
from a table per order day against calendar conversions per request; every offer kind's
acceptance in one formula against one pass per kind; and later-purchase rows read on demand
against the whole section drawn at once."""

from __future__ import annotations

import numpy as np
import pytest

from returnsim.model.demand import _distinct, pick, pick_rows, ppf_below_each
from returnsim.scenario import distributions as dist_


@pytest.mark.parametrize("n", [0, 1, 7, 4096])
def test_pick_is_pick_rows_of_the_gathered_rows(n: int) -> None:
    rng = np.random.default_rng(n)
    raw = rng.random((5, 6))
    raw[1, 2] = 0.0  # an empty category: a tie in the cumulative shares
    table = np.cumsum(raw, axis=1) / raw.sum(axis=1, keepdims=True)
    table[3] = np.cumsum([0.5, 0.25, 0.25, 0.0, 0.0, 0.0])  # shares that end early: exact 1.0
    row = rng.integers(0, 5, n)
    u = rng.random(n)
    u[: n // 3] = table[row[: n // 3], 1]  # uniforms exactly on a boundary
    got, want = pick(table, row, u), pick_rows(table[row], u)
    assert got.dtype == want.dtype == np.int64
    assert np.array_equal(got, want)


FAMILIES = [
    dist_.Fixed(value=3.0),
    dist_.Exponential(mean_=4.0),
    dist_.Gamma(mean_=8.0, cv=0.8),
    dist_.Lognormal(mean_=8.0, cv=0.8),
    dist_.Uniform(low=0.0, high=14.0),
    dist_.Triangular(low=0.0, mode=2.0, high=20.0),
    dist_.Empirical(values=[1.0, 2.0, 5.0, 30.0], weights=[1.0, 2.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("dist", FAMILIES, ids=lambda d: type(d).__name__)
@pytest.mark.parametrize("limits", [[2.0, 5.0, 14.0, 30.0, 61.0, 95.0], [30.5, 2.0, 61.0], [7000.0, 3.0]])
def test_ppf_below_each_is_ppf_below_per_limit(dist, limits: list[float]) -> None:
    """Whole days a short span apart (counted without a sort), a fraction of a day, and a span
    too wide to count (both sorted by np.unique)."""
    rng = np.random.default_rng(1)
    n = 3000
    u = rng.random((n, 3))[:, 1]  # a strided column, as build_requests passes it
    limit = rng.choice(limits, n)
    want = np.empty(n)
    for w in np.unique(limit):
        sel = limit == w
        want[sel] = dist.ppf_below(u[sel], float(w))
    got = ppf_below_each(dist, u, limit)
    assert got.tobytes() == want.tobytes()
    values, at = _distinct(limit)
    assert np.array_equal(values, np.unique(limit)) and np.array_equal(values[at], limit)


def _window_days_by_dates(world, order_time: np.ndarray, delivered: np.ndarray) -> np.ndarray:
    """The holiday return window computed with calendar conversions per request (the form
    ``demand.window_days`` replaced by a table per day)."""
    ret = world.scenario.returns
    base = np.full(len(order_time), float(ret.window_days))
    start = np.datetime64(world.scenario.start_date.isoformat(), "D")
    ordered = start + np.floor(order_time / 24.0).astype("timedelta64[D]")
    month = ordered.astype("datetime64[M]").astype(np.int64) % 12
    year = ordered.astype("datetime64[Y]").astype(np.int64) + 1970
    next_year = (year - 1970 + 1).astype("datetime64[Y]").astype("datetime64[D]")
    feb1 = (next_year + 31 - start).astype(np.int64)
    extended = np.floor(feb1 - np.floor(delivered / 24.0))
    return np.where(month >= 10, np.maximum(base, extended), base)


@pytest.mark.parametrize("start", ["2025-01-06", "2024-07-01", "2023-12-25"])
def test_window_days_table_is_the_calendar(start: str) -> None:
    import returnsim as rs
    from returnsim.model.demand import window_days
    from returnsim.model.world import World

    sc = rs.load_scenario("scenarios/seed_policies.toml")
    assert sc.returns.holiday_window
    world = World(sc.model_copy(update={"start_date": np.datetime64(start).astype(object)}))
    rng = np.random.default_rng(3)
    # Orders over three years, some before t = 0 (a replay's), in batches that extend the table.
    for lo, hi in [(0, 400), (-40, 10), (300, 1200), (0, 5)]:
        order_time = rng.uniform(lo, hi, 500) * 24.0
        order_time[:3] = [lo * 24.0, (hi - 1) * 24.0, 0.0]  # day boundaries
        delivered = order_time + rng.uniform(1, 9, 500) * 24.0
        got = window_days(world, order_time, delivered)
        assert got.tobytes() == _window_days_by_dates(world, order_time, delivered).tobytes()


def test_offer_acceptance_is_the_formula_kind_by_kind() -> None:
    """All offer kinds in one vectorised formula give each kind's own formula, bit for bit."""
    import returnsim as rs
    from returnsim.model.buyer import logistic, offer_acceptance
    from returnsim.model.world import World
    from returnsim.scenario import OFFER_KINDS

    sc = rs.load_scenario("scenarios/seed_policies.toml")
    world = World(sc)
    rng = np.random.default_rng(4)
    # Shifts by true reason (``buyer.offers.*.by_reason``; the seed scenario gives none).
    world.offer_reason_shift = rng.normal(0.0, 1.0, world.offer_reason_shift.shape)
    n = 2000
    offer = np.where(rng.random(n) < 0.7, rng.integers(0, len(OFFER_KINDS), n), -1)
    share, hours = rng.random(n), rng.exponential(40.0, n)
    reason = rng.integers(0, len(world.reason_names), n)
    want = np.zeros(n)
    for k, kind in enumerate(OFFER_KINDS):
        m, sel = sc.buyer.offers[kind], offer == k
        x = (
            m.intercept
            + m.per_value_share * share[sel]
            + m.per_day_delay * (hours / 24.0)[sel]
            + m.per_quality * sc.desk.service_quality
            + world.offer_reason_shift[k][reason[sel]]
        )
        want[sel] = logistic(x)
    got = offer_acceptance(world, offer, share, hours, reason)
    assert got.tobytes() == want.tobytes()
    assert (got[offer < 0] == 0).all() and (got[offer >= 0] > 0).all()


def test_followon_rows_read_in_runs_are_the_section_drawn_at_once() -> None:
    """Later-purchase rows read a run of adjacent rows per call (a customer's slots) are those
    of the whole section drawn at once, for adjacent, scattered, repeated and unsorted rows."""
    import returnsim as rs
    from returnsim.model.demand import FOLLOWON_SLOTS, UNIFORMS
    from returnsim.model.simulation import streams
    from returnsim.model.stream import RequestStream
    from returnsim.model.world import World

    world = World(rs.load_scenario("scenarios/seed_policies.toml"))
    rng = streams(7)
    stream = RequestStream(world, rng["orders"], rng["requests"])
    bit = type(rng["requests"].bit_generator)()
    bit.state = stream._followon_state
    width = len(UNIFORMS) + 1
    section = np.random.Generator(bit).random((stream.total, FOLLOWON_SLOTS, width))
    last = stream.total - 1
    who = np.array([3, 3, 3, 3, 4, 9, 9, 4, 0, last, last, 3, 8, 8])
    slot = np.array([0, 1, 2, 3, 0, 2, 3, 1, 0, 3, 2, 1, 1, 1])
    np.testing.assert_array_equal(stream.followon_rows(who, slot), section[who, slot])
    np.testing.assert_array_equal(stream.followon_rows(who[:0], slot[:0]), section[:0, 0])
