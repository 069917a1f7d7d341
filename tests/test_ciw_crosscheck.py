"""The desk against an independent simulator where no closed form exists.

With lognormal handling times the desk is an M/G/c queue: Erlang C no longer applies. Ciw (a
queueing-network simulator with its own event loop and random streams) simulates the same queue,
starting empty; the mean wait of requests arriving in the same window must agree: the 99 % Welch
confidence interval of the difference between the two simulators' replication means contains
zero.

The check is made where the handling distribution matters: at a coefficient of variation of 0.4
(M/G/c waits about (1 + cv^2) / 2 = 0.58 times M/M/c's) and of 2 (about 2.5 times). A desk that
drew exponential handling times would wait Erlang C's Wq on average; each case also checks that
Wq lies more than twice the tolerance away from Ciw, so the comparison would fail for it.

Waits behind a heavy-tailed service time vary a lot from one replication to the next, mostly with
how much work happened to arrive. Each replication's mean wait is therefore adjusted with a
control variate, its realised offered load (handling hours of the requests that arrived, per
hour) whose expectation is known: ``W - b (C - lambda E[S])``, with ``b`` the pooled
within-simulator regression slope. This keeps the means unbiased and narrows the interval about
twofold, which is what lets a test of 20 replications tell cv = 2 from exponential.
"""

from __future__ import annotations

import math

import ciw
import numpy as np
import pytest
from conftest import MMC_SCENARIO
from scipy import stats

import returnsim as rs
from returnsim.analytic import erlang_c

DAYS, PER_DAY, STAFF, MEAN_MIN = 60, 130, 4, 30.0
LAMBDA, MEAN_H = PER_DAY / 24, MEAN_MIN / 60


def ciw_replication(seed: int, cv: float) -> tuple[float, float]:
    """(mean wait in hours, realised offered load) of one Ciw replication."""
    s2 = math.log1p(cv**2)
    mu = math.log(MEAN_H) - s2 / 2  # parameters of log(handling hours)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAMBDA)],
        service_distributions=[ciw.dists.Lognormal(mean=mu, sd=math.sqrt(s2))],
        number_of_servers=[STAFF],
    )
    ciw.seed(seed)  # Ciw's generator is global; seeded per replication
    sim = ciw.Simulation(network)
    horizon = DAYS * 24
    sim.simulate_until_max_time(horizon + 400)  # long enough for every arrival to be served
    records = [r for r in sim.get_all_records() if r.arrival_date < horizon]
    return float(np.mean([r.waiting_time for r in records])), sum(r.service_time for r in records) / horizon


def our_replication(sc: rs.Scenario, r: int) -> tuple[float, float]:
    run = rs.simulate(sc, "fifo", seed=(41, r), trace=True)
    tr = run.trace
    return run.kpis["desk_wait_hours_mean"], float((tr.t_answer - tr.t_start).sum()) / (DAYS * 24)


def adjusted(groups: list[np.ndarray]) -> list[np.ndarray]:
    """Control-variate adjusted waits: each group is (replications x [wait, load])."""
    sxy = sum(float(np.sum((g[:, 0] - g[:, 0].mean()) * (g[:, 1] - g[:, 1].mean()))) for g in groups)
    sxx = sum(float(np.sum((g[:, 1] - g[:, 1].mean()) ** 2)) for g in groups)
    b = sxy / sxx
    return [g[:, 0] - b * (g[:, 1] - LAMBDA * MEAN_H) for g in groups]


@pytest.mark.slow
@pytest.mark.parametrize("cv, replications", [(0.4, 10), (2.0, 20)])
def test_mgc_desk_agrees_with_ciw(cv, replications):
    sc = rs.load_scenario(
        MMC_SCENARIO,
        overrides={
            "horizon_days": DAYS,
            "demand.orders_per_day": PER_DAY,
            "desk.staff": STAFF,
            "desk.handling_minutes": {"dist": "lognormal", "mean": MEAN_MIN, "cv": cv},
        },
    )
    ours = np.array([our_replication(sc, r) for r in range(replications)])
    theirs = np.array([ciw_replication(1000 + r, cv) for r in range(replications)])
    a, b = adjusted([ours, theirs])
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    half = stats.t.ppf(0.995, len(a) + len(b) - 3) * se
    diff = a.mean() - b.mean()
    assert abs(diff) <= half, f"cv {cv}: returnsim {a.mean():.4f} h vs Ciw {b.mean():.4f} h (±{half:.4f})"
    # Teeth: an exponential desk (Erlang C's mean wait) would be far outside the tolerance, and
    # the queue is real.
    _, wq_exponential = erlang_c(LAMBDA, 1 / MEAN_H, STAFF)
    assert abs(wq_exponential - b.mean()) > 2 * half, (wq_exponential, b.mean(), half)
    assert b.mean() > 0.05
