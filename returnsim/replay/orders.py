"""The All Orders report in one pass, a block of lines at a time: orders per day, and the order
lines that were returned.

A replay needs two things from a year of orders: how many orders were placed each day, and the
order lines that were returned (their time, item, price and ship country). Both come from one
pass over the report, a block of lines at a time (:mod:`.blocks`, :mod:`.rows`), so memory does
not grow with the file. An order line is tallied per day (an order counted once, also when its
lines are split over two blocks next to each other: the report lists an order's lines together)
and kept only if its order was returned: returned orders are known by a hash table of 64-bit
keys of their ids (:mod:`.keys`: an Amazon id's digits, made from Arrow's bytes; a key shared by
another id only keeps one more line, which the matching of returns to order lines then
ignores). Kept lines are remembered across blocks, so a returned order's line repeated anywhere
in the file is reported as a duplicate and counts no order twice; lines that were not returned
are only counted.

A block of ordinary lines whose ids and dates read as they are (nearly every block of a real
report) is read by Arrow (:func:`~.blocks.simple_cells`): its orders are counted from arrays
(statuses and countries by their distinct values) and only its returned lines' cells become
values (a column the reader never finds unreadable and the count does not need, for the
returned lines alone); any other block goes through the lines' and the reader's way. Both give
the same rows, counts and problems (tests/test_replay_arrow.py compares them on damaged files).
The pass hashes the file's bytes as it reads them (``OrderCounts.digest``: a replay's identity
needs the SHA-256 of its inputs, and the file is then not read a second time for it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.codes import CodeTable
from ..calibrate.readers import ALL_ORDERS, Column, ReadProblem, Report, read_orders
from ..calibrate.tsv import Source
from .blocks import (
    Known,
    column_indices,
    probe,
    read_header,
    simple_cells,
    streamable,
    to_block,
)
from .cells import plain_numbers, plain_values
from .chunks import Hashed, line_bytes, raw_blocks
from .keys import KeySet, id_keys
from .returns import Coded, no_rows, order_ids
from .rows import Seen, block_rows, day_resolution, join_parts, read_blocks

__all__ = ["OrderCounts", "scan_orders", "read_blocks", "order_hashes", "BLOCK_LINES"]

BLOCK_LINES = 20_000
"""Order lines read at a time: about 3 MB of text, and some 15 MB while its cells are read."""

@dataclass
class OrderCounts:
    """What the counting pass found."""

    countries: Counter = field(default_factory=Counter)
    """Order lines per ship country (for the home market)."""
    lines: int = 0
    days: Counter = field(default_factory=Counter)
    """Orders per day number (days since 1970-01-01), as the blocks add them."""
    digest: str | None = None
    """SHA-256 of the report's bytes (hex), hashed as the pass read them, when it read a file
    through (``inputs.file_digest`` of it, without reading it again); None otherwise."""

    @property
    def per_day(self) -> pd.Series:
        """Orders (distinct order ids, cancelled left out) per purchase day (a naive UTC date),
        from ``days``."""
        if not self.days:
            return pd.Series(dtype=float)
        k = np.fromiter(self.days.keys(), dtype=np.int64, count=len(self.days))
        v = np.fromiter(self.days.values(), dtype=np.int64, count=len(self.days))
        order = np.argsort(k)
        index = pd.DatetimeIndex(k[order].astype("datetime64[D]").astype("datetime64[ns]"))
        return pd.Series(v[order].astype(float), index=index)


def order_hashes(ids: Collection[str] | pd.Series | np.ndarray) -> np.ndarray:
    """Sorted distinct 64-bit hashes of order ids (missing ones left out), hashed a slice at a
    time (a column of strings is not copied whole)."""
    h, present = order_ids(pd.Series(list(ids) if isinstance(ids, set | frozenset) else ids, copy=False))
    return np.sort(pd.unique(h[present]))  # (numpy 2's np.unique took ten times as long)




def _table(h: np.ndarray) -> KeySet:
    return KeySet(pd.unique(np.asarray(h, dtype=np.uint64)))


def _count(
    ids: np.ndarray, dates: np.ndarray, kept: np.ndarray, counts: OrderCounts, last: KeySet, distinct: bool = False
) -> np.ndarray:
    """Add the orders of a block to ``counts``: ``ids`` their 64-bit hashes, ``dates`` their
    purchase dates (naive datetime64, NaT when unreadable), ``kept`` the lines counted (not
    cancelled); ``last``: hashes of the previous block's orders (already counted); ``distinct``:
    no two lines share a hash (known to the caller: each is not searched for again).
    Returns this block's distinct order hashes."""
    ok = kept & ~np.isnat(dates) & ~last.contains(ids)
    # an order's first line dates it
    first = np.ones(int(ok.sum()), dtype=bool) if distinct else ~pd.Series(ids[ok]).duplicated().to_numpy()
    days = dates[ok][first].astype("datetime64[D]").astype(np.int64)
    if len(days):
        low = int(days.min())
        per = np.bincount(days - low)
        at = np.flatnonzero(per)
        counts.days.update(dict(zip((at + low).tolist(), per[at].tolist(), strict=True)))
    return ids if distinct else pd.unique(ids)


