"""From what the readers got to rows ready for fitting.

* Order ids are replaced by integer codes shared by all reports, then dropped: they are needed
  only to match a return to its order line, and never leave this module.
* Cancelled orders are left out (counted).
* Item classes come from the SKU/ASIN mapping, or else from price bands over each SKU's median
  unit price (proposed from the price tertiles, rounded to round numbers, unless given).
* A return is matched to its order line by order id and SKU, then order id and ASIN, then order
  id alone when the order has a single line; unmatched returns are counted.
* The return rate counts order lines placed long enough before the end of the returns reports
  (``maturity_days``, 90 by default) for their returns to have arrived in them: the *cohort*.
* Codes are mapped through the :class:`~returnsim.calibrate.codes.CodeTable`; a code it does not
  know is counted in ``unknown`` and left out of the mixes, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .codes import CodeTable
from .gaps import tail_gap
from .names import home_not_shipped_to
from .readers import Report

__all__ = ["Prepared", "prepare", "propose_price_bands", "band_names", "price_band_classes", "class_lookup", "map_class", "UNKNOWN_COLUMNS"]

UNKNOWN_COLUMNS = ["report", "column", "code", "rows"]

NO_REPEAT_NOTE = (
    "no Repeat Purchase Behavior report: purchases a year with you (buyer.purchases_per_year) stay "
    "assumed, and they are the input to measure first (the PSA ranks them first): pass --repeat-purchases"
)
"""What the summary says when purchases a year with the seller were not measured."""


@dataclass
class Prepared:
    """Report rows ready for fitting (see :func:`returnsim.calibrate.prepare.prepare`)."""

    orders: pd.DataFrame | None
    """One row per order line: ``order, date, sku, asin, item_class, unit_price, market,
    channel, cohort`` (``cohort``: old enough for its returns to be in the reports)."""
    monthly: pd.DataFrame | None
    """``month`` (Period), ``orders`` and optionally ``item_class``."""
    fba: pd.DataFrame | None
    """FBA return rows: ``date, item_class, reason, code, disposition, matched, market``."""
    mfn: pd.DataFrame | None
    """MFN return rows: the report's columns plus ``item_class, reason, matched, market,
    delay_days, to_delivery_days``."""
    sources: dict[str, str] = field(default_factory=dict)
    """Report kind -> file name."""
    notes: list[str] = field(default_factory=list)
    delay_day_resolution: bool = False
    returns_in_rate: tuple[str, ...] = ()
    """Which returns reports the return rate counts."""
    repeat: pd.DataFrame | None = None
    """Repeat Purchase Behavior rows: ``item_class, orders, unique_customers, days``."""


def _nice(x: float) -> float:
    """The round number (1, 2, 2.5 or 5 times a power of ten) nearest to ``x`` on a log scale."""
    if x <= 0:
        return 0.0
    k = math.floor(math.log10(x))
    cands = [m * 10.0**e for e in (k - 1, k, k + 1) for m in (1, 2, 2.5, 5)]
    return min(cands, key=lambda c: abs(math.log(c / x)))


def propose_price_bands(sku_prices: Any, bands: int = 3) -> list[float]:
    """Boundaries splitting SKUs into ``bands`` groups by median unit price, at round numbers
    near the price quantiles (duplicates removed, so there may be fewer)."""
    p = np.asarray(sku_prices, dtype=float)
    p = p[np.isfinite(p) & (p > 0)]
    if len(p) < bands:
        return []
    qs = np.quantile(p, [i / bands for i in range(1, bands)])
    edges = sorted({_nice(float(q)) for q in qs})
    return [e for e in edges if (p < e).any() and (p >= e).any()]


def _fmt(x: float) -> str:
    return f"{x:g}".replace(".", "p")


def band_names(edges: Sequence[float]) -> list[str]:
    """Class names for price bands: ``price_under_20``, ``price_20_to_50``, ``price_50_plus``."""
    if not edges:
        return ["all_items"]
    names = [f"price_under_{_fmt(edges[0])}"]
    names += [f"price_{_fmt(a)}_to_{_fmt(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    names.append(f"price_{_fmt(edges[-1])}_plus")
    return names


class _Unknown:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def count(self, report: str, column: str, values: pd.Series) -> None:
        for code, n in values.dropna().value_counts().items():
            self.rows.append({"report": report, "column": column, "code": str(code), "rows": int(n)})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=UNKNOWN_COLUMNS)


def price_band_classes(
    key: pd.Series, unit_price: pd.Series, price_bands: Sequence[float] | None, info: dict[str, Any]
) -> tuple[pd.Series, dict[Any, str]] | None:
    """Each order line's class by the price band of its item's median unit price: the lines'
    classes and the item -> class mapping (for the returns), or None when no line has a price.
    ``key``: the lines' SKUs (or ASINs); ``price_bands``: the boundaries (proposed from the
    items' median prices when not given); ``info`` gets ``classes_from`` and ``price_bands``."""
    if not unit_price.notna().any():
        return None
    med = unit_price.groupby(key).median()
    edges = sorted(price_bands) if price_bands else propose_price_bands(med.to_numpy())
    names = band_names(edges)
    band = pd.Series(np.searchsorted(edges, med.to_numpy(), side="right"), index=med.index)
    item_class = band.map(dict(enumerate(names)))
    info["classes_from"] = "price bands" + (" (given)" if price_bands else " (proposed)")
    info["price_bands"] = list(edges)
    return key.map(item_class), item_class.to_dict()


