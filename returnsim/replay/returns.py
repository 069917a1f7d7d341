"""A returns report read a block of lines at a time straight into arrays (:class:`ReturnRows`).

A replay needs, of each return, its order id (to find its order line), its item, date, reason,
units and what the report says happened; of the text it was read from, nothing more. Each
block's rows, as the calibration's reader reads them (:mod:`.rows`: a plain block by Arrow
straight into arrays, the ordinary lines of another in C, the others by the reader, duplicates
found across the whole file), become arrays at once: order ids
as 64-bit hashes (and their UTF-8 bytes, for the request's identity), SKUs/ASINs/reason codes as
codes into their few distinct values, dates as datetime64, money as floats. So memory grows by
some hundred bytes a return, not by the report's cells as Python strings; the rows are the
reader's, in its order, with its problems.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from ..calibrate.codes import CodeTable
from ..calibrate.readers import ReadProblem, Report
from ..calibrate.tsv import Source
from .blocks import give_back, probe, streamable
from .cells import bytes_of
from .keys import id_keys
from .plain import Taken, materialized
from .rows import RETURN_BLOCK_LINES, day_resolution, join_parts, report_blocks

__all__ = ["Coded", "ReturnRows", "read_returns", "no_rows", "arrow_bytes"]

USED = (
    "order_id", "sku", "asin", "return_date", "request_date", "order_date", "reason", "quantity", "label_cost", "label_payer",
    "az_claim", "in_policy", "resolution", "refunded_amount", "safet_state", "safet_amount",
)
"""Columns of the returns reports a replay uses (the others are dropped as they are read)."""


@dataclass
class Coded:
    """A text column as codes (int32, -1 where missing) into its distinct values."""

    codes: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, column: pd.Series | np.ndarray | Taken | Any) -> Coded:
        """A column's codes and distinct values (in the order of their first row; missing values
        -1). A :class:`~.plain.Taken` column gives what its rows would: its places are coded
        first (integers, in C), then their few readings, whose first row is their first place's
        first row (so the values keep the rows' order; two places reading the same value share
        its code)."""
        if isinstance(column, Taken):
            at, places = pd.factorize(column.at)
            codes, uniques = pd.factorize(column.values[places])
            return cls(codes[at].astype(np.int32), np.asarray(uniques, dtype=object))
        codes, uniques = pd.factorize(column)
        return cls(codes.astype(np.int32), np.asarray(uniques, dtype=object))

    @classmethod
    def join(cls, parts: list[Coded]) -> Coded:
        """One column of the parts' rows, in order (each distinct value once)."""
        values = np.concatenate([p.values for p in parts]) if parts else np.zeros(0, dtype=object)
        where, uniques = pd.factorize(values)
        offset = np.cumsum([0] + [len(p.values) for p in parts[:-1]])
        codes = [np.where(p.codes >= 0, where[np.maximum(p.codes, 0) + o], -1) for p, o in zip(parts, offset, strict=True)]
        return cls(np.concatenate(codes).astype(np.int32) if codes else np.zeros(0, dtype=np.int32), np.asarray(uniques, dtype=object))

    def mapped(self, mapping: Callable[[pd.Series], pd.Series]) -> np.ndarray:
        """Each row's value through ``mapping`` (a function of a Series of values), computed
        once per distinct value, and once for a missing one (object array)."""
        out = mapping(pd.Series(np.append(self.values, np.nan), dtype=object)).to_numpy(dtype=object)
        return out[self.codes]  # code -1 takes the last: the missing value's

    def mapped_by(self, table: Mapping[Any, Any]) -> np.ndarray:
        """Each row's value's entry in ``table`` (NaN where it has none, and for a missing
        value): ``mapped`` through ``Series.map(table)``. A calibration's value map (a dict of
        strings to strings) is looked up once per distinct value in Python, which gives what
        pandas gives (a string's entry, NaN otherwise) without pandas' cost of about a
        millisecond a call (paid per column per block of a report); any other table takes
        pandas' way."""
        if type(table) is not dict or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
            return self.mapped(_through(table))
        nan = np.nan
        out = np.array([table.get(v, nan) if isinstance(v, str) else nan for v in self.values.tolist()] + [nan], dtype=object)
        return out[self.codes]  # code -1 takes the last: the missing value's


@dataclass
class ReturnRows:
    """One returns report's rows as arrays (in the reader's row order)."""

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
    """1 / 0 as the report says, -1 where it does not."""
    happened: pd.DataFrame
    """What the report says happened (:func:`happened`'s columns), one row per report row."""
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.date)