def _count_frame(df: pd.DataFrame, cancelled: dict[str, str], counts: OrderCounts, last: KeySet) -> np.ndarray:
    """:func:`_count` on rows as the reader gives them (``order_id``, ``purchase_date`` and
    optionally ``status`` and ``ship_country``)."""
    if df.empty:
        return np.zeros(0, dtype=np.uint64)
    if "ship_country" in df:
        counts.countries.update(df["ship_country"].dropna().value_counts().to_dict())
    ids, present = order_ids(df["order_id"])
    kept = present.copy()
    if "status" in df:
        kept &= (df["status"].map(cancelled) != "cancelled").to_numpy()
    dates = pd.to_datetime(df["purchase_date"]).to_numpy(dtype="datetime64[ns]")
    return _count(ids[present], dates[present], kept[present], counts, last)



# --------------------------------------------------------------------------------------------
# the All Orders report
# --------------------------------------------------------------------------------------------


def _returned_table(returned: Collection[str] | np.ndarray) -> KeySet:
    if isinstance(returned, np.ndarray) and returned.dtype == np.uint64:
        return _table(returned)
    return _table(order_hashes(returned))


def _is_returned(df: pd.DataFrame, table: KeySet) -> np.ndarray:
    h, present = order_ids(df["order_id"])
    return present & table.contains(h)


Sink = Callable[[pd.DataFrame], None]
"""Takes a block's returned order lines (the reader's rows) as they are read."""


def _whole(source: Source, returned: Collection[str] | np.ndarray, codes: CodeTable, sink: Sink | None = None) -> tuple[Report, OrderCounts]:
    rep = read_orders(source)
    counts = OrderCounts(lines=rep.rows_read)
    if rep.unusable or rep.kind != "orders":
        return rep, counts
    _count_frame(rep.data, codes.value_map("order_status"), counts, _table(np.zeros(0, dtype=np.uint64)))
    rep.data = rep.data[_is_returned(rep.data, _returned_table(returned))].reset_index(drop=True)
    if sink is not None:
        sink(rep.data)
        rep.data = no_rows(rep.data)
    return rep, counts



class _Tally:
    """Counts the orders of a file's blocks, and says which lines to keep (the returned)."""

    def __init__(self, counts: OrderCounts, cancelled: dict[str, str], table: KeySet) -> None:
        self.counts, self.cancelled, self.table = counts, cancelled, table
        self.cancelled_codes = [k for k, v in cancelled.items() if v == "cancelled"]
        self.last = _table(np.zeros(0, dtype=np.uint64))
        """Orders of the previous block (already counted)."""
        self.ids = np.zeros(0, dtype=np.uint64)
        """Orders of this block."""

    def __call__(self, cols: dict[str, Any]) -> np.ndarray:
        """Count the ordinary lines' orders (their columns as arrays); which are returned."""
        if "ship_country" in cols:
            self.counts.countries.update(pd.Series(cols["ship_country"], dtype=object).dropna().value_counts().to_dict())
        ids = id_keys(cols["order_id"])
        counted = np.ones(len(ids), dtype=bool)
        if "status" in cols:
            counted = ~pd.Series(cols["status"], dtype=object).isin(self.cancelled_codes).to_numpy()
        return self.add(ids, np.asarray(cols["purchase_date"], dtype="datetime64[ns]"), counted)

    def add(self, ids: np.ndarray, dates: np.ndarray, counted: np.ndarray, distinct: bool = False) -> np.ndarray:
        """Count the orders of lines (``ids`` their orders' hashes, ``dates`` their purchase
        dates, ``counted`` those not cancelled; ``distinct``: no two share a hash); which are
        returned."""
        got = _count(ids, dates, counted, self.counts, self.last, distinct)
        self.ids = pd.unique(np.concatenate([self.ids, got])) if len(self.ids) else got
        return self.table.contains(ids)

    def frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Count the reader's rows' orders (not those counted already); the returned rows."""
        done = _table(np.concatenate([self.last.keys, self.ids]))
        self.ids = pd.unique(np.concatenate([self.ids, _count_frame(df, self.cancelled, self.counts, done)]))
        return df[_is_returned(df, self.table)]

    def uncount(self, repeats: pd.DataFrame) -> None:
        """Take back this block's count of the orders and ship countries of ``repeats`` (lines
        read in an earlier block, which counted them): the reader reading the file whole counts
        a repeated line's order and country once. The lines themselves stay counted, as the
        reader's lines read do."""
        if repeats.empty:
            return
        took = OrderCounts()
        _count_frame(repeats, self.cancelled, took, self.last)
        self.counts.days.subtract(took.days)
        self.counts.countries -= took.countries  # (a Counter: what falls to 0 goes)

    def next_block(self) -> None:
        self.last, self.ids = KeySet(self.ids), np.zeros(0, dtype=np.uint64)  # (ids are distinct)