def class_lookup(classes: Report | None) -> tuple[dict[str, str], dict[str, str]]:
    if classes is None or classes.data.empty:
        return {}, {}
    d = classes.data
    by_sku = dict(zip(d["sku"], d["item_class"], strict=True)) if "sku" in d else {}
    by_asin = dict(zip(d["asin"], d["item_class"], strict=True)) if "asin" in d else {}
    by_sku.pop(None, None)
    by_asin.pop(None, None)
    return by_sku, by_asin


def map_class(df: pd.DataFrame, by_sku: dict[str, str], by_asin: dict[str, str]) -> pd.Series:
    out = pd.Series(np.nan, index=df.index, dtype=object)
    if "sku" in df and by_sku:
        out = df["sku"].map(by_sku)
    if "asin" in df and by_asin:
        out = out.fillna(df["asin"].map(by_asin))
    return out


def _stray_end_note(name: str, dates: pd.Series, by_this: pd.Series, order_dates: pd.Series, maturity_days: float) -> list[str]:
    """A note when a returns report's end is set by a few returns after a long gap
    (:func:`.gaps.tail_gap`): misdated, they make orders count as old enough for their returns
    to be in the report when they are not, and the return rate falls. ``by_this`` marks the
    order lines in the cohort through this report's end. The fit is left as it is: a small
    store's last return may come after a quiet month, and the note says what it moved."""
    d = dates.dropna()
    if d.empty:
        return []
    day = d.dt.normalize()
    day0 = day.min()
    per_day = np.bincount((day - day0).dt.days.to_numpy())
    gap = tail_gap(per_day, day0.date())
    if gap is None:
        return []
    end = d[d < day0 + pd.Timedelta(days=gap.at)].max()  # where the report would end without them
    more = int((by_this & (order_dates > end - pd.Timedelta(days=maturity_days))).sum())
    if not more:
        return []
    one = gap.after == 1
    return [
        f"{name}: {gap.text()}, then {gap.after:,} {gap.what}{'' if one else 's'}: {'it sets' if one else 'they set'} the "
        f"report's end, so {more:,} more order lines count as old enough ({maturity_days:g} days) for their returns to be "
        f"in the report (the return rates' cohort); if {'it is' if one else 'they are'} misdated, correct or remove {'it' if one else 'them'}"
    ]


