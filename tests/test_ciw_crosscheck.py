"""The desk against an independent simulator where no closed form exists.

With lognormal handling times the desk is an M/G/c queue: Erlang C no longer applies. Ciw (a
queueing-network simulator with its own event loop and random streams) simulates the same queue;
the mean wait of requests arriving in the same window, starting empty, must agree: the 99 %
Welch confidence interval of the difference between the two simulators' replication means
contains zero.
"""

from __future__ import annotations

import math

import ciw
import numpy as np
import pytest
from conftest import MMC_SCENARIO
from scipy import stats

import returnsim as rs

DAYS, PER_DAY, STAFF, MEAN_MIN, CV = 60, 100, 3, 30.0, 1.0
REPLICATIONS = 20


def ciw_mean_wait(seed: int) -> float:
    s2 = math.log1p(CV**2)
    mu = math.log(MEAN_MIN / 60) - s2 / 2  # hours, parameters of log(handling time)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=PER_DAY / 24)],
        service_distributions=[ciw.dists.Lognormal(mean=mu, sd=math.sqrt(s2))],
        number_of_servers=[STAFF],
    )
    ciw.seed(seed)  # Ciw's generator is global; seeded per replication
    sim = ciw.Simulation(network)
    horizon = DAYS * 24
    sim.simulate_until_max_time(horizon + 200)  # long enough for every arrival to be served
    waits = [r.waiting_time for r in sim.get_all_records() if r.arrival_date < horizon]
    return float(np.mean(waits))


@pytest.mark.slow
def test_mgc_desk_agrees_with_ciw():
    sc = rs.load_scenario(
        MMC_SCENARIO,
        overrides={
            "horizon_days": DAYS,
            "demand.orders_per_day": PER_DAY,
            "desk.staff": STAFF,
            "desk.handling_minutes": {"dist": "lognormal", "mean": MEAN_MIN, "cv": CV},
        },
    )
    ours = np.array([rs.simulate(sc, "fifo", seed=(41, r)).kpis["desk_wait_hours_mean"] for r in range(REPLICATIONS)])
    theirs = np.array([ciw_mean_wait(1000 + r) for r in range(REPLICATIONS)])
    se = math.sqrt(ours.var(ddof=1) / len(ours) + theirs.var(ddof=1) / len(theirs))
    diff = ours.mean() - theirs.mean()
    half = stats.t.ppf(0.995, 2 * REPLICATIONS - 2) * se
    assert abs(diff) <= half, f"returnsim {ours.mean():.4f} h vs Ciw {theirs.mean():.4f} h (±{half:.4f})"
    # Teeth: the interval is tight relative to the wait itself, and the queue is real.
    assert half < 0.25 * theirs.mean() and theirs.mean() > 0.05
