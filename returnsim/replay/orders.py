"""The seller's reports, read a block of lines at a time.

A replay needs two things from a year of orders: how many orders were placed each day, and the
order lines that were returned (their time, item, price and ship country). Both come from one
pass over the All Orders report, a block of lines at a time, so memory does not grow with the
file:

* an ordinary line (no quotes, the header's number of fields, every cell readable) is split by
  pandas' C parser and its cells read by the calibration's cell readers
  (:func:`~returnsim.calibrate.tsv.read_cells`): it is tallied per day, and kept if its order
  was returned;
* every line that is not ordinary (quoted fields, fields missing, a cell that cannot be read,
  a repeated line) goes through the calibration's reader
  (:func:`~returnsim.calibrate.readers.read_report`), with its tolerance and its problem list,
  renumbered to the file's lines.

The returns reports are read by the same reader a block at a time (:func:`read_blocks`). A file
that cannot be streamed this way (UTF-16, old Mac line endings, bytes or text passed in memory,
or one the reader cannot use at all) is read whole by the calibration's reader, which says what
is wrong with it.

Duplicate lines are found within a block (as the reader finds them within a file); an order's
lines split over two blocks are counted once.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..calibrate.codes import CodeTable
from ..calibrate.readers import ALL_ORDERS, Column, ReadProblem, Report, read_orders, read_report
from ..calibrate.tsv import Source, _utf16_without_bom, header_key, read_cells

__all__ = ["OrderCounts", "scan_orders", "read_blocks", "BLOCK_LINES"]

BLOCK_LINES = 10_000
"""Order lines read at a time: a few MB of text."""

RETURN_BLOCK_LINES = 2_000
"""Returns report lines read at a time: each goes through the reader, whose rows of all 32
columns take some hundred bytes a field while a block is read."""

_LINE_REF = re.compile(r"line (\d+)")
"""A line named in a problem's text (``duplicate of line 4``): renumbered as the file's."""

_FIELDS = {c.name: c for c in ALL_ORDERS}


@dataclasses.dataclass
class OrderCounts:
    """What the counting pass found."""

    per_day: pd.Series
    """Orders (distinct order ids, cancelled left out) per purchase day (a naive UTC date)."""
    countries: Counter
    """Order lines per ship country (for the home market)."""
    lines: int = 0


def _member(values: pd.Series, ids: set[str]) -> np.ndarray:
    """Which values are in ``ids`` (a set lookup a value: pandas' ``isin`` copies a large set
    into a list at every call)."""
    return np.fromiter((v in ids for v in values.tolist()), dtype=bool, count=len(values))


def _count(df: pd.DataFrame, cancelled: dict[str, str], counts: OrderCounts, last: set[str]) -> set[str]:
    """Add the orders of ``df`` (``order_id``, ``purchase_date`` and optionally ``status`` and
    ``ship_country``) to ``counts``; ``last``: order ids already counted in the previous block.
    Returns this block's order ids."""
    if df.empty:
        return set()
    keep = np.array(df["purchase_date"].notna())
    if "status" in df:
        keep &= np.array(df["status"].map(cancelled) != "cancelled")
    if "ship_country" in df:
        counts.countries.update(df["ship_country"].dropna().tolist())
    d = df.loc[keep, ["order_id", "purchase_date"]]
    d = d[~_member(d["order_id"], last)].drop_duplicates("order_id")
    days = pd.to_datetime(d["purchase_date"]).dt.normalize()
    counts.per_day = counts.per_day.add(days.value_counts(), fill_value=0)
    return set(df["order_id"].dropna().tolist())


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


def _blocks(path: Path, block: int, notes: list[str]) -> Iterator[_Block]:
    """The file's lines a block at a time; a block ends where the quotes balance (never inside
    a quoted field)."""
    with open(path, "rb") as fh:
        header = _decode(fh.readline(), notes, path.name).lstrip("\ufeff").rstrip("\r\n")
        line_no = 2
        while True:
            raw_lines: list[bytes] = []
            quotes = 0
            for raw in fh:
                raw_lines.append(raw)
                quotes += raw.count(b'"')
                if len(raw_lines) >= block and quotes % 2 == 0:
                    break
            if not raw_lines:
                return
            text = _decode(b"".join(raw_lines), notes, path.name)
            lines = text.replace("\r\n", "\n").split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            yield _Block(header, lines, line_no)
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


def read_blocks(
    source: Source, reader: Callable[[Source], Report], block: int = RETURN_BLOCK_LINES, keep: Sequence[str] | None = None
) -> Report:
    """A report read by ``reader`` (``read_fba_returns``, ``read_mfn_returns``) a block of
    lines at a time: the same rows and problems as reading it whole, without the whole file's
    text and rows in memory at once (duplicates are found within a block). ``keep``: the only
    columns to hold (``line`` always), the rest dropped block by block."""

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
    for b in _blocks(path, block, notes):
        pick = [k for k, ln in enumerate(b.lines) if ln.strip()]
        rows += len(pick)
        rep = pruned(_read_lines(b, pick, kind, columns, path.name))
        problems.extend(rep.problems)
        parts.append(rep)
    return _join(kind, path.name, parts, problems, notes, rows)


