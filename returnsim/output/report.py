"""A standalone HTML report of a policy comparison: what a seller reads first.

One file, no external resources: the charts are inline SVG, so the report can be mailed or opened
offline. It reads on a phone as on a laptop (a viewport, tables that scroll inside their own box,
charts drawn for a phone's width whose text stays at least 11 px there: :mod:`.plots.screen`).
It leads with the answer (which policy, by how much,
how sure: :mod:`.answer`, :mod:`.headline`) and any account-health warning, then the evidence:
profit per order against the baseline in three parts, paired differences from the baseline, key
figures with confidence intervals, the cost
breakdown, the policies with their descriptions, and the assumptions behind the numbers.
Statistical detail (p-values, the variance common random numbers saved) sits in a collapsed
section. Every label is a plain word (:mod:`.labels`), money is in the scenario's currency, and
policies go by their labels (:mod:`.policy_labels`; the list of policies gives their ids too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..files import write_text_atomically
from ..pages import render, svg
from ..scenario import Scenario
from .answer import answer
from .how_sure import how_sure_section, selection_of
from .labels import column_decimals, fmt_diff, fmt_interval, label
from .policy_labels import policy_label_map
from .tables import SHOWN_KPIS

__all__ = ["write_report", "render_report", "HEADLINE"]

HEADLINE = ("policy_profit_per_order", "cost_per_order", "caused_margin_per_order", "rdr")
"""Metrics whose paired differences the report charts and lists."""


def _kpi_rows(summary: pd.DataFrame, policies: Sequence[str], currency: str) -> list[dict[str, Any]]:
    """Rows of the key-figures table: a label and, per policy, the mean and its interval."""
    s = summary.set_index(["policy", "metric"])
    rows = []
    for key in SHOWN_KPIS:
        if not any((p, key) in s.index for p in policies):
            continue
        halves = [(s.loc[(p, key), "ci_high"] - s.loc[(p, key), "ci_low"]) / 2 for p in policies if (p, key) in s.index]
        d = column_decimals(key, halves)
        cells: list[str | None] = []
        for p in policies:
            if (p, key) not in s.index:
                cells.append(None)
                continue
            r = s.loc[(p, key)]
            cells.append(fmt_interval(key, float(r["mean"]), float(r["ci_low"]), float(r["ci_high"]), d))
        rows.append({"label": label(key, currency), "cells": cells})
    return rows


def _comparison(compare: pd.DataFrame, currency: str) -> dict[str, Any]:
    """The headline differences: one row per policy, one cell per metric, in plain words."""
    metrics = [m for m in HEADLINE if m in set(compare["metric"])]
    by = {(r.policy, r.metric): r for r in compare.itertuples(index=False)}
    policies = list(dict.fromkeys(compare["policy"].tolist()))
    decimals = {m: column_decimals(m, [(r.ci_high - r.ci_low) / 2 for (p, k), r in by.items() if k == m]) for m in metrics}
    rows = []
    for p in policies:
        cells: list[dict[str, Any] | None] = []
        for m in metrics:
            r = by.get((p, m))
            if r is None:
                cells.append(None)
                continue
            cells.append(
                {
                    "diff": fmt_diff(m, r.mean_diff, r.ci_low, r.ci_high, decimals[m]),
                    "significant": bool((r.ci_low > 0) or (r.ci_high < 0)),
                    "p": f"{r.p_value:.2g}",
                    "vr": "-" if r.variance_reduction != r.variance_reduction else f"{r.variance_reduction:.1f}×",
                }
            )
        rows.append({"policy": p, "cells": cells})
    return {"labels": [label(m, currency) for m in metrics], "rows": rows}


def _verdict(
    result: Any,
    scenario: Scenario,
    baseline: str,
    currency: str,
    selection: Any = None,
    decision: Any = None,
    tuning: Any = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The decision paragraph (:func:`.headline.decision_text`: cost only, with retention, the
    break-even, the PSA of ``decision`` and the ``tuning`` of the best policy's levers, when
    given), the change table in three parts, and account-health warnings."""
    from .headline import PARTS, changes, decision_text

    a = answer(result, baseline=baseline, selection=selection)
    text = decision_text(
        result, scenario, baseline, currency, selection=selection, psa=getattr(decision, "psa", None), tuning=tuning,
        names=names,
    )
    rows = [{"policy": c.policy, "cells": c.cells(3)} for c in changes(result, baseline)]
    return {
        "text": text or a.text(currency),
        "resolved": a.resolved,
        "best": a.best,
        "tied": a.tied,
        "parts": [w for w, _, _ in PARTS],
        "changes": rows,
        # Each warning opens with the policy's id; the report calls policies by their labels.
        "warnings": [
            (names or {}).get(p, p) + str(w)[len(p):] if str(w).startswith(f"{p}:") else str(w)
            for p in result.policies
            for w in a.warnings.get(p, [])
        ],
    }


