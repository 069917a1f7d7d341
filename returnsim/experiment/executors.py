"""Where replications run: in this process, on a process pool, or on any executor.

The engine never changes the global multiprocessing start method: the pools it starts use a
``spawn`` context. Any ``concurrent.futures.Executor`` can be passed in, which covers a Dask
cluster through ``distributed.Client(address).get_executor()``. Short tasks are batched so that
scheduling overhead stays under one per cent (:func:`iter_batches`), and batches are made as
they are needed, so a million replications never sit in memory as a list of tasks.

Workers of the engine's own pool end when the process that started them dies, even by
``kill -9``: each watches its parent (:func:`watch_parent`) and exits when it is gone, so no
worker, and no multiprocessing resource tracker, outlives an interrupted run.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any, Generic, TypeVar

from .._watch import watch_parent

T = TypeVar("T")

__all__ = [
    "Backend",
    "Scheduler",
    "explain_broken_pool",
    "available_cpus",
    "plan_batches",
    "iter_batches",
    "watch_parent",
    "WATCH_INITIALIZER",
    "process_pool",
    "START_METHOD",
    "TASK_OVERHEAD_SECONDS",
    "OVERHEAD_FACTOR",
    "MAX_TASK_SECONDS",
    "MIN_POOL_SECONDS",
]

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
a spawned worker imports the model (numpy, scipy.special, SimPy and pydantic; not pandas), about
1.3 s of CPU each on the slower 2-core machine."""



def explain_broken_pool(err: BaseException) -> BrokenProcessPool:
    """A :class:`BrokenProcessPool` that says the usual cause: workers are started with the
    ``spawn`` method, which re-imports the main script in each of them, so a script that runs
    returnsim's experiments, sweeps or selections on the process pool must do so under
    ``if __name__ == '__main__':``."""
    return BrokenProcessPool(
        f"{err} Worker processes are started with the {START_METHOD!r} method, which "
        "re-imports the main script in each worker: a script that runs experiments, sweeps or "
        "selections on several processes must do so under `if __name__ == '__main__':`."
    )


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` on a ``spawn`` context (not the global start method), whose
    workers exit when this process dies (:func:`watch_parent`)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(START_METHOD),
        initializer=WATCH_INITIALIZER,
    )


class Backend:
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
        """Start the engine's own process pool (see :func:`process_pool`)."""
        self.executor = process_pool(self.workers)
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


WATCH_INITIALIZER = watch_parent
"""The initializer of the engine's pools (:func:`returnsim._watch.watch_parent`): a function of
a standard-library-only module, so a fresh worker unpickles it without importing the engine."""


def iter_batches(
    tasks: Iterator[T],
    count: int,
    seconds_per_task: float,
    workers: int,
    overhead: float,
) -> Iterator[list[T]]:
    """Batches of the ``count`` tasks of an iterator, made as they are asked for.

    A batch lasts at least ``OVERHEAD_FACTOR * overhead`` seconds (so scheduling costs under
    1 %) and at most ``MAX_TASK_SECONDS`` (so results reach the store often); in between, each
    batch takes a share ``1 / (2 * workers)`` of what remains, so early batches are big and the
    last ones small enough for the workers to finish together.
    """
    t = max(seconds_per_task, 1e-6)
    b_min = max(1, math.ceil(OVERHEAD_FACTOR * overhead / t))
    b_max = max(b_min, math.floor(MAX_TASK_SECONDS / t))
    remaining = count
    while remaining > 0:
        size = min(b_max, max(b_min, math.ceil(remaining / (2 * workers))))
        batch = list(islice(tasks, size))
        if not batch:
            return
        remaining -= len(batch)
        yield batch


def plan_batches(
    tasks: Sequence[T], seconds_per_task: float, workers: int, overhead: float
) -> list[list[T]]:
    """All batches of a list of tasks at once (see :func:`iter_batches`)."""
    return list(iter_batches(iter(tasks), len(tasks), seconds_per_task, workers, overhead))


class Scheduler(Generic[T]):
    """The one scheduling loop of every command (``run``, ``select``, ``sweep``, ``psa``,
    ``optimize``...): a timed pilot task in this process, then this process or a pool as the
    work is worth it, batches sized by :func:`iter_batches`, two batches per worker in flight,
    and a broken pool explained.

    Args:
        backend: where tasks run (its pool is started here when needed, closed by its owner).
        local: simulates one task in this process; returns its records.
        submit: sends one batch to an executor; returns the future of its records.
        finish: takes records as they arrive (the store, the results, the progress bar).
    """

    def __init__(
        self,
        backend: Backend,
        local: Callable[[T], list[dict[str, Any]]],
        submit: Callable[[Executor, list[T]], Future],
        finish: Callable[[list[dict[str, Any]]], None],
    ) -> None:
        self.backend = backend
        self.local = local
        self.submit = submit
        self.finish = finish
        self.seconds_per_task: float | None = None
        """Seconds one task took in this process (the pilot's, then the latest local one)."""

    def run_local(self, tasks: Iterable[T]) -> None:
        """Run tasks one by one in this process, timing each."""
        for task in tasks:
            start = time.perf_counter()
            self.finish(self.local(task))
            self.seconds_per_task = time.perf_counter() - start

    def run(self, tasks: Iterator[T], count: int) -> None:
        """Run ``count`` tasks drawn from an iterator (made lazily: never all in memory)."""
        b = self.backend
        if b.executor is None and b.workers == 1:
            self.run_local(tasks)
            return
        if count and self.seconds_per_task is None:
            self.run_local(islice(tasks, 1))  # a timed pilot, to size the batches
            count -= 1
        if count <= 0:
            return
        assert self.seconds_per_task is not None
        if b.executor is None:
            if self.seconds_per_task * count < MIN_POOL_SECONDS:
                self.run_local(tasks)  # less work than starting a pool costs
                return
            b.start_pool()
        overhead = TASK_OVERHEAD_SECONDS[b.kind]
        batches = iter_batches(tasks, count, self.seconds_per_task, b.workers, overhead)
        executor = b.executor
        assert executor is not None
        pending: set[Future] = set()
        try:
            for batch in batches:
                # Keep two batches per worker in flight; make the next only when one is done.
                while len(pending) >= 2 * b.workers:
                    self._collect(pending)
                pending.add(self.submit(executor, batch))
            while pending:
                self._collect(pending)
        except BrokenProcessPool as err:
            for fut in pending:
                fut.cancel()
            raise explain_broken_pool(err) from err
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise

    def _collect(self, pending: set[Future]) -> None:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            pending.discard(fut)
            self.finish(fut.result())
