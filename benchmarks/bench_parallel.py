"""How much do parallel executors buy on this machine? (A measurement, not a test.)

Prints, for the seed scenario in one run:
- the wall time of an experiment run serially and on the engine's process pool (start-up of the
  spawned workers included), the speed-up ratio, and whether the two ``runs`` are identical;
- the per-task overhead of a process pool and of a Dask ``LocalCluster`` executor (a batch of
  no-op tasks, timed), and what fraction of the smallest batch the engine sends that is.

Usage::

    .venv/bin/python benchmarks/bench_parallel.py [--replications 24] [--workers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import returnsim as rs
from returnsim.experiment import executors as ex
from returnsim.experiment.tasks import noop

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    """CPU seconds of this process and of its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def per_task_overhead(executor, n: int) -> float:
    """Seconds per no-op task, submitted in one go and collected as they finish."""
    for f in [executor.submit(noop) for _ in range(20)]:  # warm up the workers
        f.result()
    start = time.perf_counter()
    for f in as_completed([executor.submit(noop) for _ in range(n)]):
        f.result()
    return (time.perf_counter() - start) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=24, help="per policy (default 24)")
    ap.add_argument("--workers", type=int, default=2, help="pool size (default 2)")
    ap.add_argument("--noops", type=int, default=2000, help="no-op tasks per overhead timing")
    args = ap.parse_args()

    sc = rs.load_scenario(ROOT / "scenarios" / "seed_policies.toml")
    n_runs = args.replications * len(sc.policies)
    print(f"seed scenario: {len(sc.policies)} policies x {args.replications} replications = {n_runs} runs")
    print(f"CPUs available: {ex.available_cpus()}; load average before: {os.getloadavg()[0]:.2f}")

    t, c = time.perf_counter(), _cpu()
    serial = rs.run_experiment(sc, replications=args.replications, workers=1, progress=False)
    t_serial, c_serial = time.perf_counter() - t, _cpu() - c
    t, c = time.perf_counter(), _cpu()
    pool = rs.run_experiment(sc, replications=args.replications, workers=args.workers, progress=False)
    t_pool, c_pool = time.perf_counter() - t, _cpu() - c
    same = serial.runs.equals(pool.runs)
    per_run = t_serial / n_runs
    print(f"serial:                  {t_serial:7.2f} s  ({per_run * 1e3:.0f} ms per run)")
    print(f"process pool ({pool.executor}): {t_pool:7.2f} s  (spawned worker start-up included)")
    print(f"speed-up:                {t_serial / t_pool:7.2f}x  (goal >= 1.85 on 2 cores); runs identical: {same}")
    print(f"load average after:      {os.getloadavg()[0]:7.2f}  (other work on the machine slows the pool)")
    print(
        f"CPU time: serial {c_serial:.2f} s, pool {c_pool:.2f} s (workers' start-up included): "
        f"on {args.workers} otherwise idle cores the pool could reach at most "
        f"{c_serial / (c_pool / args.workers):.2f}x"
    )

    ctx = multiprocessing.get_context(ex.START_METHOD)
    with ProcessPoolExecutor(args.workers, mp_context=ctx) as pp:
        o_pool = per_task_overhead(pp, args.noops)
    batch = max(1, -(-ex.OVERHEAD_FACTOR * ex.TASK_OVERHEAD_SECONDS["processes"] // per_run))
    print(
        f"process-pool overhead:   {o_pool * 1e3:7.3f} ms per task "
        f"({o_pool / (batch * per_run):.2%} of the smallest batch, {int(batch)} runs)"
    )

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("Dask LocalCluster overhead: distributed is not installed (pip install 'returnsim[dask]')")
        return
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        executor = client.get_executor()
        o_dask = per_task_overhead(executor, max(200, args.noops // 4))
        executor.shutdown()
    batch = max(1, -(-ex.OVERHEAD_FACTOR * ex.TASK_OVERHEAD_SECONDS["other"] // per_run))
    print(
        f"Dask LocalCluster overhead: {o_dask * 1e3:7.3f} ms per task "
        f"({o_dask / (batch * per_run):.2%} of the smallest batch, {int(batch)} runs)"
    )


if __name__ == "__main__":
    main()
