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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.codes import CodeTable
from ..calibrate.prepare import class_lookup, price_band_classes
from ..calibrate.readers import Report
from .returns import Coded, ReturnRows, floats, naive, no_rows, order_ids

__all__ = ["OrderLines", "Classes", "order_lines", "classify", "match", "request_keys"]


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
    order, _ = order_ids(o["order_id"])
    quantity = floats(o, "quantity")
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
        order=order, date=naive(o["purchase_date"]), sku=Coded.of(o["sku"]) if "sku" in o else None,
        asin=Coded.of(o["asin"]) if "asin" in o else None, unit_price=unit_price, quantity=quantity,
        international=international,
    )
    rep.data = no_rows(rep.data)
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


def _pair(order: np.ndarray, item: np.ndarray) -> np.ndarray:
    """One 64-bit key per (order id hash, item code) pair (a missing item, -1, is a value like
    the others, as the calibration's matching takes it): a pair shares another's key by a
    chance of 2**-64, as ids share hashes."""
    with np.errstate(over="ignore"):  # wrapping multiplication: a mix of the two
        return order ^ ((item.astype(np.int64) + 2).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))


def _fill(got: np.ndarray, want: np.ndarray, have: np.ndarray, only: np.ndarray | None = None) -> None:
    """Set ``got`` (-1 where not yet matched) to the index of the first of ``have`` equal to each
    of ``want`` (a sorted-array join); ``only``: the keys that may match (sorted)."""
    keys, first = np.unique(have, return_index=True)
    if only is not None:
        keep = np.isin(keys, only, assume_unique=True)
        keys, first = keys[keep], first[keep]
    if not len(keys):
        return
    at = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    hit = (keys[at] == want) & (got < 0)
    got[hit] = first[at[hit]]


def match(rows: ReturnRows, lines: OrderLines, tables: Classes, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each return's order line (-1: none) and its class name (its own item's, else its line's;
    NaN where none)."""
    n = len(rows)
    cls = _classes(rows.sku, rows.asin, tables.by_sku, tables.by_asin, n) if (tables.by_sku or tables.by_asin) else np.full(n, np.nan, dtype=object)
    got = np.full(n, -1, dtype=np.int64)
    if rows.order is None:
        return got, cls
    for mine, theirs in ((rows.sku, lines.sku), (rows.asin, lines.asin)):
        if mine is None or theirs is None:
            continue
        a, b = _shared(mine, theirs)
        _fill(got, _pair(rows.order, a), _pair(lines.order, b))
    # An order with a single line: the return is that line's, whatever its item.
    orders, count = np.unique(lines.order, return_counts=True)
    _fill(got, rows.order, lines.order, only=orders[count == 1])
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
