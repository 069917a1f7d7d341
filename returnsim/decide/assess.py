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

It simulates only what it needs:

* the PSA screens out, in stages of draws, the policies whose probability of being best is
  negligible with confidence (:mod:`returnsim.decide.screening`; the notes name them and after
  how many draws);
* the tornado and the break-evens reuse the PSA's draws: the paired difference of the selected
  policy and its rival is regressed on the inputs (a linear metamodel,
  :mod:`returnsim.decide.metamodel`), and when its leave-one-out R² is at least
  :data:`~returnsim.decide.metamodel.MIN_LOO_R2` they are read off it without simulating;
  otherwise a Gaussian-process emulator of the same draws
  (:mod:`returnsim.decide.emulator_draws`, with scikit-learn) answers them when its
  leave-one-out Q² passes the same bar; otherwise they are simulated as before. The notes, and
  :attr:`Tornado.how <returnsim.decide.sensitivity.Tornado.how>`, say which way each was
  computed.
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
from ..scenario.policy import policy_labels
from .emulator_draws import (
    PairEmulator,
    breakeven_from_emulator,
    pair_emulator,
    tornado_from_emulator,
)
from .from_draws import breakeven_from_draws, pair_fit, tornado_from_draws
from .metamodel import MIN_LOO_R2, LinearFit
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
    screen: float | None = 0.05,
    min_fit: float = MIN_LOO_R2,
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
        screen: the PSA screens out policies whose probability of being best is below this
            with 95 % confidence (assumed 5 %; ``None``: no screening; see
            :mod:`returnsim.decide.screening`), and whose expected excess over the others is
            below a tenth of the selection's indifference zone.
        min_fit: the leave-one-out R² a linear metamodel of the PSA's draws (or, failing
            that, the Q² of a Gaussian-process emulator of them) needs for the tornado and
            break-evens to be read off it instead of simulated (above 1: always simulate).
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
    # Notes name policies as the report does, by their labels.
    labels = policy_labels(sc.policies)
    try:
        names = list(selection.replications)
        if draws > 0 and len(names) > 1:
            # What screening may change (EVPI, expected losses) stays below a tenth of the
            # difference the seller called not worth telling apart (assumed).
            tolerance = selection.indifference / 10 if selection.indifference > 0 else None
            out.psa = psa(sc, draws, names, selection.metric, goal=selection.goal, screen=screen,
                          loss_tolerance=tolerance, **where)
            if out.psa.screened:
                out.notes.append(_screened_note(out.psa, screen, labels))
        if tornado_replications > 0 and out.rival is not None:
            pair = [selection.selected, out.rival]
            shown = " - ".join(labels.get(p, p) for p in pair)
            fit = _metamodel(out.psa, pair, shown, min_fit, out.notes)
            em = _emulator(out.psa, pair, shown, min_fit, out.notes, seed) if fit is None else None
            noise = _negligible_noise(selection, out.psa, pair, shown, out.notes) if fit is None and em is None else None
            reps = 1 if noise is not None else tornado_replications
            if fit is not None:
                assert out.psa is not None
                out.tornado = tornado_from_draws(out.psa, pair, fit)
            elif em is not None:
                assert out.psa is not None
                out.tornado = tornado_from_emulator(out.psa, em)
            else:
                out.tornado = tornado(sc, selection.metric, pair, replications=reps, noise=noise, **where)
            for path in out.tornado.flipping()[:max_breakevens]:
                if fit is not None:
                    assert out.psa is not None
                    out.breakevens.append(breakeven_from_draws(out.psa, path, pair, fit))
                elif em is not None:
                    assert out.psa is not None
                    out.breakevens.append(breakeven_from_emulator(out.psa, path, em))
                else:
                    out.breakevens.append(
                        breakeven(sc, path, pair, selection.metric, levels=breakeven_levels,
                                  replications=reps, noise=noise, **where)
                    )
    finally:
        if own is not None:
            own.shutdown(wait=True, cancel_futures=True)
    return out


