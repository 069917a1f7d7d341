"""Speed of the model: CPU per replication against the base branch and a pure-Python floor, and
against a bare SimPy M/M/c queue.

CPU per replication (``time.process_time``, median of ``--reps`` seeds) of the seed scenario,
for this tree and for ``--base`` (default ``main``: its ``returnsim/`` is exported with
``git archive`` to a temporary directory), each in its own subprocess, rounds alternating so
that load on a shared machine falls on both; their ratio; and the ratio to a floor measured in
this process: the same requests with a heapq desk loop in plain Python (no SimPy, no later
purchases) and everything else in one numpy batch (``floor``). The two trees' KPIs for the same
seeds are compared: identical, or the largest relative difference, and any KPI whose mean moved
by more than the base's 95 % confidence half-width. Goal (issue 24): <= 70 ms. Then the desk
alone on the same requests: the model's desk in 14-day runs and the floor's heapq loop.

Prints returns simulated per second for the seed scenario, customers per second for a bare
SimPy M/M/c queue with no model logic (a process per customer, a Resource, a timeout), and their
ratio. The ratio is what matters on a shared, noisy machine: both are timed alternately in the
same process, best of several rounds, in CPU time of this process (other work on a shared
machine then slows neither side). Goal: ratio >= 0.5 (a whole return costs no more than two
bare queue visits); floor 0.25. A return now makes more than one desk visit (second touches: a
buyer's answer the seller must act on); the ratio counts whole returns against single bare
visits, so those extra visits are paid for inside the bar, and the visits per return are printed.

    python benchmarks/bench_model.py [--rounds 5] [--policy seed] [--reps 15] [--base main]
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
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


_CHILD = """
import json, sys, time
import returnsim as rs
sc = rs.load_scenario(sys.argv[1])
policy, seeds = sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
rs.simulate(sc, policy, seed=10**6)  # warm-up: imports, caches
out = []
for seed in seeds:
    t0 = time.process_time()
    run = rs.simulate(sc, policy, seed=seed)
    out.append({"seed": seed, "ms": 1000 * (time.process_time() - t0), "kpis": run.kpis,
                "where": rs.__file__})
print(json.dumps(out))
"""


def replications(tree: Path, scenario: Path, policy: str, seeds: list[int]) -> list[dict]:
    """CPU ms and KPIs per seed, simulated by the ``returnsim`` package in ``tree``, in a fresh
    subprocess (run from ``tree``, so that no other copy is imported)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-c", _CHILD, str(scenario), policy, ",".join(map(str, seeds))]
    res = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=True)
    rows = json.loads(res.stdout)
    where = Path(rows[0]["where"]).resolve()
    if tree.resolve() not in where.parents:
        raise RuntimeError(f"the child imported {where}, not the tree {tree}")
    return rows


