"""The replay's returns matched to their order lines, on compact arrays.

A replay needs, of each return, its order line's time, price, class and market, its own date,
reason, units and what the report says happened; of the text it was read from, nothing more.
So each returns report is turned into arrays as soon as it is read (:func:`return_rows`: order
ids as 64-bit hashes, SKUs/ASINs/reason codes as codes into their few distinct values, dates
as datetime64, money as floats), and so are the orders' returned lines (:func:`order_lines`);
the readers' frames are emptied at once. The matching is the calibration's
(:func:`~returnsim.calibrate.prepare.prepare`, which a calibration still uses) on those arrays:
cancelled lines left out, a return matched by order id and SKU, then order id and ASIN, then
order id alone when the order has a single line; the first line of a repeated (order, item)
pair is the one matched. Hashes match as the ids do (two ids of one store sharing a hash is a
chance of about 1e-8 at a million orders).

What stays per request is a few dozen bytes: the order id only as UTF-8 bytes, for the
request's identity (:func:`request_keys`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.codes import CodeTable
from ..calibrate.prepare import class_lookup, price_band_classes
from ..calibrate.readers import Report
from .orders import hash_ids

__all__ = ["Coded", "ReturnRows", "OrderLines", "return_rows", "order_lines", "classify", "match", "request_keys"]


@dataclass
class Coded:
    """A text column as codes (int32, -1 where missing) into its distinct values."""

    codes: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, column: pd.Series) -> Coded:
        codes, uniques = pd.factorize(column)
        return cls(codes.astype(np.int32), np.asarray(uniques, dtype=object))

    def mapped(self, mapping: Callable[[pd.Series], pd.Series]) -> np.ndarray:
        """Each row's value through ``mapping`` (a function of a Series of values), computed
        once per distinct value, and once for a missing one (object array)."""
        out = mapping(pd.Series(np.append(self.values, np.nan), dtype=object)).to_numpy(dtype=object)
        return out[self.codes]  # code -1 takes the last: the missing value's


def _ids(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of a column of order ids (0 where missing), and which are present."""
    present = column.notna().to_numpy()
    h = np.zeros(len(column), dtype=np.uint64)
    for a in range(0, len(column), 50_000):  # a slice at a time: the strings are not copied whole
        ok = present[a : a + 50_000]
        h[a : a + 50_000][ok] = hash_ids(column.iloc[a : a + 50_000][ok].astype(str).to_numpy(dtype=object))
    return h, present


def _naive(dates: pd.Series) -> np.ndarray:
    """Dates as naive UTC datetime64 (their own unit)."""
    d = pd.to_datetime(dates)
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert("UTC").dt.tz_localize(None)
    return d.to_numpy()


def _floats(df: pd.DataFrame, name: str) -> np.ndarray | None:
    return df[name].to_numpy(dtype=float) if name in df else None


@dataclass
class ReturnRows:
    """One returns report's rows as arrays (in the report's row order)."""

    kind: str
    name: str
    channel: str
    """``fba`` or ``mfn``."""
    day_only: bool
    """Its request dates carry no time of day."""
    order: np.ndarray | None
    """Order ids' 64-bit hashes (0 where missing); None without an order id column."""
    has_order: np.ndarray
    """Which rows have an order id."""
    oid: np.ndarray
    """Order ids as UTF-8 bytes (for the requests' identity)."""
    item: Coded
    """The item the request's identity names: the SKU (the ASIN when the report has none)."""
    sku: Coded | None
    asin: Coded | None
    date: np.ndarray
    """The request's date (FBA: the return's), naive datetime64."""
    quantity: np.ndarray | None
    reason: np.ndarray
    """The scenario's reason index (-1: none or unknown)."""
    in_policy: np.ndarray
    happened: pd.DataFrame
    """What the report says happened (``_happened``'s columns), one row per report row."""
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.date)


