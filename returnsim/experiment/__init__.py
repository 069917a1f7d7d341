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

from typing import TYPE_CHECKING

from .._lazy import lazy_names

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


__getattr__, __dir__ = lazy_names(__name__, _LAZY)

__all__ = [
    "run_experiment",
    "ExperimentResult",
    "PrecisionWarning",
    "METRICS",
    "run_batch",
    "ResultStore",
    "StoreError",
]
