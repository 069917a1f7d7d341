"""A standalone HTML report of a policy comparison: what a seller reads first.

One file, no external resources: the charts are PNGs embedded as data URIs, so the report can be
mailed or opened offline. It leads with the answer (which policy, by how much, how sure), then
the evidence: key figures with confidence intervals, paired differences from the baseline, the
cost breakdown, and the assumptions behind the numbers.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from ..model.ledger import CATEGORIES
from ..scenario import Scenario
from .how_sure import how_sure_section, selection_verdict
from .tables import KPI_ROWS

__all__ = ["write_report", "render_report"]

HEADLINE = ("net_value_per_order", "net_return_cost_per_order", "rdr", "repeat_purchase_rate")
"""Metrics whose paired differences the report charts."""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt(fmt: str, value: float) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return fmt.format(value)


def _kpi_rows(summary: pd.DataFrame, policies: Sequence[str]) -> list[dict[str, Any]]:
    s = summary.set_index(["policy", "metric"])
    rows = []
    for key, label, fmt in KPI_ROWS:
        cells: list[dict[str, str] | None] = []
        for p in policies:
            if (p, key) not in s.index:
                cells.append(None)
                continue
            r = s.loc[(p, key)]
            cells.append({"mean": _fmt(fmt, r["mean"]), "ci": f"{_fmt(fmt, r.ci_low)} – {_fmt(fmt, r.ci_high)}"})
        rows.append({"label": label, "cells": cells})
    return rows


def _comparison_rows(compare: pd.DataFrame) -> list[dict[str, Any]]:
    labels = {k: (lab, fmt) for k, lab, fmt in KPI_ROWS}
    rows = []
    for _, r in compare[compare["metric"].isin(HEADLINE)].iterrows():
        label, fmt = labels.get(r.metric, (r.metric, "{:.3g}"))
        fmt = fmt.replace("{:", "{:+", 1)  # differences carry their sign
        rows.append(
            {
                "policy": r.policy,
                "label": label,
                "significant": bool((r.ci_low > 0) or (r.ci_high < 0)),
                "diff": _fmt(fmt, r.mean_diff),
                "ci": f"{_fmt(fmt, r.ci_low)} … {_fmt(fmt, r.ci_high)}",
                "p": f"{r.p_value:.2g}",
                "vr": _fmt("{:.1f}×", r.variance_reduction),
            }
        )
    return rows


def _template() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("returnsim.output", "templates"),
        autoescape=True,  # every name in a report is user text
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2")


def render_report(
    result: Any, scenario: Scenario, baseline: str | None = None, command: str | None = None,
    decision: Any = None,
) -> str:
    """The HTML text of a report on ``result`` (an ``ExperimentResult``) for ``scenario``;
    ``decision`` (a selection or assessment of :mod:`returnsim.decide`) backs the verdict and
    "How sure is this?"."""
    import matplotlib.pyplot as plt

    from .. import __version__
    from . import plots

    policies = list(result.policies)
    baseline = baseline or policies[0]
    summary = result.summary()
    compare = result.compare(baseline)
    currency = "$"

    # Means over replications, in the shape plots.cost_breakdown takes.
    means = result.runs.groupby("policy", sort=False).mean(numeric_only=True)
    runs = {
        p: SimpleNamespace(ledger={c: means.loc[p, c] for c in CATEGORIES}, kpis=means.loc[p].to_dict())
        for p in policies
    }
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(policies) + 1.6))
    plots.cost_breakdown(runs, ax=ax, per="order")
    ax.set_title("Where the money goes, per order (mean over replications)")
    images = {"cost": _png(fig), "forest": None}

    others = [p for p in policies if p != baseline]
    if others:
        fig, axes = plt.subplots(2, 2, figsize=(11, 0.5 * len(others) * 2 + 3))
        for ax, metric in zip(axes.ravel(), HEADLINE, strict=True):
            plots.forest(compare, metric, ax=ax)
        fig.tight_layout()
        images["forest"] = _png(fig)

    fig, ax = plt.subplots(figsize=(8.5, 0.5 * len(policies) + 1.5))
    plots.kpi_bars(summary, "net_value_per_order", ax=ax, highlight=baseline)
    images["value"] = _png(fig)

    return _template().render(
        scenario=scenario,
        result=result,
        baseline=baseline,
        policies=policies,
        version=__version__,
        when=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        verdict=selection_verdict(result, summary, compare, baseline, currency, decision),
        how_sure=how_sure_section(result, decision, currency, command or ""),
        images=images,
        comparison=_comparison_rows(compare),
        kpis=_kpi_rows(summary, policies),
        command=command or "returnsim run SCENARIO --replications N --baseline P --out DIR",
    )


def write_report(
    result: Any,
    scenario: Scenario,
    path: str | Path,
    baseline: str | None = None,
    command: str | None = None,
    decision: Any = None,
) -> Path:
    """Write the HTML report of ``result`` to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result, scenario, baseline, command, decision), encoding="utf-8")
    return path