def scan_orders(
    source: Source, returned: Collection[str] | np.ndarray, codes: CodeTable, block: int = BLOCK_LINES,
    sink: Sink | None = None,
) -> tuple[Report, OrderCounts]:
    """Count the orders per day of an All Orders report and read its returned lines.

    Args:
        source: the report (a path is streamed; bytes or text are read whole).
        returned: order ids of the returns being replayed (or their :func:`order_hashes`):
            their lines are kept.
        codes: the code table (which order statuses are cancellations).
        block: lines read at a time.
        sink: given, each block's returned lines are handed to it as they are read (in the
            file's order) and not kept: the report's ``data`` has their columns, no rows. A
            replay turns them into arrays at once (:func:`~.match.line_part`), so the lines'
            strings never pile up over the pass; a sink with an ``arrays`` method (the
            replay's :class:`~.match.LineParts`) takes a plain block's lines already as those
            arrays (:func:`_line_arrays`), and never a frame of their strings.

    Returns:
        The returned lines as a :class:`Report` (the reader's columns, every problem found in the
        file), and the :class:`OrderCounts`.
    """
    if not isinstance(source, str | Path) or not streamable(Path(source)):
        return _whole(source, returned, codes, sink)
    path = Path(source)
    head = probe(path, read_orders)
    if head.unusable or head.kind != "orders":
        return _whole(path, returned, codes, sink)  # the reader says what is wrong, or reads counts
    table = _returned_table(returned)
    cancelled = codes.value_map("order_status")
    counts = OrderCounts()
    notes: list[str] = []
    parts: list[Report] = []
    problems: list[ReadProblem] = []
    tally = _Tally(counts, cancelled, table)
    # A sink that takes a plain block's returned lines as arrays (LineParts.arrays) gets them
    # so, without a frame of their strings.
    to_arrays = getattr(sink, "arrays", None)
    votes: dict[str, list[bool]] = {}
    known: dict[str, Known] = {}
    columns: dict[str, None] = {}
    """The columns of the lines handed to ``sink``, in their frames' order."""
    with open(path, "rb") as file:
        fh = Hashed(file)  # the file's digest as it is read (a replay's identity needs it)
        header = read_header(fh, notes, path.name)
        seen = Seen(len(header.split("\t")))
        where = column_indices(header, ALL_ORDERS)
        first = 2
        for raw, ends in raw_blocks(fh, block):
            # A block of ordinary lines whose ids and dates read as they are is read by Arrow;
            # any other, by the lines' and the reader's way (the same rows, counts and problems).
            both = None if notes else _simple_block(raw, ends, first, where, tally, seen, votes, known, path.name, to_arrays, columns)
            if both is None:
                b = to_block(header, raw, first, notes, path.name)
                fast, slow, n = block_rows(b, "orders", ALL_ORDERS, path.name, votes, take=tally, known=known)
                counts.lines += n
                if slow is not None and not slow.data.empty:
                    slow.data = tally.frame(slow.data)
                both = join_parts("orders", path.name, [fast] + ([slow] if slow else []), slow.problems if slow else [], [], 0)
                # Only returned lines are remembered (they are few); the others are only counted.
                both = seen.drop_repeats(b, both, path.name)
                tally.uncount(seen.dropped)
                first += len(b.lines)
            else:
                first += len(ends)
            problems.extend(both.problems)
            if sink is not None and not both.data.empty:
                sink(both.data)
                columns.update(dict.fromkeys(both.data.columns))
                both.data = pd.DataFrame()
            parts.append(both)
            tally.next_block()
            # (no giving back of freed pages between blocks: the next block reuses them, and
            # the resident size stays flat over a 1 M-order file either way, by Arrow or by the
            # reader; every giving back cost the next blocks' page faults, about 0.3 CPU s)
            del both
        counts.digest = fh.sha.hexdigest()  # (the blocks end where the file does)
    rep = join_parts("orders", path.name, parts, problems, notes, counts.lines)
    rep.day_resolution = day_resolution(votes)
    if rep.data.empty:
        rep.data = pd.DataFrame(columns=list(columns) or ["line", "order_id", "purchase_date"])
    return rep, counts


