"""The desk's service order, time by time, against a reference desk replayed by hand.

SimPy's own tests check exact event logs on tiny deterministic cases; here each case fixes every
duration (handling, reply, follow-up, patience), so once the requests' arrival times are drawn the
documented rules fix every pick-up, answer, give-up and second touch. ``tests/oracles/desk.py``
replays those rules with its own event loop (no SimPy, nothing from ``returnsim.model``), and the
simulation's trace must give the same times to a microsecond: first come first served, the
deadline discipline, opening hours and holidays, several agents, buyers who give up, and second
touches before, among or after new requests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from conftest import minimal_raw, put
from oracles.desk import WeekHours, reference_desk

import returnsim as rs

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def scenario(*, staff: int = 1, hours: Any = "24/7", per_day: float = 24, handling: float = 50, days: int = 21,
             policy: dict[str, Any] | None = None, **more: Any) -> rs.Scenario:
    """Every request is returned (return rate 1) with fixed handling minutes; no question to the
    buyer unless ``policy`` makes an offer."""
    raw = minimal_raw(horizon_days=days)
    raw["demand"]["orders_per_day"] = per_day
    raw["catalog"]["widget"]["return_rate"] = 1.0
    raw["desk"] = {"staff": staff, "hours": hours, "handling_minutes": handling, "follow_up_minutes": 6}
    raw["buyer"] = {"patience_hours": 10_000, "reply_hours": 3}
    raw["policies"] = {"p": policy or {}}
    return rs.parse_scenario(put(raw, **more))


def week_hours(sc: rs.Scenario) -> WeekHours | None:
    if sc.desk.hours == "24/7":
        return None
    holidays = [(d - sc.start_date).days for d in sc.desk.holidays]
    spells = []
    for i, day in enumerate(WEEKDAYS):
        h = getattr(sc.desk.hours, day)
        if h is not None:
            spells.append((24.0 * i + h.open, 24.0 * i + h.close))
    return WeekHours(spells, holidays)


def replay(sc: rs.Scenario, tr: Any) -> Any:
    pol = sc.policies["p"]
    n = len(tr)
    asks = bool(pol.offers)
    fixed = lambda d: float(d.value) if hasattr(d, "value") else float(d.mean)  # noqa: E731
    return reference_desk(
        tr.request_time.to_numpy(),
        np.full(n, fixed(sc.desk.handling_minutes) / 60),
        staff=sc.desk.staff,
        hours=week_hours(sc),
        discipline=pol.discipline,
        late_after=sc.desk.late_after_hours,
        patience=np.full(n, fixed(sc.buyer.patience_hours)),
        follow_delay=np.full(n, fixed(sc.buyer.reply_hours) if asks else np.nan),
        follow_service=np.full(n, fixed(sc.desk.follow_up_minutes) / 60),
        lapse_at=tr.request_time.to_numpy() + sc.desk.late_after_hours if pol.authorise_at_deadline else None,
        follow_priority=pol.follow_up_priority,
    )


def check_trace(sc: rs.Scenario, seed: int = 1) -> Any:
    tr = rs.simulate(sc, "p", seed=seed, trace=True).trace
    assert tr.generation.eq(0).all() and len(tr) > 100
    ref = replay(sc, tr)
    np.testing.assert_allclose(tr.t_start.to_numpy(), ref.start, atol=1e-6, equal_nan=True)
    answered = ~np.isnan(ref.start)
    np.testing.assert_allclose(tr.t_answer.to_numpy()[answered], ref.answer[answered], atol=1e-6)
    gone = ~np.isnan(ref.abandoned)
    assert np.array_equal(tr.escalated.to_numpy(), gone)
    np.testing.assert_allclose(tr.t_answer.to_numpy()[gone], ref.abandoned[gone], atol=1e-6)
    np.testing.assert_allclose(tr.t_follow.to_numpy(), ref.follow_done, atol=1e-6, equal_nan=True)
    return tr, ref


def test_one_agent_first_come_first_served():
    """One agent, 24/7, 50 minutes a request, ~24 requests a day (load 0.83): a real queue."""
    tr, _ = check_trace(scenario())
    assert (tr.wait_hours > 1).mean() > 0.3
    # The order itself: picked up in the order of arrival.
    assert (np.diff(tr.t_start.to_numpy()[np.argsort(tr.request_time.to_numpy())]) > 0).all()


def test_opening_hours_holidays_and_two_agents():
    weekdays = {d: [9, 17] for d in WEEKDAYS[:5]} | {"sat": [10, 14]}
    sc = scenario(staff=2, hours=weekdays, per_day=40, handling=25,
                  **{"desk.holidays": [dt.date(2024, 1, 3), dt.date(2024, 1, 12)]})
    tr, _ = check_trace(sc)
    assert (tr.wait_hours > 12).mean() > 0.2  # nights and Sundays


def test_deadline_discipline_answers_savable_requests_first():
    """An overloaded desk with a 6 h deadline: the oldest request that can still be answered in
    time first, the hopeless ones when nothing can be saved."""
    sc = scenario(per_day=30, handling=55, days=14, **{"desk.late_after_hours": 6,
                                                      "policies.p.discipline": "deadline"})
    tr, _ = check_trace(sc)
    started = tr.t_start.to_numpy()[np.argsort(tr.request_time.to_numpy())]
    assert (np.diff(started) < 0).any()  # not first come, first served


def test_buyers_who_give_up_leave_when_their_patience_ends():
    weekdays = {d: [9, 17] for d in WEEKDAYS[:5]}
    sc = scenario(staff=1, hours=weekdays, per_day=12, handling=30, **{"buyer.patience_hours": 30})
    tr, _ = check_trace(sc)
    assert tr.escalated.sum() > 10


@pytest.mark.parametrize("priority", ["before_new", "arrival", "after_new"])
def test_second_touches_queue_with_new_requests(priority):
    """Every request gets a troubleshooting offer; the buyer's answer lands 3 h after the first
    answer and takes an agent 6 minutes; with a closed night the inbox mixes both kinds."""
    hours = {d: [7, 23] for d in WEEKDAYS}
    policy = {"offers": [{"kind": "troubleshoot"}], "follow_up_priority": priority}
    sc = scenario(staff=1, hours=hours, per_day=22, handling=40, policy=policy)
    tr, _ = check_trace(sc)
    assert tr.second_touch.sum() > 100


def test_a_reply_after_the_deadline_is_no_desk_work():
    """Replies land 46.5 h after the first answer: those of requests answered more than 1.5 h
    after they arrived come after the 48 h deadline, when a rule set in advance has authorised
    the return already, so no agent spends time on them."""
    policy = {"offers": [{"kind": "troubleshoot"}]}
    sc = scenario(staff=1, per_day=26, handling=50, policy=policy, **{"buyer.reply_hours": 46.5})
    tr, ref = check_trace(sc)
    assert tr.lapsed.sum() > 50 and tr.second_touch.sum() > 50
    assert np.isnan(ref.follow_arrive[tr.lapsed.to_numpy()]).all()
