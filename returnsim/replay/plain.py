"""A returns report's plain blocks read by Arrow: the same rows, cells and day resolution as the
lines' way (:func:`~.rows.block_rows`), at a fraction of its cost.

A block is plain when every line is ordinary (no quote, no carriage return, the header's
number of fields, UTF-8, no line repeated in the block) and every cell reads as the reader
reads it without a problem. Its columns are split by pyarrow's CSV reader (ids and dates as
strings, the others dictionary-encoded); a date column written as
``2026-07-31T22:34:59+00:00`` (any offset) or as a day, ``31-JUL-2026`` or ``31-07-2026``
(the returns reports' days), is read from its digits by numpy (:func:`~.cells.iso_seconds`,
:func:`~.cells.day_dates`), one in another form by the calibration's cell reader once per
distinct cell of the block, and money, counts, yes/no, codes and text once per distinct cell
of the file (:class:`~.blocks.Known`). So a cell
reads as the reader reads it; any block with a line or a cell the reader would treat otherwise
(report, strip, skip) is left to the lines' way, which reads it with the reader's problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.readers import Column
from ..calibrate.tsv import read_cells
from .blocks import (
    _REQUIRED,
    Known,
    _arrow_table,
    _edges_blank,
)
from .cells import (
    bytes_of,
    clean_ids,
    date_type,
    day_dates,
    iso_seconds,
    plain_numbers,
    plain_values,
    utf8,
)
from .keys import id_keys

__all__ = ["plain_block", "PlainBlock", "Taken", "rows_of", "materialized"]

_ARROW = True
"""Read plain blocks by Arrow (off: every block the lines' way; the tests compare the two)."""


_ANY_CELL = ("id", "text", "code")
"""Kinds of column whose every cell the calibration's reader reads (none is reported:
:func:`~returnsim.calibrate.tsv.read_cells`)."""


class PlainBlock:
    """A plain block's rows: ``cols`` (``line`` and the kept columns, as the lines' way gives
    them), each date column's readings and day resolution (``dates``, ``day``: what
    :func:`~.rows.vote` takes), and each line's 64-bit hash (its text's, for duplicates across
    blocks)."""

    def __init__(self, cols: dict[str, Any], dates: dict[str, np.ndarray], day: dict[str, bool], hashes: np.ndarray) -> None:
        self.cols, self.dates, self.day, self.hashes = cols, dates, day, hashes


def plain_block(
    raw: bytes, rows: int, first: int, width: int, where: dict[str, int], columns: Sequence[Column], kind: str,
    known: dict[str, Known], keep: Sequence[str] | None = None, coded: bool = False,
) -> PlainBlock | None:
    """The rows of a block of ``rows`` lines (``raw``, their bytes; ``first``, the file line of
    the first; ``width``, the header's fields) if it is plain, else None. ``known``: the file's
    distinct cells read so far (updated; a block left to the lines' way reads the same cells
    again, which gives the same readings). ``keep``: the only columns to hold (all by
    default). ``coded``: a text or code column is held as :class:`Taken` and an id column that
    reads as it is as Arrow's strings, not as an object array of a Python string a row (the
    returns' arrays are made from them without one: :func:`materialized` makes the arrays the
    lines' way gives)."""
    if not _ARROW or not rows or b'"' in raw or b"\r" in raw or _tabs(raw) != rows * (width - 1) or not utf8(raw):
        return None
    try:
        import pyarrow as pa
    except ImportError:
        return None
    required = _REQUIRED.get(kind, ())
    # The columns kept, the dates (the file's day resolution is theirs), the required ones and
    # those with cells the reader may report; the others (ids, text, codes not kept: the
    # reader reads any cell of them) are not converted.
    order = [c for c in columns if c.name in where and (keep is None or c.name in keep or c.name in required or c.kind not in _ANY_CELL)]
    names = {c.name: f"f{where[c.name]}" for c in order}
    kinds = {names[c.name]: c.kind for c in order}
    # Every column read as strings, the coded ones dictionary-encoded after: the same arrays as
    # Arrow's CSV dictionary converter gives (distinct cells in the order they first come), at
    # less cost
    types = dict.fromkeys(kinds, pa.string())
    coded_kinds = {n for n, k in kinds.items() if k not in ("id", "date")}
    table = _arrow_table(raw, sorted(types), types)
    if table is None or table.num_rows != rows:
        return None
    # Each line's text hashed (pandas hashes a string by its UTF-8 bytes, as the lines' way
    # hashes it); a line repeated in the block is the reader's (it says which copy counts).
    text = raw.split(b"\n")
    if len(text) > rows:
        text.pop()  # after the last line's newline
    hashes = id_keys(np.array(text, dtype=object))
    del text
    if pd.Index(hashes).has_duplicates:
        return None
    wanted = [c for c in order if keep is None or c.name in keep or c.kind == "date" or c.name in required]
    # The cheap checks first (ids, ISO dates), the cells read once per distinct value after.
    got: dict[str, Any] = {}
    for c in sorted(wanted, key=lambda c: c.kind not in ("id", "date")):
        col = _arrow_column(table, names[c.name], coded_kinds)
        value = _column(c, col, c.name in required, known, coded)
        if value is None:
            return None
        got[c.name] = value
    for c in order:  # a column not kept is read for its problems only: it must have none
        if c.name not in got and not _readable(c, _arrow_column(table, names[c.name], coded_kinds), known):
            return None
    cols: dict[str, Any] = {"line": np.arange(first, first + rows, dtype=np.int64)}
    dates = {c.name: got[c.name] for c in order if c.kind == "date"}
    day = {}
    for name, values in dates.items():  # as the reader decides it: some readable, none with a time
        ok = values[~np.isnat(values)]
        day[name] = bool(len(ok)) and not (ok != ok.astype("datetime64[D]")).any()
    for c in order:
        if c.name in got and (keep is None or c.name in keep):
            cols[c.name] = got[c.name]
    return PlainBlock(cols, dates, day, hashes)


def _arrow_column(table: Any, name: str, coded: set[str]) -> Any:
    """Column ``name`` of Arrow's table as one array, dictionary-encoded if in ``coded``."""
    col = table.column(name).combine_chunks()
    return col.dictionary_encode() if name in coded else col


def _column(c: Column, col: Any, required: bool, known: dict[str, Known], coded: bool = False) -> Any:
    """A column's cells as the lines' way reads them, or None if a cell would be reported, or
    a required one is missing (the reader says what it does with the line). ``coded``: text and
    codes as :class:`Taken`, ids read as they are as Arrow's strings."""
    if c.kind == "id":
        if clean_ids(col):
            return col if coded else col.to_numpy(zero_copy_only=False)
        if required:  # an empty or padded id: the reader's
            return None
        cells = col.to_numpy(zero_copy_only=False)
        if not _edges_blank(cells):
            cells = np.array([s.strip() for s in cells.tolist()], dtype=object)
        return read_cells(c.name, c.kind, pd.Series(cells, dtype=object))[0].to_numpy()
    if c.kind == "date":
        secs = iso_seconds(col)
        if secs is not None:
            return secs.astype("datetime64[s]").astype(date_type())
        days = day_dates(col)
        if days is not None:
            return None if required and np.isnat(days).any() else days
        # The block's distinct cells read together (at most all its cells, as the lines' way
        # reads them), not kept over the file: the readings' unit is pandas' for the block's
        # cells (a second for days, finer once a time is read), as the lines' way gives it.
        enc = col.dictionary_encode()
        values, wrong, _ = read_cells(c.name, c.kind, pd.Series(enc.dictionary.to_pylist(), dtype=object).str.strip())
        out = values.to_numpy()[enc.indices.to_numpy(zero_copy_only=False).astype(np.intp)]
        if wrong.any() or (required and np.isnat(out).any()):
            return None
        return out
    codes = col.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    numbers = _plain_numbers(c, col.dictionary, known) if c.kind in ("money", "count") else None
    if numbers is not None:
        return numbers[codes]
    read, wrong = known.setdefault(c.name, Known()).read(c.name, c.kind, col.dictionary)
    if wrong.any():
        return None
    if c.kind == "yn":
        return read.take(codes)
    if coded and c.kind in ("text", "code"):  # (the returns code these: money and counts are numbers)
        return Taken(read.to_numpy(), codes)
    return read.to_numpy()[codes]


def _tabs(raw: bytes) -> int:
    """The tabs in a block's bytes (``raw.count(b"\\t")``), counted by numpy: bytes.count of one
    byte takes about 2 ms a block of 10,000 lines (2.5 MB), numpy a tenth of it."""
    return int(np.count_nonzero(np.frombuffer(raw, dtype=np.uint8) == 9))


class Taken:
    """A column of a few distinct readings as each row's reading's place in them: the rows are
    ``values[at]``, made only where needed (:func:`materialized`); the returns' codes are made
    from the places (:meth:`~.returns.Coded.of`) without an object a row in between."""

    def __init__(self, values: np.ndarray, at: np.ndarray) -> None:
        self.values, self.at = values, at

    def __len__(self) -> int:
        return len(self.at)

    def __getitem__(self, rows: np.ndarray) -> Taken:
        """The rows ``rows`` (a boolean mask or indices), still as places."""
        return Taken(self.values, self.at[rows])

    def rows(self) -> np.ndarray:
        """Each row's reading (what the lines' way holds: ``values[at]``)."""
        return self.values[self.at]


def rows_of(cols: dict[str, Any], kept: np.ndarray) -> dict[str, Any]:
    """A plain block's columns (``coded`` or not) at rows ``kept`` (a boolean mask)."""
    mask = None
    out: dict[str, Any] = {}
    for k, v in cols.items():
        if _arrow_strings(v):
            if mask is None:
                import pyarrow as pa

                mask = pa.array(kept)
            out[k] = v.filter(mask)
        else:  # (numpy's, pandas' and Taken's rows are taken by a mask)
            out[k] = v[kept]
    return out


def _arrow_strings(v: Any) -> bool:
    """Whether a column is Arrow's (an id column read ``coded``), not numpy's or pandas'."""
    return type(v).__module__.startswith("pyarrow")


def materialized(cols: dict[str, Any]) -> dict[str, Any]:
    """A plain block's columns read ``coded`` as the arrays the lines' way gives (an object
    array of strings for Arrow's ids, each row's reading for :class:`Taken`)."""
    return {
        k: v.rows() if isinstance(v, Taken) else v.to_numpy(zero_copy_only=False) if _arrow_strings(v) else v for k, v in cols.items()
    }


def _readable(c: Column, col: Any, known: dict[str, Known]) -> bool:
    """Whether no cell of a column not kept would be reported."""
    if c.kind in ("money", "count") and _plain_numbers(c, col.dictionary, known, values=False) is not None:
        return True
    return not known.setdefault(c.name, Known()).read(c.name, c.kind, col.dictionary)[1].any()


def _plain_numbers(c: Column, cells: Any, known: dict[str, Known], values: bool = True) -> np.ndarray | None:
    """A money or count column's distinct cells (an Arrow string array) read by Arrow, as the
    reader reads them, when every one is a plain number (:func:`~.cells.plain_numbers`: the
    reader reads it as it is, never unreadable); else None (read through ``known``). The
    readings are exactly pandas' (``to_numeric`` and Arrow's cast both round correctly; a
    plain number has at most 9 digits, checked on 14 M cells). Without ``values``: an empty
    array, only checked.

    Their type is the one the cells read through ``known`` would take: pandas reads whole
    numbers as int64 and floats once any cell of the file's column so far had a point; such a
    cell is read through ``known`` too (one a block), which keeps that column's memory of
    having floats for the cells it reads later (the lines' way's)."""
    if not plain_numbers(cells, c.kind == "count"):
        return None
    k = known.setdefault(c.name, Known())
    before = None if k.values is None else k.values.dtype
    if before is not None and before not in (np.dtype(np.int64), np.dtype(np.float64)):
        return None  # (not expected: the reader's numbers are int64 or float64)
    # (a dtype compared with None compares with float64: numpy's dtype(None))
    floats = before is not None and before == np.dtype(np.float64)
    data, offsets = bytes_of(cells)
    point = data[offsets[0] : offsets[-1]] == ord(".")
    if point.any() and not floats:
        first = int(np.searchsorted(offsets, offsets[0] + np.flatnonzero(point)[0], side="right")) - 1
        k.read(c.name, c.kind, cells.slice(first, 1))  # the column reads floats from now on
    if not values:
        return np.zeros(0)
    out = plain_values(cells)  # (int64 where no cell has a point)
    return out.astype(np.float64) if floats else out
