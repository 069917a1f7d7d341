"""How big an experiment is before it starts: memory and time from the scenario.

One replication's size comes from :func:`returnsim.model.budget.estimate_run`; an experiment
runs ``policies x replications`` of them, as many at once as it has workers, and keeps one row
of metrics per replication in memory. :func:`check_experiment` refuses an experiment whose
estimated memory exceeds what the machine has available (:class:`RunTooLarge`, unless
``allow_large``) and returns a warning to show when it would take more than
:data:`WARN_SECONDS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.budget import (
    RunEstimate,
    RunTooLarge,
    available_memory,
    estimate_run,
    human_bytes,
    human_count,
    human_duration,
)
from ..scenario import Scenario

__all__ = [
    "ExperimentEstimate",
    "RunSizeWarning",
    "estimate_experiment",
    "check_experiment",
    "BYTES_PER_ROW",
    "WARN_SECONDS",
]

BYTES_PER_ROW = 4_000
"""Memory per finished replication kept by the engine (a dict of ~50 floats, then a row of the
``runs`` frame; measured 3.6 kB)."""

WARN_SECONDS = 3600.0
"""An experiment estimated to take longer than this (on its workers) is announced first."""


class RunSizeWarning(UserWarning):
    """An experiment is estimated to take hours."""


@dataclass(frozen=True)
class ExperimentEstimate:
    """The size of an experiment, estimated before it starts."""

    run: RunEstimate
    """One replication."""
    tasks: int
    """Replications to simulate (policies x replications, at most)."""
    workers: int
    """Replications running at once."""
    memory_bytes: float
    """Peak memory: the replications running at once, plus every finished row."""
    seconds: float
    """Wall time on ``workers`` cores."""

    def describe(self) -> str:
        return (
            f"{human_count(self.tasks)} replication{'s' if self.tasks != 1 else ''} of "
            f"~{human_count(self.run.requests)} return requests each: "
            f"~{human_bytes(self.memory_bytes)} of memory and ~{human_duration(self.seconds)} on "
            f"{self.workers} core{'s' if self.workers != 1 else ''}"
        )


def estimate_experiment(scenario: Scenario, tasks: int, workers: int) -> ExperimentEstimate:
    """Estimated memory and time of ``tasks`` replications on ``workers`` processes."""
    run = estimate_run(scenario)
    at_once = max(1, min(workers, tasks))
    memory = run.memory_bytes * at_once + BYTES_PER_ROW * tasks
    seconds = run.seconds * tasks / at_once
    return ExperimentEstimate(run, tasks, at_once, memory, seconds)


def check_experiment(
    scenario: Scenario, tasks: int, workers: int, allow_large: bool = False
) -> tuple[ExperimentEstimate, str | None]:
    """Estimate an experiment; refuse it if it would not fit in memory.

    Returns:
        The estimate, and a warning to show before starting if it would take more than
        :data:`WARN_SECONDS` (else ``None``).

    Raises:
        RunTooLarge: the estimated memory exceeds the memory available (and not
            ``allow_large``).
    """
    est = estimate_experiment(scenario, tasks, workers)
    free = available_memory()
    if not allow_large and free is not None and est.memory_bytes > free:
        why = "; ".join(est.run.drivers)
        raise RunTooLarge(
            f"this experiment would need {est.describe()}, but {human_bytes(free)} of memory is "
            f"available ({why}). Use fewer replications, a shorter horizon or less demand; to "
            "run it anyway pass allow_large=True (returnsim: --allow-large)"
        )
    warning = None
    if est.seconds > WARN_SECONDS:
        warning = (
            f"this experiment is estimated to take {human_duration(est.seconds)} "
            f"({est.describe()}); with a results store (--store) it can be stopped and resumed"
        )
    return est, warning