def export(ref: str, into: Path) -> str:
    """Write ``ref``'s ``returnsim/`` into ``into``; returns the commit."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha, "returnsim"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return sha


def floor(sc: rs.Scenario, policy: str, seed: int) -> float:
    """CPU seconds of the floor: the replication's own requests (no later purchases), a plain
    heapq loop for the desk (agents, opening hours, first-come first-served, second touches
    before new requests, buyers giving up) and the rest in one numpy batch each (plan,
    settlement, customers' later purchases, totals)."""
    from returnsim.model.calendar import Calendar
    from returnsim.model.columns import concat_rows
    from returnsim.model.desk import OpenHours
    from returnsim.model.plan import plan
    from returnsim.model.resolution import DeskTimes, resolve
    from returnsim.model.retention import CustomerBook
    from returnsim.model.simulation import _desk_inputs, streams
    from returnsim.model.stream import RequestStream
    from returnsim.model.tally import Tally
    from returnsim.model.world import HOURS_PER_DAY, World

    t0 = time.process_time()
    world = World(sc)
    pol = sc.policy(policy)
    rng = streams(seed)
    stream = RequestStream(world, rng["orders"], rng["requests"])
    parts = list(iter(stream.next_part, None))
    req, cust = concat_rows([p.req for p in parts]), concat_rows([p.cust for p in parts])
    pl = plan(world, pol, req)
    d = _desk_inputs(world, pol, req, pl)
    calendar = Calendar(sc.start_date, sc.desk.holidays)
    hours = None if sc.desk.hours == "24/7" else OpenHours(sc.desk.hours.intervals(), calendar.holiday_index)
    times = DeskTimes(*(np.array(x) for x in floor_desk(d, sc.desk.staff, hours)))
    batch = resolve(world, pol, req, pl, times, calendar)
    book = CustomerBook(world, sc.horizon_days * HOURS_PER_DAY, False, stream.followon_rows)
    book.resolve(rng["followon"], cust, req.customer, req.generation, batch.t_resolved, batch.multiplier)
    Tally(world, sc.warmup_days).add(req, batch)
    return time.process_time() - t0


def floor_desk(d: dict[str, list], staff: int, hours) -> tuple[list[float], ...]:
    """The floor's desk: a plain heapq loop over the requests ``d`` (``_desk_inputs``), with
    ``staff`` agents and opening ``hours`` (first come, first served, second touches first,
    buyers giving up); returns start, answer, abandoned and follow_done per request."""
    n = len(d["request_time"])
    start, answer, abandoned, follow_done = ([math.nan] * n for _ in range(4))
    arrive, service, patience = d["request_time"], d["service"], d["patience"]
    follow_delay, follow_service, lapse, instant = d["follow_delay"], d["follow_service"], d["lapse_at"], d["instant"]
    # Events: (time, kind, id); kinds 0 = arrival, 1 = second touch lands, 2 = agent free.
    events = [(arrive[i], 0, i) for i in range(n)]
    heapq.heapify(events)
    heapq.heappush(events, (0.0, 2, -1))
    idle, queue, follow = staff - 1, deque(), deque()
    while events:
        now, kind, i = heapq.heappop(events)
        if kind == 0:
            if instant[i]:
                start[i] = answer[i] = now
                continue
            queue.append(i)
        elif kind == 1:
            follow.append(i)
        else:
            idle += 1
        while idle and (queue or follow):
            wait = hours.until_open(now) if hours is not None else 0.0
            if wait > 0:
                heapq.heappush(events, (now + wait, 2, -1))
                idle -= 1
                continue
            if follow:
                j = follow.popleft()
                follow_done[j] = now + follow_service[j]
                heapq.heappush(events, (follow_done[j], 2, -1))
            else:
                j = queue.popleft()
                if arrive[j] + patience[j] <= now:
                    abandoned[j] = arrive[j] + patience[j]
                    continue
                start[j], answer[j] = now, now + service[j]
                if follow_delay[j] == follow_delay[j] and answer[j] + follow_delay[j] <= lapse[j]:
                    heapq.heappush(events, (answer[j] + follow_delay[j], 1, j))
                heapq.heappush(events, (answer[j], 2, -1))
            idle -= 1
    return start, answer, abandoned, follow_done


def desk_alone(sc: rs.Scenario, policy: str, seeds: list[int]) -> tuple[float, float]:
    """CPU ms per replication of the desk alone (the replication's own requests, no later
    purchases): the model's desk run in 14-day epochs, swept and collected at each end as
    ``simulate`` does, and the floor's heapq loop; medians over ``seeds``."""
    from returnsim.model.calendar import Calendar
    from returnsim.model.columns import concat_rows
    from returnsim.model.desk import Desk, OpenHours
    from returnsim.model.plan import plan
    from returnsim.model.simulation import _desk_inputs, streams
    from returnsim.model.stream import RequestStream
    from returnsim.model.world import HOURS_PER_DAY, World

    world, pol = World(sc), sc.policy(policy)
    calendar = Calendar(sc.start_date, sc.desk.holidays)
    hours = None if sc.desk.hours == "24/7" else OpenHours(sc.desk.hours.intervals(), calendar.holiday_index)
    model_ms, floor_ms = [], []
    for seed in seeds:
        rng = streams(seed)
        stream = RequestStream(world, rng["orders"], rng["requests"])
        req = concat_rows([p.req for p in iter(stream.next_part, None)])
        d = _desk_inputs(world, pol, req, plan(world, pol, req))
        t0 = time.process_time()
        env = simpy.Environment()
        desk = Desk(env, sc.desk.staff, hours, pol.discipline, sc.desk.late_after_hours, [], [], [], [], [],
                    follow_priority=pol.follow_up_priority)
        slots = desk.add(**d)
        env.process(desk.feed(slots))
        done, end = 0, 0.0
        while done < len(slots):
            end += 14 * HOURS_PER_DAY
            env.run(until=end)
            desk.sweep()
            done += len(desk.collect())
        model_ms.append(1000 * (time.process_time() - t0))
        t0 = time.process_time()
        floor_desk(d, sc.desk.staff, hours)
        floor_ms.append(1000 * (time.process_time() - t0))
    return statistics.median(model_ms), statistics.median(floor_ms)


def compare_kpis(new: list[dict], base: list[dict]) -> list[str]:
    """Lines saying how the two trees' KPIs for the same seeds compare."""
    names = list(base[0]["kpis"])
    same = all(_same(a["kpis"][k], b["kpis"][k]) for a, b in zip(new, base, strict=True) for k in names)
    if same:
        return [f"KPIs:       identical for all {len(names)} KPIs on {len(new)} seeds"]
    worst, outside = 0.0, []
    for k in names:
        a = np.array([r["kpis"][k] for r in new], dtype=float)
        b = np.array([r["kpis"][k] for r in base], dtype=float)
        ok = np.isfinite(a) & np.isfinite(b)
        rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)
        worst = max(worst, float(rel.max(initial=0.0)))
        if ok.sum() > 1:
            half = 1.96 * float(np.std(b[ok], ddof=1)) / math.sqrt(ok.sum())
            if abs(a[ok].mean() - b[ok].mean()) > half:
                outside.append(k)
    lines = [f"KPIs:       largest relative difference per seed {worst:.1e} ({len(names)} KPIs, {len(new)} seeds)"]
    lines.append("            every KPI mean within the base's 95 % CI" if not outside else f"            outside the base's 95 % CI: {', '.join(outside)}")
    return lines


