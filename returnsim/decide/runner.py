"""Running a study: many scenario variants x policies x replications, resumably, anywhere.

A study (a sweep, a selection, a sensitivity analysis) asks for runs one batch at a time:
``(variant, policy, replication)`` triples. :class:`StudyRunner` simulates what it has not seen,
with the experiment engine's pieces: replication ``r`` of every variant and policy uses
``SeedSequence([seed, r])`` (common random numbers), tasks are batched as ``run_experiment``
batches them and go to this process, a ``spawn`` process pool, any executor or a Dask cluster;
each finished run is committed to the results store at once under its variant's scenario hash,
so a study that is killed and started again reads back what it had and simulates the rest.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import numpy as np

from ..experiment.executors import Backend, Scheduler
from ..experiment.progress import progress_bar
from ..experiment.replications import read_store
from ..experiment.store import ResultStore, scenario_hash
from ..experiment.tasks import METRICS, Task, run_tasks
from ..model import budget
from ..scenario import Scenario
from .errors import DecideError

__all__ = ["StudyRunner", "run_tasks", "Task", "where_options", "check_points", "BYTES_PER_POINT"]

BYTES_PER_POINT = 150_000
"""Memory a study holds for each of its design points until it ends: the point's scenario
variant as a dict, for the workers and the results store (measured: 111 kB traced per variant
of the seed scenario; the validated model, 273 kB more, is kept only for the
:data:`RECENT_MODELS` used last), and its design row; on the high side."""

RECENT_MODELS = 16
"""Validated variants a runner keeps for runs in this process (the rest are kept as dicts)."""

WHERE = ("seed", "store", "executor", "scheduler", "workers", "progress")
"""Keyword arguments every study passes on to :class:`StudyRunner`."""


def where_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` if they are all :data:`WHERE` arguments, else a ``TypeError``."""
    bad = set(options) - set(WHERE)
    if bad:
        raise TypeError(f"unexpected arguments: {', '.join(sorted(bad))}; expected some of: {', '.join(WHERE)}")
    return dict(options)


def check_points(points: int, runs_per_point: int = 0, what: str = "design points", fix: str | None = None) -> None:
    """Refuse a study of ``points`` design points (and ``runs_per_point`` runs each) that would
    not fit in memory, before its design is built: a study holds every point's variant and
    every run's row until it ends, so ``--points 100000000`` took all of a 24 GB machine's
    memory until the process was killed, with no word."""
    from ..experiment.budget import BYTES_PER_ROW

    free = budget.available_memory()
    need = points * (BYTES_PER_POINT + runs_per_point * BYTES_PER_ROW)
    if free is not None and need > free:
        runs = f" and {budget.human_count(points * runs_per_point)} runs" if runs_per_point else ""
        raise DecideError(
            f"this study would hold {budget.human_count(points)} {what} (a scenario variant each){runs}: "
            f"~{budget.human_bytes(need)} of memory, but {budget.human_bytes(free)} is available; {fix or f'use fewer {what}'}"
        )


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
        raise DecideError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    return int(seed)


def _check_size(scenario: Scenario) -> None:
    """Refuse a variant one replication of which would not fit in memory, before anything runs.

    Workers run replications with the size check off (:func:`run_batch`: an experiment checks
    its size up front), so a study checks each variant it adds: a declared range can reach
    values (demand, horizon) far beyond the scenario's own.
    """
    est = budget.estimate_run(scenario)
    free = budget.available_memory()
    if free is not None and est.memory_bytes > free:
        raise DecideError(
            f"a variant of this study would need {est.describe()} per replication, but "
            f"{budget.human_bytes(free)} of memory is available ({'; '.join(est.drivers)}): "
            "narrow the ranges of the inputs or levers that make it this large"
        )


