"""Plain-text tables for the terminal: KPIs and the cost breakdown, one column per policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model.ledger import COSTS, CREDITS

__all__ = ["format_table", "run_tables", "KPI_ROWS"]

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
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:])]
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