def _charts(
    result: Any, summary: pd.DataFrame, compare: pd.DataFrame, policies: list[str], baseline: str, currency: str, names: dict[str, str]
) -> dict[str, Any]:
    """The report's charts as inline SVG, drawn for a phone's width (:mod:`.plots.screen`)."""
    from . import plots

    with plots.screen():  # the figures are drawn and saved inside it: their text is its size
        runs = plots.mean_runs(result.runs, policies)
        images: dict[str, Any] = {"cost": svg(plots.cost_chart(runs, names, currency=currency)), "forest": None}
        shown = [m for m in HEADLINE if m in set(compare["metric"])]
        if any(p != baseline for p in policies) and shown:
            images["forest"] = svg(plots.differences_chart(compare, shown, names, currency=currency))
        images["value"] = svg(plots.value_chart(summary, "cost_per_order", names, highlight=baseline, currency=currency))
    return images


def render_report(
    result: Any,
    scenario: Scenario,
    baseline: str | None = None,
    command: str | None = None,
    decision: Any = None,
    tuning: Any = None,
) -> str:
    """The HTML text of a report on ``result`` (an ``ExperimentResult``) for ``scenario``;
    ``decision`` (a selection or assessment of :mod:`returnsim.decide`) backs the verdict and
    "How sure is this?" (default: Kim & Nelson replayed on the replications); ``tuning`` (an
    ``Optimum`` of the best policy's levers) says whether tuning it beats switching policy."""
    from .. import __version__
    from ..experiment.statistics import metric_columns

    policies = list(result.policies)
    baseline = baseline or policies[0]
    currency = getattr(scenario, "currency", "$")
    metrics = metric_columns(result.runs)
    summary = result.summary(metrics)
    compare = result.compare(baseline, metrics)
    selection = selection_of(result, decision)
    names = policy_label_map(scenario, policies)
    return render(
        "returnsim.output",
        "report.html.j2",
        scenario=scenario,
        result=result,
        baseline=baseline,
        policies=policies,
        descriptions={p: scenario.policies[p].description for p in policies},
        names=names,
        currency=currency,
        provenance=_provenance(result),
        version=__version__,
        when=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        verdict=_verdict(result, scenario, baseline, currency, selection, decision, tuning, names),
        how_sure=how_sure_section(selection, decision, currency, command or "", names, runs=result.runs, baseline=baseline),
        images=_charts(result, summary, compare, policies, baseline, currency, names),
        comparison=_comparison(compare, currency),
        kpis=_kpi_rows(summary, policies, currency),
        command=command or "returnsim run SCENARIO --replications N --baseline P --out DIR",
    )


def _provenance(result: Any) -> str:
    """Where the replications came from: simulated now (and on what), read from a results
    store, or both, so a report rewritten from a store does not claim a run it did not do."""
    computed = getattr(result, "computed", 0)
    stored = getattr(result, "from_store", 0)
    where = "in one process" if result.executor == "serial" else f"on {result.executor}"
    if stored and not computed:
        return "read from a results store"
    if stored:
        return f"{computed} simulated {where}, {stored} read from a results store"
    return f"simulated {where}"


def write_report(
    result: Any,
    scenario: Scenario,
    path: str | Path,
    baseline: str | None = None,
    command: str | None = None,
    decision: Any = None,
    tuning: Any = None,
) -> Path:
    """Write the HTML report of ``result`` to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # rendered first, then written whole or not at all
    return write_text_atomically(path, render_report(result, scenario, baseline, command, decision, tuning))