def _screened_note(res: PSA, screen: float | None, labels: Mapping[str, str]) -> str:
    by_draws: dict[int, list[str]] = {}
    for p, n in res.screened.items():
        by_draws.setdefault(n, []).append(labels.get(p, p))
    parts = "; ".join(f"{', '.join(ps)} after {n} draws" for n, ps in sorted(by_draws.items()))
    return (
        f"screened out of the PSA (probability of being best below {screen:g} with 95 % confidence, "
        f"never best in a draw, so simulated no further): {parts}; the other policies ran all "
        f"{res.draws} draws"
    )


def _metamodel(res: PSA | None, pair: list[str], shown: str, min_fit: float, notes: list[str]) -> LinearFit | None:
    """The linear metamodel of the pair's difference over the PSA's draws if it fits well
    enough, else ``None`` (and a note saying why the tornado is simulated)."""
    if res is None or min_fit > 1:
        return None
    try:
        fit = pair_fit(res, pair)
    except ValueError as err:
        notes.append(f"the tornado and break-evens are simulated: no metamodel of the PSA's draws ({err})")
        return None
    if fit.loo_r2 >= min_fit:
        notes.append(
            f"the tornado and break-evens come from a linear metamodel of the PSA's {res.draws} draws of "
            f"{shown} (leave-one-out R² {fit.loo_r2:.2f} >= {min_fit:g}), without new simulation"
        )
        return fit
    notes.append(
        f"a linear metamodel of the PSA's draws of {shown} explains too little out of sample "
        f"(leave-one-out R² {fit.loo_r2:.2f} < {min_fit:g})"
    )
    return None


def _emulator(
    res: PSA | None, pair: list[str], shown: str, min_fit: float, notes: list[str], seed: int
) -> PairEmulator | None:
    """A Gaussian-process emulator of the pair's difference over the PSA's draws if its
    leave-one-out Q² passes ``min_fit``, else ``None``; a note says which way the tornado and
    break-evens are computed."""
    if res is None or min_fit > 1:
        return None
    why = "no emulator"
    try:
        em = pair_emulator(res, pair, seed)
    except ImportError:
        why = "no emulator without scikit-learn (pip install 'returnsim[sensitivity]')"
    except ValueError as err:
        why = f"no emulator ({err})"
    else:
        if em.q2 >= min_fit:
            notes.append(
                f"the tornado and break-evens come from a Gaussian-process emulator of the PSA's {em.draws} draws of "
                f"{shown} (leave-one-out Q² {em.q2:.2f} >= {min_fit:g}), without new simulation"
            )
            return em
        why = f"nor does a Gaussian-process emulator (leave-one-out Q² {em.q2:.2f} < {min_fit:g})"
    notes.append(f"the tornado and break-evens are simulated: {why}")
    return None


NEGLIGIBLE_NOISE = 0.05
"""Simulation noise below this share of the pair's variance over the PSA's draws is negligible:
the tornado and break-evens then run one replication per point (assumed)."""


def _negligible_noise(
    selection: Selection, res: PSA | None, pair: list[str], shown: str, notes: list[str]
) -> tuple[float, int] | None:
    """The pair's replication noise (sd, degrees of freedom) from the selection's paired
    replications at the scenario's values, if it is a negligible share of the difference's
    variance over the PSA's draws; else ``None``."""
    runs = selection.runs
    if res is None or runs is None or not set(pair) <= set(res.values.columns):
        return None
    wide = runs[runs["policy"].isin(pair)].pivot_table(
        index="replication", columns="policy", values=selection.metric, aggfunc="first").dropna()
    spread = float((res.values[pair[0]] - res.values[pair[1]]).dropna().var(ddof=1))
    if len(wide) < 3 or not spread > 0:
        return None
    sd = float((wide[pair[0]] - wide[pair[1]]).std(ddof=1))
    share = sd**2 / spread
    if share > NEGLIGIBLE_NOISE:
        return None
    notes.append(
        f"one replication per tornado and break-even point (common random numbers): the simulation noise of "
        f"{shown} ({len(wide)} paired replications of the selection) is {share:.1%} of its "
        f"variance over the PSA's draws, below {NEGLIGIBLE_NOISE:.0%}"
    )
    return sd, len(wide) - 1
