"""Plain-text output for the terminal: the answer first, then tables.

:func:`experiment_text` is what ``returnsim run`` and ``compare`` print: a one-line answer
(:mod:`.answer`), account-health warnings in plain words, then either a brief table (one row per
policy, the figures a seller decides on) or, with ``full``, every key figure and the cost
breakdown per policy and the paired differences from the baseline. Numbers are printed as
:mod:`.labels` says: rates in per cent with intervals clipped to [0 %, 100 %], differences of
rates in percentage points (pp), money in the scenario's currency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model import KPI_NAMES
from ..model.ledger import COSTS, CREDITS
from .answer import answer
from .labels import (
    KPIS,
    category_label,
    column_decimals,
    fmt_diff,
    fmt_interval,
    fmt_value,
    label,
    unit_suffix,
)

__all__ = [
    "format_table",
    "run_tables",
    "summary_tables",
    "comparison_table",
    "brief_table",
    "experiment_text",
    "KPI_ROWS",
    "BRIEF_METRICS",
    "SHOWN_KPIS",
]

SHOWN_KPIS = (
    "return_requests",
    "return_rate",
    "cancel_rate",
    "returnless_rate",
    "response_hours_mean",
    "response_hours_p95",
    "late_response_rate",
    "desk_utilization",
    "negative_feedback_rate",
    "az_claim_rate",
    "rdr",
    "rdr_window_max",
    "odr",
    "odr_window_max",
    "escalation_rate",
    "repeat_purchase_rate",
    "post_return_spend_ratio",
    "net_return_cost_per_return",
    "net_return_cost_per_order",
    "fulfilment_cost_per_order",
    "cost_per_order",
    "caused_margin_per_order",
    "retained_margin",
)
"""KPIs the full tables and the report show, in order (those a run did not measure are left out)."""


def _python_format(name: str) -> str:
    m = KPIS[name]
    if m.unit == "share":
        return "{:." + str(m.decimals) + "%}"
    return "{:,." + str(m.decimals) + "f}"


KPI_ROWS: tuple[tuple[str, str, str], ...] = tuple(
    (k, label(k, "$"), _python_format(k)) for k in SHOWN_KPIS if k in KPI_NAMES
)
"""KPIs shown by default that the model reports: (name, label with its unit, Python format)."""

BRIEF_METRICS: dict[str, str] = {
    "cost_per_order": "cost/order",
    "net_return_cost_per_order": "returns/order",
    "caused_margin_per_order": "caused margin/order",
    "rdr": "RDR",
    "late_response_rate": "late >48 h",
    "repeat_purchase_rate": "buy again",
}
"""What the brief table shows per policy (metric -> column header): the cost-only criterion,
the cost of returns, the margin the return experience causes, account health and retention."""

BRIEF_LEGEND = (
    "cost/order: net cost of returns plus outbound fulfilment and fees, per order; returns/order: "
    "net cost of returns per order; caused margin/order: your share of the margin of later "
    "purchases the return experience causes; RDR: return dissatisfaction rate (Amazon's target: "
    "below 10 %); late >48 h: requests not authorised or closed within 48 hours; buy again: "
    "returners who buy again in the follow-up window."
)

CHANGE_LEGEND = (
    "change: in profit per order; returns: net cost of returns; caused margin: your share of the "
    "margin of later purchases the return experience causes; fulfilment: outbound fulfilment and "
    "fees on every order. Each part is what it adds to profit per order: a cost that falls counts as a gain. "
    "Only what a returns policy changes is counted, against the baseline, the seller's current policy."
)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return textwrap.fill(text, width=min(width, 100))


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> str:
    """Left-aligned first column, right-aligned others."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=False)]
        return "  ".join([first, *rest]).rstrip()

    out = [title] if title else []
    out += [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def _chunked(
    label_header: str,
    labels: Sequence[str],
    columns: Sequence[tuple[str, Sequence[str]]],
    title: str,
    width: int,
) -> str:
    """A table with one column per entry of ``columns``, split into blocks that fit ``width``."""
    label_w = max(len(label_header), *(len(x) for x in labels)) if labels else len(label_header)
    blocks: list[list[tuple[str, Sequence[str]]]] = [[]]
    used = label_w
    for name, cells in columns:
        w = max(len(name), *(len(c) for c in cells)) if cells else len(name)
        if blocks[-1] and used + 2 + w > width:
            blocks.append([])
            used = label_w
        blocks[-1].append((name, cells))
        used += 2 + w
    parts = []
    for i, block in enumerate(blocks):
        header = [label_header, *(name for name, _ in block)]
        rows = [[lab, *(cells[j] for _, cells in block)] for j, lab in enumerate(labels)]
        parts.append(format_table(header, rows, title if i == 0 else ""))
    return "\n\n".join(parts)


MONEY_ROWS: list[tuple[str, str]] = [
    *((c, f"  {category_label(c)}") for c in COSTS),
    *((c, f"- {category_label(c)}") for c in CREDITS),
    ("net_return_cost", f"= {category_label('net_return_cost')}"),
]
"""Rows of a cost breakdown: (category, its label with + / - / = for costs, credits, net)."""


def run_tables(runs: Mapping[str, Any], currency: str = "$") -> str:
    """KPI table and cost breakdown for single runs (``{policy: RunResult}``)."""
    names = list(runs)
    keys = [k for k in SHOWN_KPIS if any(k in runs[n].kpis for n in names)]
    kpi_rows = [[label(k, currency), *(fmt_value(k, runs[n].kpis.get(k)) for n in names)] for k in keys]
    kpis = format_table(["KPI", *names], kpi_rows, "Key figures (one replication, so no interval)")
    money_rows = []
    for key, text in MONEY_ROWS:
        values = [
            runs[n].kpis["net_return_cost"] if key == "net_return_cost"
            else (-1 if key in CREDITS else 1) * runs[n].ledger.get(key, 0.0)
            for n in names
        ]
        money_rows.append([text, *(f"{v:,.0f}" for v in values)])
    money = format_table([f"money ({currency})", *names], money_rows, "Cost breakdown (costs, less credits)")
    return kpis + "\n\n" + money


# --------------------------------------------------------------------------------------------
# experiments: means with confidence intervals, paired differences with significance marks
# --------------------------------------------------------------------------------------------

MARKS_LEGEND = "* p < 0.05, ** p < 0.01, *** p < 0.001 (paired t test, not adjusted for multiple comparisons)"


def _cells(summary: Any) -> dict[tuple[str, str], tuple[float, float, float]]:
    """``(policy, metric) -> (mean, ci_low, ci_high)`` from a summary frame."""
    return {
        (p, m): (float(mu), float(lo), float(hi))
        for p, m, mu, lo, hi in zip(
            summary["policy"], summary["metric"], summary["mean"], summary["ci_low"], summary["ci_high"], strict=True
        )
    }


_NAN3 = (float("nan"), float("nan"), float("nan"))


def summary_tables(summary: Any, policies: Sequence[str], width: int = 120, currency: str = "$") -> str:
    """Per-policy means with 95 % confidence intervals: key figures, then the cost breakdown.

    Args:
        summary: the frame of ``ExperimentResult.summary()``.
        policies: column order.
        width: split the policy columns into blocks no wider than this.
        currency: the label of money.
    """
    cells = _cells(summary)
    n = summary.groupby("policy")["n"].max().to_dict()
    ns = sorted({int(n[p]) for p in policies if p in n})
    reps = f"{ns[0]}" if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"

    keys = [k for k in SHOWN_KPIS if any((p, k) in cells for p in policies)]
    row_d = {
        k: column_decimals(k, [(cells[(p, k)][2] - cells[(p, k)][1]) / 2 for p in policies if (p, k) in cells])
        for k in keys
    }
    kpis = _chunked(
        "KPI",
        [label(k, currency) for k in keys],
        [(p, [fmt_interval(k, *cells.get((p, k), _NAN3), decimals=row_d[k]) for k in keys]) for p in policies],
        f"Key figures: mean ± 95 % CI half-width over {reps} replications "
        "(rates, times and counts cannot be negative: an interval clipped at 0 shows its ends)",
        width,
    )
    money_cols = []
    for p in policies:
        col = []
        for key, _ in MONEY_ROWS:
            mu, lo, hi = cells.get((p, key), _NAN3)
            if key in CREDITS:
                mu, lo, hi = -mu, -hi, -lo
            col.append(fmt_interval("net_return_cost", mu, lo, hi) if mu == mu else "-")
        money_cols.append((p, col))
    money = _chunked(
        f"money ({currency}, per run)",
        [text for _, text in MONEY_ROWS],
        money_cols,
        "Cost breakdown (costs, less credits): mean ± 95 % CI half-width",
        width,
    )
    return kpis + "\n\n" + money


def comparison_table(compare: Any, width: int = 120, highlight: str = "policy_profit_per_order", currency: str = "$") -> str:
    """Paired differences vs the baseline: ``diff ± half-width`` with significance marks.

    Differences of rates are in percentage points (``pp``).

    Args:
        compare: the frame of ``ExperimentResult.compare()``.
        width: split the policy columns into blocks no wider than this.
        highlight: the metric whose variance reduction is reported under the table.
        currency: the label of money.
    """
    from ..experiment.statistics import significance_mark

    if len(compare) == 0:
        return "(no policies to compare)"
    baseline = str(compare["baseline"].iloc[0])
    policies = list(dict.fromkeys(compare["policy"].tolist()))
    by = {(r.policy, r.metric): r for r in compare.itertuples(index=False)}
    keys = [k for k in SHOWN_KPIS if any((p, k) in by for p in policies)]
    row_d = {k: column_decimals(k, [(by[(p, k)].ci_high - by[(p, k)].ci_low) / 2 for p in policies if (p, k) in by]) for k in keys}
    cols = []
    for p in policies:
        col = []
        for key in keys:
            r = by.get((p, key))
            if r is None:
                col.append("-")
                continue
            col.append(f"{fmt_diff(key, r.mean_diff, r.ci_low, r.ci_high, row_d[key])} {significance_mark(r.p_value):<3}")
        cols.append((p, col))
    n = int(compare["n"].max())
    text = _chunked(
        "KPI",
        [label(k, currency) for k in keys],
        cols,
        f"Paired differences, policy − {baseline}: mean ± 95 % CI half-width over {n} paired replications",
        width,
    )
    notes = [MARKS_LEGEND, "Differences of rates are in percentage points (pp)."]
    vr = compare[compare["metric"] == highlight]["variance_reduction"].to_numpy(dtype=float)
    vr = vr[vr == vr]
    if len(vr):
        lo, hi = float(vr.min()), float(vr.max())
        span = f"{lo:,.1f}" if lo == hi else f"{lo:,.1f} to {hi:,.1f}"
        notes.append(
            f"Common random numbers cut the variance of the {label(highlight, unit=False)} differences "
            f"by a factor of {span} (var(a) + var(b) over var(a − b))."
        )
    return text + "\n" + "\n".join(notes)


def brief_table(
    summary: Any,
    policies: Sequence[str],
    compare: Any = None,
    width: int = 120,
    currency: str = "$",
    metrics: Mapping[str, str] = BRIEF_METRICS,
) -> str:
    """One row per policy: the figures a seller decides on, each mean ± 95 % CI half-width.

    With ``compare`` (paired differences from a baseline) a column after the first metric gives
    each policy's difference from the baseline on it.
    """
    cells = _cells(summary)
    shown = [m for m in metrics if any((p, m) in cells for p in policies)]
    columns: list[tuple[str, list[str]]] = []
    for i, m in enumerate(shown):
        unit = unit_suffix(m, currency) if m in KPIS else ""
        triples = [cells.get((p, m), _NAN3) for p in policies]
        d = column_decimals(m, [(hi - lo) / 2 for _, lo, hi in triples])
        columns.append((metrics[m] + unit, [fmt_interval(m, *t, decimals=d) for t in triples]))
        if i == 0 and compare is not None and len(compare):
            base = str(compare["baseline"].iloc[0])
            by = {r.policy: r for r in compare[compare["metric"] == m].itertuples(index=False)}
            d = column_decimals(m, [(r.ci_high - r.ci_low) / 2 for r in by.values()])
            col = [
                "(baseline)" if p == base else
                (fmt_diff(m, by[p].mean_diff, by[p].ci_low, by[p].ci_high, d) if p in by else "-")
                for p in policies
            ]
            columns.append((f"vs {base}", col))
    n = int(summary["n"].max()) if len(summary) else 0
    return _chunked(
        "policy",
        list(policies),
        columns,
        f"Per policy: mean ± 95 % CI half-width over {n} replications",
        width,
    )


def change_table(result: Any, baseline: str, width: int = 120, currency: str = "$") -> str:
    """The headline: each policy's change in profit per order against ``baseline`` and its three
    parts (:mod:`.headline`), each mean ± 95 % CI half-width of the paired differences."""
    from .headline import PARTS, PROFIT, changes

    ch = changes(result, baseline)
    if not ch:
        return ""
    names = [c.policy for c in ch]
    halves = [(hi - lo) / 2 for c in ch for _, lo, hi in (c.profit, *c.parts.values()) if hi > lo]
    # One number of decimals for the whole table, so that the parts visibly add up.
    d = min(3, column_decimals(PROFIT, halves))
    # Short headers, so that the table fits a terminal of 100 columns (CHANGE_LEGEND says more).
    heads = ["change", *({"return cost": "returns", "fulfilment and fees": "fulfilment"}.get(w, w) for w, _, _ in PARTS)]
    rows = [c.cells(d) for c in ch]
    cols = [(f"{h} ({currency})", [r[i] for r in rows]) for i, h in enumerate(heads)]
    title = f"Profit per order the returns policy changes, against {baseline} (paired, {ch[0].n} replications)"
    return _chunked("policy", names, cols, title, width) + "\n" + _wrap(CHANGE_LEGEND, width)


def experiment_text(
    result: Any,
    baseline: str | None = None,
    currency: str = "$",
    full: bool = False,
    width: int = 120,
    comparison_only: bool = False,
    scenario: Any = None,
) -> str:
    """What ``returnsim run`` / ``compare`` print after their header: the answer, account-health
    warnings, then the brief table (or, with ``full``, every table).

    Args:
        result: an ``ExperimentResult``.
        baseline: the policy to compare against (``None``: no differences column).
        currency: the label of money.
        full: every key figure, the cost breakdown and the paired differences.
        width: terminal width to lay tables out in.
        comparison_only: with ``full``, the paired differences only (``returnsim compare``).
        scenario: the scenario run; with a baseline it gives the decision in two parts (cost
            only, with retention) and the break-even retention in words (:mod:`.headline`).
    """
    from .headline import decision_text

    policies = list(result.policies)
    ans = answer(result, baseline=baseline)
    decision = decision_text(result, scenario, baseline, currency) if scenario is not None and baseline else ""
    blocks = [_wrap(decision, width) if decision else ans.text(currency)]
    warnings = [w for p in policies for w in ans.warnings.get(p, [])]
    if warnings:
        blocks.append("Account health:\n" + "\n".join(f"  ! {w}" for w in warnings))
    from ..experiment.statistics import metric_columns

    metrics = metric_columns(result.runs)  # whatever the runs measured: KPIs come and go
    summary = result.summary(metrics)
    compare = result.compare(baseline, metrics) if baseline is not None and len(policies) > 1 else None
    if baseline is not None and compare is not None and decision:
        blocks.append(change_table(result, baseline, width, currency))
    if not full:
        blocks.append(brief_table(summary, policies, None, width, currency) + "\n" + _wrap(BRIEF_LEGEND, width))
        blocks.append("(--full for every key figure, the cost breakdown and all paired differences)")
        return "\n\n".join(blocks)
    if not comparison_only:
        blocks.append(summary_tables(summary, policies, width, currency))
    if compare is not None:
        blocks.append(comparison_table(compare, width, currency=currency))
    return "\n\n".join(blocks)
