"""Plain-text tables for the terminal: KPIs and the cost breakdown, one column per policy."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..model.ledger import COSTS, CREDITS

__all__ = ["format_table", "run_tables", "summary_tables", "comparison_table", "KPI_ROWS"]

KPI_ROWS: tuple[tuple[str, str, str], ...] = (
    ("return_requests", "return requests", "{:,.0f}"),
    ("return_rate", "return rate", "{:.1%}"),
    ("cancel_rate", "cancelled by an offer", "{:.1%}"),
    ("returnless_rate", "returnless refunds", "{:.1%}"),
    ("response_hours_mean", "response time, mean (h)", "{:.1f}"),
    ("response_hours_p95", "response time, 95th pct (h)", "{:.1f}"),
    ("late_response_rate", "late responses (>48 h)", "{:.1%}"),
    ("desk_utilization", "desk utilisation", "{:.0%}"),
    ("negative_feedback_rate", "negative return feedback", "{:.1%}"),
    ("az_claim_rate", "A-to-z claims", "{:.2%}"),
    ("rdr", "return dissatisfaction rate", "{:.1%}"),
    ("repeat_purchase_rate", "repeat purchase rate", "{:.1%}"),
    ("post_return_spend_ratio", "spend after / before return", "{:.2f}"),
    ("net_return_cost_per_return", "net cost per return ($)", "{:,.2f}"),
    ("net_return_cost_per_order", "net cost per order ($)", "{:,.3f}"),
    ("retained_margin", "retained margin ($)", "{:,.0f}"),
    ("net_value_per_order", "net value per order ($)", "{:,.3f}"),
)
"""KPIs shown by default: (name, label, format)."""


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


def _fmt(fmt: str, value: Any) -> str:
    try:
        if value != value:  # NaN
            return "-"
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


def run_tables(runs: Mapping[str, Any]) -> str:
    """KPI table and cost breakdown for single runs (``{policy: RunResult}``)."""
    names = list(runs)
    kpi_rows = [[label, *(_fmt(fmt, runs[n].kpis.get(key)) for n in names)] for key, label, fmt in KPI_ROWS]
    kpis = format_table(["KPI", *names], kpi_rows, "Key figures (one replication)")
    money_rows = []
    for c in COSTS:
        money_rows.append([f"  {c}", *(_fmt("{:,.0f}", runs[n].ledger[c]) for n in names)])
    for c in CREDITS:
        money_rows.append([f"- {c}", *(_fmt("{:,.0f}", -runs[n].ledger[c]) for n in names)])
    money_rows.append(["= net_return_cost", *(_fmt("{:,.0f}", runs[n].kpis["net_return_cost"]) for n in names)])
    money = format_table(["money ($)", *names], money_rows, "Cost breakdown (costs, less credits)")
    return kpis + "\n\n" + money


# --------------------------------------------------------------------------------------------
# experiments: means with confidence intervals, paired differences with significance marks
# --------------------------------------------------------------------------------------------

MARKS_LEGEND = "* p < 0.05, ** p < 0.01, *** p < 0.001 (paired t test, not adjusted for multiple comparisons)"


def _signed(fmt: str) -> str:
    """``"{:,.3f}"`` -> ``"{:+,.3f}"``: the same format with an explicit sign."""
    return fmt.replace("{:", "{:+", 1)


_FIXED = re.compile(r"^\{:(,?)\.(\d+)([f%])\}$")


def _precise(fmt: str, half: float) -> str:
    """``fmt`` with enough decimals to show a half-width to two significant digits (at most
    three more than ``fmt`` has), so a narrow interval never prints as ``± 0.0``."""
    m = _FIXED.match(fmt)
    if m is None or not (half == half) or half <= 0 or math.isinf(half):
        return fmt
    comma, places, kind = m.group(1), int(m.group(2)), m.group(3)
    shown = half * 100 if kind == "%" else half
    need = 1 - math.floor(math.log10(shown))
    return "{:" + comma + "." + str(min(max(places, need), places + 3)) + kind + "}"


def _pm(fmt: str, value: float, half: float, signed: bool = False) -> str:
    """``"3.238 ± 0.012"`` (``-`` for a missing value; no ± without an interval)."""
    if value != value:
        return "-"
    fmt = _precise(fmt, abs(half))
    text = _fmt(_signed(fmt) if signed else fmt, value)
    if half != half:
        return text
    return f"{text} ± {_fmt(fmt, abs(half))}"


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


def _cell_map(summary: Any) -> dict[tuple[str, str], tuple[float, float]]:
    """``(policy, metric) -> (mean, half-width)`` from a summary frame."""
    half = (summary["ci_high"] - summary["ci_low"]) / 2
    return {
        (p, m): (float(mu), float(h))
        for p, m, mu, h in zip(summary["policy"], summary["metric"], summary["mean"], half, strict=True)
    }


def summary_tables(summary: Any, policies: Sequence[str], width: int = 120) -> str:
    """Per-policy means ± 95 % CI half-widths: key figures, then the cost breakdown.

    Args:
        summary: the frame of ``ExperimentResult.summary()``.
        policies: column order.
        width: split the policy columns into blocks no wider than this.
    """
    cells = _cell_map(summary)
    n = summary.groupby("policy")["n"].max().to_dict()
    ns = sorted({int(n[p]) for p in policies if p in n})
    reps = f"{ns[0]}" if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"

    nan2 = (float("nan"), float("nan"))

    def column(p: str, rows: Sequence[tuple[str, str, str]]) -> list[str]:
        return [_pm(fmt, *cells.get((p, k), nan2)) for k, _, fmt in rows]

    kpi_rows = [r for r in KPI_ROWS if any((p, r[0]) in cells for p in policies)]
    kpis = _chunked(
        "KPI",
        [label for _, label, _ in kpi_rows],
        [(p, column(p, kpi_rows)) for p in policies],
        f"Key figures: mean ± 95 % CI half-width over {reps} replications",
        width,
    )
    money_rows = [(c, f"  {c}", "{:,.0f}") for c in COSTS] + [(c, f"- {c}", "{:,.0f}") for c in CREDITS]
    money_rows.append(("net_return_cost", "= net_return_cost", "{:,.0f}"))
    money_cols = []
    for p in policies:
        col = []
        for key, _, fmt in money_rows:
            mu, h = cells.get((p, key), nan2)
            col.append(_pm(fmt, 0.0 - mu if key in CREDITS else mu, h))
        money_cols.append((p, col))
    money = _chunked(
        "money ($, per run)",
        [label for _, label, _ in money_rows],
        money_cols,
        "Cost breakdown (costs, less credits): mean ± 95 % CI half-width",
        width,
    )
    return kpis + "\n\n" + money


def comparison_table(compare: Any, width: int = 120, highlight: str = "net_value_per_order") -> str:
    """Paired differences vs the baseline: ``diff ± half-width`` with significance marks.

    Args:
        compare: the frame of ``ExperimentResult.compare()``.
        width: split the policy columns into blocks no wider than this.
        highlight: the metric whose variance reduction is reported under the table.
    """
    from ..experiment.statistics import significance_mark

    if len(compare) == 0:
        return "(no policies to compare)"
    baseline = str(compare["baseline"].iloc[0])
    policies = list(dict.fromkeys(compare["policy"].tolist()))
    by = {(r.policy, r.metric): r for r in compare.itertuples(index=False)}
    rows = [r for r in KPI_ROWS if any((p, r[0]) in by for p in policies)]
    cols = []
    for p in policies:
        col = []
        for key, _, fmt in rows:
            r = by.get((p, key))
            if r is None:
                col.append("-")
                continue
            cell = _pm(fmt, r.mean_diff, (r.ci_high - r.ci_low) / 2, signed=True)
            mark = significance_mark(r.p_value)
            col.append(f"{cell} {mark:<3}")
        cols.append((p, col))
    n = int(compare["n"].max())
    text = _chunked(
        "KPI",
        [label for _, label, _ in rows],
        cols,
        f"Paired differences, policy − {baseline}: mean ± 95 % CI half-width over {n} paired replications",
        width,
    )
    notes = [MARKS_LEGEND, "Rates differ in percentage points."]
    vr = compare[compare["metric"] == highlight]["variance_reduction"].to_numpy(dtype=float)
    vr = vr[vr == vr]
    if len(vr):
        lo, hi = float(vr.min()), float(vr.max())
        span = f"{lo:,.1f}" if lo == hi else f"{lo:,.1f} to {hi:,.1f}"
        notes.append(
            f"Common random numbers cut the variance of the {highlight} differences by a factor of "
            f"{span} (var(a) + var(b) over var(a − b))."
        )
    return text + "\n" + "\n".join(notes)
