"""From prepared report rows to estimates: one function per group of parameters.

Each estimate is a row of the tidy table :data:`ESTIMATE_COLUMNS` (``parameter, item_class,
estimate, ci_low, ci_high, n, source``) with a 95 % interval and ``n``, the rows behind it.
Parameter names are documented in ``docs/calibrate.md``; ``item_class`` is ``"all"`` for a
store-wide figure. The inputs are the frames :mod:`.prepare` builds (order ids already replaced
by integer codes).
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .gaps import Gap, day_gaps
from .names import ALL, ESTIMATE_COLUMNS
from .prepare import Prepared  # kept here too: it lives in prepare, which must not import scipy
from .stats import (
    Z95,
    DistributionFit,
    fit_positive,
    mean_interval,
    poisson_rate,
    repeat_rate,
    wilson,
)

__all__ = ["ESTIMATE_COLUMNS", "Prepared", "estimate_all", "MONTHS"]

MONTHS = tuple(m.lower() for m in calendar.month_abbr[1:])
"""``jan`` ... ``dec``: the suffixes of ``seasonality:<month>``."""


@dataclass
class Details:
    """What the fit report and notebook show beyond the table."""

    price_fits: dict[str, DistributionFit] = field(default_factory=dict)
    prices: dict[str, np.ndarray] = field(default_factory=dict)
    """A sample of unit prices per class (at most 20,000), for plots."""
    delays: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Order -> request days of in-policy MFN requests."""
    seasonality: pd.DataFrame | None = None
    month_days: dict[int, float] = field(default_factory=dict)
    """Days of orders covered per calendar month (1 = January)."""
    delay_day_resolution: bool = False
    """The delays are whole days between calendar dates."""
    order_gaps: list[Gap] = field(default_factory=list)
    """Runs of days without an order inside the orders' span (:mod:`.gaps`), left out of the
    days covered."""


FIGURE_NEEDS: dict[str, dict[str, tuple[str, ...]]] = {
    "orders": {
        "order_share": (),
        "price_mean": ("item_price", "quantity"),
        "international_share": ("ship_country",),
        "orders_per_day": ("purchase_date",),
        "seasonality": ("purchase_date",),
        "return_rate": ("purchase_date",),
    },
    "fba_returns": {
        "return_rate": ("order_id",),
        "reason_share": ("reason",),
        "disposition_share": ("disposition",),
    },
    "mfn_returns": {
        "return_rate": ("order_id",),
        "reason_share": ("reason",),
        "in_policy_share": ("in_policy", "order_date", "request_date"),
        "request_delay_days_mean": ("order_date", "request_date", "in_policy"),
        "label_buyer_paid_share": ("label_payer",),
        "label_cost_mean": ("label_cost",),
        "az_claim_rate": ("az_claim",),
        "refund_to_order_share": ("refunded_amount", "order_amount"),
        "returnless_share": ("resolution",),
        "replacement_share": ("resolution",),
        "rfs_share": ("resolution", "label_type"),
        "safet_claim_rate": ("resolution",),
        "safet_reimbursed_share": ("safet_amount", "order_amount"),
    },
}
"""Per report, the figures a row feeds and the columns each needs: a row with one unreadable
(or empty) cell still counts in the figures that do not need that cell (its problem says which)."""


def still_counts(kind: str, column: str) -> tuple[list[str], list[str]]:
    """The figures a ``kind`` row with an unreadable ``column`` (reader's name) still counts
    in, and those it is left out of."""
    needs = FIGURE_NEEDS.get(kind, {})
    return [f for f, n in needs.items() if column not in n], [f for f, n in needs.items() if column in n]


def _rows(out: list[dict[str, Any]], parameter: str, item_class: str, est: Any, lo: Any, hi: Any, n: Any, source: str) -> None:
    out.append(
        {
            "parameter": parameter,
            "item_class": item_class,
            "estimate": float(est),
            "ci_low": float(lo),
            "ci_high": float(hi),
            "n": int(n),
            "source": source,
        }
    )


