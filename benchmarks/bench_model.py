"""Speed of the model relative to a bare SimPy M/M/c queue, measured in one process.

Prints returns simulated per second for the seed scenario, customers per second for a bare
SimPy M/M/c queue with no model logic (a process per customer, a Resource, a timeout), and their
ratio. The ratio is what matters on a shared, noisy machine: both are timed alternately in the
same process, best of several rounds, in CPU time of this process (other work on a shared
machine then slows neither side). Goal: ratio >= 0.5 (a whole return costs no more than two
bare queue visits); floor 0.25. A return now makes more than one desk visit (second touches: a
buyer's answer the seller must act on); the ratio counts whole returns against single bare
visits, so those extra visits are paid for inside the bar, and the visits per return are printed.

    python benchmarks/bench_model.py [--rounds 5] [--policy seed]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import simpy

import returnsim as rs

ROOT = Path(__file__).resolve().parent.parent


def bare_mmc(n: int, servers: int = 3, lam: float = 4.0, mu: float = 2.0, seed: int = 1) -> float:
    """Customers per second through a bare SimPy M/M/c queue."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / lam, n).tolist()
    service = rng.exponential(1 / mu, n).tolist()
    env = simpy.Environment()
    desk = simpy.Resource(env, servers)

    def customer(i: int):
        with desk.request() as req:
            yield req
            yield env.timeout(service[i])

    def source():
        for i in range(n):
            yield env.timeout(gaps[i])
            env.process(customer(i))

    env.process(source())
    t0 = time.process_time()
    env.run()
    return n / (time.process_time() - t0)


def model(sc: rs.Scenario, policy: str, seed: int) -> tuple[float, int, int]:
    """Returns per second (whole simulate() call, orders to KPIs), the number of returns and the
    number of desk visits (first and second touches)."""
    t0 = time.process_time()
    run = rs.simulate(sc, policy, seed=seed)
    dt = time.process_time() - t0
    n = int(run.kpis["return_requests"])
    return n / dt, n, int(run.diagnostics["desk_visits"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--policy", default="seed")
    args = ap.parse_args()
    sc = rs.load_scenario(ROOT / "scenarios" / "seed_policies.toml")
    model(sc, args.policy, 0)  # warm-up: imports, caches
    best_model, best_bare, n, visits = 0.0, 0.0, 0, 0
    for r in range(args.rounds):
        m, n, visits = model(sc, args.policy, r)
        b = bare_mmc(n)
        best_model, best_bare = max(best_model, m), max(best_bare, b)
    print(f"seed scenario, policy {args.policy!r}: {n:,} returns per replication, {visits / n:.2f} desk visits per return")
    print(f"model:      {best_model:10,.0f} returns/s   (best of {args.rounds})")
    print(f"bare M/M/c: {best_bare:10,.0f} customers/s (best of {args.rounds}, same count)")
    print(f"ratio:      {best_model / best_bare:10.2f}   (goal >= 0.5, floor 0.25)")


if __name__ == "__main__":
    main()
