"""``replay``: a seller's real orders and return requests run through each policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..calibrate.readers import ReadProblem
from ..calibrate.tsv import Source
from ..experiment.replications import check_policy_names, run_experiment
from ..experiment.result import ExperimentResult
from ..experiment.store import ResultStore
from ..scenario import Scenario
from ..scenario.loader import as_scenario
from .actuals import actual_figures, compare, fmt, format_table, replayed_figures
from .inputs import ReplayInputs, read_inputs

__all__ = ["replay", "replay_result", "ReplayResult"]


@dataclass
class ReplayResult(ExperimentResult):
    """An :class:`~returnsim.experiment.result.ExperimentResult` (so every report, table, store
    and plot of a run takes it), plus what a replay adds."""

    actuals: pd.DataFrame | None = None
    """Actual vs replayed for the current (first) policy: one row per figure, with the
    difference and its interval (:func:`returnsim.replay.actuals.compare`); ``None`` when not
    asked for."""
    problems: list[ReadProblem] = field(default_factory=list)
    """Every cell or row of the reports that could not be read (the rest was used)."""
    input_notes: list[str] = field(default_factory=list)
    """What reading and matching the reports left out, and why."""
    requests: int = 0
    """Requests replayed (each policy sees these same requests)."""
    orders: int = 0
    """Orders in the replayed period."""
    start_date: str = ""
    """Day 0 of the replay (the Monday on or before the first order)."""

    def to_csv(self, directory: str | Path, baseline: str | None = None) -> list[Path]:
        """Like :meth:`ExperimentResult.to_csv`, plus ``actuals.csv`` (actual vs replayed)."""
        from ..files import write_text_atomically
        from ..text import csv_safe

        paths = super().to_csv(directory, baseline)
        if self.actuals is not None:
            path = Path(directory) / "actuals.csv"
            write_text_atomically(path, csv_safe(self.actuals).to_csv(index=False, float_format="%.17g"))
            paths.append(path)
        return paths

    def actuals_rows(self) -> list[dict[str, str]]:
        """The actual-vs-replayed rows as text cells (for the HTML report); empty without
        actuals."""
        if self.actuals is None:
            return []
        return [
            {
                "figure": r.figure if r.scope == "seller-fulfilled" else f"{r.figure} (store-wide)",
                "actual": fmt(r.actual),
                "replayed": fmt(r.replayed),
                "interval": f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
                "difference": fmt(r.difference),
                "note": ("" if r.within is None else "within · " if r.within else "OUTSIDE · ") + r.note,
            }
            for r in self.actuals.itertuples()
        ]

    def actuals_table(self) -> str:
        """The actual-vs-replayed table as text (empty without actuals)."""
        if self.actuals is None:
            return ""
        return format_table(self.actuals, self.policies[0])


def replay(
    scenario: Scenario | str | Path | Mapping[str, Any],
    *,
    orders: Source,
    fba_returns: Source | None = None,
    mfn_returns: Source | None = None,
    classes: Source | Mapping[str, str] | None = None,
    policies: Sequence[str] | str | None = None,
    replications: int = 30,
    seed: int | None = 0,
    executor: Executor | None = None,
    store: str | Path | ResultStore | None = None,
    progress: bool | None = None,
    target_half_width: Mapping[str, float] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    max_replications: int = 1000,
    allow_large: bool = False,
    home_country: str | None = None,
    actuals: bool = True,
    inputs: ReplayInputs | None = None,
) -> ReplayResult:
    """Replay a seller's year: the reports' orders and return requests, as they happened,
    through each policy (docs/replay.md).

    Order times, items, prices, markets, request times and stated reasons are taken from the
    reports; what a policy changes (the desk's answers and their timing, offers and the buyer's
    response, freight payer, disposition, fees, refunds, claims, retention) is simulated with
    the scenario's behaviour model, and the hidden per-request draws are seeded by each
    request's identity, so every policy meets the same buyers.

    Args:
        scenario: the seller's scenario (a calibrated one, ``returnsim calibrate``): its catalog
            names the item classes, its reasons the stated reasons, its policies what to compare.
        orders: the All Orders report.
        fba_returns, mfn_returns: the FBA customer returns report and the seller-fulfilled
            Returns report (at least one).
        classes: SKU/ASIN -> item class mapping (file or dict), as for ``calibrate``.
        policies: the policies to compare, the seller's current one first (default: all, in the
            scenario's order); the first is the one compared with the actuals.
        replications, seed, executor, store, progress, target_half_width, scheduler, workers,
            max_replications, allow_large: as for :func:`returnsim.run_experiment`; the store
            keys rows by the scenario and the input files' content hash.
        home_country: the domestic market's country code (default: the most common ship-to).
        actuals: set ``result.actuals``: the first policy's figures beside the reports' (summed
            during the experiment's own replications, so no run is repeated).
        inputs: reports already read (:func:`returnsim.replay.inputs.read_inputs`); the
            report arguments are then ignored.

    Returns:
        A :class:`ReplayResult` (an ``ExperimentResult``).

    Raises:
        ReportError: a report cannot be used at all (the message names it and the fix).
        ScenarioError, TypeError, ValueError, KeyError: as for ``run_experiment``.
    """
    sc = as_scenario(scenario)
    names = check_policy_names(sc, policies)
    if inputs is None:
        inputs = read_inputs(
            sc, orders=orders, fba_returns=fba_returns, mfn_returns=mfn_returns, classes=classes, home_country=home_country,
            allow_large=allow_large,
        )
    res = run_experiment(
        inputs.scenario,
        policies=names,
        replications=replications,
        seed=seed,
        executor=executor,
        store=store,
        progress=progress,
        target_half_width=target_half_width,
        scheduler=scheduler,
        workers=workers,
        max_replications=max_replications,
        allow_large=allow_large,
        source=inputs.demand,
    )
    return replay_result(res, inputs, actuals)


def replay_result(res: ExperimentResult, inputs: ReplayInputs, actuals: bool = True) -> ReplayResult:
    """The :class:`ReplayResult` of an experiment run on ``inputs`` (``run_experiment(...,
    source=inputs.demand)``, fresh or read back from a results store): what was read, and with
    ``actuals`` the first policy's figures (its ``replay_*`` columns) beside the reports."""
    out = ReplayResult(**vars(res))
    out.problems = inputs.problems
    out.input_notes = list(inputs.notes)
    out.requests = len(inputs.demand)
    out.orders = int(inputs.demand.orders_per_day.sum())
    out.start_date = inputs.start.isoformat()
    out.notes = [*out.notes, *(f"replay input: {n}" for n in inputs.notes)]
    if actuals:
        policy = out.policies[0]
        out.actuals = compare(actual_figures(inputs.returns), replayed_figures(out.runs, policy), out.runs, policy)
    return out