def _shares(out: list[dict[str, Any]], prefix: str, labels: pd.Series, groups: pd.Series | None, source: str, order: list[str] | None = None) -> None:
    """``prefix:<label>`` shares with Wilson intervals, per group and for ``all``."""
    frames = [(ALL, labels)]
    if groups is not None:
        frames += [(str(g), labels[groups == g]) for g in sorted(groups.dropna().unique())]
    for group, lab in frames:
        lab = lab.dropna()
        n = len(lab)
        if n == 0:
            continue
        counts = lab.value_counts()
        names = order if order is not None else sorted(counts.index)
        for name in names:
            k = int(counts.get(name, 0))
            p, lo, hi = wilson(k, n)
            _rows(out, f"{prefix}:{name}", group, p, lo, hi, n, source)


def _src(p: Prepared, *kinds: str) -> str:
    return "+".join(k for k in kinds if k in p.sources)


# --------------------------------------------------------------------------------------------
# orders


def _month_exposure(dates: pd.Series, details: Details) -> pd.DataFrame:
    """Orders and covered days per calendar month, from the first to the last order date, less
    the gaps (:mod:`.gaps`: a stray date opens months without orders, which say nothing of how
    fast orders come), which go to ``details.order_gaps``."""
    day = dates.dt.normalize()
    first, last = day.min(), day.max()
    days = pd.date_range(first, last, freq="D")
    per_day = day.value_counts().reindex(days, fill_value=0).to_numpy()
    covered = np.ones(len(days))
    for gap in day_gaps(per_day, days[0].date()):
        covered[gap.at : gap.at + gap.days] = 0.0
        details.order_gaps.append(gap)
    exposure = pd.Series(covered, index=days).groupby(days.month).sum()
    counts = day.dt.month.value_counts()
    return pd.DataFrame({"orders": counts, "days": exposure}).fillna(0.0)


def _seasonality(out: list[dict[str, Any]], per_month: pd.DataFrame, source: str, details: Details) -> None:
    """``orders_per_day`` and, with all twelve months covered, ``seasonality:<month>``."""
    per_month = per_month[per_month["days"] > 0]
    details.month_days = {int(k): float(v) for k, v in per_month["days"].items()}
    N, E = per_month["orders"].to_numpy(float), per_month["days"].to_numpy(float)
    if len(per_month) < 12:
        est, lo, hi = poisson_rate(N.sum(), E.sum())
        _rows(out, "orders_per_day", ALL, est, lo, hi, N.sum(), source)
        return
    r = N / E
    opd = r.mean()
    se = math.sqrt(float(np.sum(np.where(N > 0, r * r / np.maximum(N, 1), 0.0)))) / 12
    _rows(out, "orders_per_day", ALL, opd, opd - Z95 * se, opd + Z95 * se, N.sum(), source)
    R = r.sum()
    var_sum = np.sum(np.where(N > 0, r * r / np.maximum(N, 1), 0.0))
    rows = []
    for i, month in enumerate(per_month.index):
        s = 12 * r[i] / R
        if N[i] > 0:
            v = 1 / N[i] + var_sum / R**2 - 2 * r[i] / (N[i] * R)
            half = Z95 * math.sqrt(max(v, 0.0))
            lo, hi = s * math.exp(-half), s * math.exp(half)
        else:
            lo, hi = 0.0, math.nan
        _rows(out, f"seasonality:{MONTHS[int(month) - 1]}", ALL, s, lo, hi, N[i], source)
        rows.append({"month": MONTHS[int(month) - 1], "multiplier": s, "ci_low": lo, "ci_high": hi})
    details.seasonality = pd.DataFrame(rows)


