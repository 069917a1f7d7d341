"""A standalone HTML report of a policy comparison: what a seller reads first.

One file, no external resources: the charts are PNGs embedded as data URIs, so the report can be
mailed or opened offline. It leads with the answer (which policy, by how much, how sure), then
the evidence: key figures with confidence intervals, paired differences from the baseline, the
cost breakdown, and the assumptions behind the numbers.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from .model.ledger import CATEGORIES
from .scenario import Scenario
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


def _kpi_table(summary: pd.DataFrame, policies: Sequence[str]) -> str:
    s = summary.set_index(["policy", "metric"])
    head = "".join(f"<th>{html.escape(p)}</th>" for p in policies)
    rows = []
    for key, label, fmt in KPI_ROWS:
        cells = []
        for p in policies:
            if (p, key) not in s.index:
                cells.append("<td>–</td>")
                continue
            r = s.loc[(p, key)]
            ci = f"{_fmt(fmt, r.ci_low)} – {_fmt(fmt, r.ci_high)}"
            cells.append(f"<td><b>{_fmt(fmt, r['mean'])}</b><br><small>{ci}</small></td>")
        rows.append(f"<tr><th scope='row'>{html.escape(label)}</th>{''.join(cells)}</tr>")
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _comparison_table(compare: pd.DataFrame, baseline: str) -> str:
    labels = {k: (lab, fmt) for k, lab, fmt in KPI_ROWS}
    rows = []
    for _, r in compare[compare["metric"].isin(HEADLINE)].iterrows():
        label, fmt = labels.get(r.metric, (r.metric, "{:.3g}"))
        fmt = fmt.replace("{:", "{:+", 1)  # differences carry their sign
        sig = (r.ci_low > 0) or (r.ci_high < 0)
        rows.append(
            f"<tr class='{'sig' if sig else ''}'><td>{html.escape(r.policy)}</td>"
            f"<td>{html.escape(label)}</td><td>{_fmt(fmt, r.mean_diff)}</td>"
            f"<td>{_fmt(fmt, r.ci_low)} … {_fmt(fmt, r.ci_high)}</td>"
            f"<td>{r.p_value:.2g}</td><td>{_fmt('{:.1f}×', r.variance_reduction)}</td></tr>"
        )
    return (
        f"<table><thead><tr><th>policy</th><th>vs {html.escape(baseline)}</th><th>difference</th>"
        "<th>95 % CI</th><th>p</th><th>variance cut by CRN</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _verdict(summary: pd.DataFrame, compare: pd.DataFrame, baseline: str, currency: str) -> str:
    value = summary[summary.metric == "net_value_per_order"].set_index("policy")
    cost = summary[summary.metric == "net_return_cost_per_order"].set_index("policy")
    best = value["mean"].idxmax()
    cheapest = cost["mean"].idxmin()
    parts = [
        f"<p><b>{html.escape(best)}</b> has the highest net value per order "
        f"({currency}{value.loc[best, 'mean']:.2f}, 95 % CI {currency}{value.loc[best, 'ci_low']:.2f}"
        f"–{currency}{value.loc[best, 'ci_high']:.2f}): retained margin from returning customers "
        f"less the net cost of returns, per order of the store's demand.</p>",
        f"<p><b>{html.escape(cheapest)}</b> has the lowest net return cost per order "
        f"({currency}{cost.loc[cheapest, 'mean']:.2f}).</p>",
    ]
    if best != baseline:
        row = compare[(compare.policy == best) & (compare.metric == "net_value_per_order")]
        if len(row):
            r = row.iloc[0]
            sure = "a difference the replications resolve" if (r.ci_low > 0 or r.ci_high < 0) else "not distinguishable from zero"
            parts.append(
                f"<p>Against <b>{html.escape(baseline)}</b> it gains {currency}{r.mean_diff:.2f} per "
                f"order (paired 95 % CI {currency}{r.ci_low:.2f} to {currency}{r.ci_high:.2f}; {sure}).</p>"
            )
    parts.append(
        "<p class='note'>Net value rests on the retention model, calibrated to one published "
        "study (Bower &amp; Maxham 2012); where the ranking by net value and by cost disagree, "
        "the choice depends on how much you trust that effect for your customers.</p>"
    )
    return "".join(parts)


def render_report(
    result: Any, scenario: Scenario, baseline: str | None = None, command: str | None = None
) -> str:
    """The HTML text of a report on ``result`` (an ``ExperimentResult``) for ``scenario``."""
    import matplotlib.pyplot as plt

    from . import __version__, plots
    from .analysis import plot_forest

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
    cost_png = _png(fig)

    others = [p for p in policies if p != baseline]
    forests = []
    if others:
        fig, axes = plt.subplots(2, 2, figsize=(11, 0.5 * len(others) * 2 + 3))
        for ax, metric in zip(axes.ravel(), HEADLINE, strict=True):
            plot_forest(compare, metric, ax=ax)
        fig.tight_layout()
        forests.append(_png(fig))

    fig, ax = plt.subplots(figsize=(8.5, 0.5 * len(policies) + 1.5))
    plots.kpi_bars(summary, "net_value_per_order", ax=ax, highlight=baseline)
    value_png = _png(fig)

    desc = "".join(
        f"<li><b>{html.escape(p)}</b>: {html.escape(scenario.policies[p].description or '(no description)')}</li>"
        for p in policies
    )
    reproduce = html.escape(command or "returnsim run SCENARIO --replications N --baseline P --out DIR")
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    forest_html = "".join(f"<img alt='paired differences' src='{src}'>" for src in forests)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>returnsim report: {html.escape(scenario.name)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.6em; margin-bottom: .2em; }} h2 {{ margin-top: 1.8em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: .8em 0; font-size: 13px; }}
th, td {{ border: 1px solid #ddd; padding: 4px 8px; text-align: right; vertical-align: top; }}
thead th {{ background: #f4f4f4; }} tbody th {{ text-align: left; font-weight: normal; }}
td:first-child {{ text-align: left; }} tr.sig td {{ background: #f3f8ec; }}
small {{ color: #666; }} .note {{ color: #555; font-size: 13px; }} img {{ max-width: 100%; }}
.verdict {{ background: #f7f9fc; border-left: 4px solid #2166ac; padding: .6em 1em; }}
code {{ background: #f4f4f4; padding: 0 .3em; }}
</style></head><body>
<h1>{html.escape(scenario.name)}: which return policy?</h1>
<p class="note">{html.escape(scenario.description)}<br>
{result.replications} replications per policy, seed {result.seed}, common random numbers across
policies; {html.escape(result.executor)}; returnsim {__version__}; {when}.</p>
<div class="verdict">{_verdict(summary, compare, baseline, currency)}</div>

<h2>Net value per order</h2>
<img alt="net value per order" src="{value_png}">

<h2>Differences from {html.escape(baseline)}</h2>
<p>Each policy against <b>{html.escape(baseline)}</b> on the same simulated orders and buyers
(paired differences; shaded rows: the 95 % interval excludes zero). The last column is how many
times smaller the variance of the paired difference is than if the runs had been independent.</p>
{forest_html}
{_comparison_table(compare, baseline)}

<h2>Key figures</h2>
<p>Mean over replications, with the 95 % confidence interval below it.</p>
{_kpi_table(summary, policies)}

<h2>Cost breakdown</h2>
<img alt="cost breakdown" src="{cost_png}">
<p class="note">Costs to the right of zero, credits (resale, fees deducted from refunds,
carrier claims, referral fees credited back) to the left; the diamond is the net cost. A
refunded sale counts its full price as a cost and the resale of the returned unit as a credit,
so a kept order contributes zero.</p>

<h2>Policies</h2>
<ul>{desc}</ul>

<h2>What the numbers rest on</h2>
<p class="note">Defaults taken from published figures name their source in the scenario file and
in <code>returnsim schema</code>; the others are marked assumed and are the ones to vary in a
sensitivity analysis. Retention (repeat purchases after a return) is calibrated to Bower &amp;
Maxham (2012): customers who paid for their return spent 0–25 % of their earlier spending over
the next two years, free-return customers 158–457 %. The model, its equations and what it does
not claim are in <code>docs/model.md</code>.</p>
<p class="note">Reproduce: <code>{reproduce}</code></p>
</body></html>
"""


def write_report(
    result: Any,
    scenario: Scenario,
    path: str | Path,
    baseline: str | None = None,
    command: str | None = None,
) -> Path:
    """Write the HTML report of ``result`` to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result, scenario, baseline, command), encoding="utf-8")
    return path