class StudyRunner:
    """Simulates ``(variant, policy, replication)`` tasks once each, on any backend.

    Args:
        seed: base seed; replication ``r`` uses ``SeedSequence([seed, r])`` in every variant.
        executor: any ``concurrent.futures.Executor`` (left open), else the engine's own
            ``spawn`` process pool (started only when the work is worth it).
        scheduler: a Dask scheduler address (``tcp://host:8786``).
        workers: processes of the engine's pool (default: every CPU; 1 runs in this process).
        store: a results-store file (or open :class:`ResultStore`): finished runs are committed
            at once, and runs already stored are read back instead of simulated.
        progress: a bar over runs: ``None`` (default) only where someone watches (a notebook,
            or stderr a terminal), ``True`` always, ``False`` never
            (:mod:`returnsim.experiment.progress`).
        desc: the bar's label.

    Use as a context manager (the pool and the store are closed on exit).
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        executor: Executor | None = None,
        scheduler: str | None = None,
        workers: int | None = None,
        store: str | Path | ResultStore | None = None,
        progress: bool | None = None,
        desc: str = "runs",
    ) -> None:
        from ..experiment.fingerprint import model_version

        self.seed = _check_seed(seed)
        self.version = model_version()
        """The model version rows are stored under."""
        self.backend = Backend(executor, scheduler, workers)
        if isinstance(store, (str, Path)) and Path(store).is_dir():
            raise DecideError(f"store must be a file, {store} is a directory")
        self._own_store = isinstance(store, (str, Path))
        self.store: ResultStore | None = ResultStore(store) if isinstance(store, (str, Path)) else store
        self.variants: dict[str, dict[str, Any]] = {}
        """Scenario hash -> plain dict of each variant added (what workers receive)."""
        # The validated models of the variants used last, for runs in this process: a model is
        # three times its dict (273 kB against 88 for the seed scenario) and a study holds every
        # variant until it ends, so only the dicts are kept (a point's runs come together).
        self._models: OrderedDict[str, Scenario] = OrderedDict()
        self._loaded: set[str] = set()
        self._announced = False
        self.results: dict[Task, dict[str, Any]] = {}
        """Every record seen, by task."""
        self.computed = 0
        """Runs simulated by this runner."""
        self._stored: set[Task] = set()
        self._served: set[Task] = set()
        self._stored_scenarios: set[str] = set()
        # The experiment engine's scheduling loop, the same for every command.
        self._scheduler: Scheduler[Task] = Scheduler(
            self.backend,
            local=lambda task: run_tasks(self.seed, {task[0]: self._model(task[0])}, [task]),
            submit=self._submit,
            finish=self._finish,
        )
        self.bar: Any = progress_bar(0, progress, desc, "run")

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def from_store(self) -> int:
        """Runs read back from the store instead of simulated."""
        return len(self._served)

    @property
    def executor_name(self) -> str:
        """Where the runs went (``serial``, ``processes(2)``, ``dask(...)``...)."""
        return self.backend.name

    def close(self, cancel: bool = False) -> None:
        """Close the progress bar, the pool the runner started and the store it opened."""
        self.bar.close()
        try:
            self.backend.close(cancel=cancel)
        finally:
            if self._own_store and self.store is not None:
                self.store.close()
                self.store = None

    def __enter__(self) -> StudyRunner:
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.close(cancel=exc_type is not None)

    # -- work -----------------------------------------------------------------------------------

    def add(self, scenario: Scenario) -> str:
        """Register a variant; returns its scenario hash (the key of its tasks and rows)."""
        data = scenario.model_dump(mode="json", by_alias=True)
        key = scenario_hash(data)
        if key not in self.variants:
            _check_size(scenario)
            self.variants[key] = data
            self._keep(key, scenario)
        return key

    def _keep(self, key: str, scenario: Scenario) -> Scenario:
        self._models[key] = scenario
        self._models.move_to_end(key)
        while len(self._models) > RECENT_MODELS:
            self._models.popitem(last=False)
        return scenario

    def _model(self, key: str) -> Scenario:
        """The validated model of a variant, from its dict if it is not among the recent."""
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        return self._keep(key, Scenario.model_validate(self.variants[key]))

    def _read_stored(self, keys: Iterable[str]) -> None:
        if self.store is None:
            return
        for key in keys:
            if key in self._loaded:
                continue
            self._loaded.add(key)
            for rec in read_store(self.store, key, self.seed, self.version, None, []):
                task = (key, rec["policy"], int(rec["replication"]))
                if task not in self.results:
                    self.results[task] = rec
                    self._stored.add(task)

    def run(self, tasks: Iterable[Task]) -> dict[Task, dict[str, Any]]:
        """Records of ``tasks`` (simulating those not yet seen or stored), by task."""
        tasks = list(dict.fromkeys(tasks))
        unknown = {k for k, _, _ in tasks} - set(self.variants)
        if unknown:
            raise KeyError(f"tasks of variants never added: {sorted(unknown)[:3]}")
        self._read_stored({k for k, _, _ in tasks})
        missing = [t for t in tasks if t not in self.results]
        have = len(tasks) - len(missing)
        self._served.update(t for t in tasks if t in self._stored)
        self.bar.total += len(tasks)
        self.bar.update(have)
        if missing:
            self._compute(missing)
        return {t: self.results[t] for t in tasks}

    def announce(self, runs: int, scenario: Scenario) -> None:
        """Warn (:class:`~returnsim.experiment.budget.RunSizeWarning`) before ``runs`` runs of
        ``scenario``'s size estimated to take more than
        :data:`~returnsim.experiment.budget.WARN_SECONDS` on this runner's workers, once: a
        study that fits in memory can still take hours, as an experiment can. Runs a results
        store already holds are counted too (they are known only once the variants are made)."""
        from ..experiment.budget import WARN_SECONDS, RunSizeWarning, estimate_experiment

        if self._announced or runs < 1:
            return
        est = estimate_experiment(scenario, runs, self.backend.workers)
        if est.seconds > WARN_SECONDS:
            self._announced = True
            cores = f"{self.backend.workers} core{'s' if self.backend.workers != 1 else ''}"
            resume = "" if self.store is not None else "; with a results store (--store) it can be stopped and resumed"
            warnings.warn(
                f"this study's {budget.human_count(runs)} {'run is' if runs == 1 else 'runs are'} estimated to take "
                f"{budget.human_duration(est.seconds)} on {cores}{resume}",
                RunSizeWarning,
                stacklevel=3,
            )

    def _finish(self, records: list[dict[str, Any]]) -> None:
        if self.store is not None:
            by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in records:
                by_key[r["scenario_hash"]].append(r)
            for key, recs in by_key.items():
                if key not in self._stored_scenarios:
                    self.store.add_scenario(self.variants[key])
                    self._stored_scenarios.add(key)
                self.store.add_runs(key, self.version, recs, METRICS)
        for r in records:
            self.results[(r["scenario_hash"], r["policy"], int(r["replication"]))] = r
        self.computed += len(records)
        self.bar.update(len(records))

    def _compute(self, tasks: list[Task]) -> None:
        self._scheduler.run(iter(tasks), len(tasks))

    def _submit(self, executor: Executor, batch: list[Task]) -> Future:
        keys = {k for k, _, _ in batch}
        return executor.submit(run_tasks, self.seed, {k: self.variants[k] for k in keys}, batch)
