"""The one-screen summary ``returnsim calibrate`` prints: what was fitted (with intervals and
rows), what was left out and why, and what could not be read."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .prepare import NO_REPEAT_NOTE

if TYPE_CHECKING:  # pragma: no cover
    from .result import CalibrationData

__all__ = ["summary", "KEY_PARAMETERS"]

KEY_PARAMETERS = (
    "orders_per_day",
    "international_share",
    "return_rate",
    "in_policy_share",
    "label_buyer_paid_share",
    "az_claim_rate",
    "returnless_share",
    "replacement_share",
    "rfs_share",
    "safet_claim_rate",
    "safet_approval_rate",
    "safet_reimbursed_share",
    "repeat_purchases_per_year",
    "refund_to_order_share",
    "request_delay_days_mean",
    "request_to_delivery_days_mean",
    "label_cost_mean:buyer",
    "label_cost_mean:seller",
)
"""Store-wide estimates shown first; the rest are counted and left to the fit report."""


def _num(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    if abs(x) < 1:
        return f"{x:.3f}"
    return f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"


def summary(cal: CalibrationData, width: int = 100, problems: int = 8) -> str:
    """Text of at most about 40 lines."""
    e = cal.estimates
    out: list[str] = []
    used = ", ".join(f"{r.file} ({r.used:,} of {r.rows:,} rows)" for r in cal.rows.itertuples())
    out.append(f"Reports: {used}")
    cls = sorted(set(e.loc[e["item_class"] != "all", "item_class"]))
    if cls:
        bands = cal.info.get("price_bands") or []
        extra = f" at {', '.join(f'{b:g}' for b in bands)}" if bands else ""
        out.append(f"Item classes ({cal.info.get('classes_from')}{extra}): {', '.join(cls)}")
    out.append("")
    out.append(f"{'fitted (95 % CI)':<34}{'estimate':>11}{'CI':>24}{'rows':>10}")
    shown = 0
    for name in KEY_PARAMETERS:
        hit = e[(e["parameter"] == name) & (e["item_class"] == "all")]
        for r in hit.itertuples():
            ci = f"{_num(r.ci_low)} - {_num(r.ci_high)}"
            out.append(f"{name:<34}{_num(r.estimate):>11}{ci:>24}{r.n:>10,}")
            shown += 1
    if not (e["parameter"] == "repeat_purchases_per_year").any():
        out.append(f"{'repeat_purchases_per_year':<34}{'not measured: the input to measure first':>45}")
    rr = e[(e["parameter"] == "return_rate") & (e["item_class"] != "all")]
    for r in rr.itertuples():
        ci = f"{_num(r.ci_low)} - {_num(r.ci_high)}"
        out.append(f"{'return_rate ' + r.item_class:<34}{_num(r.estimate):>11}{ci:>24}{r.n:>10,}")
        shown += 1
    rest = len(e) - shown
    if rest > 0:
        groups = pd.Series(e["parameter"].str.split(":").str[0]).value_counts()
        out.append(f"... and {rest} more ({', '.join(f'{g} x{n}' for g, n in groups.items() if g not in KEY_PARAMETERS)})")
    out.append("")
    n = len(cal.problems)
    if n:
        out.append(f"Unread: {n:,} rows or cells could not be read (the rest was used):")
        for p in cal.problems.head(problems).itertuples():
            col = f" column '{p.column}'" if p.column else ""
            val = f": {p.value!r}" if p.value else ""
            line = f"  {p.file}:{p.line}{col}{val}; {p.problem}"
            out.append(line if len(line) <= width else line[: width - 1] + "…")
        if n > problems:
            out.append(f"  ... {n - problems:,} more in the fit report")
    else:
        out.append("Unread: none; every row was read.")
    if len(cal.unknown_codes):
        u = cal.unknown_codes.sort_values("rows", ascending=False)
        items = ", ".join(f"{r.code} x{r.rows} ({r.column})" for r in u.head(6).itertuples())
        more = f", +{len(u) - 6} more" if len(u) > 6 else ""
        out.append(f"Unknown codes (counted, not used): {items}{more}")
    for note in cal.notes:
        if note == NO_REPEAT_NOTE:  # wrapped, not cut: it says what to do
            out += textwrap.wrap(f"Note: {note}", width=width, subsequent_indent="  ", break_on_hyphens=False)
            continue
        text = f"Note: {note}"
        out.append(text if len(text) <= width else text[: width - 1] + "…")
    return "\n".join(out)