_LATER = frozenset(c.name for c in ALL_ORDERS if c.kind in ("code", "text", "money", "count") and c.name != "status")
"""Columns of the fast path's blocks parsed as strings, to be read for the returned rows alone
when the reader would find none of the block's cells unreadable: always for a code or a text
(read as it is), for an amount or a quantity when every cell is a plain number. The count
needs only the status (cancellations) and the ship country."""


def _column(values: Any, codes: np.ndarray, kind: str) -> Any:
    """A returned rows' column: its distinct values (a pandas array, as :class:`~.blocks.Known`
    reads them) taken at ``codes``. Strings stay pandas' (Arrow's) strings where a frame would
    make them such strings again: when one is there (a frame infers the type of a column of
    missing values alone otherwise)."""
    taken = values.take(codes)
    if kind == "yn" or (isinstance(taken.dtype, pd.StringDtype) and not taken.isna().all()):
        return taken
    return values.to_numpy()[codes]


def _simple_block(
    raw: bytes, ends: np.ndarray, first: int, where: dict[str, int], tally: _Tally, seen: Seen,
    votes: dict[str, list[bool]], known: dict[str, Known], name: str,
    to_arrays: Callable[[dict[str, Any]], None] | None = None, columns: dict[str, None] | None = None,
) -> Report | None:
    """The returned rows of a block by :func:`~.blocks.simple_cells`, its orders counted, or
    None (nothing counted) if a line or a cell needs the reader: also a line repeated in the
    block (the reader says which copy is counted). Only the returned rows' cells are made
    values; the others' are counted by their distinct values, and a column the reader never
    finds unreadable (a code, a text, a plain number: :func:`~.cells.plain_numbers`) and the
    count does not need is read for the returned rows alone."""
    order = [c for c in ALL_ORDERS if c.name in where]
    cells = simple_cells(raw, len(ends), where, order, _LATER)
    if cells is None:
        return None
    coded: dict[str, tuple[np.ndarray, Any]] = {}
    later: set[str] = set()
    for c in order:
        if c.kind in ("id", "date"):
            continue
        if c.name in _LATER:  # Arrow's strings
            if c.kind in ("code", "text") or plain_numbers(cells[c.name], c.kind == "count"):
                later.add(c.name)
                continue
            enc = cells[c.name].dictionary_encode()
            codes, uniq = enc.indices.to_numpy(zero_copy_only=False).astype(np.intp), enc.dictionary
        else:
            codes, uniq = cells[c.name]
        values, wrong = known.setdefault(c.name, Known()).read(c.name, c.kind, uniq)
        if wrong.any():  # a cell the reader cannot read: it reports it
            return None
        coded[c.name] = codes, values
    ids_text = cells["order_id"][0]
    ids = id_keys(ids_text)
    twice = np.flatnonzero(pd.Index(ids).duplicated(keep=False))  # only an order's lines can be the same line
    if len(twice) and len(set(line_bytes(raw, ends, twice))) < len(twice):
        return None
    tally.counts.lines += len(ends)
    counted = np.ones(len(ids), dtype=bool)
    if "status" in coded:
        codes, values = coded["status"]
        counted = ~np.isin(np.asarray(values, dtype=object), tally.cancelled_codes)[codes]
    if "ship_country" in coded:
        codes, values = coded["ship_country"]
        n = np.bincount(codes, minlength=len(values))
        for v, k in zip(np.asarray(values, dtype=object).tolist(), n.tolist(), strict=True):
            if k and not pd.isna(v):
                tally.counts.countries[v] += k
    dates = cells["purchase_date"][0]
    kept = np.flatnonzero(tally.add(ids, dates.astype("datetime64[ns]"), counted, distinct=not len(twice)))
    for c in order:
        if c.kind == "date":
            votes.setdefault(c.name, []).append(cells[c.name][2])
    if not len(kept):
        return Report(kind="orders", name=name, data=pd.DataFrame(), columns_found=tuple(where))
    # A line's hash is its text's (pandas hashes a string by its UTF-8 bytes).
    keys = id_keys(np.array(line_bytes(raw, ends, kept), dtype=object))
    # (the lines are distinct: the same line twice went the reader's way above; a line read
    # before is dropped from a frame below)
    if to_arrays is not None and seen.remember_new(keys, kept + first):
        to_arrays(_line_arrays(cells, coded, later, order, kept, ids, ~counted[kept], known))
        if columns is not None:
            columns.update(dict.fromkeys(["line", *(c.name for c in order)]))
        return Report(kind="orders", name=name, data=pd.DataFrame(), columns_found=tuple(where))
    cols: dict[str, Any] = {"line": kept + first}
    for c in order:
        if c.name in coded or c.name in later:
            if c.name in coded:
                codes, values = coded[c.name]
                codes = codes[kept]
            elif c.kind in ("money", "count"):  # plain numbers (checked above): read as written
                cols[c.name] = plain_values(cells[c.name].take(kept))
                continue
            else:  # the returned rows' cells, and their distinct ones read
                enc = cells[c.name].take(kept).dictionary_encode()
                codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.intp)
                values, _ = known.setdefault(c.name, Known()).read(c.name, c.kind, enc.dictionary)
            cols[c.name] = _column(values, codes, c.kind)
        elif c.kind == "id":  # the returned rows' ids, Arrow's strings as pandas' strings
            cols[c.name] = pd.array(cells[c.name][0].take(kept), dtype="str")
        else:
            cols[c.name] = cells[c.name][0][kept]
    part = Report(kind="orders", name=name, data=pd.DataFrame(cols), columns_found=tuple(where))
    part = seen.drop_keyed(part, keys, name)
    tally.uncount(seen.dropped)
    return part


