"""The unit of work of an experiment: simulate some ``(policy, replication)`` pairs.

Kept apart from the engine and at module level so that spawned worker processes and Dask can
import it cheaply: it needs the model, not pandas, scipy or the results store (the package's
``__init__`` loads those only when asked for). The studies' unit of work, :func:`run_tasks`,
is here too, for the same reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..model import KPI_NAMES, simulate
from ..model.ledger import CATEGORIES
from ..model.replay_figures import REPLAY_FIGURES, ReplayFigures
from ..model.replay_source import ReplayDemand
from ..model.world import World
from ..scenario import Scenario

__all__ = ["METRICS", "REPLAY_METRICS", "metrics_of", "run_batch", "run_tasks", "Task", "noop"]

METRICS: tuple[str, ...] = (*KPI_NAMES, *CATEGORIES)
"""Every measured column of ``runs``: the KPIs, then the ledger categories."""

REPLAY_METRICS: tuple[str, ...] = (*METRICS, *REPLAY_FIGURES)
"""A replay's measured columns: ``METRICS``, then its figures over the requests of the seller's
Returns report (:mod:`returnsim.model.replay_figures`), which the actuals are compared with."""


def metrics_of(source: ReplayDemand | None) -> tuple[str, ...]:
    """The measured columns of an experiment's ``runs`` (and its rows in a results store)."""
    return METRICS if source is None else REPLAY_METRICS


def run_batch(
    scenario: Scenario | Mapping[str, Any],
    seed: int,
    tasks: Sequence[tuple[str, int]],
    source: ReplayDemand | None = None,
) -> list[dict[str, Any]]:
    """Simulate ``(policy, replication)`` tasks; one flat record per task.

    Args:
        scenario: a :class:`Scenario`, or the plain dict of
            ``scenario.model_dump(mode="json", by_alias=True)`` (validated here).
        seed: the experiment's base seed; replication ``r`` uses ``SeedSequence([seed, r])``.
        tasks: the ``(policy, replication)`` pairs to run, in order.
        source: a seller's own orders and requests to replay (``simulate(source=...)``).

    The experiment's size was checked before it started (:mod:`.budget`), so replications
    here are not refused again.

    Returns:
        ``{"policy", "replication", "seed", <every KPI>, <every ledger category>}`` per task,
        and for a replay its figures (``REPLAY_FIGURES``), summed as the run settles.
    """
    sc = scenario if isinstance(scenario, Scenario) else Scenario.model_validate(scenario)
    # A replay's figures are summed during the run itself (no trace, no second run).
    figures = None if source is None else ReplayFigures(World(sc), source)
    out = []
    for policy, rep in tasks:
        if figures is not None:
            figures.reset()
        res = simulate(
            sc, policy, seed=np.random.SeedSequence([seed, rep]), allow_large=True, source=source, observe=figures
        )
        rec: dict[str, Any] = {"policy": policy, "replication": int(rep), "seed": int(seed)}
        for k in KPI_NAMES:
            rec[k] = float(res.kpis[k])
        for c in CATEGORIES:
            rec[c] = float(res.ledger[c])
        if figures is not None:
            rec.update(figures.figures())
        out.append(rec)
    return out


Task = tuple[str, str, int]
"""A study's task: ``(scenario hash of the variant, policy, replication)``."""


def run_tasks(seed: int, variants: Mapping[str, Any], tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """Simulate tasks of several variants (the unit of work a study's worker runs, here for the
    reason :func:`run_batch` is).

    Args:
        seed: the study's base seed.
        variants: scenario hash -> the scenario (or its plain dict) for every hash in ``tasks``.
        tasks: ``(hash, policy, replication)`` triples.

    Returns:
        One flat record per task, as :func:`returnsim.experiment.run_batch` makes them, with
        the variant's ``scenario_hash``.
    """
    groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for key, policy, rep in tasks:
        groups[key].append((policy, rep))
    out = []
    for key, pairs in groups.items():
        for rec in run_batch(variants[key], seed, pairs):
            rec["scenario_hash"] = key
            out.append(rec)
    return out


def noop() -> None:
    """A task that does nothing (benchmarks time batches of it to measure per-task overhead)."""
    return None
