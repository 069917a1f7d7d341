"""Experiments: many replications of several policies, with common random numbers.

* :mod:`.replications`: :func:`run_experiment`, the engine (rounds, targets, progress, store);
* :mod:`.tasks`: the unit of work a worker runs (:func:`run_batch`) and the measured ``METRICS``;
* :mod:`.executors`: where tasks run (this process, a process pool, any executor or Dask);
* :mod:`.progress`: progress bars shown only where someone watches (a notebook, a terminal);
* :mod:`.result`: :class:`ExperimentResult`, a tidy frame of replications;
* :mod:`.statistics`: confidence intervals and paired comparisons;
* :mod:`.store`: the SQLite results store a killed run resumes from;
* :mod:`.fingerprint`: which model produced a stored number.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .replications import PrecisionWarning, run_experiment
    from .result import ExperimentResult
    from .store import ResultStore, StoreError
    from .tasks import METRICS, run_batch

# Names load on first use (PEP 562): a worker process imports .tasks (the model) to run its
# tasks, and importing this package must not make it load pandas, the engine and the store
# (about 0.7 s of CPU and 60 MB resident per worker).
_LAZY = {
    "run_experiment": "replications",
    "PrecisionWarning": "replications",
    "ExperimentResult": "result",
    "ResultStore": "store",
    "StoreError": "store",
    "METRICS": "tasks",
    "run_batch": "tasks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # once loaded, an ordinary attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "run_experiment",
    "ExperimentResult",
    "PrecisionWarning",
    "METRICS",
    "run_batch",
    "ResultStore",
    "StoreError",
]
