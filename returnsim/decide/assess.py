"""How sure is the answer? Everything a seller's report needs, computed in one call.

After a selection (:func:`~returnsim.decide.selection.select_best`) has named the best policy and
its ties *under the scenario's assumptions*, :func:`assess` asks what happens when those
assumptions are wrong, within the ranges the scenario's ``[uncertainty]`` table declares:

1. a probabilistic sensitivity analysis: how often each policy is best over draws of the
   uncertain inputs, its expected loss, and the value of perfect information;
2. a tornado diagram of the difference between the selected policy and its closest rival;
3. for each input that can reverse that order within its range, the break-even value where it
   does.

The studies share one pool of worker processes and, with a store, the results store.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..experiment.executors import available_cpus, process_pool
from ..experiment.store import ResultStore
from ..scenario import Scenario
from ..scenario.loader import as_scenario
from .psa import PSA, psa
from .selection import Selection
from .sensitivity import BreakEven, Tornado, breakeven, tornado

__all__ = ["Assessment", "assess", "rival"]


@dataclass
class Assessment:
    """A selection and what would change it."""

    selection: Selection
    psa: PSA | None = None
    """Probability best, expected loss and EVPI over the declared inputs (``None``: the scenario
    declares no ``[uncertainty]``, or it was not asked for)."""
    tornado: Tornado | None = None
    """One-at-a-time sensitivity of ``selected - rival``."""
    breakevens: list[BreakEven] = field(default_factory=list)
    """Break-even values of the inputs that can reverse ``selected`` and ``rival``."""
    rival: str | None = None
    """The policy closest to the selected one."""
    notes: list[str] = field(default_factory=list)


def rival(selection: Selection) -> str | None:
    """The policy the selected one beats by the least (its closest rival)."""
    others = selection.table[selection.table["policy"] != selection.selected]
    if others.empty:
        return None
    return str(others.sort_values("advantage", kind="stable")["policy"].iloc[0])


def assess(
    scenario: Scenario | str | Path | Mapping[str, Any],
    selection: Selection,
    *,
    draws: int = 48,
    tornado_replications: int = 2,
    breakeven_levels: int = 5,
    max_breakevens: int = 3,
    seed: int | None = None,
    store: str | Path | ResultStore | None = None,
    executor: Executor | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> Assessment:
    """Probability best, what drives the choice and where it flips, for a selection.

    Args:
        scenario: the scenario the selection was made in.
        selection: the result of :func:`~returnsim.decide.selection.select_best`.
        draws: draws of the uncertain inputs in the PSA (0: skip it).
        tornado_replications: replications per tornado point (0: skip the tornado and the
            break-evens).
        breakeven_levels: input values simulated per break-even search.
        max_breakevens: at most this many inputs (largest swings first) get a break-even.
        seed: base seed (default: the selection's).
        store, executor, scheduler, workers, progress: as for the other studies.
    """
    sc = as_scenario(scenario)
    out = Assessment(selection=selection, rival=rival(selection))
    if not sc.uncertainty:
        out.notes.append(
            "the scenario declares no [uncertainty] table, so there is nothing to vary: declare "
            "ranges for the assumed inputs to see what would change the answer"
        )
        return out
    seed = selection.seed if seed is None else seed
    own = None
    if executor is None and scheduler is None and (workers or available_cpus()) > 1:
        own = process_pool(workers or available_cpus())  # its workers end with this process
        executor = own
    where: dict[str, Any] = dict(
        seed=seed, store=store, executor=executor, scheduler=scheduler, workers=workers, progress=progress
    )
    try:
        names = list(selection.replications)
        if draws > 0 and len(names) > 1:
            out.psa = psa(sc, draws, names, selection.metric, goal=selection.goal, **where)
        if tornado_replications > 0 and out.rival is not None:
            pair = [selection.selected, out.rival]
            out.tornado = tornado(sc, selection.metric, pair, replications=tornado_replications, **where)
            for path in out.tornado.flipping()[:max_breakevens]:
                out.breakevens.append(
                    breakeven(sc, path, pair, selection.metric, levels=breakeven_levels,
                              replications=tornado_replications, **where)
                )
    finally:
        if own is not None:
            own.shutdown(wait=True, cancel_futures=True)
    return out