def return_rows(
    rep: Report, codes: CodeTable, reasons: Mapping[str, int], happened: Callable[[pd.DataFrame, str], pd.DataFrame],
    in_policy: Callable[[pd.DataFrame], np.ndarray],
) -> ReturnRows:
    """A returns report's rows as :class:`ReturnRows`; the report's frame is emptied (its problems
    and columns are kept). ``reasons``: the scenario's reason -> index; ``happened`` and
    ``in_policy``: what the report says happened, from its (mapped) columns."""
    df = rep.data
    fba = rep.kind == "fba_returns"
    chan, date_col = ("fba", "return_date") if fba else ("mfn", "request_date")
    notes: list[str] = []
    if "order_id" in df:
        order, present = _ids(df["order_id"])
        oid = np.array([s.encode("utf-8") for s in df["order_id"].astype(str).tolist()], dtype=bytes)
    else:
        order, present, oid = None, np.zeros(len(df), dtype=bool), np.zeros(len(df), dtype="S1")
    sku = Coded.of(df["sku"]) if "sku" in df else None
    asin = Coded.of(df["asin"]) if "asin" in df else None
    item = sku or asin or Coded(np.full(len(df), -1, dtype=np.int32), np.zeros(0, dtype=object))
    stated = np.full(len(df), -1, dtype=np.int64)
    if "reason" in df:
        code = Coded.of(df["reason"])
        text = [c if isinstance(c, str) else None for c in code.values]
        stated = np.array([reasons.get(codes.reason_of(c), -1) if c is not None else -1 for c in text] + [-1], dtype=np.int64)[code.codes]
        says = np.array([c is not None and codes.says_nothing(c) for c in text] + [False], dtype=bool)
        silent = says[code.codes]
        if silent.any():
            named = sorted(code.values[says[:-1]].tolist())
            notes.append(f"{rep.name}: {int(silent.sum()):,} returns give no reason ({', '.join(named)}); left out of the reason mix")
    # The report's own columns as a calibration maps them (an unknown value stays missing).
    meaning = pd.DataFrame(index=df.index)
    for col, table, to in (("label_payer", "label_payer", "payer"), ("resolution", "resolution", "outcome"), ("safet_state", "safet_state", "safet_verdict")):
        if not fba and col in df:
            meaning[to] = df[col].map(codes.value_map(table))
    for col in ("refunded_amount", "label_cost", "az_claim", "safet_amount", "in_policy"):
        if col in df:
            meaning[col] = df[col]
    out = ReturnRows(
        kind=rep.kind, name=rep.name, channel=chan, day_only=bool(rep.day_resolution.get(date_col, False)),
        order=order, has_order=present, oid=oid, item=item, sku=sku, asin=asin,
        date=_naive(df[date_col]) if date_col in df else np.full(len(df), np.datetime64("NaT"), dtype="datetime64[ns]"),
        quantity=_floats(df, "quantity"), reason=stated, in_policy=in_policy(meaning),
        happened=happened(meaning, chan), notes=notes,
    )
    rep.data = df.iloc[0:0]
    return out


@dataclass
class OrderLines:
    """The orders' returned lines (cancelled ones left out) as arrays."""

    order: np.ndarray
    date: np.ndarray
    sku: Coded | None
    asin: Coded | None
    unit_price: np.ndarray
    quantity: np.ndarray | None
    international: np.ndarray
    """1 where shipped to another country than the home one (0 also when unknown)."""
    item_class: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    """Class names (NaN where none), set by :func:`classify`."""

    def __len__(self) -> int:
        return len(self.order)


def order_lines(rep: Report, codes: CodeTable, home_country: str | None, notes: list[str]) -> OrderLines:
    """The orders report's (returned) lines as :class:`OrderLines`, as a calibration reads them;
    the report's frame is emptied."""
    o = rep.data
    if "status" in o:
        cancelled = (o["status"].map(codes.value_map("order_status")) == "cancelled").to_numpy()
        if cancelled.any():
            notes.append(f"{int(cancelled.sum()):,} cancelled order lines left out")
            o = o[~cancelled]
    order, _ = _ids(o["order_id"])
    quantity = _floats(o, "quantity")
    if "item_price" in o:
        q = o["quantity"] if "quantity" in o else pd.Series(1.0, index=o.index)
        unit_price = (o["item_price"] / q.where(q > 0)).to_numpy(dtype=float)
    else:
        unit_price = np.full(len(o), np.nan)
    international = np.zeros(len(o), dtype=np.int64)
    if "ship_country" in o:
        ship = o["ship_country"]
        home = (home_country or "").upper() or (ship.mode().iat[0] if ship.notna().any() else None)
        international = (ship.notna() & ~(ship == home)).to_numpy(dtype=bool).astype(np.int64)
    out = OrderLines(
        order=order, date=_naive(o["purchase_date"]), sku=Coded.of(o["sku"]) if "sku" in o else None,
        asin=Coded.of(o["asin"]) if "asin" in o else None, unit_price=unit_price, quantity=quantity,
        international=international,
    )
    rep.data = rep.data.iloc[0:0]
    return out


def _by_item(c: Coded | None, table: Mapping[Any, str]) -> np.ndarray | None:
    return c.mapped(lambda v: v.map(table)) if c is not None and table else None


def _classes(sku: Coded | None, asin: Coded | None, by_sku: Mapping[Any, str], by_asin: Mapping[Any, str], n: int) -> np.ndarray:
    """Each row's class by its SKU, else its ASIN (NaN where neither is mapped), as
    :func:`~returnsim.calibrate.prepare.map_class` gives it."""
    out = np.full(n, np.nan, dtype=object)
    s = _by_item(sku, by_sku)
    if s is not None:
        out = s
    a = _by_item(asin, by_asin)
    if a is not None:
        fill = pd.isna(out)
        out = np.where(fill, a, out)
    return out


@dataclass
class Classes:
    """Item -> class tables, from a mapping file or from the order lines' price bands."""

    by_sku: dict[Any, str]
    by_asin: dict[Any, str]
    classes_from: str


