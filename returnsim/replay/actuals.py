"""What the reports say happened, beside what the replay of the seller's current policy gives.

A validation on the seller's own data: the replay takes the requests as they happened and
simulates what the policy does with them, so for the policy the seller actually ran, the
replay's money and counts should match the reports within the replay's own uncertainty.

Only what the returns reports carry can be compared, and only for the requests they describe:
the seller-fulfilled Returns report gives each request's refunded amount, label cost and payer,
A-to-z claim and SAFE-T reimbursement and resolution; the FBA report gives no money at all. So
the comparison covers the seller-fulfilled requests (those the scenario fulfils itself, under the
current policy), and the rest is listed with why it cannot be compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..experiment.statistics import mean_ci
from ..model.ledger import CATEGORIES
from ..model.replay_figures import reported_money
from ..model.world import OUTCOME, World

__all__ = [
    "COMPARED",
    "NOT_COMPARED",
    "STORE_WIDE",
    "compare",
    "replayed_figures",
    "trace_figures",
    "actual_figures",
    "prediction_interval",
    "format_table",
    "fmt",
]

COMPARED: dict[str, tuple[str, str]] = {
    "refunds": (
        "refunded to buyers (net of deductions)",
        "the offers and the buyer's acceptance (policy offers, buyer.*), the reason mix and misreport rate (catalog.<class>.reasons, returns.misreport_rate), prices",
    ),
    "seller_labels": (
        "return labels paid by the seller",
        "the freight payer rules (policy freight), return label rates (markets.*.return_label), weights (catalog.<class>.weight_lb)",
    ),
    "az_claims": (
        "A-to-z claims",
        "buyer patience and claim behaviour (buyer.*), desk staffing and hours (desk.*)",
    ),
    "safet_reimbursements": (
        "SAFE-T reimbursements",
        "the condition items come back in (reasons.*.condition) and Amazon's SAFE-T rules (amazon.*)",
    ),
    "returnless_share": (
        "returnless share of requests",
        "the returnless rules (policy returnless, amazon.*) and the price bands they apply to",
    ),
}
"""Figures compared, over the requests of the seller-fulfilled Returns report: label, and the inputs to revisit when the
reports fall outside the replay's interval."""

NOT_COMPARED: dict[str, str] = {
    "rdr": "the Return Dissatisfaction Rate is on Seller Central's Account Health page, not in these reports",
    "odr": "the Order Defect Rate is on the Account Health page, not in these reports",
    "fba_money": "the FBA customer returns report carries no amounts (refunds, fees) for FBA returns",
    "labor": "the reports do not record the desk's time",
    "inspection": "the reports do not record the seller's inspection of returned units",
    "recovered_value": "what resold, liquidated or disposed items recovered is not in the returns reports",
}
"""What the replay reports that the reports cannot check, and why."""

STORE_WIDE: dict[str, str] = {
    "rdr": NOT_COMPARED["rdr"],
    "odr": NOT_COMPARED["odr"],
    "net_return_cost": NOT_COMPARED["fba_money"],
    **{c: NOT_COMPARED.get(c, NOT_COMPARED["fba_money"]) for c in CATEGORIES},
}
"""The replay's store-wide figures shown below the compared ones, with their intervals: the
Amazon metrics, the net return cost and the money of every ledger category (columns of
``runs``), each with why the reports cannot check it."""


def actual_figures(returns: pd.DataFrame) -> dict[str, float]:
    """The compared figures as the seller-fulfilled Returns report gives them (NaN where the
    report lacks the column)."""
    m = returns[returns["channel"] == "mfn"]
    out: dict[str, float] = {}
    if not len(m):
        return {k: np.nan for k in COMPARED}

    def total(col: str) -> float:
        v = m[col].to_numpy(dtype=float)
        return float(np.nansum(v)) if np.isfinite(v).any() else np.nan

    out["refunds"] = total("refunded")
    out["seller_labels"] = total("seller_label")
    out["az_claims"] = total("az_claim")
    out["safet_reimbursements"] = total("safet_amount")
    r = m["returnless"].to_numpy(dtype=float)
    out["returnless_share"] = float(np.nanmean(r)) if np.isfinite(r).any() else np.nan
    return out


def _keys(df: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [df["order_time"].to_numpy(dtype=float), df["price"].to_numpy(dtype=float), np.asarray(df["item_class"]).astype(str)]
    )


def trace_figures(trace: pd.DataFrame, returns: pd.DataFrame, world: World) -> dict[str, float]:
    """The compared figures from one replication's trace (``simulate(..., trace=True)``): the
    requests of the seller-fulfilled Returns report (a trace row is found by its order time,
    price and class, which the replay takes from the reports unchanged), not the follow-on
    purchases' returns, each figure as the report's column means it
    (:func:`returnsim.model.replay_figures.reported_money`).

    A replay computes these figures while it runs (``REPLAY_FIGURES`` columns of ``runs``,
    :func:`replayed_figures`); this reads them from a trace instead, which the tests use to
    check the in-run sums."""
    t = trace[trace["generation"] == 0]
    m = returns[returns["channel"] == "mfn"]
    named = m.assign(item_class=np.asarray(world.class_names, dtype=object)[m["item_class"].to_numpy(dtype=np.int64)])
    t = t[_keys(t).isin(_keys(named))]
    n = len(t)
    outcome = t["outcome"].astype(str).map(OUTCOME).to_numpy(dtype=np.int64)
    refunded, seller_label = reported_money(
        world,
        refunds=t["refunds"].to_numpy(float),
        partial_refunds=t["partial_refunds"].to_numpy(float),
        buyer_fees=t["buyer_fees"].to_numpy(float),
        seller_freight=t["seller_freight"].to_numpy(float),
        fba=t["fba"].to_numpy(bool),
        buyer_paid_label=t["buyer_paid_label"].to_numpy(bool),
        outcome=outcome,
        item_class=t["item_class"].cat.codes.to_numpy(),
        market=t["market"].cat.codes.to_numpy(),
    )
    return {
        "refunds": float(refunded.sum()),
        "seller_labels": float(seller_label.sum()),
        "az_claims": float(t["az_claim"].sum()),
        "safet_reimbursements": float(t["safet_reimbursements"].sum()),
        "returnless_share": float((outcome == OUTCOME["returnless_refund"]).mean()) if n else np.nan,
    }


