"""Experiments: many replications of several policies, on one core, all cores or a cluster.

A single simulated year is one roll of the dice; an experiment rolls again and again and reports
the average with an honest margin of error. Replication ``r`` of *every* policy is simulated from
``numpy.random.SeedSequence([seed, r])``, so the policies meet the same orders, the same return
requests and the same buyers (common random numbers), and their differences can be paired.

Where the work runs is a detail: serially; on a pool of worker processes started with the
``spawn`` method (the engine never changes the global start method); on any
``concurrent.futures.Executor`` you pass; or on a Dask cluster (``scheduler="tcp://..."``). Short
replications are batched so that each task is at least a hundred times the executor's per-task
overhead, and batches shrink towards the end of a run so the workers finish together. Rows are
put in a fixed order (policies as given, then replication), so the same seed gives bit-identical
``runs`` whichever executor ran them.

With a results store (:mod:`.store`), each finished replication is committed as soon as
it reaches this process; a re-run reads back what is stored and simulates only what is missing.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..scenario import Scenario
from . import executors
from .executors import START_METHOD, Backend, plan_batches
from .result import ExperimentResult
from .store import ResultStore, scenario_hash
from .tasks import METRICS, run_batch

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# pandas and scipy (through .statistics) are imported where used, so spawned workers, which only
# simulate, start without them.

__all__ = ["run_experiment", "PrecisionWarning"]


class PrecisionWarning(UserWarning):
    """A target confidence-interval half-width was not reached within ``max_replications``."""



class _Runner:
    """Runs tasks on a backend, committing results and moving the progress bar."""

    def __init__(self, sc: Scenario, seed: int, backend: Backend, store: ResultStore | None,
                 key: str, version: str, bar: Any) -> None:
        self.sc = sc
        self.sc_dict = sc.model_dump(mode="json", by_alias=True)
        self.seed = seed
        self.backend = backend
        self.store = store
        self.key = key
        self.version = version
        self.bar = bar
        self.results: dict[tuple[str, int], dict[str, Any]] = {}
        self.computed = 0
        self.seconds_per_task: float | None = None

    def finish(self, records: Iterable[dict[str, Any]]) -> None:
        records = list(records)
        if self.store is not None:
            self.store.add_runs(self.key, self.version, records, METRICS)
        for r in records:
            self.results[(r["policy"], r["replication"])] = r
        self.computed += len(records)
        self.bar.update(len(records))

    def run_local(self, tasks: Sequence[tuple[str, int]]) -> None:
        for task in tasks:
            start = time.perf_counter()
            self.finish(run_batch(self.sc, self.seed, [task]))
            self.seconds_per_task = time.perf_counter() - start

    def run(self, tasks: list[tuple[str, int]]) -> None:
        b = self.backend
        if b.executor is None and b.workers == 1:
            self.run_local(tasks)
            return
        if tasks and self.seconds_per_task is None:
            self.run_local(tasks[:1])  # a timed pilot, to size the batches
            tasks = tasks[1:]
        if not tasks:
            return
        assert self.seconds_per_task is not None
        if b.executor is None:
            if self.seconds_per_task * len(tasks) < executors.MIN_POOL_SECONDS:
                self.run_local(tasks)  # less work than starting a pool costs
                return
            b.start_pool()
        overhead = executors.TASK_OVERHEAD_SECONDS[b.kind]
        batches = plan_batches(tasks, self.seconds_per_task, b.workers, overhead)
        executor = b.executor
        assert executor is not None
        futures: list[Future] = [
            executor.submit(run_batch, self.sc_dict, self.seed, batch) for batch in batches
        ]
        try:
            for fut in as_completed(futures):
                self.finish(fut.result())
        except BrokenProcessPool as err:
            for fut in futures:
                fut.cancel()
            raise BrokenProcessPool(
                f"{err} Worker processes are started with the {START_METHOD!r} method, which "
                "re-imports the main script in each worker: a script that calls run_experiment "
                "must do so under `if __name__ == '__main__':`."
            ) from err
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


def _progress_bar(total: int, progress: bool) -> Any:
    """A ``tqdm.auto`` bar over replications (notebook-aware); tqdm's own no-op when off."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="replications", unit="rep", disable=not progress)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    seed = int(seed)
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed}")
    return seed