def prepare(
    *,
    fba: Report | None,
    mfn: Report | None,
    orders: Report | None,
    classes: Report | None,
    codes: CodeTable,
    repeat: Report | None = None,
    home_country: str | None = None,
    price_bands: Sequence[float] | None = None,
    maturity_days: float = 90.0,
) -> tuple[Prepared, pd.DataFrame, dict[str, Any]]:
    """Rows ready for :func:`~returnsim.calibrate.fits.estimate_all`, the unknown codes, and
    facts about the inputs (``home_country``, ``classes_from``, ``price_bands``)."""
    unknown = _Unknown()
    notes: list[str] = []
    info: dict[str, Any] = {"home_country": None, "classes_from": "none", "price_bands": []}
    sources = {r.kind if r.kind != "monthly_orders" else "orders": r.name for r in (fba, mfn, orders, repeat) if r is not None}
    by_sku, by_asin = class_lookup(classes)
    if classes is not None and not classes.data.empty:
        info["classes_from"] = f"mapping {classes.name}"

    o = orders.data.copy() if orders is not None and orders.kind == "orders" and not orders.data.empty else None
    monthly = orders.data.copy() if orders is not None and orders.kind == "monthly_orders" and not orders.data.empty else None
    f = fba.data.copy() if fba is not None and not fba.data.empty else None
    m = mfn.data.copy() if mfn is not None and not mfn.data.empty else None

    # Order ids -> integer codes shared by every report; the ids themselves go no further.
    frames = [x for x in (o, f, m) if x is not None and "order_id" in x]
    if frames:
        ids = pd.concat([x["order_id"] for x in frames], ignore_index=True)
        codes_, _ = pd.factorize(ids)
        start = 0
        for x in frames:
            x["order"] = codes_[start : start + len(x)]
            start += len(x)
            del x["order_id"]

    if o is not None:
        if "status" in o:
            cancelled = o["status"].map(codes.value_map("order_status")) == "cancelled"
            if cancelled.any():
                notes.append(f"{int(cancelled.sum()):,} cancelled order lines left out")
            o = o[~cancelled.to_numpy()].copy()
        o["date"] = o.pop("purchase_date")
        if "channel" in o:
            mapped = o["channel"].map(codes.value_map("channel"))
            unknown.count(orders.name if orders else "orders", "fulfillment-channel", o["channel"].where(mapped.isna()))
            o["channel"] = mapped
        if "item_price" in o:
            q = o["quantity"] if "quantity" in o else pd.Series(1.0, index=o.index)
            o["unit_price"] = o["item_price"] / q.where(q > 0)
        else:
            o["unit_price"] = np.nan
        if "ship_country" in o:
            home = (home_country or "").upper() or (o["ship_country"].mode().iat[0] if o["ship_country"].notna().any() else None)
            info["home_country"] = home
            if home_country:
                notes += home_not_shipped_to(home_country.upper(), o["ship_country"].value_counts().to_dict())
            market = pd.Series(np.where(o["ship_country"] == home, "domestic", "international"), index=o.index)
            o["market"] = market.where(o["ship_country"].notna(), None)
        else:
            o["market"] = None
        # classes
        if by_sku or by_asin:
            o["item_class"] = map_class(o, by_sku, by_asin)
            missing = int(o["item_class"].isna().sum())
            if missing:
                notes.append(f"{missing:,} order lines are of SKUs the class mapping does not name; left out of per-class figures")
        else:
            key = o["sku"] if "sku" in o else (o["asin"] if "asin" in o else None)
            banded = price_band_classes(key, o["unit_price"], price_bands, info) if key is not None else None
            if banded is not None:
                o["item_class"], by_item = banded
                if key is not None and key.name == "sku":
                    by_sku = by_item
                else:
                    by_asin = by_item
            else:
                o["item_class"] = np.nan

    # Returns: reasons, classes, matches.
    def reasons(df: pd.DataFrame, report: Report, header: str) -> None:
        if "reason" not in df:
            df["reason"] = None
            return
        code = df.pop("reason")
        df["code"] = code
        uniq = [c for c in code.dropna().unique() if isinstance(c, str)]
        df["reason"] = code.map({c: codes.reason_of(c) for c in uniq})
        silent = code.map({c: codes.says_nothing(c) for c in uniq}).fillna(False).astype(bool)
        if silent.any():
            notes.append(f"{report.name}: {int(silent.sum()):,} returns give no reason ({', '.join(sorted(code[silent].unique()))}); left out of the reason mix")
        unknown.count(report.name, header, code.where(df["reason"].isna() & ~silent))

    def match(df: pd.DataFrame, report: Report) -> None:
        df["matched"] = -1
        df["item_class"] = map_class(df, by_sku, by_asin) if (by_sku or by_asin) else np.nan
        df["market"] = None
        if o is None or "order" not in df:
            return
        lines = pd.DataFrame({"order": o["order"].to_numpy(), "row": np.arange(len(o))})
        got = np.full(len(df), -1)
        for key in ("sku", "asin"):
            if key in df and key in o:
                table = pd.Series(lines["row"].to_numpy(), index=pd.MultiIndex.from_arrays([o["order"].to_numpy(), o[key].to_numpy()]))
                table = table[~table.index.duplicated()]
                idx = pd.MultiIndex.from_arrays([df["order"].to_numpy(), df[key].to_numpy()])
                hit = table.reindex(idx).to_numpy()
                todo = (got < 0) & ~np.isnan(hit)
                got[todo] = hit[todo].astype(int)
        single = lines.groupby("order")["row"].agg(["first", "size"])
        single = single[single["size"] == 1]["first"]
        hit = df["order"].map(single).to_numpy(dtype=float)
        todo = (got < 0) & ~np.isnan(hit)
        got[todo] = hit[todo].astype(int)
        df["matched"] = got
        ok = got >= 0
        cls = df["item_class"].to_numpy(dtype=object)
        fill = ok & pd.isna(cls)
        cls[fill] = o["item_class"].to_numpy(dtype=object)[got[fill]]
        df["item_class"] = cls
        mk = np.full(len(df), None, dtype=object)
        mk[ok] = o["market"].to_numpy(dtype=object)[got[ok]]
        df["market"] = mk
        if (~ok).any():
            notes.append(f"{report.name}: {int((~ok).sum()):,} of {len(df):,} returns match no order line in the orders report (ordered before it starts, or another account)")

    if f is not None and fba is not None:
        f["date"] = f.pop("return_date")
        reasons(f, fba, "reason")
        if "disposition" in f:
            known = f["disposition"].isin(list(codes.dispositions))
            unknown.count(fba.name, "detailed-disposition", f["disposition"].where(~known))
        if "status" in f:
            unknown.count(fba.name, "status", f["status"].where(~f["status"].isin(codes.known_values("fba_status")) & f["status"].notna()))
        match(f, fba)
    if m is not None and mfn is not None:
        m["date"] = m["request_date"]
        reasons(m, mfn, "Return Reason")
        if "label_payer" in m:
            m["payer"] = m["label_payer"].map(codes.value_map("label_payer"))
            unknown.count(mfn.name, "Label to be paid by", m["label_payer"].where(m["payer"].isna()))
        for col, table, header in (("status", "mfn_status", "Return request status"), ("label_type", "label_type", "Label type"), ("resolution", "resolution", "Resolution"), ("safet_state", "safet_state", "SafeT claim state")):
            if col in m:
                unknown.count(mfn.name, header, m[col].where(~m[col].isin(codes.known_values(table))))
        # what each value means, through the code table (an unknown value stays missing)
        for col, table, meaning in (("label_type", "label_type", "label_kind"), ("resolution", "resolution", "outcome"), ("safet_state", "safet_state", "safet_verdict")):
            if col in m:
                m[meaning] = m[col].map(codes.value_map(table))
        day = any(mfn.day_resolution.get(c, False) for c in ("order_date", "request_date"))
        if "order_date" in m:
            a, b = m["order_date"], m["request_date"]
            if day:
                a, b = a.dt.normalize(), b.dt.normalize()
            m["delay_days"] = (b - a).dt.total_seconds() / 86400
        if "delivery_date" in m:
            dday = any(mfn.day_resolution.get(c, False) for c in ("request_date", "delivery_date"))
            a, b = m["request_date"], m["delivery_date"]
            if dday:
                a, b = a.dt.normalize(), b.dt.normalize()
            m["to_delivery_days"] = (b - a).dt.total_seconds() / 86400
        match(m, mfn)
        prep_day = day
        # Delays and in-policy shares count only orders old enough for all their requests (and
        # returns) to be in the report: otherwise the long ones are cut off at its end.
        if "order_date" in m and m["order_date"].notna().any():
            m["mature"] = (m["order_date"] <= m["request_date"].max() - pd.Timedelta(days=maturity_days)).to_numpy()
        else:
            m["mature"] = True
    else:
        prep_day = False

    # The cohort for return rates.
    in_rate: list[str] = []
    if o is not None:
        ends = []
        returned = np.zeros(len(o), dtype=bool)
        channels = []
        for kind, df, chan in (("fba_returns", f, "fba"), ("mfn_returns", m, "mfn")):
            if df is None:
                continue
            in_rate.append(kind)
            channels.append(chan)
            ends.append(df["date"].max())
            hit = df["matched"].to_numpy()
            returned[hit[hit >= 0]] = True
            lag = (df["date"] - o["date"].to_numpy()[np.maximum(hit, 0)]).dt.total_seconds().to_numpy() / 86400
            lag = lag[hit >= 0]
            if len(lag) >= 20 and np.quantile(lag, 0.99) > 0.8 * maturity_days:
                notes.append(
                    f"{sources.get(kind, kind)}: 1 % of returns come more than {np.quantile(lag, 0.99):.0f} days after the order, close to the "
                    f"{maturity_days:g}-day maturity; return rates may be low (raise maturity_days)"
                )
        if ends:
            o["returned"] = returned
            # Each order line is mature with respect to the report that would hold its return:
            # an FBA line's return is in the FBA report, a seller-fulfilled one's in the Returns
            # report. Cutting every line at one report's end would count, as kept, lines whose
            # returns fell after the other (earlier) report's end; a line of unknown channel
            # could be in either, so it waits for the earlier end.
            end = dict(zip(channels, ends, strict=True))
            cutoff = pd.Series(min(ends), index=o.index)
            if "channel" in o and o["channel"].notna().any():
                known = o["channel"].isin(list(end))
                cutoff[known] = o.loc[known, "channel"].map(end)
            cohort = o["date"] <= cutoff - pd.Timedelta(days=maturity_days)
            if "channel" in o and o["channel"].notna().any() and len(channels) == 1:
                cohort &= o["channel"] == channels[0]
                notes.append(f"return rates count {channels[0].upper()} orders only: the other channel's returns report was not given")
            o["cohort"] = cohort
            for kind, df, chan in (("fba_returns", f, "fba"), ("mfn_returns", m, "mfn")):
                if df is not None:
                    notes += _stray_end_note(sources.get(kind, kind), df["date"], cohort & (cutoff == end[chan]), o["date"], maturity_days)
            if not cohort.any():
                notes.append(f"no order is {maturity_days:g} days older than the last return in the reports: return rates not fitted")
                in_rate = []
        if "fba_returns" in in_rate:
            notes.append("FBA's report lists only units that came back: an FBA refund without a return is not counted in return rates")
    elif monthly is not None:
        in_rate = [k for k, df in (("fba_returns", f), ("mfn_returns", m)) if df is not None]
        if in_rate:
            notes.append("order counts without order ids: return rate = returns dated in the months counted / orders in them (no matching)")

    # Repeat purchases: ASINs to classes (the mapping, else the orders' ASINs).
    rp = None
    if repeat is not None and not repeat.data.empty:
        rp = repeat.data.copy()
        rp["days"] = (rp["end_date"].dt.normalize() - rp["start_date"].dt.normalize()).dt.days + 1
        asin_class = dict(by_asin)
        if o is not None and "asin" in o and "item_class" in o:
            seen = o.dropna(subset=["asin", "item_class"]).drop_duplicates("asin")
            asin_class = {**dict(zip(seen["asin"], seen["item_class"], strict=True)), **asin_class}
        rp["item_class"] = rp["asin"].map(asin_class) if "asin" in rp else np.nan
        unmapped = int(rp["item_class"].isna().sum())
        if unmapped:
            notes.append(f"{repeat.name}: {unmapped:,} rows are of ASINs neither the class mapping nor the orders name; counted store-wide only")
        bad = rp["days"] <= 0
        if bad.any():
            notes.append(f"{repeat.name}: {int(bad.sum()):,} rows end before they start; left out")
            rp = rp[~bad]
        if not (rp["unique_customers"] > 0).any():
            notes.append(f"{repeat.name}: no row left with a customer: purchases a year with you (buyer.purchases_per_year) stay assumed")
    elif repeat is not None:
        notes.append(f"{repeat.name}: no readable row (see the problems): purchases a year with you (buyer.purchases_per_year) stay assumed")
    else:
        notes.append(NO_REPEAT_NOTE)

    prepared = Prepared(
        orders=o,
        monthly=monthly,
        fba=f,
        mfn=m,
        sources=sources,
        notes=notes,
        delay_day_resolution=prep_day,
        returns_in_rate=tuple(in_rate),
        repeat=rp,
    )
    return prepared, unknown.frame(), info
