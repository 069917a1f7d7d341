"""The seller's reports, read a block of lines at a time.

A replay needs two things from a year of orders: how many orders were placed each day, and the
order lines that were returned (their time, item, price and ship country). Both come from one
pass over the All Orders report, a block of lines at a time, so memory does not grow with the
file. The returns reports are read the same way (:func:`read_blocks`), keeping every row.

In each block:

* an ordinary line (no quotes, the header's number of fields, every cell readable, not repeated
  in the block) is split in C (pyarrow's CSV reader when pyarrow is installed and every line of
  the block is ordinary, else pandas' C parser), and each column's cells are read by the
  calibration's cell readers (:func:`~returnsim.calibrate.tsv.read_cells`) once per distinct
  value (a column of a few SKUs, codes or countries is read as those few values), so a cell
  reads exactly as the reader would read it;
* every line that is not ordinary (quoted fields, fields missing, a cell that cannot be read,
  a line repeated in the block) goes through the calibration's reader
  (:func:`~returnsim.calibrate.readers.read_report`), with its tolerance and its problem list,
  renumbered to the file's lines.

An order line is tallied per day (an order counted once, also when its lines are split over two
blocks) and kept only if its order was returned: returned orders are known by a sorted array of
64-bit hashes of their ids (a hash shared by another id only keeps one more line, which the
matching of returns to order lines then ignores).

Duplicates are found across the whole file, as reading it whole finds them: every returns row,
and every kept (returned) order line, is remembered by a 64-bit hash of its fields and the line
it was first seen on (a few dozen bytes a return). Order lines that were not returned are only
counted, and an order's repeated lines count one order whichever block they are in only when the
blocks are next to each other (the report lists an order's lines together).

A file that cannot be streamed this way (UTF-16, old Mac line endings, bytes or text passed in
memory, or one the reader cannot use at all) is read whole by the calibration's reader, which
says what is wrong with it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.codes import CodeTable
from ..calibrate.readers import ALL_ORDERS, Column, ReadProblem, Report, read_orders, read_report
from ..calibrate.tsv import Source, _parse_quoted, _utf16_without_bom, header_key, read_cells

__all__ = ["OrderCounts", "scan_orders", "read_blocks", "order_hashes", "BLOCK_LINES", "RETURN_BLOCK_LINES"]

BLOCK_LINES = 20_000
"""Order lines read at a time: about 3 MB of text, and some 15 MB while its cells are read."""

RETURN_BLOCK_LINES = 10_000
"""Returns report lines read at a time."""

_LINE_REF = re.compile(r"line (\d+)")
"""A line named in a problem's text (``duplicate of line 4``): renumbered as the file's."""

_REQUIRED = {"orders": ("order_id", "purchase_date"), "fba_returns": ("order_id", "return_date"),
             "mfn_returns": ("order_id", "request_date")}
"""Cells an ordinary line must have: a line without one goes to the reader, which says what it
does with it (an order line without its id is skipped and reported, a return is kept)."""

_SPACE = " \r\x0b\x0c\x1c\x1d\x1e\x1f"
"""ASCII characters ``str.strip`` removes besides tab and newline (which no cell of an ordinary
line holds)."""


@dataclasses.dataclass
class OrderCounts:
    """What the counting pass found."""

    per_day: pd.Series
    """Orders (distinct order ids, cancelled left out) per purchase day (a naive UTC date)."""
    countries: Counter
    """Order lines per ship country (for the home market)."""
    lines: int = 0
    days: Counter = dataclasses.field(default_factory=Counter)
    """Orders per day number (days since 1970-01-01), as the blocks add them."""

    def finish(self) -> None:
        """``per_day`` from ``days``."""
        if self.days:
            k = np.fromiter(self.days.keys(), dtype=np.int64, count=len(self.days))
            v = np.fromiter(self.days.values(), dtype=np.int64, count=len(self.days))
            order = np.argsort(k)
            index = pd.DatetimeIndex(k[order].astype("datetime64[D]").astype("datetime64[ns]"))
            self.per_day = pd.Series(v[order].astype(float), index=index)
        else:
            self.per_day = pd.Series(dtype=float)


def order_hashes(ids: Collection[str] | pd.Series | np.ndarray) -> np.ndarray:
    """Sorted distinct 64-bit hashes of order ids (missing ones left out), hashed a slice at a
    time (a column of strings is not copied whole)."""
    values = pd.Series(list(ids) if isinstance(ids, set | frozenset) else ids, copy=False)
    out = [np.zeros(0, dtype=np.uint64)]
    for a in range(0, len(values), 50_000):
        part = values.iloc[a : a + 50_000].dropna()
        if len(part):
            out.append(np.unique(_hash(part.astype(str).to_numpy(dtype=object))))
    return np.unique(np.concatenate(out))


def hash_ids(values: np.ndarray) -> np.ndarray:
    """64-bit hashes of strings (order ids), as uint64."""
    return pd.util.hash_array(np.asarray(values, dtype=object), categorize=False)


_hash = hash_ids


def _in_table(h: np.ndarray, table: pd.Index) -> np.ndarray:
    """Which hashes ``h`` are in ``table`` (an index of distinct hashes: a hash table, built
    once)."""
    if not len(table) or not len(h):
        return np.zeros(len(h), dtype=bool)
    return table.get_indexer(h) >= 0


def _table(h: np.ndarray) -> pd.Index:
    return pd.Index(pd.unique(np.asarray(h, dtype=np.uint64)))


def _count(ids: np.ndarray, dates: np.ndarray, kept: np.ndarray, counts: OrderCounts, last: pd.Index) -> np.ndarray:
    """Add the orders of a block to ``counts``: ``ids`` their 64-bit hashes, ``dates`` their
    purchase dates (naive datetime64, NaT when unreadable), ``kept`` the lines counted (not
    cancelled); ``last``: hashes of the previous block's orders (already counted).
    Returns this block's distinct order hashes."""
    ok = kept & ~np.isnat(dates) & ~_in_table(ids, last)
    first = ~pd.Series(ids[ok]).duplicated().to_numpy()  # an order's first line dates it
    days = dates[ok][first].astype("datetime64[D]").astype(np.int64)
    if len(days):
        low = int(days.min())
        per = np.bincount(days - low)
        at = np.flatnonzero(per)
        counts.days.update(dict(zip((at + low).tolist(), per[at].tolist(), strict=True)))
    return pd.unique(ids)