def _as_scenario(scenario: Any) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path)):
        from ..scenario import load_scenario

        return load_scenario(scenario)
    if isinstance(scenario, Mapping):
        return Scenario.model_validate(dict(scenario))
    raise TypeError(f"scenario must be a Scenario, a path or a dict, got {type(scenario).__name__}")


def _check_targets(target: Mapping[str, float] | None) -> dict[str, float] | None:
    if target is None:
        return None
    out = {}
    for k, v in dict(target).items():
        if k not in METRICS:
            raise ValueError(f"target_half_width: unknown metric {k!r}; metrics: {', '.join(METRICS)}")
        if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            raise ValueError(f"target_half_width[{k!r}] must be a positive number, got {v!r}")
        out[k] = float(v)
    if not out:
        raise ValueError("target_half_width is empty")
    return out


def _frame(results: Mapping[tuple[str, int], Mapping[str, Any]], policies: Sequence[str], n: int) -> pd.DataFrame:
    import pandas as pd

    rows = [results[(p, r)] for p in policies for r in range(n)]
    data: dict[str, Any] = {
        "policy": pd.Series([r["policy"] for r in rows], dtype=object),
        "replication": np.array([r["replication"] for r in rows], dtype=np.int64),
        "seed": np.array([r["seed"] for r in rows], dtype=np.int64),
    }
    for m in METRICS:
        data[m] = np.array([r.get(m, math.nan) for r in rows], dtype=np.float64)
    return pd.DataFrame(data)


def _shortfall(results, policies, n, targets) -> list[str]:
    """Target metrics whose half-width is not yet met, as readable strings."""
    from .statistics import mean_ci

    missing = []
    for m, goal in targets.items():
        for p in policies:
            _, _, k, lo, hi = mean_ci([results[(p, r)].get(m, math.nan) for r in range(n)])
            hw = (hi - lo) / 2 if k >= 2 else math.inf
            if not hw <= goal:
                missing.append(f"{m} for {p}: ±{hw:.4g} > {goal:.4g}")
    return missing


def _needed(results, policies, n, targets, max_replications) -> int:
    """Replications per policy projected to meet every target (grown at least by one)."""
    from .statistics import mean_ci

    need = n + 1
    for m, goal in targets.items():
        for p in policies:
            _, sd, k, lo, hi = mean_ci([results[(p, r)].get(m, math.nan) for r in range(n)])
            if k < 2 or not math.isfinite(sd):
                need = max(need, 2 * n)
                continue
            hw = (hi - lo) / 2
            if hw > goal:
                # half-width ~ 1/sqrt(n); 10 % margin because the t quantile and sd move too.
                need = max(need, math.ceil(1.1 * n * (hw / goal) ** 2))
    return min(max_replications, need, 4 * n) if n > 0 else min(max_replications, need)


