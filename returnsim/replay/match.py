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

What stays per request is a few dozen bytes: the order id only as its 64-bit key and UTF-8
bytes, for the request's identity (:func:`request_keys`).
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
from ..model.columns import copy_index
from ..model.replay_source import mix64
from .returns import Coded, ReturnRows, floats, naive, no_rows, order_ids

__all__ = ["OrderLines", "Classes", "order_lines", "line_part", "join_lines", "LineParts", "classify", "match", "request_keys"]


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
    lookup: dict[str, tuple[pd.Index, np.ndarray]] = field(default_factory=dict, repr=False, compare=False)
    """The lines' distinct keys (a hash table) and the first line of each, by what a return is matched
    on (:func:`_lookup`): made once, for every returns report."""

    def __len__(self) -> int:
        return len(self.order)


def order_lines(rep: Report, codes: CodeTable, home_country: str | None, notes: list[str]) -> OrderLines:
    """The orders report's (returned) lines as :class:`OrderLines`, as a calibration reads them;
    the report's frame is emptied."""
    parts = [line_part(rep.data, codes)] if len(rep.data.columns) else []
    rep.data = no_rows(rep.data)
    return join_lines(parts, home_country, notes)


def line_part(o: pd.DataFrame, codes: CodeTable) -> dict[str, Any]:
    """Some returned order lines (the reader's rows, a block of them) as arrays, cancelled ones
    left out: what :func:`join_lines` joins. A few dozen bytes a line instead of the frame's
    strings, so the orders' pass can hand its lines over block by block."""
    cancelled = 0
    if "status" in o:
        out = (o["status"].map(codes.value_map("order_status")) == "cancelled").to_numpy()
        cancelled = int(out.sum())
        if cancelled:
            o = o[~out]
    coded = {c: Coded.of(o[c]) if c in o else None for c in ("sku", "asin", "ship_country")}
    return {
        "n": len(o), "cancelled": cancelled, "order": order_ids(o["order_id"])[0] if "order_id" in o else np.zeros(len(o), dtype=np.uint64),
        "date": naive(o["purchase_date"]) if "purchase_date" in o else np.full(len(o), np.datetime64("NaT"), dtype="datetime64[ns]"),
        "quantity": floats(o, "quantity"), "item_price": floats(o, "item_price"), **coded,
    }


class LineParts:
    """The orders' pass's sink: returned lines taken as the blocks give them, made arrays
    (:func:`line_part`) some 20,000 lines at a time (a block has a few thousand: converting each
    alone costs pandas' fixed overhead fifty times over a year of 1 M orders), and joined by
    :meth:`join`. At most about 20,000 lines' strings are held at once."""

    LINES = 20_000

    def __init__(self, codes: CodeTable) -> None:
        self.codes = codes
        self.parts: list[dict[str, Any]] = []
        self.waiting: list[pd.DataFrame] = []
        self.rows = 0

    def __call__(self, df: pd.DataFrame) -> None:
        self.waiting.append(df)
        self.rows += len(df)
        if self.rows >= self.LINES:
            self._flush()

    def arrays(self, part: dict[str, Any]) -> None:
        """Take a block's returned lines already made arrays, as :func:`line_part` makes them
        (the orders' pass's plain blocks: their cells never become a frame of strings)."""
        self._flush()  # (the lines waiting come first: the parts stay in the file's order)
        self.parts.append(part)

    def _flush(self) -> None:
        if self.waiting:
            self.parts.append(line_part(pd.concat(self.waiting, ignore_index=True) if len(self.waiting) > 1 else self.waiting[0], self.codes))
        self.waiting, self.rows = [], 0

    def join(self, home_country: str | None, notes: list[str]) -> OrderLines:
        """:func:`join_lines` of every line taken; the parts are let go."""
        self._flush()
        parts, self.parts = self.parts, []
        return join_lines(parts, home_country, notes)


