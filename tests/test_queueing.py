"""The desk against queueing theory: Erlang C, Erlang A and Little's law.

``scenarios/validation/mmc_desk.toml`` makes the desk an M/M/c queue. Each check replicates the
model with independent seeds and asks whether Erlang C's value lies inside the replications'
99 % Student-t confidence interval (99 % rather than 95 % because the file makes eight such
checks; with fixed seeds the outcome is reproducible, and a real discrepancy of the size of the
interval would still show).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy
from conftest import MMC_SCENARIO
from scipy import stats

import returnsim as rs
from returnsim.analytic import erlang_a, erlang_c
from returnsim.model.desk import Desk, OpenHours


def ci(values: list[float], level: float = 0.99) -> tuple[float, float]:
    x = np.asarray(values)
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def mmc_scenario(staff: int, per_day: float, minutes: float, **more) -> rs.Scenario:
    """The M/M/c validation desk with ``staff`` agents, ``per_day`` requests a day and
    exponential handling of mean ``minutes``, plus any other overrides."""
    overrides = {"desk.staff": staff, "demand.orders_per_day": per_day, "desk.handling_minutes.mean": minutes}
    return rs.load_scenario(MMC_SCENARIO, overrides={**overrides, **more})


CASES = [
    # staff, requests per day, handling minutes: offered load / staff
    (3, 100, 30),  # rho = 0.69
    (2, 60, 36),  # rho = 0.75
]


@pytest.mark.parametrize("discipline", ["fifo", "deadline"])
@pytest.mark.parametrize("staff, per_day, minutes", CASES)
def test_erlang_c_wait_probability_and_mean_wait(staff, per_day, minutes, discipline):
    sc = mmc_scenario(staff, per_day, minutes, horizon_days=90)
    p_wait, wq = erlang_c(per_day / 24, 60 / minutes, staff)
    runs = [rs.simulate(sc, discipline, seed=(11, r)).kpis for r in range(16)]
    lo, hi = ci([k["desk_wait_hours_mean"] for k in runs])
    assert lo <= wq <= hi, f"Erlang C Wq {wq:.4f} h outside the 99 % CI [{lo:.4f}, {hi:.4f}]"
    lo, hi = ci([k["desk_wait_probability"] for k in runs])
    assert lo <= p_wait <= hi, f"Erlang C P(wait) {p_wait:.4f} outside [{lo:.4f}, {hi:.4f}]"
    util = np.mean([k["desk_utilization"] for k in runs])
    assert util == pytest.approx(per_day / 24 * minutes / 60 / staff, rel=0.02)


def test_littles_law_on_the_desk_queue():
    """Over a run that ends empty, the time-integral of the queue length equals the sum of the
    waits (L = lambda W on the sample path): two independent bookkeepings must agree."""
    sc = rs.load_scenario(MMC_SCENARIO, overrides={"desk.staff": 2, "demand.orders_per_day": 80})
    run = rs.simulate(sc, "fifo", seed=5, trace=True)
    waits = run.trace.wait_hours.to_numpy()
    assert (waits > 0).mean() > 0.3  # a real queue, not an empty one
    assert run.diagnostics["queue_area"] == pytest.approx(waits.sum(), rel=1e-9)
    T = run.diagnostics["end_time"]
    lam = len(waits) / T
    assert run.diagnostics["queue_area"] / T == pytest.approx(lam * waits.mean(), rel=1e-9)


def test_deadline_discipline_cuts_late_responses_when_overloaded():
    """With a desk that falls behind, answering savable requests first leaves fewer late ones
    than FIFO; same requests under both (common random numbers)."""
    sc = rs.load_scenario(
        MMC_SCENARIO,
        overrides={"desk.staff": 2, "demand.orders_per_day": 100, "horizon_days": 20, "desk.late_after_hours": 4},
    )
    late = {d: rs.simulate(sc, d, seed=2).kpis["late_response_rate"] for d in ("fifo", "deadline")}
    assert late["fifo"] > 0.2
    assert late["deadline"] < late["fifo"]


def test_opening_hours_calendar():
    week = OpenHours([(24 * d + 9, 24 * d + 17) for d in range(5)])  # Mon-Fri 9-17
    assert week.until_open(10.0) == 0.0  # Monday 10:00
    assert week.until_open(17.0) == pytest.approx(16.0)  # Monday 17:00 -> Tuesday 9:00
    assert week.until_open(4 * 24 + 18) == pytest.approx(6 + 48 + 9)  # Friday 18:00 -> Monday
    assert week.until_open(168 * 3 + 2) == pytest.approx(7.0)  # weeks later, Monday 02:00
    assert week.open_hours_between(0, 168) == pytest.approx(40.0)
    assert week.open_hours_between(9, 168 + 13) == pytest.approx(44.0)


def test_weekend_requests_wait_for_monday():
    sc = rs.load_scenario(
        MMC_SCENARIO,
        overrides={"desk.hours": {"mon": [9, 17], "tue": [9, 17], "wed": [9, 17], "thu": [9, 17], "fri": [9, 17]}, "desk.staff": 5, "horizon_days": 14},
    )
    tr = rs.simulate(sc, "fifo", seed=1, trace=True).trace
    tr = tr[~tr.escalated]  # buyers who gave up were never picked up
    hour_of_week = tr.t_start % 168
    day, hour = hour_of_week // 24, hour_of_week % 24
    assert ((day < 5) & (hour >= 9 - 1e-9) & (hour < 17)).all(), "an agent started work off shift"
    sat = ((tr.request_time % 168) // 24) == 5
    assert (tr.wait_hours[sat] > 24).all()


ERLANG_A_CASES = [
    # staff, requests per day, handling minutes, mean patience hours
    (2, 60, 36, 1.0),  # rho = 0.75: some buyers give up before a moderately busy desk answers
    (2, 100, 36, 0.5),  # rho = 1.25: overloaded; only abandonment keeps the queue stable
]


@pytest.mark.slow
@pytest.mark.parametrize("staff, per_day, minutes, patience", ERLANG_A_CASES)
def test_erlang_a_with_exponential_patience(staff, per_day, minutes, patience):
    """The 24/7 desk whose buyers give up after an exponential patience is an M/M/n+M queue:
    P(wait), P(abandon), the mean wait (abandoners until they leave) and the utilisation each lie
    inside the replications' 99 % CI of Erlang A's value."""
    patience_dist = {"dist": "exponential", "mean": patience}
    sc = mmc_scenario(staff, per_day, minutes, horizon_days=60, **{"buyer.patience_hours": patience_dist})
    want = erlang_a(per_day / 24, 60 / minutes, staff, 1 / patience)
    assert want.p_abandon > 0.05  # a case where abandonment matters
    runs = [rs.simulate(sc, "fifo", seed=(13, r)).kpis for r in range(12)]
    for kpi, value in (
        ("desk_wait_probability", want.p_wait),
        ("escalation_rate", want.p_abandon),
        ("desk_wait_hours_mean", want.mean_wait),
        ("desk_utilization", want.utilisation),
    ):
        lo, hi = ci([k[kpi] for k in runs])
        assert lo <= value <= hi, f"{kpi}: Erlang A {value:.4f} outside the 99 % CI [{lo:.4f}, {hi:.4f}]"


def test_erlang_a_reduces_to_erlang_c_and_to_mm1_with_abandonment():
    # No abandonment: Erlang C.
    a = erlang_a(2.5, 60 / 36, 2, 0.0)
    p, wq = erlang_c(2.5, 60 / 36, 2)
    assert a.p_wait == pytest.approx(p) and a.mean_wait == pytest.approx(wq)
    # Patience as long as service on one agent (theta = mu): the chain is M/M/inf-like above
    # state 1, p_k = p_0 a^k / k!, a Poisson(a) distribution: P(wait) = 1 - e^-a.
    lam, mu = 1.5, 2.0
    b = erlang_a(lam, mu, 1, mu)
    assert b.p_wait == pytest.approx(1 - np.exp(-lam / mu))
    lq = sum(max(k - 1, 0) * np.exp(-lam / mu) * (lam / mu) ** k / math.factorial(k) for k in range(60))
    assert b.mean_queue == pytest.approx(lq)
    assert b.p_abandon == pytest.approx(mu * lq / lam)
    # Every arrival is served or abandons: throughput of the agents = lambda (1 - P(abandon)).
    c = erlang_a(4.0, 60 / 36, 2, 2.0)
    assert c.utilisation * 2 * (60 / 36) == pytest.approx(4.0 * (1 - c.p_abandon))


def run_desk(priority: str, patience: float = math.inf) -> Desk:
    """One agent, 24/7. Request 0 arrives at 0 (1 h of work) and its buyer replies 0.5 h after
    the answer (0.25 h of work); request 1 arrives at 1.2 h (1 h of work); request 2 at 1.3 h
    (1 h of work). The reply lands at 1.5 h, while request 1 is being answered."""
    env = simpy.Environment()
    desk = Desk(
        env,
        1,
        None,
        "fifo",
        48.0,
        request_time=[0.0, 1.2, 1.3],
        service=[1.0, 1.0, 1.0],
        patience=[math.inf, math.inf, patience],
        follow_delay=[0.5, math.nan, math.nan],
        follow_service=[0.25, 0.0, 0.0],
        follow_priority=priority,
    )
    env.process(desk.feed(range(3)))
    env.run()
    return desk


def test_second_touches_queue_on_the_same_desk_exact_times():
    first = run_desk("before_new")
    # 0-1 request 0; 1.2-2.2 request 1; the reply (in since 1.5) before request 2: 2.2-2.45;
    # then request 2: 2.45-3.45.
    assert first.start == [0.0, 1.2, 2.45] and first.answer == [1.0, 2.2, 3.45]
    assert first.follow_arrive[0] == 1.5 and first.follow_done[0] == pytest.approx(2.45)
    last = run_desk("after_new")
    assert last.start == [0.0, 1.2, 2.2] and last.follow_done[0] == pytest.approx(3.45)
    arrival = run_desk("arrival")  # the reply (1.5) came after request 2 (1.3): request 2 first
    assert arrival.start == last.start and arrival.follow_done == last.follow_done
    assert first.visits == last.visits == 4
    assert first.busy_hours == pytest.approx(3.25)


def test_a_buyer_who_gives_up_leaves_the_queue_when_their_patience_ends():
    desk = run_desk("before_new", patience=0.5)  # request 2 waits from 1.3; gives up at 1.8
    assert math.isnan(desk.start[2]) and desk.abandoned[2] == pytest.approx(1.8)
    # The queue-length integral counts request 2 only while it waited: 1.3 to 1.8.
    # (Request 1 never waited; the reply is a second touch, not a new request.)
    assert desk.queue_area == pytest.approx(0.5)
    assert desk.visits == 3
