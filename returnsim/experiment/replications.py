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
import secrets
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..scenario import Scenario
from ..scenario.loader import as_scenario
from . import executors
from .budget import RunSizeWarning, check_experiment
from .executors import Backend, Scheduler
from .progress import check_progress, progress_bar
from .result import ExperimentResult
from .statistics import undefined_notes
from .store import ResultStore, describe_row, scenario_hash
from .tasks import METRICS, metrics_of, run_batch

if TYPE_CHECKING:  # pragma: no cover
    from ..model.replay_source import ReplayDemand

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# pandas and scipy (through .statistics) are imported where used, so spawned workers, which only
# simulate, start without them.

__all__ = ["run_experiment", "read_store", "PrecisionWarning", "StoreWarning"]


class PrecisionWarning(UserWarning):
    """A target confidence-interval half-width was not reached within ``max_replications``."""


class StoreWarning(UserWarning):
    """Rows of the results store could not be read in full and are recomputed, or the store is
    read-only and new replications are not saved."""


class _Runner:
    """Runs one scenario's ``(policy, replication)`` tasks on the shared :class:`Scheduler`,
    committing results and moving the progress bar."""

    def __init__(self, sc: Scenario, seed: int, backend: Backend, store: ResultStore | None,
                 key: str, version: str, bar: Any, source: ReplayDemand | None = None) -> None:
        self.sc = sc
        self.sc_dict = sc.model_dump(mode="json", by_alias=True)
        self.seed = seed
        self.store = store
        self.key = key
        self.version = version
        self.bar = bar
        self.metrics = metrics_of(source)
        self.results: dict[tuple[str, int], dict[str, Any]] = {}
        self.computed = 0
        self.scheduler: Scheduler[tuple[str, int]] = Scheduler(
            backend,
            local=lambda task: run_batch(self.sc, self.seed, [task], source),
            submit=lambda executor, batch: executor.submit(run_batch, self.sc_dict, self.seed, batch, source),
            finish=self.finish,
        )

    def finish(self, records: Iterable[dict[str, Any]]) -> None:
        records = list(records)
        if self.store is not None and self.store.writable:
            self.store.add_runs(self.key, self.version, records, self.metrics)
        for r in records:
            self.results[(r["policy"], r["replication"])] = r
        self.computed += len(records)
        self.bar.update(len(records))

    def run(self, tasks: Iterator[tuple[str, int]], count: int) -> None:
        """Run ``count`` tasks drawn from an iterator (made lazily: never all in memory)."""
        self.scheduler.run(tasks, count)


def _check_seed(seed: Any) -> int:
    """The experiment's base seed; ``None`` draws a fresh one (recorded in the result)."""
    if seed is None:
        return secrets.randbits(63)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer in [0, 2**63) or None, got {seed!r:.60}")
    seed = int(seed)
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be in [0, 2**63) (or None for a fresh one), got {seed}")
    return seed


def check_policy_names(sc: Scenario, policies: Any) -> list[str]:
    """The policies asked for (default: all of ``sc``'s): one name or a list of known names,
    none twice. The one check of policy names, for experiments and studies alike.

    Raises:
        TypeError: ``policies`` is not a name or a list of names.
        KeyError: an unknown policy (the message lists the scenario's).
        ValueError: an empty list, or a policy listed twice.
    """
    if policies is None:
        return list(sc.policies)
    if isinstance(policies, str):  # one policy by name
        policies = [policies]
    if not isinstance(policies, Sequence) or not all(isinstance(p, str) for p in policies):
        raise TypeError(
            f"policies must be a list of policy names (or one name), got {policies!r:.80}"
        )
    names = list(policies)
    if not names:
        raise ValueError("no policies to run")
    unknown = [p for p in names if p not in sc.policies]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], list(sc.policies), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise KeyError(f"unknown policy {', '.join(map(repr, unknown))}; {hint}scenario has: {', '.join(sc.policies)}")
    if len(set(names)) != len(names):
        raise ValueError(f"a policy is listed twice: {names}")
    return names


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r:.60}")
    return int(value)