def join_lines(parts: list[dict[str, Any]], home_country: str | None, notes: list[str]) -> OrderLines:
    """The parts' lines (:func:`line_part`, in order) as one :class:`OrderLines`, exactly as the
    lines of one frame of them: a column some part lacks is missing in its rows. Each column of
    the parts is let go as it is joined."""
    cancelled = sum(p["cancelled"] for p in parts)
    if cancelled:
        notes.append(f"{cancelled:,} cancelled order lines left out")

    def has(name: str) -> bool:
        return any(p[name] is not None for p in parts)

    def numbers(name: str, empty: Any = np.nan) -> np.ndarray:
        got = [p.pop(name) for p in parts]
        return np.concatenate([np.full(p["n"], empty) if g is None else g for p, g in zip(parts, got, strict=True)] or [np.zeros(0)])

    def coded(name: str) -> Coded | None:
        if not has(name):
            return None
        return Coded.join([p.pop(name) or Coded(np.full(p["n"], -1, dtype=np.int32), np.zeros(0, dtype=object)) for p in parts])

    order = np.concatenate([np.zeros(0, dtype=np.uint64)] + [p.pop("order") for p in parts])
    date = np.concatenate([p.pop("date") for p in parts]) if parts else naive(pd.Series(dtype=object))
    has_q, has_p = has("quantity"), has("item_price")
    quantity = numbers("quantity") if has_q else None
    price = numbers("item_price") if has_p else None
    if price is not None:
        unit_price = price / np.where(quantity > 0, quantity, np.nan) if quantity is not None else price / 1.0
    else:
        unit_price = np.full(len(order), np.nan)
    international = np.zeros(len(order), dtype=np.int64)
    ship = coded("ship_country")
    if ship is not None:
        known = ship.codes >= 0
        home = (home_country or "").upper() or (pd.Series(ship.values[ship.codes[known]]).mode().iat[0] if known.any() else None)
        abroad = np.append(~(pd.Series(ship.values, dtype=object) == home).to_numpy(dtype=bool), False)
        international = abroad[ship.codes].astype(np.int64)  # code -1 (missing): the appended False
    return OrderLines(order=order, date=date, sku=coded("sku"), asin=coded("asin"), unit_price=unit_price, quantity=quantity,
                      international=international)


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


def _in(mine: Coded, theirs: Coded) -> np.ndarray:
    """Each row's item as a code of ``theirs`` (the lines'): -1 where missing (as a line's
    missing item, a value like the others), ``len(theirs.values)`` for an item no line has."""
    at = pd.Index(theirs.values).get_indexer(mine.values)
    return np.append(np.where(at >= 0, at, len(theirs.values)), -1)[mine.codes]


def _pair(order: np.ndarray, item: np.ndarray) -> np.ndarray:
    """One 64-bit key per (order id hash, item code) pair (a missing item, -1, is a value like
    the others, as the calibration's matching takes it): a pair shares another's key by a
    chance of 2**-64, as ids share hashes."""
    with np.errstate(over="ignore"):  # wrapping multiplication: a mix of the two
        return order ^ ((item.astype(np.int64) + 2).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))


def _lookup(lines: OrderLines, what: str) -> tuple[pd.Index, np.ndarray]:
    """The lines' distinct keys (an index: a hash table, built once) and the first line of
    each: by (order, SKU), (order, ASIN), or order for the orders of a single line (``what``:
    sku, asin, single)."""
    if what not in lines.lookup:
        keys = lines.order if what == "single" else _pair(lines.order, getattr(lines, what).codes)
        # (the first line of a key, or the only one of an order)
        take = ~pd.Index(keys).duplicated(keep=False if what == "single" else "first")
        lines.lookup[what] = pd.Index(keys[take]), np.flatnonzero(take)
    return lines.lookup[what]


def _fill(got: np.ndarray, want: np.ndarray, keys: pd.Index, first: np.ndarray) -> None:
    """Set ``got`` (-1 where not yet matched) to the line (``first``) of the key (among the
    distinct ``keys``) equal to each of ``want``."""
    if not len(keys) or not len(want):
        return
    at = keys.get_indexer(want)
    hit = (at >= 0) & (got < 0)
    got[hit] = first[at[hit]]