def _orders(out: list[dict[str, Any]], p: Prepared, details: Details) -> None:
    if p.orders is not None and len(p.orders):
        o = p.orders
        src = _src(p, "orders")
        _seasonality(out, _month_exposure(o["date"], details), src, details)
        _class_shares(out, o["item_class"], src)
        for cls in sorted(o["item_class"].dropna().unique()):
            price = o.loc[o["item_class"] == cls, "unit_price"].to_numpy(float)
            price = price[np.isfinite(price) & (price > 0)]
            if not len(price):
                continue
            fit = _price_fit(price)
            details.price_fits[cls] = fit
            details.prices[cls] = price[:20000]
            m, lo, hi, n = (fit.mean, *fit.mean_ci, fit.n) if fit.family == "fixed" else mean_interval(price)
            _rows(out, "price_mean", cls, m, lo, hi, n, src)
            _rows(out, "price_cv", cls, fit.cv, *fit.cv_ci, fit.n, src)
        known = o["market"].dropna()
        if len(known):
            k = int((known == "international").sum())
            est, lo, hi = wilson(k, len(known))
            _rows(out, "international_share", ALL, est, lo, hi, len(known), src)
    elif p.monthly is not None and len(p.monthly):
        m = p.monthly
        src = _src(p, "orders")
        per = m.groupby(m["month"].dt.month)["orders"].sum()
        days = m.drop_duplicates("month").groupby(m["month"].dt.month)["month"].apply(lambda s: float(s.dt.days_in_month.sum()))
        _seasonality(out, pd.DataFrame({"orders": per, "days": days}), src, details)
        if "item_class" in m and m["item_class"].notna().any():
            by = m.groupby("item_class")["orders"].sum()
            total = by.sum()
            for cls, k in by.items():
                est, lo, hi = wilson(k, total)
                _rows(out, "order_share", str(cls), est, lo, hi, total, src)


def _price_fit(price: np.ndarray) -> DistributionFit:
    """A class's unit prices (currency) as a distribution the scenario accepts.

    One list price for every line (a small seller's usual case: each SKU sells at one price)
    is a ``fixed`` price, exactly known; a spread is fitted as lognormal or gamma by maximum
    likelihood, or, with fewer than 10 lines, as a lognormal of the lines' mean and cv (no
    interval for the cv)."""
    if np.ptp(price) == 0:
        value = float(price[0])
        return DistributionFit("fixed", value, 0.0, (value, value), (0.0, 0.0), len(price))
    m, lo, hi, n = mean_interval(price)
    fit = fit_positive(price)
    if fit is None:
        return DistributionFit("lognormal", m, float(np.std(price, ddof=1) / m), (lo, hi), (math.nan, math.nan), n)
    return fit


def _class_shares(out: list[dict[str, Any]], classes: pd.Series, source: str) -> None:
    """``order_share`` of each class (its ``item_class``), Wilson intervals."""
    known = classes.dropna()
    n = len(known)
    for cls, k in known.value_counts().sort_index().items():
        est, lo, hi = wilson(int(k), n)
        _rows(out, "order_share", str(cls), est, lo, hi, n, source)


# --------------------------------------------------------------------------------------------
# returns


def _return_rate(out: list[dict[str, Any]], p: Prepared) -> None:
    kinds = p.returns_in_rate
    if not kinds:
        return
    src = _src(p, "orders", *kinds)
    if p.orders is not None and "returned" in p.orders:
        cohort = p.orders[p.orders["cohort"]]
        for group, sub in [(ALL, cohort), *((str(c), g) for c, g in cohort.groupby("item_class", observed=True))]:
            n = len(sub)
            if n:
                est, lo, hi = wilson(int(sub["returned"].sum()), n)
                _rows(out, "return_rate", group, est, lo, hi, n, src)
        return
    if p.monthly is not None:
        frames = [f for k, f in (("fba_returns", p.fba), ("mfn_returns", p.mfn)) if k in kinds and f is not None]
        if not frames:
            return
        ret = pd.concat([f[["date", "item_class"]] for f in frames])
        months = set(p.monthly["month"])
        in_span = ret["date"].dt.to_period("M").isin(months)
        n_orders = int(p.monthly["orders"].sum())
        if n_orders:
            est, lo, hi = wilson(int(in_span.sum()), n_orders)
            _rows(out, "return_rate", ALL, est, lo, hi, n_orders, src)


def _reasons(out: list[dict[str, Any]], p: Prepared, reasons: list[str]) -> None:
    frames = [(k, f) for k, f in (("fba_returns", p.fba), ("mfn_returns", p.mfn)) if f is not None and len(f)]
    if not frames:
        return
    both = pd.concat([f[["item_class", "reason"]] for _, f in frames], ignore_index=True)
    seen = [r for r in reasons if r in set(both["reason"].dropna())]
    _shares(out, "reason_share", both["reason"], both["item_class"], _src(p, *(k for k, _ in frames)), seen)


