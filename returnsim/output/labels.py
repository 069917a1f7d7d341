"""Human names, units and number formats of KPIs and ledger categories, in one place.

Tables, figures and the report show ``return dissatisfaction rate``, not ``rdr``; this module is
where a metric's words, its unit and how to print it live (``docs/kpis.md`` explains each one).
Lookups tolerate names they do not know (a KPI added to the model later is shown by its name with
underscores as spaces), so output code never fails on a new metric.

Units decide how a number is shown:

* ``share``: a fraction of requests or orders, printed in per cent; a difference of two shares
  is in percentage points (``pp``); an interval is clipped to [0 %, 100 %];
* ``money``: the scenario's currency (``currency`` only changes the label);
* ``hours``, ``count``, ``ratio``: never negative, so intervals are clipped at zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Metric",
    "KPIS",
    "CATEGORY_LABELS",
    "metric",
    "label",
    "category_label",
    "fmt_money",
    "fmt_value",
    "fmt_interval",
    "fmt_diff",
    "clip_interval",
    "column_decimals",
]


@dataclass(frozen=True)
class Metric:
    """What a KPI is called and how to print it."""

    name: str
    label: str
    """Plain words, without the unit."""
    unit: str
    """``share``, ``money``, ``hours``, ``count`` or ``ratio``."""
    decimals: int
    """Decimals of the mean (per cent for shares)."""
    higher_is_better: bool | None = None
    """For the seller; ``None`` when neither is (a count of requests)."""

    @property
    def lower(self) -> float:
        """Smallest possible value (``-inf`` for money)."""
        return -math.inf if self.unit == "money" else 0.0

    @property
    def upper(self) -> float:
        """Largest possible value (1 for shares)."""
        return 1.0 if self.unit == "share" else math.inf


def _m(name: str, label: str, unit: str, decimals: int, better: bool | None = None) -> Metric:
    return Metric(name, label, unit, decimals, better)


KPIS: dict[str, Metric] = {
    m.name: m
    for m in (
        _m("orders", "orders", "count", 0),
        _m("demand_orders", "orders of the store's own demand", "count", 0),
        _m("return_requests", "return requests", "count", 0),
        _m("return_rate", "return rate", "share", 1, False),
        _m("cancel_rate", "kept by an offer", "share", 1, True),
        _m("returnless_rate", "returnless refunds", "share", 1),
        _m("response_hours_mean", "response time, mean", "hours", 1, False),
        _m("response_hours_p95", "response time, 95th percentile", "hours", 1, False),
        _m("desk_wait_hours_mean", "wait for an agent, mean", "hours", 2, False),
        _m("desk_wait_probability", "requests that wait for an agent", "share", 1, False),
        _m("desk_utilization", "desk utilisation", "share", 0),
        _m("late_response_rate", "late responses (over 48 h)", "share", 1, False),
        _m("negative_feedback_rate", "negative return feedback", "share", 1, False),
        _m("az_claim_rate", "A-to-z claims", "share", 2, False),
        _m("invalid_rejection_rate", "invalid rejections", "share", 2, False),
        _m("escalation_rate", "buyers who gave up waiting and escalated", "share", 2, False),
        _m("second_touch_rate", "requests needing a second desk task", "share", 1),
        _m("message_on_time_rate", "offer messages sent within 24 h", "share", 1, True),
        _m("rdr", "return dissatisfaction rate (RDR)", "share", 1, False),
        _m("rdr_window_max", "RDR, worst window", "share", 1, False),
        _m("rdr_windows_over_target", "RDR windows over target", "share", 0, False),
        _m("odr", "order defect rate (ODR)", "share", 2, False),
        _m("odr_window_max", "ODR, worst window", "share", 2, False),
        _m("odr_windows_over_target", "ODR windows over target", "share", 0, False),
        _m("net_return_cost", "net return cost", "money", 0, False),
        _m("net_return_cost_per_order", "net return cost per order", "money", 3, False),
        _m("net_return_cost_per_return", "net cost per return", "money", 2, False),
        _m("net_freight_cost", "net freight cost", "money", 0, False),
        _m("fulfilment_cost_per_order", "fulfilment and fees per order", "money", 3, False),
        _m("cost_per_order", "return and fulfilment cost per order", "money", 3, False),
        _m("repeat_purchase_rate", "returners who buy again", "share", 1, True),
        _m("post_return_spend_ratio", "spending after / before a return", "ratio", 2, True),
        # Not a value: most of these purchases would have happened whatever the return.
        _m("retained_margin", "margin from all later purchases of returners", "money", 0),
        _m("caused_margin", "margin the return experience causes", "money", 0, True),
        _m("caused_margin_per_order", "margin the return experience causes per order", "money", 3, True),
        _m("policy_profit_per_order", "profit per order the returns policy changes", "money", 3, True),
    )
}
"""Every KPI the model reports (``rs.KPI_NAMES``), and some it may add, by name."""

CATEGORY_LABELS: dict[str, str] = {
    "refunds": "refunds (full price)",
    "partial_refunds": "partial refunds",
    "seller_freight": "return labels bought",
    "replacement_units": "replacement units",
    "labor": "desk labour",
    "inspection": "inspection",
    "processing_fees": "processing fees",
    "disposal_fees": "disposal fees",
    "refund_admin_fees": "refund administration fees",
    "recovered_value": "resale value recovered",
    "buyer_fees": "labels and fees buyers paid",
    "carrier_claims": "carrier claims",
    "referral_fee_credits": "referral fees credited back",
    "safet_reimbursements": "SAFE-T reimbursements",
    "net_return_cost": "net return cost",
}
"""Plain words for the ledger categories (``rs.CATEGORIES``)."""


def metric(name: str) -> Metric:
    """The :class:`Metric` of ``name``; a ledger category is money; an unknown name a number."""
    if name in KPIS:
        return KPIS[name]
    if name in CATEGORY_LABELS:
        return Metric(name, CATEGORY_LABELS[name], "money", 0)
    return Metric(name, name.replace("_", " "), "number", 3)


OUTCOME_LABELS: dict[str, str] = {
    "troubleshot": "troubleshot (kept the item)",
    "kept_partial_refund": "kept it for a partial refund",
    "exchanged": "exchanged",
    "replaced": "replaced",
    "returnless_refund": "refunded, item not returned",
    "returned_refund": "returned and refunded",
    "rejected": "rejected",
    "claim_refund": "refunded through an A-to-z claim",
}
"""Plain words for each terminal outcome of a return request (the trace's ``outcome`` column)."""


def outcome_label(name: str) -> str:
    """Plain words for an outcome (its name, spaced, for one not listed)."""
    return OUTCOME_LABELS.get(name, name.replace("_", " "))


def category_label(name: str) -> str:
    """Plain words for a ledger category (its name for one not listed)."""
    return CATEGORY_LABELS.get(name, name.replace("_", " "))


def label(name: str, currency: str = "$", unit: bool = True) -> str:
    """``"profit per order the returns policy changes ($)"``: the words and, with ``unit``, the unit in brackets (money
    and hours; shares print their own ``%``)."""
    m = metric(name)
    return m.label + unit_suffix(name, currency) if unit else m.label


def unit_suffix(name: str, currency: str = "$") -> str:
    """``" ($)"`` for money, ``" (h)"`` for hours, nothing for shares (they print their ``%``)
    and counts."""
    return {"money": f" ({currency})", "hours": " (h)"}.get(metric(name).unit, "")


def _number(m: Metric, value: float, decimals: int | None = None, sign: bool = False) -> str:
    d = m.decimals if decimals is None else decimals
    plus = "+" if sign else ""
    if m.unit != "number" and round(value * (100 if m.unit == "share" else 1), d) == 0:
        value = 0.0  # what rounds to zero prints as 0, never "-0" (a credit of nothing, negated)
    if m.unit == "share":
        return f"{value * 100:{plus},.{d}f} %"
    if m.unit == "number":
        return f"{value:{plus},.3g}"
    return f"{value:{plus},.{d}f}"


def _decimals_for(m: Metric, half: float) -> int:
    """Decimals enough to show a half-width to two significant digits (at most 3 more)."""
    shown = abs(half) * (100 if m.unit == "share" else 1)
    if not shown > 0 or math.isinf(shown):
        return m.decimals
    need = 1 - math.floor(math.log10(shown))
    return min(max(m.decimals, need), m.decimals + 3)


def fmt_money(x: float, currency: str = "$", decimals: int = 2, sign: bool = False) -> str:
    """An amount as a seller reads it: ``-$2.40``, ``+$0.58`` (with ``sign``), ``$1,234.50``."""
    s = "-" if x < 0 else ("+" if sign else "")
    return f"{s}{currency}{abs(x):,.{decimals}f}"


def fmt_value(name: str, value: float | None) -> str:
    """A value as the metric is printed (``-`` for a missing value)."""
    if value is None or value != value:
        return "-"
    return _number(metric(name), float(value))


def clip_interval(name: str, lo: float, hi: float) -> tuple[float, float]:
    """A confidence interval clipped to the values the metric can take."""
    m = metric(name)
    return max(lo, m.lower), min(hi, m.upper)


def column_decimals(name: str, halves: Any) -> int:
    """Decimals that show every half-width of a column to two significant digits."""
    m = metric(name)
    ds = [_decimals_for(m, float(h)) for h in halves if h == h and h > 0]
    return max(ds) if ds else m.decimals


def fmt_interval(name: str, mean: float, lo: float, hi: float, decimals: int | None = None) -> str:
    """``"3.238 ± 0.012"``, or ``"0.2 % (0.0 to 0.6 %)"`` when the interval is clipped.

    A rate, a count or a duration cannot be negative: a Student-t interval that reaches below
    zero is clipped there, and printed as its two ends since it is no longer symmetric.
    """
    if mean != mean:
        return "-"
    m = metric(name)
    if lo != lo or hi != hi:
        return _number(m, mean)
    half = (hi - lo) / 2
    d = _decimals_for(m, half) if decimals is None else decimals
    if half == 0:  # the same value in every replication (often none at all): no "± 0"
        return _number(m, mean, d)
    c_lo, c_hi = clip_interval(name, lo, hi)
    if (c_lo, c_hi) == (lo, hi):
        h = _number(m, half, d).replace(" %", "")
        return f"{_number(m, mean, d)} ± {h}"
    low = _number(m, c_lo, d).replace(" %", "")
    return f"{_number(m, mean, d)} ({low} to {_number(m, c_hi, d)})"


def fmt_diff(name: str, mean: float, lo: float, hi: float, decimals: int | None = None) -> str:
    """A paired difference ``"+0.310 ± 0.030"``; shares in percentage points (``"+1.2 pp ± 0.3"``)."""
    if mean != mean:
        return "-"
    m = metric(name)
    half = (hi - lo) / 2 if lo == lo and hi == hi else math.nan
    d = _decimals_for(m, half) if decimals is None else decimals
    if m.unit == "share":
        text = _unsigned_zero(f"{mean * 100:+,.{d}f}") + " pp"
        return text if half != half else f"{text} ± {half * 100:,.{d}f}"
    if m.unit == "number":
        text = _unsigned_zero(f"{mean:+,.3g}")
        return text if half != half else f"{text} ± {half:,.2g}"
    text = _unsigned_zero(f"{mean:+,.{d}f}")
    return text if half != half else f"{text} ± {half:,.{d}f}"


def _unsigned_zero(text: str) -> str:
    """A signed number shown as zero (``"-0.000"``, ``"+0.00"``) without its sign: the sign is
    below the digits shown, and a reader would take ``-0.000`` for a loss."""
    return text[1:] if text[:1] in "+-" and not any(c in "123456789" for c in text) else text
