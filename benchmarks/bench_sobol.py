"""Sobol' indices of the seed scenario: on a Gaussian-process emulator against Saltelli sampling.
(A measurement, not a test.)

The issue's bar: usable intervals (every index's interval at most 0.1 wide) in under 2 minutes on
2 cores. Sampling needs ``N (k + 2)`` simulated points for ``k`` inputs (1,728 at N = 64 for the
seed scenario's 25 inputs, with intervals about 0.28 wide); the emulator simulates a Latin
hypercube of ``8 k`` points and runs the estimators on the fitted process.

Prints, for each method run: wall and CPU seconds (this process and its finished workers), the
simulated points, the widest interval of S1 and of ST, the emulator's leave-one-out Q², the top
inputs by total index, and the ratio of the two methods' CPU time.

Usage::

    .venv/bin/python benchmarks/bench_sobol.py [--points 200] [--sampling-base 64 | --sampling-base 0]
        [--workers 2] [--policy seed] [--metric M]
"""

from __future__ import annotations

import argparse
import inspect
import resource
import time
from pathlib import Path
from typing import Any

import returnsim as rs
from returnsim.decide import sobol_indices

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 120.0


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _run(label: str, **kw: Any) -> tuple[float, Any]:
    cpu0, t0 = _cpu(), time.perf_counter()
    si = sobol_indices(progress=False, **kw)
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    t = si.table
    w1, wt = float((t.S1_high - t.S1_low).max()), float((t.ST_high - t.ST_low).max())
    fit = "" if si.fit is None else f", leave-one-out Q² {si.fit:.3f}"
    print(f"{label}: wall {wall:.1f} s, CPU {cpu:.1f} s, {si.evaluations} points simulated{fit}")
    print(f"  widest interval: S1 {w1:.3f}, ST {wt:.3f} ({'usable' if max(w1, wt) <= 0.1 else 'wider than 0.1'})")
    top = ", ".join(f"{r.label} {r.ST:.2f} [{r.ST_low:.2f}, {r.ST_high:.2f}]" for _, r in t.head(4).iterrows())
    print(f"  top by total index: {top}")
    for note in si.notes[1:]:
        print(f"  note: {note}")
    return cpu, si


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=None, help="emulator training points (default 8 x inputs)")
    p.add_argument("--sampling-base", type=int, default=64, help="Saltelli base samples (0: skip sampling)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--policy", default="seed")
    default_metric = inspect.signature(sobol_indices).parameters["metric"].default
    p.add_argument("--metric", default=default_metric, help=f"default: sobol_indices' own ({default_metric})")
    args = p.parse_args()

    sc = rs.load_scenario(ROOT / "scenarios" / "seed_policies.toml")
    common = dict(scenario=sc, metric=args.metric, policies=args.policy, workers=args.workers)
    print(f"Sobol' indices of {args.metric} of {args.policy}, {sc.name}: {len(sc.uncertainty)} inputs, "
          f"{args.workers} workers")
    cpu_e, _ = _run("emulator", method="emulator", points=args.points, **common)
    wall_bound = cpu_e / args.workers
    print(f"  CPU-time bound on {args.workers} free cores {wall_bound:.0f} s: ratio to the {BUDGET_SECONDS:.0f} s "
          f"budget {wall_bound / BUDGET_SECONDS:.2f} (<= 1 meets it)")
    if args.sampling_base:
        cpu_s, _ = _run(f"sampling (N = {args.sampling_base})", method="sampling", base_samples=args.sampling_base,
                        **common)
        print(f"CPU ratio emulator / sampling: {cpu_e / cpu_s:.2f}")


if __name__ == "__main__":
    main()