def _mfn(out: list[dict[str, Any]], p: Prepared, details: Details) -> None:
    m = p.mfn
    if m is None or not len(m):
        return
    src = _src(p, "mfn_returns")
    # timing and the in-policy share: only orders whose requests have all had time to arrive
    mature = m[m["mature"]] if "mature" in m else m

    def share(name: str, col: str, frame: pd.DataFrame) -> None:
        if col in frame:
            v = frame[col].dropna().astype(bool)
            if len(v):
                est, lo, hi = wilson(int(v.sum()), len(v))
                _rows(out, name, ALL, est, lo, hi, len(v), src)

    share("in_policy_share", "in_policy", mature)
    share("az_claim_rate", "az_claim", m)
    _labels(out, p, m, src)
    _resolutions(out, m, src)
    if "delay_days" in mature:
        sel = mature["delay_days"].notna()
        if "in_policy" in mature:
            sel &= mature["in_policy"].fillna(True).astype(bool)
        d = mature.loc[sel, "delay_days"].to_numpy(float)
        details.delays = d
        details.delay_day_resolution = p.delay_day_resolution
        if len(d) >= 2:
            est, lo, hi, n = mean_interval(d)
            _rows(out, "request_delay_days_mean", ALL, est, lo, hi, n, src)
    if "to_delivery_days" in mature:
        t = mature[mature["to_delivery_days"].notna()]
        if len(t) >= 2:
            est, lo, hi, n = mean_interval(t["to_delivery_days"])
            _rows(out, "request_to_delivery_days_mean", ALL, est, lo, hi, n, src)
            for market, sub in t.groupby("market"):
                if len(sub) >= 2:
                    est, lo, hi, n = mean_interval(sub["to_delivery_days"])
                    _rows(out, f"request_to_delivery_days_mean:{market}", ALL, est, lo, hi, n, _src(p, "mfn_returns", "orders"))
    if "refunded_amount" in m and "order_amount" in m:
        ok = m["order_amount"] > 0
        share_refunded = (m.loc[ok, "refunded_amount"] / m.loc[ok, "order_amount"]).clip(upper=1.0).dropna()
        if len(share_refunded) >= 2:
            est, lo, hi, n = mean_interval(share_refunded)
            _rows(out, "refund_to_order_share", ALL, est, lo, hi, n, src)


def has_label(m: pd.DataFrame) -> pd.Series:
    """Rows of the Returns report that had a return label: the label type says so (Amazon's or
    the seller's prepaid label), or, where the type is blank or absent, a label cost is shown.
    Returnless refunds never had one, whatever the other columns say."""
    cost = m["label_cost"] > 0 if "label_cost" in m else pd.Series(False, index=m.index)
    kind = m["label_kind"] if "label_kind" in m else pd.Series(None, index=m.index, dtype=object)
    typed = kind.isin(["prepaid", "seller_label"])
    out = typed | (kind.isna() & cost.fillna(False).astype(bool))
    if "outcome" in m:
        out &= m["outcome"] != "returnless"
    return out.astype(bool)


def _labels(out: list[dict[str, Any]], p: Prepared, m: pd.DataFrame, src: str) -> None:
    """Who pays and what labels cost, over the rows that had a label (a row whose cost could
    not be read still says who paid)."""
    labelled = m[has_label(m)]
    if "payer" in labelled:
        payer = labelled["payer"].dropna()
        if len(payer):
            est, lo, hi = wilson(int((payer == "buyer").sum()), len(payer))
            _rows(out, "label_buyer_paid_share", ALL, est, lo, hi, len(payer), src)
    if "label_cost" not in labelled:
        return
    costed = labelled[labelled["label_cost"] > 0]
    if "payer" in costed:
        for who, sub in costed.groupby("payer"):
            est, lo, hi, n = mean_interval(sub["label_cost"])
            _rows(out, f"label_cost_mean:{who}", ALL, est, lo, hi, n, src)
    for market, sub in costed.groupby("market"):
        msrc = _src(p, "mfn_returns", "orders")
        est, lo, hi, n = mean_interval(sub["label_cost"])
        _rows(out, f"label_cost_mean:any:{market}", ALL, est, lo, hi, n, msrc)
        if "payer" in sub:
            for who, s2 in sub.groupby("payer"):
                est, lo, hi, n = mean_interval(s2["label_cost"])
                _rows(out, f"label_cost_mean:{who}:{market}", ALL, est, lo, hi, n, msrc)


