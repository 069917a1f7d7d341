"""CPU time of a replay's actuals: summed during the experiment's runs, against the second,
traced pass of the current policy that computed them before.

Replays the shipped synthetic reports (or ``--factor`` times a larger synthetic year, written
once to ``--dir``) with ``--policies`` policies x ``--replications`` replications on one core,
and times in this one process (CPU seconds, ``time.process_time``):

* **now**: ``rs.replay(...)``, the actuals read from the ``replay_*`` columns the runs summed;
* **second pass**: what the actuals cost before on top of the experiment: the current policy
  replayed once more per replication with its trace (``simulate(..., trace=True)``) and
  ``trace_figures`` read from each trace (the function the tests keep as the oracle);
* **observer**: the part of *now* that summing the figures costs: the same simulations of the
  current policy with and without ``observe=``.

Before = now - observer + second pass (the experiment without the sums, then the traced pass);
the ratio before / now is what the change saves. The figures of the two ways are checked equal.

    python benchmarks/bench_replay_actuals.py [--policies 5] [--replications 30] [--factor 0]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "seed_policies.toml"
SHIPPED = ROOT / "scenarios" / "examples" / "amazon_reports"


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import numpy as np

    import returnsim as rs
    from returnsim.model.replay_figures import ReplayFigures
    from returnsim.model.world import World
    from returnsim.replay import read_inputs
    from returnsim.replay.actuals import replayed_figures, trace_figures

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policies", type=int, default=5, help="how many of the seed scenario's policies (the first is the current)")
    ap.add_argument("--replications", type=int, default=30)
    ap.add_argument("--factor", type=float, default=0.0, help="0: the shipped reports; else a synthetic year of the seed scenario with this many times its orders a day")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/returnsim_bench_replay_actuals"))
    args = ap.parse_args()

    sc = rs.load_scenario(SCENARIO)
    folder = SHIPPED
    if args.factor:
        from returnsim.calibrate import synthetic_reports

        folder = args.dir
        if not (folder / "synthetic_orders.txt").is_file():
            big = rs.load_scenario(SCENARIO, {"demand.orders_per_day": sc.demand.orders_per_day * args.factor,
                                              "desk.staff": max(1, round(sc.desk.staff * args.factor))})
            synthetic_reports(big, "seed", seed=2026, months=12).write(folder)
        sc = rs.load_scenario(SCENARIO, {"desk.staff": max(1, round(sc.desk.staff * args.factor))})
    files = {k: folder / f"synthetic_{k}.txt" for k in ("orders", "fba_returns", "mfn_returns")}
    inputs = read_inputs(sc, **files, classes=folder / "synthetic_classes.csv")
    policies = list(sc.policies)[: args.policies]
    n = args.replications

    cpu = time.process_time()
    res = rs.replay(sc, inputs=inputs, orders=None, policies=policies, replications=n, workers=1, progress=False)
    now = time.process_time() - cpu

    world = World(inputs.scenario)
    cpu = time.process_time()
    traced = []
    for r in range(n):
        run = rs.simulate(inputs.scenario, policies[0], seed=np.random.SeedSequence([res.seed, r]), trace=True,
                          allow_large=True, source=inputs.demand)
        traced.append(trace_figures(run.trace, inputs.returns, world))
    second = time.process_time() - cpu

    def plain(observe: bool) -> float:
        figures = ReplayFigures(world, inputs.demand) if observe else None
        start = time.process_time()
        for r in range(n):
            if figures is not None:
                figures.reset()
            rs.simulate(inputs.scenario, policies[0], seed=np.random.SeedSequence([res.seed, r]), allow_large=True,
                        source=inputs.demand, observe=figures)
        return time.process_time() - start

    without, with_ = plain(False), plain(True)
    observer = max(with_ - without, 0.0) * len(policies)

    summed = replayed_figures(res.runs, policies[0])
    same = all(np.allclose([a[k] for k in a], [b[k] for k in a], rtol=1e-9, atol=1e-9) for a, b in zip(summed, traced, strict=True))
    before = now - observer + second
    print(f"replay of {res.requests:,} requests, {len(policies)} policies x {n} replications, one core (CPU s):")
    print(f"  now (actuals summed during the runs):      {now:8.2f}")
    print(f"  of which summing the figures (observer):   {observer:8.2f}   ({with_:.2f} vs {without:.2f} for {n} runs of one policy)")
    print(f"  second traced pass of the current policy:  {second:8.2f}")
    print(f"  before (experiment + second pass):         {before:8.2f}")
    print(f"  saved: {before - now:.2f} CPU s, before / now = {before / now:.2f}; figures equal: {same}")


if __name__ == "__main__":
    main()
