"""Sweeps: run policies at every point of a design, as one tidy table.

A sweep turns each design point into a scenario variant, runs every policy on it for some
replications, and returns one row per point, policy and replication: the inputs as columns, then
every KPI and ledger category, as ``run_experiment`` reports them. With a results store, each
finished run is committed at once; the same call after a kill reads back what was done (the
design is rebuilt from its seed, so the variants have the same hashes) and runs the rest.

Common random numbers: with ``crn="common"`` (the default) every point uses replications
``0..R-1``, so points differ only by their inputs: right for curves, tornado diagrams, Sobol'
indices and optimisation. With ``crn="independent"`` point ``p`` uses replications
``p*R..p*R+R-1``: right for a probabilistic sensitivity analysis, where averages over points
must also average over the simulation's own randomness. Policies always share replications.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..experiment.store import ResultStore
from ..files import write_atomically
from ..scenario import Scenario
from ..scenario.loader import as_scenario
from .designs import make_design
from .errors import DecideError, check_metric, positive
from .inputs import Input, Variants, study_inputs
from .runner import StudyRunner, check_points

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["sweep", "SweepResult", "run_design", "check_policies"]

Crn = Literal["common", "independent"]


def check_policies(sc: Scenario, policies: Sequence[str] | None) -> list[str]:
    """The policies asked for (default: all), each known, none twice: the experiment engine's
    one check (:func:`~returnsim.experiment.replications.check_policy_names`), as a
    :class:`DecideError` naming the argument."""
    from ..experiment.replications import check_policy_names

    try:
        return check_policy_names(sc, policies)
    except (TypeError, KeyError, ValueError) as err:
        text = err.args[0] if err.args else str(err)
        raise DecideError(f"policies: {text}") from None


@dataclass
class SweepResult:
    """Runs of policies over the points of a design."""

    design: pd.DataFrame
    """One row per point (index ``point``), one column per input path."""
    inputs: list[Input]
    """The inputs varied, in column order."""
    policies: list[str]
    runs: pd.DataFrame
    """Tidy: ``point``, the inputs, ``policy``, ``replication``, ``seed``, ``scenario_hash`` and
    one column per KPI and ledger category; rows by point, policy, replication."""
    seed: int
    replications: int
    crn: str
    executor: str = "serial"
    computed: int = 0
    """Runs simulated by this call."""
    from_store: int = 0
    """Runs read back from the store."""
    elapsed_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def means(self, metric: str) -> pd.DataFrame:
        """Mean of ``metric`` over replications: one row per point, one column per policy."""
        check_metric(metric)
        table = self.runs.pivot_table(index="point", columns="policy", values=metric, aggfunc="mean", sort=False)
        return table[self.policies]

    def to_csv(self, path: str | Path) -> Path:
        """Write :attr:`runs` as CSV (floats with 17 significant digits: they read back exactly)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomically(path, lambda p: self.runs.to_csv(p, index=False, float_format="%.17g"))


def _replications(point: int, r: int, crn: str) -> range:
    return range(r) if crn == "common" else range(point * r, point * r + r)


def run_design(
    runner: StudyRunner,
    variants: Variants,
    design: pd.DataFrame,
    policies: Sequence[str],
    replications: int,
    crn: Crn = "common",
    first: int = 0,
) -> pd.DataFrame:
    """Run ``policies`` at every row of ``design`` (columns: input paths); the tidy frame.

    Every point's variant is built (and validated) before anything is simulated, so a point
    that makes the scenario invalid is reported at once. ``first``: the position of the
    design's first row in a larger design run in stages (with ``crn="independent"``, row ``i``
    then uses the replications of point ``first + i``, as it would in one call).
    """
    import pandas as pd

    if crn not in ("common", "independent"):
        raise DecideError(f"crn must be 'common' or 'independent', got {crn!r}")
    check_points(len(design), len(policies) * replications)
    runner.announce(len(design) * len(policies) * replications, variants.base)
    keys = []
    for point, row in zip(design.index, design.to_dict("records"), strict=True):
        row = {k: v for k, v in row.items() if v == v}  # NaN: leave the scenario's own value
        try:
            keys.append(runner.add(variants.make(row)))
        except DecideError as err:
            raise DecideError(f"design point {point}: {err}") from None
    tasks = [
        (key, pol, rep)
        for i, key in enumerate(keys)
        for pol in policies
        for rep in _replications(first + i, replications, crn)
    ]
    records = runner.run(tasks)
    from ..experiment.tasks import METRICS

    rows = []
    for i, (point, key) in enumerate(zip(design.index, keys, strict=True)):
        for pol in policies:
            for rep in _replications(first + i, replications, crn):
                rec = records[(key, pol, rep)]
                rows.append((point, pol, rep, key, *(float(rec[m]) for m in METRICS)))
    runs = pd.DataFrame(rows, columns=["point", "policy", "replication", "scenario_hash", *METRICS])
    runs.insert(3, "seed", np.int64(runner.seed))
    inputs = design.reset_index().rename(columns={"index": "point"})
    out = inputs.merge(runs, on="point", how="right", sort=False)
    return out