def _count_frame(df: pd.DataFrame, cancelled: dict[str, str], counts: OrderCounts, last: pd.Index, countries: bool = True) -> np.ndarray:
    """:func:`_count` on rows as the reader gives them (``order_id``, ``purchase_date`` and
    optionally ``status`` and ``ship_country``)."""
    if df.empty:
        return np.zeros(0, dtype=np.uint64)
    if countries and "ship_country" in df:
        counts.countries.update(df["ship_country"].dropna().value_counts().to_dict())
    present = df["order_id"].notna().to_numpy()
    ids = np.zeros(len(df), dtype=np.uint64)
    ids[present] = _hash(df["order_id"].to_numpy(dtype=object)[present])
    kept = present.copy()
    if "status" in df:
        kept &= (df["status"].map(cancelled) != "cancelled").to_numpy()
    dates = pd.to_datetime(df["purchase_date"]).to_numpy(dtype="datetime64[ns]")
    return _count(ids[present], dates[present], kept[present], counts, last)


# --------------------------------------------------------------------------------------------
# blocks of lines
# --------------------------------------------------------------------------------------------


def _streamable(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(65536)
    return not (head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(head) or (b"\r" in head and b"\n" not in head))


def _probe(path: Path, reader: Callable[[Source], Report]) -> Report:
    """The reader on the header and the first lines: can the file be used at all?"""
    with open(path, "rb") as fh:
        head = b"".join(line for _, line in zip(range(50), fh, strict=False))
    return reader(head)


@dataclasses.dataclass
class _Block:
    header: str
    lines: list[str]
    first: int
    """File line number of ``lines[0]`` (the header is line 1)."""
    raw: bytes | None = None
    """The lines' UTF-8 bytes, when they hold no quote and no carriage return (the C parser
    reads them as they are when every line is ordinary)."""
    indented: bool = True
    """Some line may start with white space (so may be blank with its tabs)."""


def _blocks(path: Path, block: int, notes: list[str]) -> Iterator[_Block]:
    """The file's lines a block at a time; a block ends where the quotes balance (never inside
    a quoted field)."""
    with open(path, "rb") as fh:
        header = _decode(fh.readline(), notes, path.name).lstrip("\ufeff").rstrip("\r\n")
        line_no = 2
        while True:
            raw_lines = list(itertools.islice(fh, block))
            if not raw_lines:
                return
            raw = b"".join(raw_lines)
            del raw_lines
            quotes = raw.count(b'"')
            while quotes % 2:  # inside a quoted field: read on to where it closes
                more = fh.readline()
                if not more:
                    break
                raw += more
                quotes += more.count(b'"')
            simple = not quotes and b"\r" not in raw
            text = _decode(raw, notes, path.name)
            utf8 = not notes  # no block so far (this one included) needed Windows-1252
            lines = (text if simple else text.replace("\r\n", "\n")).split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            del text
            indented = any(c.isspace() for c in {ln[:1] for ln in lines})
            yield _Block(header, lines, line_no, raw if simple and utf8 else None, indented)
            del raw
            line_no += len(lines)


def _decode(raw: bytes, notes: list[str], name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if not notes:
            notes.append(f"{name}: not UTF-8; read as Windows-1252")
        return raw.decode("cp1252", errors="replace")


def _read_lines(b: _Block, pick: Sequence[int], kind: str, columns: Sequence[Column], name: str) -> Report:
    """The calibration's reader on some lines of a block; lines in its data and problems are the
    file's."""
    rep = read_report(io.StringIO(b.header + "\n" + "\n".join(b.lines[k] for k in pick) + "\n"), kind, columns)
    orig = np.asarray(pick, dtype=np.int64) + b.first

    def fix(n: int) -> int:  # the reader numbers the lines it was given (header = 1)
        return int(orig[n - 2]) if 2 <= n < len(orig) + 2 else n

    rep.problems = [
        dataclasses.replace(
            p, file=name, line=fix(p.line), problem=_LINE_REF.sub(lambda m: f"line {fix(int(m.group(1)))}", p.problem)
        )
        for p in rep.problems
    ]
    if not rep.data.empty:
        rep.data["line"] = orig[rep.data["line"].to_numpy(dtype=np.int64) - 2]
    rep.name = name
    return rep


def _join(kind: str, name: str, parts: list[Report], problems: list[ReadProblem], notes: list[str], rows: int) -> Report:
    datas = [p.data for p in parts if not p.data.empty]
    data = pd.concat(datas, ignore_index=True) if datas else pd.DataFrame()
    found: dict[str, None] = {}
    day: dict[str, bool] = {}
    for p in parts:
        found.update(dict.fromkeys(p.columns_found))
        for k, v in p.day_resolution.items():
            day[k] = day.get(k, True) and v
    return Report(kind=kind, name=name, data=data, problems=problems, notes=notes, day_resolution=day,
                  columns_found=tuple(found), rows_read=rows)


def _vote(part: Report | None, votes: dict[str, list[bool]]) -> None:
    """Add a part's day resolution of each date column, if it has a readable date in it."""
    if part is None:
        return
    for k, v in part.day_resolution.items():
        has = k in part.data and bool(part.data[k].notna().any())
        votes.setdefault(k, []).extend([v] if has else [])


def _day_resolution(votes: dict[str, list[bool]]) -> dict[str, bool]:
    """Whether each date column's values carry no time of day, over the whole file (as the
    reader decides it: some value is readable, and none has a time)."""
    return {k: bool(v) and all(v) for k, v in votes.items()}


def _where(header: str, columns: Sequence[Column]) -> dict[str, int]:
    """The index of each column found in the header, as the reader finds it."""
    keys = [header_key(h) for h in header.split("\t")]
    out: dict[str, int] = {}
    for c in columns:
        at = next((keys.index(a) for a in c.headers if a in keys), None)
        if at is not None:
            out[c.name] = at
    return out


def _split(b: _Block, width: int) -> tuple[list[int], list[int]]:
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


def _raw_columns(b: _Block, plain: list[int], used: list[int], coded: set[int]) -> dict[int, Any] | None:
    """The cells of columns ``used`` of the ordinary lines (white space kept): an object array
    of strings for a column, or (codes, distinct values) for one in ``coded``. None if the
    lines do not split into as many rows (not expected of ordinary lines)."""
    if _ARROW and b.raw is not None and len(plain) == len(b.lines):
        got = _arrow_columns(b.raw, used, coded, len(plain))
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


def _arrow_columns(raw: bytes, used: list[int], coded: set[int], rows: int) -> dict[int, Any] | None:
    """:func:`_raw_columns` by pyarrow's CSV reader (no quoting, every cell a string), or None
    if pyarrow is missing or cannot read the block as ``rows`` rows."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:
        return None
    names = [f"f{i}" for i in used]
    try:
        table = pcsv.read_csv(
            pa.py_buffer(raw),
            read_options=pcsv.ReadOptions(autogenerate_column_names=True, use_threads=False, block_size=len(raw) + 1),
            parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False, escape_char=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                include_columns=names, column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError):
        return None
    if table.num_rows != rows:
        return None
    out: dict[int, Any] = {}
    for i, name in zip(used, names, strict=True):
        col = table.column(name).combine_chunks()
        if i in coded:
            enc = col.dictionary_encode()
            out[i] = (enc.indices.to_numpy(zero_copy_only=False).astype(np.intp), np.asarray(enc.dictionary.to_pylist(), dtype=object))
        else:
            out[i] = col.to_numpy(zero_copy_only=False).astype(object)
    return out


def _cells(b: _Block, plain: list[int], where: dict[str, int], columns: Sequence[Column], kind: str) -> tuple[dict[str, Any], np.ndarray, dict[str, bool]]:
    """The cells of the ordinary lines, read as the reader reads them: the columns (``line``
    and the columns found, in the reader's order, as arrays), which lines cannot be taken as
    they are (a cell the reader cannot read, or a required one empty: they go to the reader,
    which reports them), and the date columns whose values carry no time of day."""
    order = [c for c in columns if c.name in where]
    coded = {where[c.name] for c in order if c.kind not in ("id", "date")}
    raw = _raw_columns(b, plain, sorted({where[c.name] for c in order}), coded)
    data: dict[str, Any] = {"line": np.asarray(plain, dtype=np.int64) + b.first}
    if raw is None:  # never expected: the reader takes the lines then
        return data, np.ones(len(plain), dtype=bool), {}
    bad = np.zeros(len(plain), dtype=bool)
    day: dict[str, bool] = {}
    required = _REQUIRED.get(kind, ())
    for col in order:
        cells = raw[where[col.name]]
        if col.kind in ("id", "date"):  # mostly distinct values: read them all
            if not _edges_blank(cells):
                cells = np.array([s.strip() for s in cells.tolist()], dtype=object)
            values, wrong, day_only = read_cells(col.name, col.kind, pd.Series(cells, dtype=object))
            out = values.to_numpy()
            wrong_ = wrong.to_numpy(dtype=bool)
            missing = values.isna().to_numpy()
        else:  # a few distinct values: each read once
            codes, uniq = cells
            u = pd.Series(uniq, dtype=object).str.strip()
            values, wrong, day_only = read_cells(col.name, col.kind, u)
            out = values.array.take(codes) if col.kind == "yn" else values.to_numpy()[codes]
            wrong_ = wrong.to_numpy(dtype=bool)[codes]
            missing = values.isna().to_numpy()[codes]
        if col.kind == "date":
            day[col.name] = day_only
        bad |= wrong_
        if col.name in required:
            bad |= missing
        data[col.name] = out
    return data, bad, day


class _Seen:
    """Rows already read, across the whole file: a 64-bit hash of each row's fields (as the
    reader splits them) and the line it was first read on."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.first: dict[int, int] = {}
        self.dropped = pd.DataFrame()

    def _text(self, b: _Block, k: int) -> str:
        """What identifies the row of line ``k``: its fields joined by tabs (an ordinary line's
        text), whatever quoting or trailing tabs wrote them; fields holding a tab or a line
        break (no ordinary line has such fields) are joined by NULs behind a NUL."""
        ln = b.lines[k]
        quoted = '"' in ln
        if not quoted and ln.count("\t") == self.width - 1:
            return ln
        fields = _parse_quoted(b.lines, k, self.width, "\t")[0] if quoted else ln.split("\t")
        while len(fields) > self.width and fields[-1].strip() == "":
            fields = fields[:-1]  # trailing tabs, as the reader drops them
        if quoted and any("\t" in f or "\n" in f for f in fields):
            return "\x00" + "\x00".join(fields)
        return "\t".join(fields)

    def drop_repeats(self, b: _Block, rep: Report, name: str) -> Report:
        """``rep`` (rows of block ``b``) without the rows read before, each reported as the
        reader reports a duplicate (and none of its cells' problems, as the reader skips it);
        the rows dropped are in ``self.dropped``."""
        self.dropped = rep.data.iloc[0:0]
        if rep.data.empty:
            return rep
        rep.data = rep.data.sort_values("line", kind="stable").reset_index(drop=True)
        lines = rep.data["line"].to_numpy(dtype=np.int64)
        repeat = np.zeros(len(lines), dtype=bool)
        dups: dict[int, int] = {}
        keys = _hash(np.array([self._text(b, k) for k in (lines - b.first).tolist()], dtype=object)).tolist()
        for i, (line, key) in enumerate(zip(lines.tolist(), keys, strict=True)):
            was = self.first.get(key)
            if was is None:
                self.first[key] = line
            else:
                repeat[i] = True
                dups[line] = was
        if dups:
            rep.problems = [p for p in rep.problems if p.line not in dups] + [
                ReadProblem(name, line, "", "", f"duplicate of line {was}; counted once") for line, was in dups.items()
            ]
            self.dropped = rep.data[repeat]
            rep.data = rep.data[~repeat].reset_index(drop=True)
        return rep


def _block_rows(
    b: _Block, kind: str, columns: Sequence[Column], name: str, votes: dict[str, list[bool]],
    take: Callable[[dict[str, Any]], np.ndarray] | None = None, keep: Sequence[str] | None = None,
) -> tuple[Report, Report | None, int]:
    """The rows of one block: the ordinary lines read by :func:`_cells`, the others by the
    reader. ``take``: which of the ordinary rows to keep (all by default), given their columns;
    each part's day resolution is added to ``votes`` before. ``keep``: the only columns of the
    ordinary rows to hold (all by default; ``line`` always). Returns the two parts (the second
    None when every line was ordinary) and the number of non-blank lines."""
    width = len(b.header.split("\t"))
    where = _where(b.header, columns)
    plain, other = _split(b, width)
    lines = len(plain) + len(other)
    day: dict[str, bool] = {}
    cols: dict[str, Any] = {"line": np.zeros(0, dtype=np.int64)}
    if plain:
        cols, bad, day = _cells(b, plain, where, columns, kind)
        if bad.any():
            other = sorted(other + [plain[i] for i in np.flatnonzero(bad)])
            cols = {k: v[~bad] for k, v in cols.items()}
    for k, v in day.items():
        has = k in cols and bool((~pd.isna(cols[k])).any())
        votes.setdefault(k, []).extend([v] if has else [])
    if take is not None and len(cols["line"]):
        rows = take(cols)
        cols = {k: v[rows] for k, v in cols.items()}
    if keep is not None:
        cols = {k: v for k, v in cols.items() if k == "line" or k in keep}
    frame = pd.DataFrame(cols) if len(cols["line"]) else pd.DataFrame()
    fast = Report(kind=kind, name=name, data=frame, columns_found=tuple(where))
    slow = _read_lines(b, other, kind, columns, name) if other else None
    _vote(slow, votes)
    return fast, slow, lines


def read_blocks(
    source: Source, reader: Callable[[Source], Report], block: int = RETURN_BLOCK_LINES, keep: Sequence[str] | None = None
) -> Report:
    """A report read by ``reader`` (``read_fba_returns``, ``read_mfn_returns``) a block of
    lines at a time: the same rows and problems as reading it whole (duplicates too, across
    blocks), without the whole file's text in memory at once. ``keep``: the only columns to
    hold (``line`` always), the rest dropped block by block."""

    def pruned(rep: Report) -> Report:
        if keep is not None and not rep.data.empty:
            rep.data = rep.data[[c for c in rep.data.columns if c == "line" or c in keep]]
        return rep

    if not isinstance(source, str | Path) or not _streamable(Path(source)):
        return pruned(reader(source))
    path = Path(source)
    probe = _probe(path, reader)
    if probe.unusable:
        return pruned(reader(path))  # the reader says what is wrong with the whole file
    kind = probe.kind
    columns = _COLUMNS[kind]
    notes: list[str] = []
    parts: list[Report] = []
    problems: list[ReadProblem] = []
    rows = 0
    seen: _Seen | None = None
    votes: dict[str, list[bool]] = {}
    for b in _blocks(path, block, notes):
        seen = seen or _Seen(len(b.header.split("\t")))
        fast, slow, n = _block_rows(b, kind, columns, path.name, votes, keep=keep)
        rows += n
        both = _join(kind, path.name, [fast] + ([slow] if slow else []), slow.problems if slow else [], [], 0)
        both = seen.drop_repeats(b, both, path.name)
        problems.extend(both.problems)
        parts.append(pruned(both))
    rep = _join(kind, path.name, parts, problems, notes, rows)
    rep.day_resolution = _day_resolution(votes)
    return rep


def _columns_by_kind() -> dict[str, tuple[Column, ...]]:
    from ..calibrate.readers import FBA_RETURNS, MFN_RETURNS

    return {"fba_returns": FBA_RETURNS, "mfn_returns": MFN_RETURNS, "orders": ALL_ORDERS}


_COLUMNS = _columns_by_kind()


# --------------------------------------------------------------------------------------------
# the All Orders report
# --------------------------------------------------------------------------------------------


def _returned_table(returned: Collection[str] | np.ndarray) -> pd.Index:
    if isinstance(returned, np.ndarray) and returned.dtype == np.uint64:
        return _table(returned)
    return _table(order_hashes(returned))


def _is_returned(df: pd.DataFrame, table: pd.Index) -> np.ndarray:
    ids = df["order_id"]
    present = ids.notna().to_numpy()
    out = np.zeros(len(df), dtype=bool)
    if present.any():
        out[present] = _in_table(_hash(ids.to_numpy(dtype=object)[present]), table)
    return out


def _whole(source: Source, returned: Collection[str] | np.ndarray, codes: CodeTable) -> tuple[Report, OrderCounts]:
    rep = read_orders(source)
    counts = OrderCounts(per_day=pd.Series(dtype=float), countries=Counter(), lines=rep.rows_read)
    if rep.unusable or rep.kind != "orders":
        return rep, counts
    _count_frame(rep.data, codes.value_map("order_status"), counts, _table(np.zeros(0, dtype=np.uint64)))
    counts.finish()
    rep.data = rep.data[_is_returned(rep.data, _returned_table(returned))].reset_index(drop=True)
    return rep, counts


class _Tally:
    """Counts the orders of a file's blocks, and says which lines to keep (the returned)."""

    def __init__(self, counts: OrderCounts, cancelled: dict[str, str], table: pd.Index) -> None:
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
        ids = _hash(cols["order_id"])
        counted = np.ones(len(ids), dtype=bool)
        if "status" in cols:
            counted = ~pd.Series(cols["status"], dtype=object).isin(self.cancelled_codes).to_numpy()
        dates = np.asarray(cols["purchase_date"], dtype="datetime64[ns]")
        self.ids = pd.unique(np.concatenate([self.ids, _count(ids, dates, counted, self.counts, self.last)]))
        return _in_table(ids, self.table)

    def frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Count the reader's rows' orders (not those counted already); the returned rows."""
        done = _table(np.concatenate([self.last.to_numpy(), self.ids]))
        self.ids = pd.unique(np.concatenate([self.ids, _count_frame(df, self.cancelled, self.counts, done)]))
        return df[_is_returned(df, self.table)]

    def uncount(self, repeats: pd.DataFrame) -> None:
        """Take back this block's count of the orders of ``repeats`` (lines read in an earlier
        block, which counted their order): an order counted in this block was counted once,
        whatever its lines."""
        if repeats.empty:
            return
        before = self.counts.days.copy()
        self.counts.days = Counter()
        _count_frame(repeats, self.cancelled, self.counts, self.last, countries=False)
        took = self.counts.days
        self.counts.days = before
        self.counts.days.subtract(took)

    def next_block(self) -> None:
        self.last, self.ids = _table(self.ids), np.zeros(0, dtype=np.uint64)


def scan_orders(
    source: Source, returned: Collection[str] | np.ndarray, codes: CodeTable, block: int = BLOCK_LINES
) -> tuple[Report, OrderCounts]:
    """Count the orders per day of an All Orders report and read its returned lines.

    Args:
        source: the report (a path is streamed; bytes or text are read whole).
        returned: order ids of the returns being replayed (or their :func:`order_hashes`):
            their lines are kept.
        codes: the code table (which order statuses are cancellations).
        block: lines read at a time.

    Returns:
        The returned lines as a :class:`Report` (the reader's columns, every problem found in the
        file), and the :class:`OrderCounts`.
    """
    if not isinstance(source, str | Path) or not _streamable(Path(source)):
        return _whole(source, returned, codes)
    path = Path(source)
    probe = _probe(path, read_orders)
    if probe.unusable or probe.kind != "orders":
        return _whole(path, returned, codes)  # the reader says what is wrong, or reads counts
    table = _returned_table(returned)
    cancelled = codes.value_map("order_status")
    counts = OrderCounts(per_day=pd.Series(dtype=float), countries=Counter())
    notes: list[str] = []
    parts: list[Report] = []
    problems: list[ReadProblem] = []
    tally = _Tally(counts, cancelled, table)
    seen: _Seen | None = None
    votes: dict[str, list[bool]] = {}
    for b in _blocks(path, block, notes):
        seen = seen or _Seen(len(b.header.split("\t")))
        fast, slow, n = _block_rows(b, "orders", ALL_ORDERS, path.name, votes, take=tally)
        counts.lines += n
        if slow is not None and not slow.data.empty:
            slow.data = tally.frame(slow.data)
        both = _join("orders", path.name, [fast] + ([slow] if slow else []), slow.problems if slow else [], [], 0)
        # Only returned lines are remembered (they are few); the others are only counted.
        both = seen.drop_repeats(b, both, path.name)
        tally.uncount(seen.dropped)
        problems.extend(both.problems)
        parts.append(both)
        tally.next_block()
    counts.finish()
    rep = _join("orders", path.name, parts, problems, notes, counts.lines)
    rep.day_resolution = _day_resolution(votes)
    if rep.data.empty:
        rep.data = pd.DataFrame(columns=["line", "order_id", "purchase_date"])
    return rep, counts
