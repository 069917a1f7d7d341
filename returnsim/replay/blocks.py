"""A text report's lines a block at a time, and the cells of a block's ordinary lines.

A block is some thousands of lines, never ending inside a quoted field, cut from chunks of the
file's bytes at the newlines numpy finds (no Python object a line). Its ordinary lines (no
quotes, the header's number of fields, not repeated in the block) are split in C: by pyarrow's
CSV reader when pyarrow is installed and every line of the block is ordinary (it splits and
dictionary-encodes in C), else by pandas' C parser; both give the same cells (a test checks).
Each column's cells are then read by the calibration's cell readers
(:func:`~returnsim.calibrate.tsv.read_cells`) once per distinct value (a column of a few SKUs,
codes or countries is read as those few values, each once per file: :class:`Known`, looked up
by Arrow), so a cell reads exactly as the reader would read it; an ISO date Arrow split is read
from its digits (below), and a column of repeated days once per distinct day. The other lines
are the reader's (:mod:`.rows`).

The All Orders report's blocks go faster still (:func:`simple_cells`): a block whose every line
is ordinary and whose ids and dates read as they are (an ISO date with an offset, the way
Amazon writes them) is read by Arrow without a Python string for a date or a cell of a coded
column, its dates read by numpy from their digits, exactly as pandas reads them (a test checks
on 20,000 dates); any other block is read as above.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.headers import usable_head
from ..calibrate.readers import Column, Report
from ..calibrate.tsv import Source, _utf16_without_bom, header_key, read_cells, split_lines
from .cells import (
    _SPACE,
    clean_ids,
    date_type,
    iso_seconds,
    utf8,
)
from .chunks import ByteReader

_REQUIRED = {"orders": ("order_id", "purchase_date"), "fba_returns": ("order_id", "return_date"),
             "mfn_returns": ("order_id", "request_date")}
"""Cells an ordinary line must have: a line without one goes to the reader, which says what it
does with it (an order line without its id is skipped and reported, a return is kept)."""

def streamable(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(65536)
    return not (head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(head) or (b"\r" in head and b"\n" not in head))


def probe(path: Path, reader: Callable[[Source], Report]) -> Report:
    """The reader on the header and the first lines: can the file be used at all? Only the
    report's ``kind`` and ``unusable`` are meant (its rows, problems and notes are a head's).

    A returns report's head that the reader surely finds usable
    (:func:`~returnsim.calibrate.headers.usable_head`) is not read: the reader reads every
    column's cells of the first lines, which costs 20-80 ms a file and says nothing more of
    whether it is usable (no cell makes a report unusable). Any other head is the reader's,
    which says what is wrong with it."""
    with open(path, "rb") as fh:
        head = b"".join(line for _, line in zip(range(50), fh, strict=False))
    known = _probed().get(reader)
    if known is not None and usable_head(head, *known):
        return Report(kind=known[0], name=path.name, data=pd.DataFrame())
    return reader(head)


@dataclass
class Block:
    header: str
    lines: list[str]
    first: int
    """File line number of ``lines[0]`` (the header is line 1)."""
    raw: bytes | None = None
    """The lines' UTF-8 bytes, when they hold no quote and no carriage return (the C parser
    reads them as they are when every line is ordinary)."""
    indented: bool = True
    """Some line may start with white space (so may be blank with its tabs)."""


def read_header(fh: ByteReader, notes: list[str], name: str) -> str:
    """The header line of a file opened in binary mode (its byte-order mark dropped)."""
    return _decode(fh.readline(), notes, name).lstrip("\ufeff").rstrip("\r\n")


def to_block(header: str, raw: bytes, first: int, notes: list[str], name: str) -> Block:
    """A block of a file's lines (their bytes; ``first`` the file line number of the first)."""
    simple = b'"' not in raw and b"\r" not in raw
    text = _decode(raw, notes, name)
    utf8 = not notes  # no block so far (this one included) needed Windows-1252
    # A carriage return alone ends a line too, as the reader splits lines (split_lines): the
    # block's lines and their numbers are the reader's.
    lines = text.split("\n") if simple else split_lines(text)
    if lines and lines[-1] == "":
        lines.pop()
    del text
    indented = any(c.isspace() for c in {ln[:1] for ln in lines})
    return Block(header, lines, first, raw if simple and utf8 else None, indented)