def run_experiment(
    scenario: Scenario | str | Path | Mapping[str, Any],
    policies: Sequence[str] | None = None,
    replications: int = 30,
    seed: int = 0,
    executor: Executor | None = None,
    store: str | Path | ResultStore | None = None,
    progress: bool = True,
    target_half_width: Mapping[str, float] | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    max_replications: int = 1000,
) -> ExperimentResult:
    """Run replications of policies with common random numbers.

    Args:
        scenario: a validated :class:`Scenario` (or a path to a scenario file, or a dict).
        policies: names of the scenario's policies to run, in this order (default: all).
        replications: replications per policy (the first round, with ``target_half_width``).
        seed: base seed; replication ``r`` of every policy uses ``SeedSequence([seed, r])``.
        executor: any ``concurrent.futures.Executor`` to run on (left open afterwards).
            Default: serial with one worker, else a ``spawn`` process pool the engine starts and
            closes (skipped when the whole job would take under a second).
        store: a results-store file (or open :class:`ResultStore`): finished replications are
            committed at once and a re-run simulates only what is missing.
        progress: show a ``tqdm.auto`` bar over replications.
        target_half_width: ``{metric: h}``: add replications in rounds until every named
            metric's 95 % CI half-width is at most ``h`` for every policy, or until
            ``max_replications``; ``result.stopped_reason`` says which (and a
            :class:`PrecisionWarning` is issued when the cap was hit).
        scheduler: address of a Dask scheduler (``"tcp://host:8786"``): run there through
            ``distributed.Client(scheduler).get_executor()``; the client is closed at the end.
        workers: processes of the engine's pool (default: the CPUs available), or the worker
            count used to size batches for a given executor.
        max_replications: cap on replications per policy when a target is given.

    Returns:
        An :class:`ExperimentResult`.

    Worker processes are spawned, so they import the main module afresh: in a script, call
    ``run_experiment`` under ``if __name__ == "__main__":`` (notebooks need nothing).
    """
    from .fingerprint import model_version

    __version__ = model_version()  # version + model source hash: the store's version key

    started = time.perf_counter()
    sc = _as_scenario(scenario)
    seed = _check_seed(seed)
    names = list(sc.policies) if policies is None else list(policies)
    if not names:
        raise ValueError("no policies to run")
    unknown = [p for p in names if p not in sc.policies]
    if unknown:
        raise KeyError(f"unknown policy {', '.join(map(repr, unknown))}; scenario has: {', '.join(sc.policies)}")
    if len(set(names)) != len(names):
        raise ValueError(f"a policy is listed twice: {names}")
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError(f"replications must be a positive integer, got {replications!r}")
    targets = _check_targets(target_half_width)
    if targets is not None:
        if replications < 2:
            raise ValueError("target_half_width needs at least 2 replications in the first round")
        if max_replications < replications:
            raise ValueError(f"max_replications ({max_replications}) < replications ({replications})")

    key = scenario_hash(sc)
    own_store = isinstance(store, (str, Path))
    st = ResultStore(store) if isinstance(store, (str, Path)) else store
    backend = Backend(executor, scheduler, workers)
    bar = _progress_bar(len(names) * replications, progress)
    runner = _Runner(sc, seed, backend, st, key, __version__, bar)
    cancelled = True
    try:
        if st is not None:
            st.add_scenario(sc)
            for rec in st.records(key, seed=seed, version=__version__, policies=names):
                runner.results[(rec["policy"], rec["replication"])] = rec
        n = replications
        reason = "replications"
        notes: list[str] = []
        rounds: list[int] = []
        while True:
            have = sum((p, r) in runner.results for p in names for r in range(n))
            bar.total = len(names) * n
            bar.n = have
            bar.refresh()
            tasks = [(p, r) for r in range(n) for p in names if (p, r) not in runner.results]
            runner.run(tasks)
            rounds.append(n)
            if targets is None:
                break
            short = _shortfall(runner.results, names, n, targets)
            if not short:
                reason = "target_reached"
                break
            if n >= max_replications:
                reason = "max_replications"
                notes.append(
                    f"stopped at max_replications={max_replications} before every target "
                    f"half-width was met: " + "; ".join(short)
                )
                warnings.warn(notes[-1], PrecisionWarning, stacklevel=2)
                break
            n = _needed(runner.results, names, n, targets, max_replications)
        cancelled = False
    finally:
        bar.close()
        backend.close(cancel=cancelled)
        if own_store and st is not None:
            st.close()

    return ExperimentResult(
        runs=_frame(runner.results, names, n),
        policies=names,
        seed=seed,
        replications=n,
        scenario_hash=key,
        stopped_reason=reason,
        target_half_width=targets,
        executor=backend.name,
        computed=runner.computed,
        from_store=len(names) * n - runner.computed,
        elapsed_seconds=time.perf_counter() - started,
        notes=notes,
        rounds=rounds,
    )