def _share(out: list[dict[str, Any]], name: str, hits: pd.Series, src: str) -> None:
    """``name``: the share of True among the non-missing values of ``hits`` (Wilson)."""
    v = hits.dropna().astype(bool)
    if len(v):
        est, lo, hi = wilson(int(v.sum()), len(v))
        _rows(out, name, ALL, est, lo, hi, len(v), src)


def _resolutions(out: list[dict[str, Any]], m: pd.DataFrame, src: str) -> None:
    """How requests were resolved (the Resolution column) and SAFE-T claims (its columns).

    * ``returnless_share``, ``replacement_share``: over the requests whose resolution is known;
    * ``rfs_share``: refunds at first scan over the refunds that could have been (Amazon's
      prepaid label, refunded in full);
    * ``safet_claim_rate``: SAFE-T claims over those same eligible refunds; ``safet_approval_rate``:
      approved over decided claims; ``safet_reimbursed_share``: reimbursed amount over the
      order amount, per approved claim (mean, Student t).
    """
    if "outcome" in m:
        known = m["outcome"]
        _share(out, "returnless_share", (known == "returnless").astype(object).where(known.notna()), src)
        _share(out, "replacement_share", (known == "replacement").astype(object).where(known.notna()), src)
        eligible = m["outcome"].isin(["rfs", "refund"])
        if "label_kind" in m:
            eligible &= m["label_kind"] == "prepaid"
        _share(out, "rfs_share", (m.loc[eligible, "outcome"] == "rfs").astype(object), src)
    else:
        eligible = pd.Series(False, index=m.index)
    if "safet_claim" not in m and "safet_state" not in m:
        return
    claimed = pd.Series(False, index=m.index)
    for col in ("safet_claim", "safet_state"):
        if col in m:
            claimed |= m[col].notna()
    if eligible.any():
        _share(out, "safet_claim_rate", claimed[eligible | claimed].astype(object), src)
    state = m.loc[claimed, "safet_verdict"] if "safet_verdict" in m else pd.Series(dtype=object)
    decided = state[state.isin(["approved", "denied"])]
    _share(out, "safet_approval_rate", (decided == "approved").astype(object), src)
    if "safet_amount" in m and "order_amount" in m:
        ok = claimed & (m.get("safet_verdict") == "approved") & (m["order_amount"] > 0)
        ratio = (m.loc[ok, "safet_amount"] / m.loc[ok, "order_amount"]).clip(upper=1.0).dropna()
        if len(ratio) >= 2:
            est, lo, hi, n = mean_interval(ratio)
            _rows(out, "safet_reimbursed_share", ALL, est, lo, hi, n, src)


def _repeat(out: list[dict[str, Any]], p: Prepared) -> None:
    """``repeat_purchases_per_year``: a customer's purchases a year of the same ASIN, per class
    and store-wide, from orders and unique customers per ASIN and period (:func:`repeat_rate`)."""
    r = p.repeat
    if r is None or not len(r):
        return
    src = _src(p, "repeat_purchases")
    groups = [(ALL, r), *((str(c), g) for c, g in r.groupby("item_class"))]
    for cls, g in groups:
        est, lo, hi = repeat_rate(g["orders"], g["unique_customers"], g["days"])
        if np.isfinite(est):
            _rows(out, "repeat_purchases_per_year", cls, est, lo, hi, int(g["unique_customers"].sum()), src)


def _fba(out: list[dict[str, Any]], p: Prepared, dispositions: list[str]) -> None:
    f = p.fba
    if f is None or not len(f) or "disposition" not in f:
        return
    known = f["disposition"].where(f["disposition"].isin(dispositions))
    labels = known.dropna().str.lower()
    order = [d.lower() for d in dispositions if d.lower() in set(labels)]
    _shares(out, "disposition_share", labels, None, _src(p, "fba_returns"), order)


def estimate_all(p: Prepared, reasons: list[str], dispositions: list[str]) -> tuple[pd.DataFrame, Details]:
    """Every estimate the prepared reports support, as a tidy DataFrame, and plot details."""
    out: list[dict[str, Any]] = []
    details = Details()
    _orders(out, p, details)
    _return_rate(out, p)
    _reasons(out, p, reasons)
    _mfn(out, p, details)
    _fba(out, p, dispositions)
    _repeat(out, p)
    df = pd.DataFrame(out, columns=ESTIMATE_COLUMNS)
    return df, details