def _decode(raw: bytes, notes: list[str], name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if not notes:
            notes.append(f"{name}: not UTF-8; read as Windows-1252")
        return raw.decode("cp1252", errors="replace")


def column_indices(header: str, columns: Sequence[Column]) -> dict[str, int]:
    """The index of each column found in the header, as the reader finds it."""
    keys = [header_key(h) for h in header.split("\t")]
    out: dict[str, int] = {}
    for c in columns:
        at = next((keys.index(a) for a in c.headers if a in keys), None)
        if at is not None:
            out[c.name] = at
    return out


def ordinary_lines(b: Block, width: int) -> tuple[list[int], list[int]]:
    """The ordinary lines of a block (no quotes, no carriage return, the header's number of
    fields, not repeated in the block), and the other non-blank ones (for the reader)."""
    quoted = b.raw is None and any('"' in ln for ln in b.lines)
    tabs = width - 1
    counts = np.fromiter(map(str.count, b.lines, itertools.repeat("\t")), dtype=np.int64, count=len(b.lines))
    plain = np.flatnonzero(counts == tabs).tolist()
    if b.raw is None:
        plain = [k for k in plain if "\r" not in b.lines[k] and '"' not in b.lines[k]]
    if b.indented:  # a line of white space and tabs is blank
        plain = [k for k in plain if b.lines[k].strip()]
    if quoted:  # a quoted field may span lines: those lines are the reader's
        plain = _outside_quotes(b.lines, plain)
    texts = [b.lines[k] for k in plain]
    if len(set(texts)) < len(texts):  # repeated lines: the reader says which copy is counted
        seen = Counter(texts)
        plain = [k for k, t in zip(plain, texts, strict=True) if seen[t] == 1]
    plain_set = set(plain)
    other = [k for k, ln in enumerate(b.lines) if k not in plain_set and ln.strip()] if len(plain) < len(b.lines) else []
    return plain, other


def _outside_quotes(lines: list[str], plain: list[int]) -> list[int]:
    """The plain lines that are not inside a quoted field spanning lines."""
    inside = np.zeros(len(lines), dtype=bool)
    open_ = False
    for k, ln in enumerate(lines):
        q = ln.count('"') % 2 == 1
        inside[k] = open_ or q
        if q:
            open_ = not open_
    return [k for k in plain if not inside[k]]


def _edges_blank(values: np.ndarray) -> bool:
    """Whether no value starts or ends with white space (so stripping changes none); values of
    ordinary lines hold no tab or newline. Decided on their joined text: exact for ASCII, and
    text with other characters is stripped value by value."""
    text = "\t".join(values.tolist())
    if not text.isascii():
        return False
    for c in _SPACE:
        if c in text and (text.startswith(c) or text.endswith(c) or "\t" + c in text or c + "\t" in text):
            return False
    return True


_ARROW = True
"""Split a block of ordinary lines with pyarrow's CSV reader when pyarrow is installed (it
splits and dictionary-encodes in C, a few times faster than pandas' C parser; the cells are
read the same way after). Without pyarrow, or where it cannot read the block, pandas' parser."""


def _raw_columns(
    b: Block, plain: list[int], used: list[int], coded: set[int], dates: Collection[int] = ()
) -> dict[int, Any] | None:
    """The cells of columns ``used`` of the ordinary lines (white space kept): an object array
    of strings for a column, or (codes, distinct values) for one in ``coded``; one in
    ``dates`` is Arrow's strings when Arrow read the lines. None if the lines do not split into
    as many rows (not expected of ordinary lines)."""
    if _ARROW and b.raw is not None and len(plain) == len(b.lines):
        got = _arrow_columns(b.raw, used, coded, len(plain), dates)
        if got is not None:
            return got
    if b.raw is not None and len(plain) == len(b.lines):
        src: io.IOBase = io.BytesIO(b.raw)
    else:
        src = io.StringIO("\n".join(b.lines[k] for k in plain))
    raw = pd.read_csv(
        src, sep="\t", header=None, usecols=used, dtype=object, keep_default_na=False,
        quoting=csv.QUOTE_NONE, engine="c", skip_blank_lines=False, encoding="utf-8",
    )
    if len(raw) != len(plain):
        return None
    out: dict[int, Any] = {}
    for i in used:
        cells = raw[i].to_numpy(dtype=object)
        if i in coded:
            codes, uniq = pd.factorize(cells)
            out[i] = (codes, np.asarray(uniq, dtype=object))
        else:
            out[i] = cells
    return out


def _arrow_table(raw: bytes, names: list[str], types: dict[str, Any], utf8_known: bool = False) -> Any:
    """The columns ``names`` (``f<i>``, typed by ``types``) of a block of tab-separated lines,
    read by pyarrow's CSV reader with no quoting and every line a row, or None where Arrow
    cannot read them so (the reader's way then reads the block). ``utf8_known``: the caller
    checked the bytes are UTF-8 (Arrow does not check each cell again)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        return pcsv.read_csv(
            pa.py_buffer(raw),
            read_options=pcsv.ReadOptions(autogenerate_column_names=True, use_threads=False, block_size=len(raw) + 1),
            parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False, escape_char=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                include_columns=names, column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False,
                check_utf8=not utf8_known,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError):
        return None


def _arrow_columns(raw: bytes, used: list[int], coded: set[int], rows: int, dates: Collection[int] = ()) -> dict[int, Any] | None:
    """:func:`_raw_columns` by pyarrow's CSV reader (no quoting, every cell a string; a coded
    column's distinct cells and a date column as Arrow's strings), or None if pyarrow is
    missing or cannot read the block as ``rows`` rows."""
    try:
        import pyarrow as pa
    except ImportError:
        return None
    names = [f"f{i}" for i in used]
    table = _arrow_table(raw, names, dict.fromkeys(names, pa.string()))
    if table is None or table.num_rows != rows:
        return None
    out: dict[int, Any] = {}
    for i, name in zip(used, names, strict=True):
        col = table.column(name).combine_chunks()
        if i in coded:
            enc = col.dictionary_encode()
            out[i] = (enc.indices.to_numpy(zero_copy_only=False).astype(np.intp), enc.dictionary)
        elif i in dates:  # (read from their bytes where they can be: see _read_all)
            out[i] = col
        else:
            out[i] = col.to_numpy(zero_copy_only=False).astype(object)
    return out


def read_ordinary(
    b: Block, plain: list[int], where: dict[str, int], columns: Sequence[Column], kind: str, known: dict[str, Known] | None = None
) -> tuple[dict[str, Any], np.ndarray, dict[str, bool]]:
    """The cells of the ordinary lines, read as the reader reads them: the columns (``line``
    and the columns found, in the reader's order, as arrays), which lines cannot be taken as
    they are (a cell the reader cannot read, or a required one empty: they go to the reader,
    which reports them), and the date columns whose values carry no time of day. ``known``:
    the file's few-valued columns' cells read in earlier blocks (updated)."""
    order = [c for c in columns if c.name in where]
    coded = {where[c.name] for c in order if c.kind not in ("id", "date")}
    dates = {where[c.name] for c in order if c.kind == "date"}
    raw = _raw_columns(b, plain, sorted({where[c.name] for c in order}), coded, dates)
    data: dict[str, Any] = {"line": np.asarray(plain, dtype=np.int64) + b.first}
    if raw is None:  # never expected: the reader takes the lines then
        return data, np.ones(len(plain), dtype=bool), {}
    known = {} if known is None else known
    bad = np.zeros(len(plain), dtype=bool)
    day: dict[str, bool] = {}
    required = _REQUIRED.get(kind, ())
    for col in order:
        cells = raw[where[col.name]]
        if col.kind in ("id", "date"):  # mostly distinct values: read them all
            out, wrong_, missing, day_only = _read_all(col, cells)
        else:  # a few distinct values: each read once a file
            codes, uniq = cells
            read, wrong_u = known.setdefault(col.name, Known()).read(col.name, col.kind, uniq)
            out = read.take(codes) if col.kind == "yn" else read.to_numpy()[codes]
            wrong_ = wrong_u[codes]
            missing = pd.isna(read)[codes]
        if col.kind == "date":
            day[col.name] = day_only
        bad |= wrong_
        if col.name in required:
            bad |= missing
        data[col.name] = out
    return data, bad, day


def _read_all(col: Column, cells: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """An id or date column's cells (an object array, or Arrow's strings for a date) read as the
    reader reads them: values, which are unreadable, which are missing, whether no date has a
    time of day. Dates written as ``2026-07-31T22:34:59+00:00`` are read by numpy from their
    digits (:func:`iso_seconds`); a column of repeated cells (a report's days) has each
    distinct cell read once (a cell's reading depends on the cell alone)."""
    if not isinstance(cells, np.ndarray):  # Arrow's dates
        secs = iso_seconds(cells)
        if secs is not None:
            none = np.zeros(len(secs), dtype=bool)
            return secs.astype("datetime64[s]").astype(date_type()), none, none, not (secs % 86_400).any()
        cells = cells.to_numpy(zero_copy_only=False).astype(object)
    if not _edges_blank(cells):
        cells = np.array([s.strip() for s in cells.tolist()], dtype=object)
    codes = None
    if col.kind == "date":
        codes, uniq = pd.factorize(cells)
        if 2 * len(uniq) <= len(cells):
            cells = np.asarray(uniq, dtype=object)
        else:
            codes = None
    values, wrong, day_only = read_cells(col.name, col.kind, pd.Series(cells, dtype=object))
    out, wrong_, missing = values.to_numpy(), wrong.to_numpy(dtype=bool), values.isna().to_numpy()
    if codes is not None:
        out, wrong_, missing = out[codes], wrong_[codes], missing[codes]
    return out, wrong_, missing, day_only


class Known:
    """The distinct cells of a column of a few distinct values read so far in a file, and their
    readings: a value of an earlier block is not read again (a cell's reading depends on the
    cell alone)."""

    def __init__(self) -> None:
        self.at: dict[str, int] = {}
        """Each cell read (white space kept): its place in ``values`` and ``wrong``."""
        self.values: pd.Series | None = None
        self.wrong = np.zeros(0, dtype=bool)
        self._array: Any = None
        """``values``' array."""
        self._cells: Any = None
        """The cells of ``at`` in their order, as an Arrow array, once an Arrow array was read."""

    def _places(self, uniq: Any) -> tuple[np.ndarray, list[str]]:
        """Each of distinct cells ``uniq``'s place in ``values`` (-1 if not read yet), and the
        cells not read yet. An Arrow array's cells are looked up by Arrow (in C, no Python
        string made but for a new cell); an object array's, in ``at``."""
        if isinstance(uniq, np.ndarray):
            cells = uniq.tolist()
            get = self.at.get
            at = np.fromiter((get(u, -1) for u in cells), dtype=np.intp, count=len(cells))
            return at, [cells[i] for i in np.flatnonzero(at < 0).tolist()]
        import pyarrow as pa
        import pyarrow.compute as pc

        if self._cells is None or len(self._cells) < len(self.at):  # cells added from object arrays
            self._cells = pa.array(list(self.at), type=pa.string())
        at = pc.index_in(uniq, value_set=self._cells).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
        new = at < 0
        fresh = uniq.filter(pa.array(new)).to_pylist() if new.any() else []
        if fresh:
            self._cells = pa.concat_arrays([self._cells, pa.array(fresh, type=pa.string())])
        return at, fresh

    def read(self, name: str, kind: str, uniq: Any) -> tuple[Any, np.ndarray]:
        """The readings of distinct cells ``uniq`` (an object array or an Arrow string array;
        white space kept): values, and which are unreadable."""
        at, fresh = self._places(uniq)
        if fresh:
            new = np.flatnonzero(at < 0)
            values, wrong, _ = read_cells(name, kind, pd.Series(fresh, dtype=object).str.strip())
            at[new] = np.arange(len(self.wrong), len(self.wrong) + len(new))
            self.at.update(zip(fresh, at[new].tolist(), strict=True))
            values = values.reset_index(drop=True)
            self.values = values if self.values is None else pd.concat([self.values, values], ignore_index=True)
            self.wrong = np.concatenate([self.wrong, wrong.to_numpy(dtype=bool)])
            self._array = self.values.array
        return self._array.take(at), self.wrong[at]


def simple_cells(
    raw: bytes, rows: int, where: dict[str, int], order: Sequence[Column], later: Collection[str] = ()
) -> dict[str, Any] | None:
    """The cells of a block of ``rows`` lines in which every line is ordinary and every id and
    date reads as it is, read by pyarrow's CSV reader (columns ``order`` at ``where``): an id
    or date column as its reading (values (an id column's as Arrow's strings: what is taken of
    them is made Python strings), which cells are unreadable (none), whether no date
    has a time of day), the dates read by numpy from their digits (:func:`iso_seconds`); any
    other column as (codes, Arrow array of its distinct cells), but a column in ``later`` (one
    the caller reads only some cells of) as an Arrow array of its cells. None when pyarrow is missing or
    a line or cell needs the reader's way: a quote, a carriage return, a line of another number
    of fields, bytes that are not UTF-8, an id empty or with white space (or a character beyond
    ASCII) at an edge, a date not written as ``2026-07-31T22:34:59+00:00``."""
    if not _ARROW or b'"' in raw or b"\r" in raw or not utf8(raw):
        return None
    try:
        import pyarrow as pa
    except ImportError:
        return None
    names = {c.name: f"f{where[c.name]}" for c in order}
    used = sorted(set(names.values()))
    # (a dictionary costs Arrow a hash of every cell: only for the columns read through)
    plain = {c.name for c in order if c.kind in ("id", "date") or c.name in later}
    types = {names[c.name]: pa.string() if c.name in plain else pa.dictionary(pa.int32(), pa.string()) for c in order}
    table = _arrow_table(raw, used, types, utf8_known=True)  # (checked above)
    if table is None or table.num_rows != rows:
        return None
    out: dict[str, Any] = {}
    for c in order:
        col = table.column(names[c.name]).combine_chunks()
        if c.kind == "id":
            if not clean_ids(col):
                return None  # the reader's reading of a clean id is the id itself
            out[c.name] = (col, np.zeros(rows, dtype=bool), False)  # (Arrow's: made strings where taken)
        elif c.kind == "date":
            secs = iso_seconds(col)
            if secs is None:
                return None
            values = secs.astype("datetime64[s]").astype(date_type())
            out[c.name] = (values, np.zeros(rows, dtype=bool), not (secs % 86_400).any())
        elif c.name in later:
            out[c.name] = col
        else:
            out[c.name] = (col.indices.to_numpy(zero_copy_only=False).astype(np.intp), col.dictionary)
    return out


def give_back() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; nothing elsewhere).
    Reading frees far more than it keeps: each block's text, frames and strings are freed when
    the next is read, and glibc keeps freed pages resident. Within a file the next block reuses
    them (the resident size stays flat over a 1 M-order file), and giving them back there only
    costs the next blocks' page faults; the reading gives them back after each file and at its
    end, so its simulation, in the same process, does not run on top of what the reading
    freed."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


@functools.cache
def _probed() -> dict[Callable[[Source], Report], tuple[str, Sequence[Column]]]:
    """The readers whose heads :func:`probe` judges itself: the returns reports' (a plain
    :func:`~returnsim.calibrate.readers.read_report`), by kind and columns. The All Orders
    reader first decides which report a file is (orders or monthly counts): left to it."""
    from ..calibrate.readers import FBA_RETURNS, MFN_RETURNS, read_fba_returns, read_mfn_returns

    return {read_fba_returns: ("fba_returns", FBA_RETURNS), read_mfn_returns: ("mfn_returns", MFN_RETURNS)}
