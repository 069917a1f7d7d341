"""Synthetic Amazon reports from a scenario: known parameters in, realistic exports out.

:func:`synthetic_reports` runs the model once with a trace (``rs.simulate(..., trace=True)``) and
writes what Seller Central would show for that store: an All Orders report, an FBA customer
returns report, a seller-fulfilled Returns report and a SKU -> class mapping. The calibration's
round-trip tests fit these back and check that the scenario's parameters fall inside the
confidence intervals; :func:`expected_estimates` gives those parameters in the fits' terms.

How the reports are made from the trace:

* Every return request of the trace is an order line; the orders that were kept (which the model
  never materialises) are drawn from the same process: the model thins a Poisson stream of
  orders, so the kept ones are an independent Poisson stream of rate ``orders_per_day x
  seasonality x (1 - return rate)`` whose classes are in proportion to ``share x (1 -
  return_rate)``. Post-return repeat purchases are not fed back into demand for the synthetic
  run (the trace has no rows for the kept ones), so every order is one of the scenario's own.
* Each class has a few SKUs, each covering a band of the class's price quantiles.
* Orders are fulfilled by Amazon with probability ``fba_share``. The model has no FBA channel
  yet, so for those Amazon's handling is written here: every request comes back (no offers, no
  give-aways), received ``ship_days + transit_days`` after the request, with a disposition from
  the item's condition and the reason's fault (:data:`DISPOSITION_OF`). Seller-fulfilled
  requests keep the policy's outcome from the trace: labels, payers, A-to-z claims, refunds.
* Reasons are the *stated* reasons, written as the code table's first code for each.
* Reports cover ``months`` months from the scenario's start date: returns dated after the end
  are not in them, as in a real download.

Everything is labelled synthetic: product names start with ``SYNTHETIC`` and SKUs with ``SYN-``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..scenario import Scenario
from .codes import CodeTable
from .damage import damage
from .fits import MONTHS
from .repeat import repeat_report
from .stats import truncated_mean

__all__ = ["synthetic_reports", "SyntheticReports", "expected_estimates", "DISPOSITION_OF", "TRACE_COLUMNS", "REGIME", "damage"]

TRACE_COLUMNS = (
    "item_class", "market", "price", "order_time", "request_time", "true_reason", "stated_reason",
    "condition", "in_window", "outcome", "payer", "buyer_paid_label", "action", "address",
    "t_decision", "az_claim", "refunds", "partial_refunds", "buyer_fees",
)
"""Trace columns the generator needs (a missing one is a clear error, not a wrong report)."""

DISPOSITION_OF = {
    ("unopened", None): "SELLABLE",
    ("opened", None): "SELLABLE",
    ("used", None): "CUSTOMER_DAMAGED",
    ("damaged", "carrier"): "CARRIER_DAMAGED",
    ("damaged", "seller"): "DEFECTIVE",
    ("damaged", "buyer"): "CUSTOMER_DAMAGED",
}
"""FBA disposition of a returned unit by (condition, true reason's fault); ``None``: any fault."""

SKUS_PER_CLASS = 8
HOME = "US"
ABROAD = ("CA", "GB", "DE", "MX")
_PHYSICAL = ("returned_refund", "exchanged", "replaced")
_RESOLUTION = {
    "returned_refund": "StandardRefund",
    "returnless_refund": "ReturnlessRefund",
    "exchanged": "Exchange",
    "replaced": "Replacement",
    "kept_partial_refund": "PartialRefund",
    "troubleshot": "NoRefund",
    "rejected": "NoRefund",
    "claim_refund": "StandardRefund",
}


def _disposition(condition: str, fault: str) -> str:
    return DISPOSITION_OF.get((condition, None)) or DISPOSITION_OF[(condition, fault)]


@dataclass
class SyntheticReports:
    """The reports of one synthetic store (tab-separated text) and what they were made from."""

    orders: str
    fba_returns: str
    mfn_returns: str
    classes: str
    scenario: Scenario
    """The scenario as run (horizon set to the months, no feedback into demand)."""
    policy: str
    seed: Any
    fba_share: float
    run: Any = field(repr=False, default=None)
    repeat_purchases: str | None = None
    """A Repeat Purchase Behavior report (CSV), when asked for."""

    def sources(self) -> dict[str, io.StringIO]:
        """In-memory files for :func:`returnsim.calibrate.calibrate` (``**reports.sources()``)."""
        out = {}
        for key in ("fba_returns", "mfn_returns", "orders", "classes", "repeat_purchases"):
            if getattr(self, key) is None:
                continue
            buf = io.StringIO(getattr(self, key))
            buf.name = f"synthetic_{key}.txt"
            out[key] = buf
        return out

    def write(self, folder: str | Path, prefix: str = "synthetic_") -> dict[str, Path]:
        """Write the four files into ``folder``; returns their paths by report."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for key, ext in (("orders", "txt"), ("fba_returns", "txt"), ("mfn_returns", "txt"), ("classes", "csv"), ("repeat_purchases", "csv")):
            if getattr(self, key) is None:
                continue
            path = folder / f"{prefix}{key}.{ext}"
            path.write_text(getattr(self, key), encoding="utf-8")
            paths[key] = path
        return paths


def _horizon(sc: Scenario, months: int) -> float:
    start = sc.start_date
    y, m = divmod(start.month - 1 + months, 12)
    end = dt.date(start.year + y, m + 1, min(start.day, calendar.monthrange(start.year + y, m + 1)[1]))
    return float((end - start).days)


def _prepare_scenario(scenario: Scenario, months: int, fixed_prices: bool = False) -> Scenario:
    sc = scenario.model_copy(deep=True)
    sc.horizon_days = _horizon(scenario, months)
    sc.retention.feedback_into_demand = False
    if fixed_prices:  # a small seller's shape: every item of a class sells at one list price
        from ..scenario.distributions import Fixed

        for c in sc.catalog.values():
            c.price = Fixed(value=round(c.price.mean, 2))
    return sc


REGIME = {"rfs_share": 0.9, "safet_claim_rate": 0.06, "safet_approval_rate": 0.6, "safet_reimbursed_share": 0.8}
"""Default regime of the synthetic Returns report's Resolution and SAFE-T columns (``regime=``):
the share of eligible refunds made at first scan, of those claimed under SAFE-T, of claims
approved, and the mean reimbursed share of the order amount (uniform 0.6-1.0)."""


def _stamp(start: dt.date, hours: np.ndarray, fmt: str) -> pd.Series:
    t = pd.Timestamp(start) + pd.to_timedelta(np.asarray(hours, dtype=float), unit="h")
    s = pd.Series(t).dt.strftime(fmt)
    return s.str.upper() if "%b" in fmt else s


def _price_quantile(dist: Any, price: np.ndarray) -> np.ndarray:
    return np.array([dist.cdf(float(p)) for p in price]) if len(price) else np.empty(0)


def synthetic_reports(
    scenario: Scenario,
    policy: str,
    seed: int = 0,
    months: int = 12,
    *,
    fba_share: float = 0.4,
    codes: CodeTable | None = None,
    fba_months: int | None = None,
    fixed_prices: bool = False,
    label_gaps: bool = False,
    regime: dict[str, float] | None = None,
    repeat_purchases: bool = False,
) -> SyntheticReports:
    """Realistic synthetic Amazon reports of the store a scenario describes.

    Args:
        scenario: a validated scenario; every reason must have a code in the code table.
        policy: the policy the seller-fulfilled returns are handled with.
        seed: seed of the model run and of everything drawn here.
        months: length of the reporting period, from the scenario's start date.
        fba_share: share of orders fulfilled by Amazon.
        codes: the code table that turns reasons into codes (default: returnsim's).
        fba_months: the FBA report ends after this many months (default ``months``): reports
            that end on different dates.
        fixed_prices: every item of a class sells at one list price (the class's mean).
        label_gaps: rows without a label say so as real exports do (``NoLabel``, a payer and a
            zero cost) instead of leaving the label columns blank.
        regime: fill the Resolution (refund at first scan) and SAFE-T columns with these rates
            (keys of :data:`REGIME`; ``{}`` for its defaults); default: not filled.
        repeat_purchases: also write a Repeat Purchase Behavior report.

    Returns:
        A :class:`SyntheticReports` with the four files as text.

    Raises:
        ValueError: if the model's trace lacks a column the reports are made from.
    """
    from ..model import simulate

    codes = codes or CodeTable.load()
    sc = _prepare_scenario(scenario, months, fixed_prices)
    for r in sc.reasons:
        codes.code_for(r)  # a clear error for a reason the table cannot write
    run = simulate(sc, policy, seed=seed, trace=True)
    tr = run.trace
    missing = [c for c in TRACE_COLUMNS if c not in tr]
    if missing:
        raise ValueError(
            f"the model's trace has no column {', '.join(missing)}: synthetic_reports "
            f"(returnsim/calibrate/synthetic.py, TRACE_COLUMNS) must be updated to the new trace"
        )
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 11]))
    classes = list(sc.catalog)
    cat = list(sc.catalog.values())
    share = np.array([c.share for c in cat], float)
    share /= share.sum()
    rate = np.array([c.return_rate for c in cat])
    horizon_h = sc.horizon_days * 24.0

    # Kept orders: an independent Poisson stream (thinning), drawn day by day.
    n_days = int(np.ceil(sc.horizon_days))
    dates = np.datetime64(sc.start_date.isoformat(), "D") + np.arange(n_days)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    lam = sc.demand.orders_per_day * np.asarray(sc.demand.seasonality)[month] * (1 - share @ rate)
    kept_day = np.repeat(np.arange(n_days), rng.poisson(lam))
    n_kept = len(kept_day)
    kept_time = (kept_day + rng.random(n_kept)) * 24.0
    w = share * (1 - rate)
    kept_class = np.minimum(np.searchsorted(np.cumsum(w / w.sum()), rng.random(n_kept), side="right"), len(cat) - 1)
    kept_market = np.where(rng.random(n_kept) < sc.markets.international.share, "international", "domestic")
    kept_price = np.empty(n_kept)
    for k, c in enumerate(cat):
        sel = kept_class == k
        kept_price[sel] = c.price.ppf(rng.random(int(sel.sum())))

    n_ret = len(tr)
    cls_idx = pd.Categorical(tr["item_class"], categories=classes).codes.astype(int)
    o_class = np.concatenate([cls_idx, kept_class])
    o_time = np.concatenate([tr["order_time"].to_numpy(float), kept_time])
    o_market = np.concatenate([tr["market"].astype(str).to_numpy(), kept_market])
    o_price = np.round(np.concatenate([tr["price"].to_numpy(float), kept_price]), 2)
    o_price = np.maximum(o_price, 0.01)
    n = len(o_time)
    sku_j = np.empty(n, dtype=int)
    for k, c in enumerate(cat):
        sel = o_class == k
        sku_j[sel] = np.minimum((_price_quantile(c.price, o_price[sel]) * SKUS_PER_CLASS).astype(int), SKUS_PER_CLASS - 1)
    sku = np.array([f"SYN-{classes[k]}-{j:02d}" for k, j in zip(o_class, sku_j, strict=True)])
    asin = np.array([f"B0S{k:03d}{j:04d}" for k, j in zip(o_class, sku_j, strict=True)])
    fba = rng.random(n) < fba_share
    perm = rng.permutation(n)
    order_id = np.array([f"{100 + (i % 900):03d}-{(i * 7919) % 10_000_000:07d}-{i:07d}" for i in perm])
    country = np.where(o_market == "domestic", HOME, np.asarray(ABROAD)[rng.integers(0, len(ABROAD), n)])

    start = sc.start_date
    order_sort = np.argsort(o_time, kind="stable")
    orders = pd.DataFrame(
        {
            "amazon-order-id": order_id,
            "merchant-order-id": "",
            "purchase-date": _stamp(start, o_time, "%Y-%m-%dT%H:%M:%S+00:00").to_numpy(),
            "order-status": "Shipped",
            "fulfillment-channel": np.where(fba, "Amazon", "Merchant"),
            "sales-channel": "Amazon.com",
            "product-name": [f"SYNTHETIC {classes[k]} item {j}" for k, j in zip(o_class, sku_j, strict=True)],
            "sku": sku,
            "asin": asin,
            "item-status": "Shipped",
            "quantity": 1,
            "currency": "USD",
            "item-price": [f"{p:.2f}" for p in o_price],
            "ship-country": country,
        }
    ).iloc[order_sort]

    # Returns: the first n_ret order lines are the trace's requests.
    t = tr.reset_index(drop=True)
    r_fba = fba[:n_ret]
    weight = np.array([c.weight_lb for c in cat])[cls_idx]
    market = t["market"].astype(str).to_numpy()
    ship_h = sc.returns.ship_days.ppf(rng.random(n_ret)) * 24
    transit_h = np.empty(n_ret)
    u = rng.random(n_ret)
    for name in ("domestic", "international"):
        sel = market == name
        transit_h[sel] = getattr(sc.markets, name).transit_days.ppf(u[sel]) * 24
    true_fault = np.array([sc.reasons[r].fault for r in t["true_reason"].astype(str)])
    condition = t["condition"].astype(str).to_numpy()
    stated = t["stated_reason"].astype(str).to_numpy()

    # FBA: Amazon handles every request; the unit comes back.
    fr = np.flatnonzero(r_fba)
    fba_date = t["request_time"].to_numpy(float)[fr] + ship_h[fr] + transit_h[fr]
    keep = fba_date < (_horizon(sc, fba_months) * 24.0 if fba_months is not None else horizon_h)
    fr, fba_date = fr[keep], fba_date[keep]
    comments = np.where(rng.random(len(fr)) < 0.3, "SYNTHETIC comment: buyer wrote something here", "")
    fba_rep = pd.DataFrame(
        {
            "return-date": _stamp(start, fba_date, "%Y-%m-%dT%H:%M:%S+00:00").to_numpy(),
            "order-id": order_id[fr],
            "sku": sku[fr],
            "asin": asin[fr],
            "fnsku": [f"X00SYN{i:05d}" for i in range(len(fr))],
            "product-name": [f"SYNTHETIC {classes[cls_idx[i]]} item {sku_j[i]}" for i in fr],
            "quantity": 1,
            "fulfillment-center-id": "SYN1",
            "detailed-disposition": [_disposition(condition[i], true_fault[i]) for i in fr],
            "reason": [codes.code_for(stated[i]) for i in fr],
            "status": "Unit returned to inventory",
            "license-plate-number": [f"LPNSYN{i:07d}" for i in range(len(fr))],
            "customer-comments": comments,
        }
    ).iloc[np.argsort(fba_date, kind="stable")]

    # Seller-fulfilled: the policy's outcome from the trace.
    mr = np.flatnonzero(~r_fba & (t["request_time"].to_numpy(float) < horizon_h))
    sub = t.iloc[mr]
    outcome = sub["outcome"].astype(str).to_numpy()
    action = sub["action"].astype(object).to_numpy()
    physical = np.isin(outcome, _PHYSICAL) & (action != "give_to_buyer") & pd.notna(action)
    address = sub["address"].astype(object).to_numpy() if "address" in sub else np.full(len(sub), None)
    base = np.empty(len(mr))
    per_lb = np.empty(len(mr))
    for j, (mk, a, act) in enumerate(zip(market[mr], address, action, strict=True)):
        lane = getattr(sc.markets, mk).return_label
        if act == "return_to_address" and isinstance(a, str) and mk in sc.addresses[a].return_label:
            lane = sc.addresses[a].return_label[mk]
        base[j], per_lb[j] = lane.base, lane.per_lb
    label = np.round(base + per_lb * weight[mr], 2)
    receipt = (
        sub["t_receive"].to_numpy(float)
        if "t_receive" in sub
        else sub["t_decision"].to_numpy(float) + ship_h[mr] + transit_h[mr]
    )
    refunded = np.clip(sub["refunds"].to_numpy(float) + sub["partial_refunds"].to_numpy(float) - sub["buyer_fees"].to_numpy(float), 0, None)
    day = "%d-%b-%Y"
    status = np.where(outcome == "rejected", "Rejected", np.where(np.isin(outcome, ("troubleshot", "kept_partial_refund")), "Closed", "Completed"))
    delivered = physical & (receipt < horizon_h)
    mfn_rep = pd.DataFrame(
        {
            "Order ID": order_id[mr],
            "Order date": _stamp(start, sub["order_time"].to_numpy(float), day).to_numpy(),
            "Return request date": _stamp(start, sub["request_time"].to_numpy(float), day).to_numpy(),
            "Return request status": status,
            "Amazon RMA ID": [f"DSYN{i:08d}" for i in range(len(mr))],
            "Merchant RMA ID": "",
            "Label type": np.where(physical, "AmazonPrePaidLabel", ""),
            "Label cost": np.where(physical, [f"{v:.2f}" for v in label], ""),
            "Currency code": "USD",
            "Return carrier": np.where(physical, "UPS", ""),
            "Tracking ID": np.where(physical, [f"1ZSYN{i:010d}" for i in range(len(mr))], ""),
            "Label to be paid by": np.where(physical, np.where(sub["buyer_paid_label"].to_numpy(bool), "Customer", "Seller"), ""),
            "A-to-Z Claim": np.where(sub["az_claim"].to_numpy(bool), "Y", "N"),
            "Is prime": np.where(rng.random(len(mr)) < 0.7, "Y", "N"),
            "ASIN": asin[mr],
            "Merchant SKU": sku[mr],
            "Item Name": [f"SYNTHETIC {classes[cls_idx[i]]} item {sku_j[i]}" for i in mr],
            "Return quantity": 1,
            "Return Reason": ["CR-" + codes.code_for(stated[i]) for i in mr],
            "In policy": np.where(sub["in_window"].to_numpy(bool), "Y", "N"),
            "Return type": "C-Returns",
            "Resolution": [_RESOLUTION.get(o, "NoRefund") for o in outcome],
            "Invoice number": "",
            "Return delivery date": np.where(delivered, _stamp(start, np.where(delivered, receipt, 0.0), day).to_numpy(), ""),
            "Order Amount": [f"{v:.2f}" for v in o_price[mr]],
            "Order quantity": 1,
            "SafeT Action reason": "",
            "SafeT claim id": "",
            "SafeT claim state": "",
            "SafeT claim creation time": "",
            "SafeT claim reimbursement amount": "",
            "Refunded Amount": [f"{v:.2f}" for v in refunded],
        }
    )
    # Shapes of real exports, drawn from their own stream (the default reports stay the same).
    extra = np.random.default_rng(np.random.SeedSequence([int(seed), 12]))
    if label_gaps:
        none = ~physical
        mfn_rep.loc[none, "Label type"] = "NoLabel"
        mfn_rep.loc[none, "Label to be paid by"] = "Seller"
        mfn_rep.loc[none, "Label cost"] = "0.00"
    if regime is not None:
        rates = {**REGIME, **regime}
        refunded_in_full = np.asarray(outcome == "returned_refund") & physical
        rfs = refunded_in_full & (extra.random(len(mr)) < rates["rfs_share"])
        mfn_rep.loc[rfs, "Resolution"] = "RefundAtFirstScan"
        claim = refunded_in_full & (extra.random(len(mr)) < rates["safet_claim_rate"])
        approved = claim & (extra.random(len(mr)) < rates["safet_approval_rate"])
        share = extra.uniform(0.6, 1.0, len(mr)) * (2 * rates["safet_reimbursed_share"] / 1.6)
        mfn_rep.loc[claim, "SafeT claim id"] = [f"SYNSAFET{i:07d}" for i in range(int(claim.sum()))]
        mfn_rep.loc[claim, "SafeT claim state"] = np.where(approved[claim], "Approved", "Denied")
        amount = np.where(approved, [f"{v:.2f}" for v in np.round(o_price[mr] * share, 2)], "")
        mfn_rep.loc[claim, "SafeT claim reimbursement amount"] = amount[claim]
    repeat_text = repeat_report(extra, sc, asin, o_time) if repeat_purchases else None

    class_map = pd.DataFrame(
        {"sku": [f"SYN-{c}-{j:02d}" for c in classes for j in range(SKUS_PER_CLASS)], "item_class": [c for c in classes for _ in range(SKUS_PER_CLASS)]}
    )

    def tsv(df: pd.DataFrame) -> str:
        return df.to_csv(sep="\t", index=False, lineterminator="\n")

    return SyntheticReports(
        orders=tsv(orders),
        fba_returns=tsv(fba_rep),
        mfn_returns=tsv(mfn_rep),
        classes=class_map.to_csv(index=False, lineterminator="\n"),
        scenario=sc,
        policy=policy,
        seed=seed,
        fba_share=fba_share,
        run=run,
        repeat_purchases=repeat_text,
    )


# --------------------------------------------------------------------------------------------
# the truth, in the fits' terms


def stated_mix(scenario: Scenario, item_class: str) -> dict[str, float]:
    """The *stated* reason mix of a class's returns.

    A class whose mix is stated (``reasons_are = "stated"``, the default) states it as written;
    for a true mix, ``returns.misreport_rate`` of each buyer-fault reason's share moves to the
    seller-fault reason its buyers state instead (what the model's demand stage does)."""
    sc = scenario
    cls = sc.catalog[item_class]
    if cls.reasons_are == "stated":
        return dict(cls.reasons)
    rho = sc.returns.misreport_rate
    out: dict[str, float] = {}
    for r, share in cls.reasons.items():
        targets = sc.misreport_mix(r)
        if targets and rho > 0:
            out[r] = out.get(r, 0.0) + share * (1 - rho)
            for target, part in targets.items():
                out[target] = out.get(target, 0.0) + share * rho * part
        else:
            out[r] = out.get(r, 0.0) + share
    return out


def expected_estimates(scenario: Scenario, regime: dict[str, float] | None = None, repeat_purchases: bool = False) -> pd.DataFrame:
    """The values the fits should recover from :func:`synthetic_reports` of ``scenario`` (with
    ``months = 12``), for every estimate that is a function of the scenario alone (the policy's
    outcomes, such as label payers or claims, are not), and of the ``regime`` and repeat
    purchases when the reports were made with them. Columns ``parameter, item_class, true``."""
    sc = scenario
    rows: list[tuple[str, str, float]] = []
    if regime is not None:
        rows += [(k, "all", float(v)) for k, v in {**REGIME, **regime}.items()]
    if repeat_purchases:
        per_year = float(sc.buyer.purchases_per_year.mean)
        rows += [("repeat_purchases_per_year", c, per_year) for c in ["all", *sc.catalog]]
    classes = list(sc.catalog)
    share = np.array([c.share for c in sc.catalog.values()], float)
    share /= share.sum()
    rate = np.array([c.return_rate for c in sc.catalog.values()])
    season = np.asarray(sc.demand.seasonality, float)
    rows.append(("orders_per_day", "all", sc.demand.orders_per_day * season.mean()))
    for m, s in zip(MONTHS, season / season.mean(), strict=True):
        rows.append((f"seasonality:{m}", "all", float(s)))
    rows.append(("international_share", "all", sc.markets.international.share))
    rows.append(("return_rate", "all", float(share @ rate)))
    returned = share * rate / (share @ rate)
    mix_all: dict[str, float] = {}
    disp: dict[str, float] = {}
    for k, (name, c) in enumerate(sc.catalog.items()):
        rows.append(("order_share", name, float(share[k])))
        rows.append(("return_rate", name, c.return_rate))
        rows.append(("price_mean", name, c.price.mean))
        rows.append(("price_cv", name, float(np.sqrt(c.price.variance) / c.price.mean)))
        for r, p in stated_mix(sc, name).items():
            rows.append((f"reason_share:{r}", name, p))
            mix_all[r] = mix_all.get(r, 0.0) + returned[k] * p
        for r, p in c.reasons.items():
            reason = sc.reasons[r]
            for cond, q in reason.condition.model_dump().items():
                if q > 0:
                    d = _disposition(cond, reason.fault).lower()
                    disp[d] = disp.get(d, 0.0) + returned[k] * p * q
    for r, p in mix_all.items():
        rows.append((f"reason_share:{r}", "all", p))
    for d, p in disp.items():
        rows.append((f"disposition_share:{d}", "all", p))
    ret = sc.returns
    rows.append(("in_policy_share", "all", 1 - ret.out_of_window_rate))
    rows.append(("request_delay_days_mean", "all", ret.delivery_days.mean + truncated_mean(ret.request_delay_days, ret.window_days)))
    dist = ret.request_delay_days
    if getattr(dist, "dist", None) in ("lognormal", "gamma"):
        rows.append(("request_delay_after_delivery_mean", "all", dist.mean))
        rows.append(("request_delay_after_delivery_cv", "all", float(dist.cv)))  # type: ignore[union-attr]
    del classes
    return pd.DataFrame(rows, columns=["parameter", "item_class", "true"])