def classify(lines: OrderLines, classes: Report | None, price_bands: list[float] | None, notes: list[str]) -> Classes:
    """Set the lines' classes (the mapping's, else price bands over each item's median unit
    price among these lines), as a calibration does; the tables the returns' classes come from."""
    by_sku, by_asin = class_lookup(classes)
    info: dict[str, Any] = {"classes_from": "none"}
    if classes is not None and not classes.data.empty:
        info["classes_from"] = f"mapping {classes.name}"
    if by_sku or by_asin:
        lines.item_class = _classes(lines.sku, lines.asin, by_sku, by_asin, len(lines))
        missing = int(pd.isna(lines.item_class).sum())
        if missing:
            notes.append(f"{missing:,} order lines are of SKUs the class mapping does not name; left out of per-class figures")
        return Classes(by_sku, by_asin, info["classes_from"])
    key = lines.sku if lines.sku is not None else lines.asin
    banded = None
    if key is not None:
        named = pd.Series(np.append(key.values, np.nan)[key.codes], dtype=object, name="sku" if lines.sku is not None else "asin")
        banded = price_band_classes(named, pd.Series(lines.unit_price), price_bands, info)
    if banded is None:
        lines.item_class = np.full(len(lines), np.nan, dtype=object)
        return Classes(by_sku, by_asin, info["classes_from"])
    cls, table = banded
    lines.item_class = cls.to_numpy(dtype=object)
    if lines.sku is not None:
        by_sku = table
    else:
        by_asin = table
    return Classes(by_sku, by_asin, info["classes_from"])


def _shared(a: Coded, b: Coded) -> tuple[np.ndarray, np.ndarray]:
    """Codes of two coded columns in one vocabulary (missing: -1 in both)."""
    vocab = pd.Index(np.concatenate([a.values, b.values]))
    vocab = vocab[~vocab.duplicated()]
    ca, cb = vocab.get_indexer(a.values), vocab.get_indexer(b.values)
    return np.append(ca, -1)[a.codes], np.append(cb, -1)[b.codes]


def match(rows: ReturnRows, lines: OrderLines, tables: Classes, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each return's order line (-1: none) and its class name (its own item's, else its line's;
    NaN where none)."""
    n = len(rows)
    cls = _classes(rows.sku, rows.asin, tables.by_sku, tables.by_asin, n) if (tables.by_sku or tables.by_asin) else np.full(n, np.nan, dtype=object)
    got = np.full(n, -1, dtype=np.int64)
    if rows.order is None:
        return got, cls
    row = np.arange(len(lines))
    for mine, theirs in ((rows.sku, lines.sku), (rows.asin, lines.asin)):
        if mine is None or theirs is None or not len(lines):
            continue
        a, b = _shared(mine, theirs)
        table = pd.Series(row, index=pd.MultiIndex.from_arrays([lines.order, b]))
        table = table[~table.index.duplicated()]  # the first line of a repeated pair
        hit = table.reindex(pd.MultiIndex.from_arrays([rows.order, a])).to_numpy(dtype=float)
        todo = (got < 0) & ~np.isnan(hit)
        got[todo] = hit[todo].astype(np.int64)
    orders, first, count = np.unique(lines.order, return_index=True, return_counts=True)
    single = pd.Series(first[count == 1], index=orders[count == 1])
    hit = single.reindex(rows.order).to_numpy(dtype=float)
    todo = (got < 0) & ~np.isnan(hit)
    got[todo] = hit[todo].astype(np.int64)
    ok = got >= 0
    fill = ok & pd.isna(cls)
    cls[fill] = lines.item_class[got[fill]]
    if (~ok).any():
        notes.append(f"{rows.name}: {int((~ok).sum()):,} of {n:,} returns match no order line in the orders report (ordered before it starts, or another account)")
    return got, cls


def request_keys(rows: ReturnRows, keep: np.ndarray, units: np.ndarray) -> np.ndarray:
    """A 64-bit identity per replayed request: its report, order id, item, occurrence (the k-th
    kept return row of that order line) and unit (the u-th unit a row returns; the first unit's
    identity is the row's), hashed: stable whatever the file's row order. ``keep``: the rows
    replayed (indices, in order); ``units``: units of each."""
    item = np.append(rows.item.values, "")[rows.item.codes[keep]]
    oid = rows.oid[keep]
    # The k-th occurrence of a (order id, item) pair among the kept rows.
    occ = pd.DataFrame({"o": oid, "i": rows.item.codes[keep]}).groupby(["o", "i"], sort=False).cumcount().to_numpy()
    out = np.empty(int(units.sum()), dtype=np.uint64)
    at = 0
    prefix = rows.kind + "|"
    for o, it, k, n in zip(oid.tolist(), item.tolist(), occ.tolist(), units.tolist(), strict=True):
        text = f"{prefix}{o.decode('utf-8')}|{'' if it is None or it != it else it}|{k}"
        for u in range(n):
            t = text if u == 0 else f"{text}|{u}"
            out[at] = int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            at += 1
    return out