Columns: TypeAlias = pd.DataFrame | Mapping[str, Any]
"""A block's rows by column: the reader's frame, or arrays of a plain block (:mod:`.plain`)."""


def naive(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Dates as naive UTC datetime64 (their own unit)."""
    if isinstance(dates, np.ndarray) and dates.dtype.kind == "M":
        return dates  # (numpy's datetimes are naive)
    d = pd.to_datetime(pd.Series(dates, copy=False))
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert("UTC").dt.tz_localize(None)
    return d.to_numpy()


def order_ids(column: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of a column of order ids (0 where missing), and which are present."""
    values = column.to_numpy(dtype=object) if isinstance(column, pd.Series) else np.asarray(column, dtype=object)
    present = ~pd.isna(values)
    h = np.zeros(len(values), dtype=np.uint64)
    ids = values[present] if not present.all() else values
    if _all_str(ids):  # (what the reader reads: str(id) is the id, hashed as it is)
        h[present] = id_keys(ids)
        return h, present
    for a in range(0, len(values), 50_000):  # a slice at a time: the strings are not copied whole
        ok = present[a : a + 50_000]
        h[a : a + 50_000][ok] = id_keys(pd.Series(values[a : a + 50_000][ok], dtype=object).astype(str).to_numpy(dtype=object))
    return h, present


def utf8_bytes(ids: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Ids (an object array of strings) as UTF-8 bytes (``S`` as wide as the longest; empty
    where not ``present``)."""
    text = np.where(present, ids, "")
    try:  # ASCII ids (Amazon's are) are encoded by numpy, without a Python object each
        if _all_str(text):  # straight to bytes: the same, without numpy's 4-byte characters between
            out = text.astype(bytes)
            if (out != b"").any():  # (numpy makes every id missing 2 bytes wide the other way)
                return out
        return np.asarray(text, dtype=str).astype(bytes)
    except UnicodeEncodeError:
        return np.array([s.encode("utf-8") for s in text.tolist()], dtype=bytes)


def arrow_bytes(ids: Any) -> np.ndarray | None:
    """:func:`utf8_bytes` of an Arrow string array of ids, every one there and none empty (a
    plain block's), made from its bytes: each id NUL-padded to the longest (``S`` as wide).
    None (the caller takes the general way) if an id is not ASCII or holds a NUL, for which
    numpy's width could be another, or if any is missing or empty."""
    n = len(ids)
    if not n or ids.null_count:
        return None
    data, offsets = bytes_of(ids)
    cells = data[offsets[0] : offsets[-1]]
    lengths = np.diff(offsets)
    if not len(cells) or lengths.min() < 1 or (cells >= 0x80).any() or not cells.all():
        return None
    width = int(lengths.max())
    if (lengths == width).all():  # (Amazon's ids: one after the other, a reshape)
        out = cells.reshape(n, width).copy()
    else:
        out = np.zeros((n, width), dtype=np.uint8)
        out[np.repeat(np.arange(n), lengths), np.arange(len(cells)) - np.repeat(offsets[:-1] - offsets[0], lengths)] = cells
    return out.view(f"S{width}").reshape(n)


def _all_str(values: np.ndarray) -> bool:
    """Whether every value of an object array is a string (pandas tells it in C). Such ids are
    what a reader reads; anything else takes the general way, made strings first."""
    return pd.api.types.infer_dtype(values, skipna=False) in ("string", "empty")


def floats(df: Columns, name: str) -> np.ndarray | None:
    if name not in df:
        return None
    v = df[name]
    return v.to_numpy(dtype=float) if isinstance(v, pd.Series) else np.asarray(v, dtype=float)


def _part(df: Columns, kind: str, codes: CodeTable, reasons: Mapping[str, int]) -> dict[str, Any]:
    """Rows of a returns report as arrays, by :class:`ReturnRows` field (``happened.*``: its
    ``happened`` columns; ``silent``: rows per code that gives no reason)."""
    fba = kind == "fba_returns"
    n = len(df) if isinstance(df, pd.DataFrame) else len(df["line"])
    date_col = "return_date" if fba else "request_date"
    if "order_id" in df and not isinstance(df["order_id"], pd.Series | np.ndarray):
        # Arrow's strings of ids that read as they are (a plain block's): keyed and made bytes
        # from their bytes, with no Python string an id
        ids = df["order_id"]
        order, present = id_keys(ids), np.ones(n, dtype=bool)
        oid = arrow_bytes(ids)
        if oid is None:
            oid = utf8_bytes(ids.to_numpy(zero_copy_only=False), present)
    elif "order_id" in df:
        ids = df["order_id"]
        ids = ids.to_numpy(dtype=object) if isinstance(ids, pd.Series) else ids
        order, present = order_ids(ids)
        oid = utf8_bytes(ids, present)
    else:
        order, present, oid = None, np.zeros(n, dtype=bool), np.zeros(n, dtype="S1")
    stated = np.full(n, -1, dtype=np.int64)
    silent: Counter = Counter()
    if "reason" in df:
        code = Coded.of(df["reason"])
        text = [c if isinstance(c, str) else None for c in code.values]
        stated = np.array([reasons.get(codes.reason_of(c) or "", -1) if c is not None else -1 for c in text] + [-1], dtype=np.int64)[code.codes]
        says = np.array([c is not None and codes.says_nothing(c) for c in text] + [False], dtype=bool)
        k = np.bincount(code.codes[says[code.codes]], minlength=len(code.values))
        silent.update({c: int(m) for c, m in zip(code.values.tolist(), k.tolist(), strict=True) if m})
    # The report's own columns as a calibration maps them (an unknown value stays missing),
    # each distinct value mapped once.
    meaning: dict[str, Any] = {}
    for col, table, to in (("label_payer", "label_payer", "payer"), ("resolution", "resolution", "outcome"), ("safet_state", "safet_state", "safet_verdict")):
        if not fba and col in df:
            meaning[to] = Coded.of(df[col]).mapped_by(codes.value_map(table))
    for col in ("refunded_amount", "label_cost", "az_claim", "safet_amount", "in_policy"):
        if col in df:
            meaning[col] = df[col]
    return {
        "order": order, "has_order": present, "oid": oid,
        "sku": Coded.of(df["sku"]) if "sku" in df else None, "asin": Coded.of(df["asin"]) if "asin" in df else None,
        "date": naive(df[date_col]) if date_col in df else np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"),
        "quantity": floats(df, "quantity"), "reason": stated, "in_policy": _in_policy(meaning, n),
        **{f"happened.{k}": v for k, v in happened(meaning, "fba" if fba else "mfn", n).items()},
        "silent": silent,
    }


def _through(table: Mapping[Any, Any]) -> Callable[[pd.Series], pd.Series]:
    """Values mapped by ``table`` (missing where it has none)."""
    return lambda v: v.map(table)


def _join(rep: Report, parts: list[dict[str, Any]]) -> ReturnRows:
    """The parts' rows as one :class:`ReturnRows`; each column of the parts is let go as soon as
    it is joined (the rows are never held twice over)."""
    fba = rep.kind == "fba_returns"

    def cat(name: str) -> Any:
        got = [p.pop(name) for p in parts]
        if got[0] is None:
            return None
        return Coded.join(got) if isinstance(got[0], Coded) else np.concatenate(got)

    n = sum(len(p["date"]) for p in parts)
    silent: Counter = sum((p.pop("silent") for p in parts), Counter())
    notes = []
    if silent:
        notes.append(f"{rep.name}: {sum(silent.values()):,} returns give no reason ({', '.join(sorted(silent))}); left out of the reason mix")
    cols = {k: cat(k) for k in list(parts[0])}
    happened = pd.DataFrame({k.split(".", 1)[1]: cols.pop(k) for k in list(cols) if k.startswith("happened.")})
    sku, asin = cols.pop("sku"), cols.pop("asin")
    return ReturnRows(
        kind=rep.kind, name=rep.name, channel="fba" if fba else "mfn",
        day_only=bool(rep.day_resolution.get("return_date" if fba else "request_date", False)),
        item=sku or asin or Coded(np.full(n, -1, dtype=np.int32), np.zeros(0, dtype=object)), sku=sku, asin=asin,
        happened=happened, notes=notes, **cols,
    )


def read_returns(
    source: Source, reader: Callable[[Source], Report], codes: CodeTable, reasons: Mapping[str, int], block: int = RETURN_BLOCK_LINES
) -> tuple[Report, ReturnRows | None]:
    """A returns report read by ``reader`` (``read_fba_returns``, ``read_mfn_returns``), a block
    of lines at a time when it is a file that can be streamed, into :class:`ReturnRows` (None
    when it has no rows). ``reasons``: the scenario's reason -> index. The report keeps its
    problems, notes and columns; its ``data`` is left empty (its columns kept). A report the
    reader cannot use is returned as the reader says (``unusable``), without rows."""
    if not isinstance(source, str | Path) or not streamable(Path(source)):
        return _whole(reader(source), codes, reasons)
    path = Path(source)
    head = probe(path, reader)
    if head.unusable:
        return _whole(reader(path), codes, reasons)  # the reader says what is wrong with the whole file
    kind = head.kind
    notes: list[str] = []
    parts: list[dict[str, Any]] = []
    problems: list[ReadProblem] = []
    empty: list[Report] = []
    lines = 0
    votes: dict[str, list[bool]] = {}
    for both, n, cols in report_blocks(path, kind, block, notes, votes, keep=USED, arrays=True):
        lines += n
        problems.extend(both.problems)
        if cols is not None:  # a plain block's rows, as arrays already
            if len(cols["line"]):
                parts.append(_part(cols, kind, codes, reasons))
                # The report keeps the columns of its first rows, in the types the frame of the
                # lines' way has (made once a file: the arrays are the rows)
                both.data = no_rows(pd.DataFrame(materialized(cols))) if not any(len(e.data.columns) for e in empty) else pd.DataFrame()
            empty.append(both)
        elif not both.data.empty:  # its rows become arrays at once; the block's frame goes
            used = _used(both.data)
            parts.append(_part(used, kind, codes, reasons))
            both.data = no_rows(used)
            empty.append(both)
            del used
        else:
            empty.append(dataclasses.replace(both, data=pd.DataFrame()))
        del both, cols
        if len(empty) % 4 == 0:  # freed pages would stay resident and add up over the file
            give_back()
    rep = join_parts(kind, path.name, empty, problems, notes, lines)
    rep.day_resolution = day_resolution(votes)
    rep.data = next((e.data for e in empty if len(e.data.columns)), rep.data)  # no rows, the columns read
    return rep, _join(rep, parts) if parts else None


def no_rows(df: pd.DataFrame) -> pd.DataFrame:
    """``df``'s columns without its rows, holding none of its memory: a slice (``iloc[0:0]``) is
    a view, which keeps every row of the frame alive for as long as it is kept."""
    return df.iloc[0:0].copy()


def _used(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if c == "line" or c in USED]]


def _whole(rep: Report, codes: CodeTable, reasons: Mapping[str, int]) -> tuple[Report, ReturnRows | None]:
    if rep.unusable or rep.data.empty:
        return rep, None
    rows = _join(rep, [_part(_used(rep.data), rep.kind, codes, reasons)])
    rep.data = no_rows(_used(rep.data))
    return rep, rows


def _in_policy(df: Mapping[str, Any], n: int) -> np.ndarray:
    if "in_policy" not in df:
        return np.full(n, -1, dtype=np.int8)
    v = pd.array(df["in_policy"], dtype="boolean")
    return np.where(v.isna(), -1, np.where(v.fillna(False), 1, 0)).astype(np.int8)


def happened(df: Mapping[str, Any], channel: str, n: int) -> dict[str, np.ndarray]:
    """What the returns report says happened to each of its ``n`` requests (missing where it
    does not say), by column; ``df``: the report's columns, the code columns mapped."""
    nan = np.full(n, np.nan)

    def col(name: str) -> np.ndarray:
        return floats(df, name) if name in df else nan  # type: ignore[return-value]

    out: dict[str, np.ndarray] = {"refunded": col("refunded_amount")}
    seller = np.asarray(df["payer"], dtype=object) == "seller" if "payer" in df else np.zeros(n, dtype=bool)
    label = col("label_cost")
    out["label_cost"] = label
    out["seller_label"] = np.where(seller, np.nan_to_num(label), 0.0) if "payer" in df else nan
    if "az_claim" in df:
        az = pd.array(df["az_claim"], dtype="boolean")
        out["az_claim"] = np.where(az.isna(), np.nan, az.fillna(False).astype(float))
    else:
        out["az_claim"] = nan
    if "safet_amount" in df:
        amount = col("safet_amount")
        approved = np.asarray(df["safet_verdict"], dtype=object) == "approved" if "safet_verdict" in df else ~np.isnan(amount)
        out["safet_amount"] = np.where(approved, np.nan_to_num(amount), 0.0)
    else:
        out["safet_amount"] = nan
    out["returnless"] = (np.asarray(df["outcome"], dtype=object) == "returnless").astype(float) if "outcome" in df else nan
    return out