def _line_arrays(
    cells: dict[str, Any], coded: dict[str, tuple[np.ndarray, Any]], later: set[str], order: list[Column],
    kept: np.ndarray, ids: np.ndarray, cancel: np.ndarray, known: dict[str, Known],
) -> dict[str, Any]:
    """A plain block's returned lines (``kept``; ``cancel``: which of them are cancelled) as
    :func:`~.match.line_part` makes them of their frame, cancelled ones left out, made from the
    block's arrays: the ids' keys, the dates, the amounts and quantities as floats, the SKU and
    ASIN as codes into their distinct values in the order they first come (as a frame's are
    factorized: the lines' codes are the same), the ship country as codes into the block's
    countries (only whether a line went abroad is kept of it); a value read twice or missing
    is merged when the parts are joined."""
    keep = kept[~cancel]
    names = {c.name: c for c in order}

    def numbers(name: str) -> np.ndarray | None:
        if name not in names:
            return None
        if name in coded:
            codes, values = coded[name]
            return np.asarray(values.to_numpy()[codes[keep]], dtype=float)
        return plain_values(cells[name].take(keep)).astype(float)  # (in ``later``: plain numbers)

    def text(name: str) -> Coded | None:
        if name not in names:
            return None
        if name in coded:  # (the ship country: codes into the block's countries)
            codes, values = coded[name]
            return Coded(codes[keep].astype(np.int32), np.asarray(values.to_numpy(), dtype=object))
        enc = cells[name].take(keep).dictionary_encode()
        values, _ = known.setdefault(name, Known()).read(name, names[name].kind, enc.dictionary)
        return Coded(enc.indices.to_numpy(zero_copy_only=False).astype(np.int32), np.asarray(values.to_numpy(), dtype=object))

    return {
        "n": len(keep), "cancelled": int(cancel.sum()), "order": ids[keep], "date": cells["purchase_date"][0][keep],
        "quantity": numbers("quantity"), "item_price": numbers("item_price"),
        "sku": text("sku"), "asin": text("asin"), "ship_country": text("ship_country"),
    }
