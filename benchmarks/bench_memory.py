"""Peak memory and time of one replication of a large store, at two sizes, in one run.

The seed scenario scaled to about 0.5 M and 5 M orders a year (``demand.orders_per_day`` times 9
and 90, desk staff scaled by the same factor so the desk is as busy as in the seed), one
replication each, every run in a fresh child process so each peak is its own. Peak memory is
the child's maximum resident set size, which includes the libraries imported (about 66 MB on
its own, shown as "after import"); the ratio of the two peaks says whether memory grows with the
store's volume (a ratio near 10) or stays near constant (near 1). Time is shown as wall and CPU
seconds (CPU time is what to compare on a shared machine); "in progress" is the most requests
handed to the desk and not yet settled (``RunResult.diagnostics["peak_in_progress"]``).

    python benchmarks/bench_memory.py [--policy seed] [--factors 9 90] [--seed 0]

Target (issue 7): at most 300 MB at 5 M orders a year, and no slower than before. Measured on
the shared 2-core development machine, three runs each: before the change, 2,060 MB and 8.7-9.9
CPU s at 5 M (380 MB, 0.61-0.63 s at 0.5 M); after, 255 MB and 8.4-8.9 CPU s (215 MB,
0.58-0.60 s); since ``import returnsim`` became light (66 MB), 176 MB and 8.7 CPU s at 5 M
(136 MB, 0.94 s at 0.5 M). To compare with another checkout, run this script from outside the
repository with that checkout's directory first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "seed_policies.toml"

CHILD = r"""
import json, resource, sys, time
import returnsim as rs
path, policy, factor, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
base = rs.load_scenario(path)
sc = rs.load_scenario(path, {
    "demand.orders_per_day": base.demand.orders_per_day * factor,
    "desk.staff": max(1, round(base.desk.staff * factor)),
})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start, cpu = time.perf_counter(), time.process_time()
run = rs.simulate(sc, policy, seed=seed)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"orders": run.kpis["orders"], "requests": run.kpis["return_requests"],
                  "seconds": seconds, "cpu": cpu, "peak_mb": peak / 1024, "import_mb": before / 1024,
                  "in_progress": run.diagnostics.get("peak_in_progress", float("nan"))}))
"""


def measure(policy: str, factor: float, seed: int) -> dict[str, float]:
    """One replication at ``factor`` times the seed's demand, in a child process."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(SCENARIO), policy, str(factor), str(seed)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policy", default="seed")
    ap.add_argument("--factors", type=float, nargs=2, default=(9.0, 90.0), metavar=("SMALL", "LARGE"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = [measure(args.policy, f, args.seed) for f in args.factors]
    print(
        f"{'orders/year':>12} {'requests':>10} {'seconds':>8} {'CPU s':>6} {'peak MB':>8} "
        f"{'after import':>12} {'in progress':>11}"
    )
    for r in rows:
        print(
            f"{r['orders']:>12,.0f} {r['requests']:>10,.0f} {r['seconds']:>8.1f} {r['cpu']:>6.2f} "
            f"{r['peak_mb']:>8.0f} {r['import_mb']:>12.0f} {r['in_progress']:>11,.0f}"
        )
    small, large = rows
    volume = large["orders"] / small["orders"]
    print(
        f"\n{volume:.1f}x the orders: {large['peak_mb'] / small['peak_mb']:.2f}x the peak memory, "
        f"{(large['peak_mb'] - large['import_mb']) / max(small['peak_mb'] - small['import_mb'], 1):.2f}x "
        f"the memory above the import, {large['cpu'] / small['cpu']:.1f}x the CPU time "
        f"({large['cpu'] / large['orders'] * 1e6:.2f} CPU s per million orders at the large size)"
    )


if __name__ == "__main__":
    main()