def _same(a: float, b: float) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def per_replication(args: argparse.Namespace, scenario: Path, sc: rs.Scenario) -> None:
    """Print CPU ms per replication, its ratios to the base and the floor, and the KPI check."""
    seeds = list(range(args.reps))
    with tempfile.TemporaryDirectory(prefix="bench_model_base_") as tmp:
        sha = export(args.base, Path(tmp))
        new: list[dict] = []
        base: list[dict] = []
        for _ in range(2):  # alternate, so that load on the machine falls on both
            new += replications(ROOT, scenario, args.policy, seeds)
            base += replications(Path(tmp), scenario, args.policy, seeds)
    floor(sc, args.policy, 0)  # warm-up
    floors = [floor(sc, args.policy, s) * 1000 for s in seeds]
    m_new = statistics.median(r["ms"] for r in new)
    m_base = statistics.median(r["ms"] for r in base)
    m_floor = statistics.median(floors)
    print(f"CPU per replication, seed scenario, policy {args.policy!r} (median of {len(new)}, process time):")
    print(f"this tree:  {m_new:7.1f} ms   (goal <= 70 ms)")
    print(f"{args.base} ({sha}): {m_base:7.1f} ms   ratio this/base {m_new / m_base:5.2f}")
    print(f"floor:      {m_floor:7.1f} ms   ratio this/floor {m_new / m_floor:5.2f}  (heapq desk loop, one numpy batch)")
    for line in compare_kpis(new[: len(seeds)], base[: len(seeds)]):
        print(line)
    m_desk, f_desk = desk_alone(sc, args.policy, seeds)
    print(f"desk alone: {m_desk:7.1f} ms   the floor's heapq loop {f_desk:.1f} ms (same requests, no later purchases)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--policy", default="seed")
    ap.add_argument("--reps", type=int, default=15, help="seeds per tree and round (CPU per replication)")
    ap.add_argument("--base", default="main", help="git ref to compare with (its returnsim/ is exported)")
    args = ap.parse_args()
    scenario = ROOT / "scenarios" / "seed_policies.toml"
    sc = rs.load_scenario(scenario)
    per_replication(args, scenario, sc)
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
