"""The settlement's fused steps (issue 24: fewer numpy calls per batch) give the very numbers of
the step-by-step formulas they replace, bit for bit."""

from __future__ import annotations

import datetime as dt

import numpy as np
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.model import buyer, retention
from returnsim.model.buyer import logistic
from returnsim.model.calendar import Calendar
from returnsim.model.world import World
from returnsim.scenario import OFFER_KINDS


def _world() -> World:
    return World(rs.load_scenario(SEED_SCENARIO))


def test_feedback_and_multiplier_is_the_three_logits() -> None:
    world = _world()
    r = world.scenario.retention
    s = np.concatenate([np.linspace(-40.0, 40.0, 801), [0.0, -0.0, 1e-300]])
    negative, seller, multiplier = retention.feedback_and_multiplier(world, s)
    for got, m, scale in (
        (negative, r.negative_feedback, 1.0),
        (seller, r.negative_seller_feedback, 1.0),
        (multiplier, r.repeat_multiplier, r.repeat_multiplier.maximum),
    ):
        np.testing.assert_array_equal(got, scale * logistic(m.intercept + m.per_satisfaction * s))


def test_add_business_days_is_business_time_then_the_day_table() -> None:
    cal = Calendar(dt.date(2024, 1, 1), [dt.date(2024, 1, 15), dt.date(2024, 12, 25)])
    rng = np.random.default_rng(7)
    # Random times, and midnights with whole days to go (targets exactly on a day boundary, where
    # which side of the boundary is taken matters), over two years (the table grows on demand).
    t = np.concatenate([rng.random(500) * 700 * 24, np.arange(0, 700, 3) * 24.0])
    days = np.concatenate([rng.random(500) * 3, np.tile([0.0, 1.0, 2.0], 234)[: 700 // 3 + 1]])
    got = cal.add_business_days(t, days)
    target = cal.business_time(t) + days
    day = np.maximum(np.searchsorted(cal.before, target, side="left") - 1, 0)
    want = np.maximum((day + (target - cal.before[day])) * 24.0, t)
    np.testing.assert_array_equal(got, want)


def test_offer_acceptance_is_the_formula_row_by_row() -> None:
    world = _world()
    offers = world.scenario.buyer.offers
    rng = np.random.default_rng(3)
    n = 400
    kinds = [k for k, kind in enumerate(OFFER_KINDS) if kind in offers]
    offer = np.where(rng.random(n) < 0.3, -1, rng.choice(kinds, n))
    value = rng.random(n)
    hours = rng.random(n) * 96
    reason = rng.integers(0, len(world.reason_names), n)
    got = buyer.offer_acceptance(world, offer, value, hours, reason)
    q = world.scenario.desk.service_quality
    for i in range(n):
        if offer[i] < 0:
            assert got[i] == 0.0
            continue
        m = offers[OFFER_KINDS[offer[i]]]
        x = (
            m.intercept
            + m.per_value_share * value[i]
            + m.per_day_delay * (hours[i] / 24.0)
            + m.per_quality * q
            + world.offer_reason_shift[offer[i], reason[i]]
        )
        assert got[i] == logistic(np.array([x]))[0]