def sweep(
    scenario: Scenario | str | Path | Mapping[str, Any],
    design: str | pd.DataFrame = "lhs",
    points: int = 64,
    *,
    inputs: Sequence[str] | Mapping[str, Any] | None = None,
    vary: Sequence[Any] | None = None,
    policies: Sequence[str] | None = None,
    replications: int = 1,
    seed: int = 0,
    design_seed: int | None = None,
    crn: Crn = "common",
    store: str | Path | ResultStore | None = None,
    executor: Executor | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Run policies over a design of input values; one tidy frame of every run.

    Args:
        scenario: a :class:`Scenario`, a path to a scenario file, or a dict.
        design: ``"grid"``, ``"lhs"``, ``"sobol"``, ``"halton"`` or ``"random"``
            (:mod:`returnsim.decide.designs`), or a DataFrame of input values (one column per
            path, one row per point) to run as given.
        points: points of a sampled design; levels per input of a grid.
        inputs: paths of the scenario's ``[uncertainty]`` table to vary (default: all), or a
            mapping path -> range/distribution table.
        vary: extra ranges ``"PATH=LO:HI[:N]"`` (``N``: grid levels).
        policies: policies to run (default: all).
        replications: replications per point and policy.
        seed: base seed of the simulations (replication ``r`` uses ``SeedSequence([seed, r])``).
        design_seed: seed of the design's points (default: ``seed``).
        crn: ``"common"`` (every point uses the same replications) or ``"independent"``.
        store: a results store: each run committed at once; a re-run resumes.
        executor, scheduler, workers: where to run (as for ``run_experiment``).
        progress: a bar only where someone watches (``None``, default), always, or never.

    Returns:
        A :class:`SweepResult`.

    Raises:
        DecideError: an unknown input or policy, a design with no points, a point that makes
            the scenario invalid (named with its values).
    """
    import pandas as pd

    started = time.perf_counter()
    sc = as_scenario(scenario)
    names = check_policies(sc, policies)
    replications = positive("replications", replications, integer=True)
    variants = Variants(sc)
    if isinstance(design, pd.DataFrame):
        declared = [c for c in design.columns if c in sc.uncertainty]
        given = {c: _as_range(design[c]) for c in design.columns if c not in sc.uncertainty}
        found = {i.path: i for i in study_inputs(sc, declared)} if declared else {}
        found.update({i.path: i for i in study_inputs(sc, given)} if given else {})
        ins = [found[c] for c in design.columns]
        plan = design.copy()
        plan.index.name = "point"
    else:
        ins = study_inputs(sc, inputs, vary)
        variants.check(ins)
        plan = make_design(ins, design, points, seed if design_seed is None else design_seed)
    with StudyRunner(seed, executor=executor, scheduler=scheduler, workers=workers, store=store,
                     progress=progress, desc="sweep") as runner:
        runs = run_design(runner, variants, plan, names, replications, crn)
        return SweepResult(
            design=plan,
            inputs=ins,
            policies=names,
            runs=runs,
            seed=runner.seed,
            replications=replications,
            crn=crn,
            executor=runner.executor_name,
            computed=runner.computed,
            from_store=runner.from_store,
            elapsed_seconds=time.perf_counter() - started,
        )


def _as_range(values: Any) -> dict[str, Any]:
    """A uniform range spanning a column of given values (for a design given as a frame)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    return {"low": lo, "high": hi if hi > lo else lo + max(abs(lo), 1.0) * 1e-9, "source": "given design"}