def match(rows: ReturnRows, lines: OrderLines, tables: Classes, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each return's order line (-1: none) and its class name (its own item's, else its line's;
    NaN where none)."""
    n = len(rows)
    cls = _classes(rows.sku, rows.asin, tables.by_sku, tables.by_asin, n) if (tables.by_sku or tables.by_asin) else np.full(n, np.nan, dtype=object)
    got = np.full(n, -1, dtype=np.int64)
    if rows.order is None:
        return got, cls
    for what, mine in (("sku", rows.sku), ("asin", rows.asin)):
        theirs = getattr(lines, what)
        if mine is None or theirs is None:
            continue
        _fill(got, _pair(rows.order, _in(mine, theirs)), *_lookup(lines, what))
    # An order with a single line: the return is that line's, whatever its item.
    _fill(got, rows.order, *_lookup(lines, "single"))
    ok = got >= 0
    fill = ok & pd.isna(cls)
    cls[fill] = lines.item_class[got[fill]]
    if (~ok).any():
        notes.append(f"{rows.name}: {int((~ok).sum()):,} of {n:,} returns match no order line in the orders report (ordered before it starts, or another account)")
    return got, cls


def _text_key(text: str) -> int:
    """A 64-bit key of a short text (a report's kind, an item): the first 8 bytes of its UTF-8
    BLAKE2b digest, little-endian (the same on every machine and Python)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def request_keys(rows: ReturnRows, keep: np.ndarray, units: np.ndarray) -> np.ndarray:
    """A 64-bit identity per replayed request: its report, order id, item, occurrence (the k-th
    kept return row of that order line) and unit (0 for a row's first unit, u for its u-th
    after), stable whatever the file's row order. ``keep``: the rows replayed (indices, in
    order); ``units``: units of each.

    The parts are chained through SplitMix64's finaliser (:func:`~returnsim.model.replay_source.mix64`,
    a bijection of 64-bit integers): ``mix(mix(mix(mix(report ^ order) ^ item) ^ k) ^ u)``,
    where ``report`` and ``item`` are :func:`_text_key` of their texts (a missing item's text is
    empty) and ``order`` the order id's 64-bit key (``rows.order``, :func:`~.keys.id_keys`: an
    Amazon id's digits; 0 without one). Vectorised: no Python object per request (one BLAKE2b
    per request cost a quarter of a second over a 1 M-order year)."""
    n_units = int(units.sum())
    if not len(keep):
        return np.zeros(n_units, dtype=np.uint64)
    codes = rows.item.codes[keep]
    hashes = rows.order[keep] if rows.order is not None else None
    occ = _occurrence(rows.oid[keep], hashes, codes)
    order = hashes if hashes is not None else np.zeros(len(keep), dtype=np.uint64)
    items = np.array([_text_key("" if it is None or it != it else f"{it}") for it in rows.item.values.tolist()] + [_text_key("")],
                     dtype=np.uint64)
    # (a missing item's code, -1, takes the last entry: the empty text's)
    row = mix64(np.uint64(_text_key(rows.kind)) ^ order.astype(np.uint64))
    row = mix64(row ^ items[codes])
    row = mix64(row ^ occ.astype(np.uint64))
    # each row's units after one another: the u-th unit (u = 0 for the first) of its row
    return mix64(np.repeat(row, units) ^ copy_index(units).astype(np.uint64))


def _occurrence(oid: np.ndarray, hashes: np.ndarray | None, codes: np.ndarray) -> np.ndarray:
    """Each row's count of earlier rows of its (order id, item code) pair (0 for the first).
    The rows are sorted by the ids' 64-bit hashes (a numpy sort of integers, not of bytes);
    should two ids share a hash, by their bytes."""
    n = len(oid)
    order = np.lexsort((codes, hashes)) if hashes is not None else np.zeros(0, dtype=np.intp)
    ids = oid[order]
    same_hash = hashes[order][1:] == hashes[order][:-1] if hashes is not None else None
    if same_hash is None or (ids[1:][same_hash] != ids[:-1][same_hash]).any():
        order = np.lexsort((codes, np.unique(oid, return_inverse=True)[1].reshape(-1)))
        ids = oid[order]
    c = codes[order]
    start = np.r_[True, (ids[1:] != ids[:-1]) | (c[1:] != c[:-1])] if n else np.zeros(0, dtype=bool)
    out = np.empty(n, dtype=np.int64)
    out[order] = np.arange(n) - np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return out
