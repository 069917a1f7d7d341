"""How well the run-size estimate (returnsim.model.budget) predicts memory and time.

Each case simulates one replication of the seed scenario, scaled, in a fresh process, and
prints the estimate next to what was measured: peak memory above the process's state after a
warm-up replication (``ru_maxrss``), wall time, return requests, and the most desk slots the run
held (``diagnostics["desk_slots"]``, against the estimate's ``held``; ``B/slot`` is memory over
slots, what ``BYTES_PER_REQUEST`` prices where slots dominate). The ratio estimate/measured is
what to read: a run is refused when its *estimate* exceeds the memory available, so memory
ratios should stay at or above 1 (never under-estimate by much) and not far above it (never
refuse what fits). Re-measure the per-unit constants of ``returnsim/model/budget.py`` from this
output when the model changes.

    python benchmarks/bench_budget.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "scenarios" / "seed_policies.toml"

CASES = [
    ("seed scenario, a year", {}),
    ("10x demand", {"demand.orders_per_day": 1500}),
    ("10x demand, no returning customers", {"demand.orders_per_day": 1500, "retention.feedback_into_demand": False}),
    ("100x demand", {"demand.orders_per_day": 15000}),
    ("10x demand, 10 years", {"demand.orders_per_day": 1500, "horizon_days": 3650}),
    ("a tiny store for 3,000 years", {"demand.orders_per_day": 0.001, "horizon_days": 1.1e6}),
    ("100,000 agents, 10 days", {"desk.staff": 100_000, "horizon_days": 10, "desk.hours": "24/7"}),
]
QUICK = {0, 1, 5, 6}

CHILD = r"""
import json, resource, sys, time
import returnsim as rs
from returnsim.model.budget import estimate_run
overrides = json.loads(sys.argv[1])
rs.simulate(rs.load_scenario(sys.argv[2], {"horizon_days": 60}), "seed", seed=2)  # warm up: imports, first settlements
sc = rs.load_scenario(sys.argv[2], overrides)
est = estimate_run(sc)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t = time.perf_counter()
run = rs.simulate(sc, "seed", seed=1, allow_large=True)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"requests": run.kpis["return_requests"], "bytes": peak - base, "seconds": seconds,
                  "slots": run.diagnostics["desk_slots"], "est_held": est.held,
                  "est_requests": est.requests, "est_bytes": est.memory_bytes, "est_seconds": est.seconds}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the smaller cases only")
    args = ap.parse_args()
    print(
        f"{'case':40s} {'requests':>10s} {'est/meas':>9s} {'slots':>9s} {'est/meas':>9s} {'memory MB':>10s} "
        f"{'est/meas':>9s} {'B/slot':>7s} {'time s':>8s} {'est/meas':>9s}"
    )
    for i, (name, overrides) in enumerate(CASES):
        if args.quick and i not in QUICK:
            continue
        out = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(overrides), str(SEED)],
            capture_output=True, text=True, check=True,
        )
        m = json.loads(out.stdout.strip().splitlines()[-1])
        mem = max(m["bytes"], 1.0)
        print(
            f"{name:40s} {m['requests']:10,.0f} {m['est_requests'] / max(m['requests'], 1):9.2f} "
            f"{m['slots']:9,d} {m['est_held'] / max(m['slots'], 1):9.2f} "
            f"{mem / 1e6:10.1f} {m['est_bytes'] / mem:9.2f} {mem / max(m['slots'], 1):7,.0f} {m['seconds']:8.2f} "
            f"{m['est_seconds'] / m['seconds']:9.2f}"
        )


if __name__ == "__main__":
    main()
