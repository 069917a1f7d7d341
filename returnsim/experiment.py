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

With a results store (:mod:`returnsim.store`), each finished replication is committed as soon as
it reaches this process; a re-run reads back what is stored and simulates only what is missing.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .model import KPI_NAMES, simulate
from .model.ledger import CATEGORIES
from .scenario import Scenario
from .store import ResultStore, scenario_hash

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# pandas and scipy (through .analysis) are imported where used, so spawned workers, which only
# simulate, start without them.

__all__ = [
    "run_experiment",
    "ExperimentResult",
    "PrecisionWarning",
    "run_batch",
    "METRICS",
    "START_METHOD",
]

METRICS: tuple[str, ...] = (*KPI_NAMES, *CATEGORIES)
"""Every measured column of ``runs``: the KPIs, then the ledger categories."""

START_METHOD = "spawn"
"""Start method of the process pools the engine creates (a context, never the global default):
``spawn`` works the same on every platform and is safe in processes that run threads."""

TASK_OVERHEAD_SECONDS = {"processes": 1e-3, "other": 5e-3}
"""Per-task scheduling overhead assumed when sizing batches (generous upper bounds of what
``benchmarks/bench_parallel.py`` measures: a process pool and a local Dask cluster)."""

OVERHEAD_FACTOR = 100
"""A task takes at least this many times the per-task overhead (overhead under 1 %)."""

MAX_TASK_SECONDS = 2.0
"""Batches stay below this, so the store and the progress bar hear from workers often."""

MIN_POOL_SECONDS = 3.0
"""Below this much estimated serial work, the engine runs in-process rather than start a pool:
a spawned worker imports numpy, pandas, scipy and pydantic, about 1.5 s of CPU each."""


class PrecisionWarning(UserWarning):
    """A target confidence-interval half-width was not reached within ``max_replications``."""


# --------------------------------------------------------------------------------------------
# the work function (module level, so spawn/forkserver workers and Dask can import it)
# --------------------------------------------------------------------------------------------


def run_batch(
    scenario: Scenario | Mapping[str, Any], seed: int, tasks: Sequence[tuple[str, int]]
) -> list[dict[str, Any]]:
    """Simulate ``(policy, replication)`` tasks; one flat record per task.

    Args:
        scenario: a :class:`Scenario`, or the plain dict of
            ``scenario.model_dump(mode="json", by_alias=True)`` (validated here).
        seed: the experiment's base seed; replication ``r`` uses ``SeedSequence([seed, r])``.
        tasks: the ``(policy, replication)`` pairs to run, in order.

    Returns:
        ``{"policy", "replication", "seed", <every KPI>, <every ledger category>}`` per task.
    """
    sc = scenario if isinstance(scenario, Scenario) else Scenario.model_validate(scenario)
    out = []
    for policy, rep in tasks:
        res = simulate(sc, policy, seed=np.random.SeedSequence([seed, rep]))
        rec: dict[str, Any] = {"policy": policy, "replication": int(rep), "seed": int(seed)}
        for k in KPI_NAMES:
            rec[k] = float(res.kpis[k])
        for c in CATEGORIES:
            rec[c] = float(res.ledger[c])
        out.append(rec)
    return out


def noop() -> None:
    """A task that does nothing (benchmarks time batches of it to measure per-task overhead)."""
    return None


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------