def _columns_by_kind() -> dict[str, tuple[Column, ...]]:
    from ..calibrate.readers import FBA_RETURNS, MFN_RETURNS

    return {"fba_returns": FBA_RETURNS, "mfn_returns": MFN_RETURNS, "orders": ALL_ORDERS}


_COLUMNS = _columns_by_kind()


# --------------------------------------------------------------------------------------------
# the All Orders report
# --------------------------------------------------------------------------------------------


def _whole(source: Source, returned: set[str], codes: CodeTable) -> tuple[Report, OrderCounts]:
    rep = read_orders(source)
    counts = OrderCounts(per_day=pd.Series(dtype=float), countries=Counter(), lines=rep.rows_read)
    if rep.unusable or rep.kind != "orders":
        return rep, counts
    _count(rep.data, codes.value_map("order_status"), counts, set())
    rep.data = rep.data[_member(rep.data["order_id"], returned)].reset_index(drop=True)
    return rep, counts


def scan_orders(
    source: Source, returned: set[str], codes: CodeTable, block: int = BLOCK_LINES
) -> tuple[Report, OrderCounts]:
    """Count the orders per day of an All Orders report and read its returned lines.

    Args:
        source: the report (a path is streamed; bytes or text are read whole).
        returned: order ids of the returns being replayed: their lines are kept.
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
    cancelled = codes.value_map("order_status")
    counts = OrderCounts(per_day=pd.Series(dtype=float), countries=Counter())
    notes: list[str] = []
    parts: list[Report] = []
    problems: list[ReadProblem] = []
    last: set[str] = set()
    for b in _blocks(path, block, notes):
        keys = [header_key(h) for h in b.header.split("\t")]
        where = {c.name: next((keys.index(a) for a in c.headers if a in keys), None) for c in ALL_ORDERS}
        width = len(keys)
        quoted = any('"' in ln for ln in b.lines)
        plain = [
            k for k, ln in enumerate(b.lines)
            if ln.count("\t") == width - 1 and ln.strip() and not (quoted and '"' in ln)
        ]
        if quoted:  # a quoted field may span lines: those lines are the reader's
            plain = _outside_quotes(b.lines, plain)
        frame, bad, day_only = _plain_cells(b.lines, plain, {k: i for k, i in where.items() if i is not None})
        dup = pd.Series([b.lines[k] for k in plain], dtype=object).duplicated(keep=False).to_numpy() if plain else np.zeros(0, bool)
        slow = (bad | dup) if len(frame) else np.zeros(0, bool)
        counts.lines += sum(1 for ln in b.lines if ln.strip())
        fast = frame[~slow] if len(frame) else frame
        block_ids = _count(fast, cancelled, counts, last) if len(fast) else set()
        if len(fast):
            # The returned lines among the ordinary ones, as the reader would give them.
            keep = _member(fast["order_id"], returned)
            data = fast[keep].copy()
            data.insert(0, "line", np.asarray(plain, dtype=np.int64)[~slow][keep] + b.first)
            parts.append(Report(kind="orders", name=path.name, data=data.reset_index(drop=True),
                                day_resolution={"purchase_date": day_only},
                                columns_found=tuple(k for k, i in where.items() if i is not None)))
        plain_set = set(plain)
        to_reader = sorted({k for k, ln in enumerate(b.lines) if k not in plain_set and ln.strip()} | {plain[i] for i in np.flatnonzero(slow)})
        if to_reader:
            rep = _read_lines(b, to_reader, "orders", ALL_ORDERS, path.name)
            problems.extend(rep.problems)
            if not rep.data.empty:
                block_ids |= _count(rep.data, cancelled, counts, last | block_ids)
                rep.data = rep.data[_member(rep.data["order_id"], returned)]
            parts.append(rep)
        last = block_ids
    rep = _join("orders", path.name, parts, problems, notes, counts.lines)
    if rep.data.empty:
        rep.data = pd.DataFrame(columns=["line", "order_id", "purchase_date"])
    return rep, counts


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


def _plain_cells(lines: list[str], plain: list[int], used: dict[str, int]) -> tuple[pd.DataFrame, np.ndarray, bool]:
    """The cells of the plain lines (pandas' C parser), read as the reader reads them; which
    lines have a cell that cannot be read or a required cell empty (they go to the reader,
    which reports them); whether the dates carry no time of day."""
    if not plain:
        return pd.DataFrame(), np.zeros(0, bool), True
    order = [c.name for c in ALL_ORDERS if c.name in used]
    raw = pd.read_csv(
        io.StringIO("\n".join(lines[k] for k in plain)),
        sep="\t",
        header=None,
        usecols=[used[c] for c in order],
        dtype=object,
        keep_default_na=False,
        quoting=csv.QUOTE_NONE,
        engine="c",
    )
    raw = raw[[used[c] for c in order]]
    raw.columns = order
    frame = pd.DataFrame(index=raw.index)
    bad = np.zeros(len(raw), dtype=bool)
    day_only = True
    for name in order:
        values, wrong, day = read_cells(name, _FIELDS[name].kind, raw[name].str.strip())
        frame[name] = values.to_numpy()
        bad |= wrong.to_numpy()
        if name in ("order_id", "purchase_date"):
            bad |= values.isna().to_numpy()
        if name == "purchase_date":
            day_only = bool(day)
    return frame, bad, day_only