def _check_kinds(executor: Any, store: Any, scheduler: Any, progress: Any, allow_large: Any) -> None:
    if executor is not None and scheduler is None and not isinstance(executor, Executor):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor or None, got {type(executor).__name__}"
        )
    if store is not None and not isinstance(store, str | Path | ResultStore):
        raise TypeError(f"store must be a file path or a ResultStore, got {type(store).__name__}")
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address such as 'tcp://host:8786', got {scheduler!r:.60}")
    check_progress(progress)
    if not isinstance(allow_large, bool | np.bool_):
        raise TypeError(f"allow_large must be True or False, got {allow_large!r:.60}")


def read_store(
    st: ResultStore,
    key: str,
    seed: int,
    version: str,
    names: list[str] | None,
    notes: list[str],
    metrics: Sequence[str] = METRICS,
) -> list[dict[str, Any]]:
    """Rows already stored for this scenario, seed and version (of the policies ``names``, or
    all); rows that cannot be read in full (or lack one of ``metrics``) are named in a warning
    (and in ``notes``) and deleted, so they are recomputed (never read back as NaN). Experiments
    and studies alike."""
    bad: list[tuple[tuple[Any, ...], str]] = []
    good = st.records(key, seed=seed, version=version, policies=names, metrics=metrics, unreadable=bad)
    if bad:
        rows = "; ".join(f"{describe_row(k)}: {why}" for k, why in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        action = "recomputing them" if st.writable else "recomputing them (not saved: the store is read-only)"
        notes.append(f"results store {st.path}: {len(bad)} row(s) cannot be read in full, {action}: {rows}{more}")
        warnings.warn(notes[-1], StoreWarning, stacklevel=3)
        if st.writable:
            st.delete(k for k, _ in bad)
    return good


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


def _frame(
    results: Mapping[tuple[str, int], Mapping[str, Any]], policies: Sequence[str], n: int, metrics: Sequence[str] = METRICS
) -> pd.DataFrame:
    import pandas as pd

    rows = [results[(p, r)] for p in policies for r in range(n)]
    data: dict[str, Any] = {
        "policy": pd.Series([r["policy"] for r in rows], dtype=object),
        "replication": np.array([r["replication"] for r in rows], dtype=np.int64),
        "seed": np.array([r["seed"] for r in rows], dtype=np.int64),
    }
    for m in metrics:
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
    policies: Sequence[str] | str | None = None,
    replications: int = 30,
    seed: int | None = 0,
    executor: Executor | None = None,
    store: str | Path | ResultStore | None = None,
    progress: bool | None = None,
    target_half_width: Mapping[str, float] | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    max_replications: int = 1000,
    allow_large: bool = False,
    source: ReplayDemand | None = None,
) -> ExperimentResult:
    """Run replications of policies with common random numbers.

    Args:
        scenario: a validated :class:`Scenario` (or a path to a scenario file, or a dict).
        policies: names of the scenario's policies to run, in this order (default: all); a
            single name runs that policy.
        replications: replications per policy (the first round, with ``target_half_width``).
        seed: base seed in ``[0, 2**63)``; replication ``r`` of every policy uses
            ``SeedSequence([seed, r])``. ``None`` draws a fresh seed, recorded in
            ``result.seed`` (and the ``seed`` column of ``runs``) to repeat the experiment.
        executor: any ``concurrent.futures.Executor`` to run on (left open afterwards).
            Default: serial with one worker, else a ``spawn`` process pool the engine starts and
            closes (skipped when the whole job would take under a second); its workers exit
            if this process dies.
        store: a results-store file (or open :class:`ResultStore`): finished replications are
            committed at once and a re-run simulates only what is missing. Rows that cannot be
            read in full are recomputed (a :class:`StoreWarning` names them); a store on
            read-only media is read, and what it lacks is computed without being saved.
        progress: a bar over replications: ``None`` (default) shows one only where someone
            watches (a notebook, or stderr a terminal) and writes nothing into a log file, a
            pipe or CI; ``True`` always shows one, ``False`` never
            (:mod:`returnsim.experiment.progress`).
        target_half_width: ``{metric: h}``: add replications in rounds until every named
            metric's 95 % CI half-width is at most ``h`` for every policy, or until
            ``max_replications``; ``result.stopped_reason`` says which (and a
            :class:`PrecisionWarning` is issued when the cap was hit).
        scheduler: address of a Dask scheduler (``"tcp://host:8786"``): run there through
            ``distributed.Client(scheduler).get_executor()``; the client is closed at the end.
        workers: processes of the engine's pool (default: the CPUs available), or the worker
            count used to size batches for a given executor.
        max_replications: cap on replications per policy when a target is given.
        allow_large: run even if the experiment is estimated to need more memory than is
            available (:mod:`returnsim.experiment.budget`); experiments estimated to take
            hours run with a :class:`RunSizeWarning`.
        source: a seller's own orders and requests to replay instead of the scenario's drawn
            demand (:func:`returnsim.replay`, which builds it); the results store keys the rows
            by the scenario and the input files' hash (``source.digest``) together. ``runs``
            then also has the replay's figures over the seller's Returns report
            (``REPLAY_METRICS``), kept in the store like the KPIs.

    Returns:
        An :class:`ExperimentResult`.

    Raises:
        ScenarioError: the scenario file or dict is invalid.
        TypeError, ValueError, KeyError: an argument is wrong (the message names it).
        RunTooLarge: the experiment would not fit in memory (see ``allow_large``).
        StoreError: the store cannot be opened (a directory, a file that is not a store, ...).

    Worker processes are spawned, so they import the main module afresh: in a script, call
    ``run_experiment`` under ``if __name__ == "__main__":`` (notebooks need nothing).
    """
    from .fingerprint import model_version

    __version__ = model_version()  # version + model source hash: the store's version key

    started = time.perf_counter()
    sc = as_scenario(scenario)
    seed = _check_seed(seed)
    names = check_policy_names(sc, policies)
    replications = _check_count("replications", replications)
    max_replications = _check_count("max_replications", max_replications)
    _check_kinds(executor, store, scheduler, progress, allow_large)
    if workers is not None:
        workers = _check_count("workers", workers)
    targets = _check_targets(target_half_width)
    if targets is not None:
        if replications < 2:
            raise ValueError("target_half_width needs at least 2 replications in the first round")
        if max_replications < replications:
            raise ValueError(f"max_replications ({max_replications}) < replications ({replications})")
    most = max_replications if targets is not None else replications
    _, slow = check_experiment(
        sc, len(names) * most, workers or executors.available_cpus(), allow_large=bool(allow_large)
    )
    if slow:
        warnings.warn(slow, RunSizeWarning, stacklevel=2)

    # What was simulated: the scenario, and for a replay the input files too, so a resume
    # never mixes rows of other inputs.
    identity: Any = sc if source is None else {**sc.model_dump(mode="json", by_alias=True), "replay_inputs": source.digest}
    key = scenario_hash(identity)
    backend = Backend(executor, scheduler, workers)
    own_store = isinstance(store, (str, Path))
    try:
        st = ResultStore(store) if isinstance(store, (str, Path)) else store
    except BaseException:
        backend.close(cancel=True)
        raise
    bar = progress_bar(len(names) * replications, progress, "replications", "rep")
    runner = _Runner(sc, seed, backend, st, key, __version__, bar, source)
    cancelled = True
    notes: list[str] = []
    try:
        if st is not None:
            if st.writable:
                st.add_scenario(identity, name=sc.name)
            for rec in read_store(st, key, seed, __version__, names, notes, runner.metrics):
                runner.results[(rec["policy"], rec["replication"])] = rec
        n = replications
        reason = "replications"
        rounds: list[int] = []
        while True:
            have = sum((p, r) in runner.results for p in names for r in range(n))
            bar.total = len(names) * n
            bar.n = have
            bar.refresh()
            tasks = ((p, r) for r in range(n) for p in names if (p, r) not in runner.results)
            runner.run(tasks, len(names) * n - have)
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
        if st is not None and not st.writable and runner.computed:
            notes.append(
                f"results store {st.path} is read-only: the {runner.computed} replications "
                "computed now were not saved in it"
            )
        cancelled = False
    finally:
        bar.close()
        backend.close(cancel=cancelled)
        if own_store and st is not None:
            st.close()

    runs = _frame(runner.results, names, n, runner.metrics)
    notes.extend(undefined_notes(runs))
    return ExperimentResult(
        runs=runs,
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