@dataclass
class ExperimentResult:
    """Replications of several policies of one scenario, and what they say."""

    runs: pd.DataFrame
    """Tidy frame: ``policy, replication, seed`` and one column per KPI and ledger category;
    rows by policy (in the order given), then replication. Run ``(policy, r)`` used
    ``SeedSequence([seed, r])``."""
    policies: list[str]
    """Policies in the order given."""
    seed: int
    """Base seed of the experiment."""
    replications: int
    """Replications per policy."""
    scenario_hash: str
    """SHA-256 of the validated scenario's canonical JSON (the store's key)."""
    stopped_reason: str = "replications"
    """``"replications"`` (the number asked for), ``"target_reached"`` (every target half-width
    met) or ``"max_replications"`` (the cap was hit before the targets were met)."""
    target_half_width: dict[str, float] | None = None
    """The precision targets asked for, if any."""
    executor: str = "serial"
    """Where the replications ran (``serial``, ``processes(2)``, ``dask(tcp://...)``...)."""
    computed: int = 0
    """Replications simulated by this call."""
    from_store: int = 0
    """Replications read back from the store instead of simulated."""
    elapsed_seconds: float = 0.0
    """Wall-clock time of the call."""
    notes: list[str] = field(default_factory=list)
    """Anything the caller should know (e.g. why a cap was hit)."""
    rounds: list[int] = field(default_factory=list)
    """Replications per policy after each round (one round without ``target_half_width``)."""

    def summary(self, metrics: Sequence[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
        """Per policy and metric: ``mean, sd, n, ci_low, ci_high`` (Student-t interval)."""
        from .analysis import summarize

        return summarize(self.runs, metrics if metrics is not None else list(METRICS), confidence)

    def compare(
        self,
        baseline: str | None = None,
        metrics: Sequence[str] | None = None,
        confidence: float = 0.95,
    ) -> pd.DataFrame:
        """Paired differences ``policy - baseline`` (default: the first policy).

        See :func:`returnsim.analysis.paired_differences` for the columns, which include the
        paired-t ``p_value`` and the ``variance_reduction`` common random numbers bought.
        """
        from .analysis import paired_differences

        baseline = self.policies[0] if baseline is None else baseline
        if baseline not in self.policies:
            raise KeyError(f"unknown baseline {baseline!r}; policies: {', '.join(self.policies)}")
        return paired_differences(
            self.runs, baseline, metrics if metrics is not None else list(METRICS), confidence
        )

    def half_widths(self, metrics: Sequence[str], confidence: float = 0.95) -> pd.DataFrame:
        """Per policy and metric, the confidence interval's half-width."""
        s = self.summary(metrics, confidence)
        s["half_width"] = (s["ci_high"] - s["ci_low"]) / 2
        return s[["policy", "metric", "n", "half_width"]]

    def _frames(self, baseline: str | None) -> dict[str, pd.DataFrame]:
        frames = {"runs": self.runs, "summary": self.summary()}
        if len(self.policies) > 1:
            frames["comparison"] = self.compare(baseline)
        return frames

    def to_csv(self, directory: str | Path, baseline: str | None = None) -> list[Path]:
        """Write ``runs.csv``, ``summary.csv`` and (with two or more policies) ``comparison.csv``.

        Floats are written with 17 significant digits, so they read back exactly.
        """
        return self._write(directory, baseline, "csv", lambda df, path: df.to_csv(path, index=False, float_format="%.17g"))

    def to_parquet(self, directory: str | Path, baseline: str | None = None) -> list[Path]:
        """Like :meth:`to_csv`, as Parquet files (needs ``pyarrow``)."""
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError(
                "ExperimentResult.to_parquet needs pyarrow, which is not installed "
                "(pip install pyarrow); to_csv works without it"
            ) from None
        return self._write(directory, baseline, "parquet", lambda df, path: df.to_parquet(path, index=False, engine="pyarrow"))

    def _write(self, directory: str | Path, baseline: str | None, ext: str, write: Any) -> list[Path]:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self._frames(baseline).items():
            path = out / f"{name}.{ext}"
            write(df, path)
            paths.append(path)
        return paths


# --------------------------------------------------------------------------------------------
# executors
# --------------------------------------------------------------------------------------------


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class _Backend:
    """Where tasks run: an executor (none: this process), its worker count, how to close it."""

    def __init__(self, executor: Executor | None, scheduler: str | None, workers: int | None) -> None:
        if executor is not None and scheduler is not None:
            raise ValueError("give either executor or scheduler, not both")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.executor: Executor | None = executor
        """The executor tasks go to; None while running in this process."""
        self.owned = False
        """Did the engine start ``executor`` (a process pool it must shut down)?"""
        self.kind = "other"
        """``processes`` or ``other``: which per-task overhead to assume."""
        self.client: Any = None
        """The Dask client opened for ``scheduler``, if any."""
        if scheduler is not None:
            try:
                from distributed import Client
            except ImportError:
                raise ImportError(
                    "scheduler= needs Dask's distributed package: pip install 'returnsim[dask]'"
                ) from None
            self.client = Client(scheduler, set_as_default=False)
            self.executor = self.client.get_executor()
            self.workers = workers or max(1, sum(self.client.nthreads().values()))
            self.name = f"dask({scheduler})"
        elif executor is not None:
            client = getattr(executor, "_client", None)  # a Dask ClientExecutor
            if workers is None and client is not None and hasattr(client, "nthreads"):
                workers = max(1, sum(client.nthreads().values()))
            self.workers = workers or getattr(executor, "_max_workers", None) or available_cpus()
            self.kind = "processes" if isinstance(executor, ProcessPoolExecutor) else "other"
            self.name = type(executor).__name__
        else:
            self.workers = workers or available_cpus()
            self.name = "serial"

    def start_pool(self) -> None:
        """Start the engine's own process pool (a ``spawn`` context, not the global method)."""
        ctx = multiprocessing.get_context(START_METHOD)
        self.executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        self.owned = True
        self.kind = "processes"
        self.name = f"processes({self.workers})"

    def close(self, cancel: bool = False) -> None:
        """Shut down what the engine opened; a caller's executor is left running."""
        try:
            if self.owned and self.executor is not None:
                self.executor.shutdown(wait=True, cancel_futures=cancel)
            elif self.client is not None and self.executor is not None:
                self.executor.shutdown(wait=not cancel)
        finally:
            if self.client is not None:
                self.client.close()
                self.client = None
            if self.owned:
                self.executor = None
                self.owned = False


def plan_batches(
    tasks: Sequence[tuple[str, int]], seconds_per_task: float, workers: int, overhead: float
) -> list[list[tuple[str, int]]]:
    """Split tasks into batches: guided sizes between an overhead floor and a latency cap.

    A batch lasts at least ``OVERHEAD_FACTOR * overhead`` seconds (so scheduling costs under
    1 %) and at most ``MAX_TASK_SECONDS`` (so results reach the store often); in between, each
    batch takes a share ``1 / (2 * workers)`` of what remains, so early batches are big and the
    last ones small enough for the workers to finish together.
    """
    t = max(seconds_per_task, 1e-6)
    b_min = max(1, math.ceil(OVERHEAD_FACTOR * overhead / t))
    b_max = max(b_min, math.floor(MAX_TASK_SECONDS / t))
    out = []
    i = 0
    while i < len(tasks):
        remaining = len(tasks) - i
        size = min(b_max, max(b_min, math.ceil(remaining / (2 * workers))))
        out.append(list(tasks[i : i + size]))
        i += size
    return out


# --------------------------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------------------------


class _Runner:
    """Runs tasks on a backend, committing results and moving the progress bar."""

    def __init__(self, sc: Scenario, seed: int, backend: _Backend, store: ResultStore | None,
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
            if self.seconds_per_task * len(tasks) < MIN_POOL_SECONDS:
                self.run_local(tasks)  # less work than starting a pool costs
                return
            b.start_pool()
        overhead = TASK_OVERHEAD_SECONDS[b.kind]
        batches = plan_batches(tasks, self.seconds_per_task, b.workers, overhead)
        futures: list[Future] = [
            b.executor.submit(run_batch, self.sc_dict, self.seed, batch) for batch in batches
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


class _NoBar:
    """Stands in for a tqdm bar when progress is off."""

    total = 0
    n = 0

    def update(self, k: int = 1) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, progress: bool) -> Any:
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="replications", unit="rep")


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
        from .loader import load_scenario

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
    from .analysis import mean_ci

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
    from .analysis import mean_ci

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
    st: ResultStore | None = ResultStore(store) if own_store else store  # type: ignore[arg-type]
    backend = _Backend(executor, scheduler, workers)
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
