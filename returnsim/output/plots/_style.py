"""Shared look of returnsim's figures: colours per ledger category and outcome, and helpers.

Time zero of a run is a Monday 00:00, so ``request_time // 24 % 7`` is the weekday of a
request (0 = Monday).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["CATEGORY_COLORS", "OUTCOME_COLORS", "WEEKDAYS"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

CATEGORY_COLORS: dict[str, str] = {
    # costs: warm colours
    "refunds": "#b2182b",
    "partial_refunds": "#f4a582",
    "seller_freight": "#e08214",
    "replacement_units": "#fdb863",
    "labor": "#8c510a",
    "inspection": "#d6604d",
    "processing_fees": "#c51b7d",
    "disposal_fees": "#7f7f7f",
    "refund_admin_fees": "#de77ae",
    # credits: cool colours
    "recovered_value": "#2166ac",
    "buyer_fees": "#92c5de",
    "carrier_claims": "#1b7837",
    "referral_fee_credits": "#5aae61",
    "safet_reimbursements": "#4393c3",
}
"""Colour of each ledger category: warm for costs, cool for credits."""

OUTCOME_COLORS: dict[str, str] = {
    "troubleshot": "#1b7837",
    "kept_partial_refund": "#5aae61",
    "exchanged": "#2166ac",
    "replaced": "#92c5de",
    "returnless_refund": "#fdb863",
    "returned_refund": "#b2182b",
    "rejected": "#404040",
    "claim_refund": "#762a83",
}
"""Colour of each terminal outcome: green/blue when an offer kept the sale, warm when refunded."""

_PER_LABEL = {"order": "per order", "return": "per return request", "total": "total"}


# --------------------------------------------------------------------------------------------
# helpers


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the Axes of a new figure (constrained layout)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _trace_of(name: str, item: Any) -> pd.DataFrame:
    """The per-request trace of a RunResult, or the DataFrame itself."""
    import pandas as pd

    if isinstance(item, pd.DataFrame):
        return item
    trace = getattr(item, "trace", None)
    if trace is None:
        raise ValueError(
            f"{name!r} has no per-request trace: simulate it with trace=True, or pass the trace"
        )
    return trace


def _policy_colors(names: Sequence[str]) -> dict[str, Any]:
    """A distinct colour per policy, stable in the order given."""
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def _money(value: float, currency: str, per: str) -> str:
    from ..labels import fmt_money

    return fmt_money(value, currency, 0 if per == "total" or abs(value) >= 100 else 2)


def _decision_hours(trace: pd.DataFrame) -> np.ndarray:
    """Hours from the request to the authorisation / close (the 48-hour clock)."""
    if "decision_hours" in trace:
        return trace["decision_hours"].to_numpy(dtype=float)
    return (trace["t_decision"] - trace["request_time"]).to_numpy(dtype=float)


# --------------------------------------------------------------------------------------------
# one metric per policy


def _kpi_label_format(metric: str, currency: str = "$") -> tuple[str, str]:
    """A metric's human label (with its unit) and a Python format for its values."""
    from ..labels import label
    from ..labels import metric as info

    m = info(metric)
    fmt = {"share": "{:." + str(m.decimals) + "%}", "number": "{:,.3g}"}.get(
        m.unit, "{:,." + str(m.decimals) + "f}"
    )
    return label(metric, currency), fmt