def replayed_figures(runs: pd.DataFrame, policy: str) -> list[dict[str, float]]:
    """The compared figures of each replication of ``policy``, as the replay summed them while
    it ran (its ``replay_*`` columns, :data:`returnsim.model.replay_figures.REPLAY_FIGURES`).

    Raises:
        ValueError: ``runs`` is not a replay's (it lacks those columns).
    """
    cols = {key: f"replay_{key}" for key in COMPARED}
    missing = [c for c in cols.values() if c not in runs]
    if missing:
        raise ValueError(
            f"runs: no column {missing[0]!r}: these are not a replay's runs (run_experiment(..., source=...) "
            "or returnsim.replay adds the replay's figures)"
        )
    base = runs[runs["policy"] == policy]
    return [{key: float(v) for key, v in zip(cols, row, strict=True)} for row in base[list(cols.values())].itertuples(index=False)]


def prediction_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and the Student-t prediction interval of one more replication,
    ``mean +- t * sd * sqrt(1 + 1/n)``: where one year's outcome falls, which is what the
    reports record (the interval of the *mean* would shrink with replications and call any
    real year an outlier)."""
    from scipy import stats

    mean, sd, n, _, _ = mean_ci(values, confidence)
    if n < 2 or not np.isfinite(sd):
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd * float(np.sqrt(1 + 1 / n))
    return mean, mean - half, mean + half


def _floor0(interval: tuple[float, float, float]) -> tuple[float, float, float]:
    """Counts and money paid cannot be negative: the interval is cut at zero."""
    mean, lo, hi = interval
    return mean, max(lo, 0.0) if np.isfinite(lo) else lo, hi


def compare(
    actual: dict[str, float],
    replayed: Sequence[dict[str, float]],
    runs: pd.DataFrame,
    policy: str,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per figure: the actual value, the replay's mean and the prediction interval of
    one year (:func:`prediction_interval`), the difference (replay - actual) and its interval,
    whether the actual value lies inside the interval, and which inputs to revisit when it does
    not. The replay's store-wide figures follow (:data:`STORE_WIDE`: RDR, ODR, the net return
    cost and every ledger category, from ``runs``), with their intervals and why the reports
    cannot check them."""
    rows: list[dict[str, Any]] = []
    for key, (label, revisit) in COMPARED.items():
        mean, lo, hi = _floor0(prediction_interval([r[key] for r in replayed], confidence))
        a = actual.get(key, np.nan)
        known = np.isfinite(a)
        inside = bool(known and lo - 1e-9 <= a <= hi + 1e-9)
        rows.append(
            {
                "figure": label,
                "scope": "seller-fulfilled",
                "actual": a,
                "replayed": mean,
                "ci_low": lo,
                "ci_high": hi,
                "difference": mean - a if known else np.nan,
                "diff_ci_low": lo - a if known else np.nan,
                "diff_ci_high": hi - a if known else np.nan,
                "within": inside if known else None,
                "note": ("" if inside else f"revisit: {revisit}") if known else "not in the reports given",
            }
        )
    base = runs[runs["policy"] == policy]
    for col, why in STORE_WIDE.items():
        interval = prediction_interval(base[col].to_numpy(dtype=float), confidence)
        # Rates and each category's money are never negative; the net cost may be.
        mean, lo, hi = interval if col == "net_return_cost" else _floor0(interval)
        rows.append(
            {
                "figure": col,
                "scope": "store-wide",
                "actual": np.nan,
                "replayed": mean,
                "ci_low": lo,
                "ci_high": hi,
                "difference": np.nan,
                "diff_ci_low": np.nan,
                "diff_ci_high": np.nan,
                "within": None,
                "note": f"not compared: {why}",
            }
        )
    return pd.DataFrame(rows)


def fmt(x: float) -> str:
    """A figure of the table: zero as 0, a share to three decimals, money and counts to the unit."""
    if not np.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    return f"{x:,.3f}" if abs(x) < 1 else f"{x:,.0f}"


def format_table(df: pd.DataFrame, policy: str, currency: str = "") -> str:
    """The comparison as plain text for the terminal."""
    lines = [f"Actual vs replayed, current policy '{policy}' (95 % prediction intervals of one year)"]
    head = f"  {'figure':<36} {'actual':>12} {'replayed':>12} {'interval':>25} {'difference':>12}  "
    lines.append(head)

    for r in df.itertuples():
        interval = f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]"
        mark = "" if r.within is None else ("ok" if r.within else "OUTSIDE")
        name = r.figure if r.scope == "seller-fulfilled" else f"{r.figure} (store-wide)"
        lines.append(f"  {name:<36} {fmt(r.actual):>12} {fmt(r.replayed):>12} {interval:>25} {fmt(r.difference):>12}  {mark}")
    # One line per note, naming every figure it applies to (the store-wide money shares one).
    by_note: dict[str, list[str]] = {}
    for r in df.itertuples():
        if r.note:
            by_note.setdefault(r.note, []).append(r.figure)
    notes = [f"  - {', '.join(figures)}: {note}" for note, figures in by_note.items()]
    if notes:
        lines.append("Notes:")
        lines.extend(notes)
    return "\n".join(lines)
