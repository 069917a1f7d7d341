"""A returns report's rows, read a block of lines at a time (:func:`read_blocks`), and the rows
of one block of any report (:func:`block_rows`, which the orders' pass uses too).

A plain block (every line ordinary, every cell readable as it is: what Amazon writes) is read
by Arrow (:mod:`.plain`). In any other block, the ordinary lines are read by :mod:`.blocks`;
every line that is not ordinary
(quoted fields, fields missing, a cell that cannot be read, a line repeated in the block) goes
through the calibration's reader (:func:`~returnsim.calibrate.readers.read_report`), with its
tolerance and its problem list, renumbered to the file's lines. Duplicates are found across
the whole file, as reading it whole finds them: rows are remembered by a 64-bit hash of their
fields and the line they were first read on (:class:`Seen`, sorted arrays: 16 bytes a row). A file
that cannot be streamed (UTF-16, old Mac line endings, bytes or text passed in memory, or one
the reader cannot use at all) is read whole by the calibration's reader, which says what is
wrong with it.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.readers import (
    ALL_ORDERS,
    FBA_RETURNS,
    MFN_RETURNS,
    Column,
    ReadProblem,
    Report,
    read_report,
)
from ..calibrate.tsv import Source, _parse_quoted
from .blocks import (
    Block,
    Known,
    column_indices,
    ordinary_lines,
    probe,
    read_header,
    read_ordinary,
    streamable,
    to_block,
)
from .chunks import raw_blocks
from .keys import id_keys
from .plain import plain_block, rows_of

__all__ = ["read_blocks", "block_rows", "Seen", "RETURN_BLOCK_LINES"]

RETURN_BLOCK_LINES = 10_000
"""Returns report lines read at a time."""

_LINE_REF = re.compile(r"line (\d+)")
"""A line named in a problem's text (``duplicate of line 4``): renumbered as the file's."""

_DUPLICATE = re.compile(r"^duplicate of line (\d+);")
"""The reader's text for a row repeated (the line of the first copy)."""


def read_lines(b: Block, pick: Sequence[int], kind: str, columns: Sequence[Column], name: str) -> Report:
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


def join_parts(kind: str, name: str, parts: list[Report], problems: list[ReadProblem], notes: list[str], rows: int) -> Report:
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


def vote(day: Mapping[str, bool], data: Mapping[str, Any] | pd.DataFrame, votes: dict[str, list[bool]]) -> None:
    """Add a part's day resolution of each date column (``day``), if the part's column in
    ``data`` (a frame, or columns by name) has a readable date in it."""
    for k, v in day.items():
        has = k in data and bool((~pd.isna(data[k])).any())
        votes.setdefault(k, []).extend([v] if has else [])


def day_resolution(votes: dict[str, list[bool]]) -> dict[str, bool]:
    """Whether each date column's values carry no time of day, over the whole file (as the
    reader decides it: some value is readable, and none has a time)."""
    return {k: bool(v) and all(v) for k, v in votes.items()}


class Seen:
    """Rows already read, across the whole file: a 64-bit hash of each row's fields (as the
    reader splits them) and the line it was first read on."""

    def __init__(self, width: int) -> None:
        self.width = width
        # Sorted distinct row hashes and the line each was first read on: 16 bytes a row (a
        # dict of Python ints was about 100), merged block by block.
        self.keys = np.zeros(0, dtype=np.uint64)
        self.lines = np.zeros(0, dtype=np.int64)
        self.dropped = pd.DataFrame()

    def _text(self, b: Block, k: int) -> str:
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

    def drop_repeats(self, b: Block, rep: Report, name: str) -> Report:
        """``rep`` (rows of block ``b``) without the rows read before, each reported as the
        reader reports a duplicate (and none of its cells' problems, as the reader skips it);
        the rows dropped are in ``self.dropped``."""
        self.dropped = rep.data.iloc[0:0]
        if rep.data.empty:
            return rep
        rep.data = rep.data.sort_values("line", kind="stable").reset_index(drop=True)
        lines = rep.data["line"].to_numpy(dtype=np.int64)
        return self.drop_keyed(rep, id_keys(np.array([self._text(b, k) for k in (lines - b.first).tolist()], dtype=object)), name)

    def _stored(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of hashes ``h`` were stored before, and where in ``keys`` (clipped)."""
        if not len(self.keys):
            return np.zeros(len(h), dtype=np.intp), np.zeros(len(h), dtype=bool)
        at = np.minimum(np.searchsorted(self.keys, h), len(self.keys) - 1)
        return at, self.keys[at] == h

    def remember(self, hashes: np.ndarray, lines: np.ndarray) -> None:
        """Store new rows' distinct hashes and the line each was first read on (the block's
        sorted, then merged into the sorted keys)."""
        self._merge(hashes, lines, only_new=False)

    def remember_new(self, hashes: np.ndarray, lines: np.ndarray) -> bool:
        """Store the rows of ``hashes`` (a block's, distinct: its lines are) as :meth:`remember`
        does if none of them was stored before, and say so; else store nothing and say False
        (the caller then drops the repeats by :meth:`drop_keyed`)."""
        return self._merge(hashes, lines, only_new=True)

    def _merge(self, hashes: np.ndarray, lines: np.ndarray, only_new: bool) -> bool:
        """Merge ``hashes`` (and their lines) into the sorted keys, sorted once and looked up
        sorted; with ``only_new``, nothing if one was stored before (False)."""
        h = np.asarray(hashes, dtype=np.uint64)
        order = np.argsort(h)
        add = h[order]
        at = np.searchsorted(self.keys, add)
        if only_new and len(self.keys) and (self.keys[np.minimum(at, len(self.keys) - 1)] == add).any():
            return False
        self.keys, self.lines = np.insert(self.keys, at, add), np.insert(self.lines, at, np.asarray(lines, dtype=np.int64)[order])
        return True

    def drop_keyed(self, rep: Report, hashes: np.ndarray, name: str) -> Report:
        """:meth:`drop_repeats` given the rows (in line order) and their rows' hashes."""
        self.dropped = rep.data.iloc[0:0]
        lines = rep.data["line"].to_numpy(dtype=np.int64)
        if not len(lines):
            return rep
        # A row repeats one read in an earlier block (the line stored for its hash), else the
        # first of its hash in this block (rows are in line order: the first is the earliest).
        codes, uniq = pd.factorize(np.asarray(hashes, dtype=np.uint64))
        uniq = np.asarray(uniq, dtype=np.uint64)
        first_at = np.flatnonzero(~pd.Index(codes).duplicated())  # factorize's order: first seen
        at, before = self._stored(uniq)
        was_u = np.where(before, self.lines[at], lines[first_at]) if len(self.keys) else lines[first_at]
        was = was_u[codes]
        repeat = was != lines
        if not before.all():
            self.remember(uniq[~before], was_u[~before])
        dups = dict(zip(lines[repeat].tolist(), was[repeat].tolist(), strict=True))
        if dups:
            # A row the reader found repeated in this block names the block's first copy; if
            # that copy repeats a row of an earlier block, the reader of the whole file names
            # the earlier row.
            def first_copy(m: re.Match[str]) -> str:
                n = int(m.group(1))
                return f"duplicate of line {dups.get(n, n)};"

            rep.problems = [
                dataclasses.replace(p, problem=_DUPLICATE.sub(first_copy, p.problem)) for p in rep.problems if p.line not in dups
            ] + [ReadProblem(name, line, "", "", f"duplicate of line {was}; counted once") for line, was in dups.items()]
            self.dropped = rep.data[repeat]
            rep.data = rep.data[~repeat].reset_index(drop=True)
        return rep


def block_rows(
    b: Block, kind: str, columns: Sequence[Column], name: str, votes: dict[str, list[bool]],
    take: Callable[[dict[str, Any]], np.ndarray] | None = None, keep: Sequence[str] | None = None,
    known: dict[str, Known] | None = None,
) -> tuple[Report, Report | None, int]:
    """The rows of one block: the ordinary lines read by :func:`read_ordinary`, the others by the
    reader. ``take``: which of the ordinary rows to keep (all by default), given their columns;
    each part's day resolution is added to ``votes`` before. ``keep``: the only columns of the
    ordinary rows to hold (all by default; ``line`` always). ``known``: the file's distinct
    cells read so far (:class:`~.blocks.Known`). Returns the two parts (the second
    None when every line was ordinary) and the number of non-blank lines."""
    width = len(b.header.split("\t"))
    where = column_indices(b.header, columns)
    plain, other = ordinary_lines(b, width)
    lines = len(plain) + len(other)
    day: dict[str, bool] = {}
    cols: dict[str, Any] = {"line": np.zeros(0, dtype=np.int64)}
    if plain:
        cols, bad, day = read_ordinary(b, plain, where, columns, kind, known)
        if bad.any():
            other = sorted(other + [plain[i] for i in np.flatnonzero(bad)])
            cols = {k: v[~bad] for k, v in cols.items()}
    vote(day, cols, votes)
    if take is not None and len(cols["line"]):
        rows = take(cols)
        cols = {k: v[rows] for k, v in cols.items()}
    if keep is not None:
        cols = {k: v for k, v in cols.items() if k == "line" or k in keep}
    frame = pd.DataFrame(cols) if len(cols["line"]) else pd.DataFrame()
    fast = Report(kind=kind, name=name, data=frame, columns_found=tuple(where))
    slow = read_lines(b, other, kind, columns, name) if other else None
    if slow is not None:
        vote(slow.day_resolution, slow.data, votes)
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

    if not isinstance(source, str | Path) or not streamable(Path(source)):
        return pruned(reader(source))
    path = Path(source)
    head = probe(path, reader)
    if head.unusable:
        return pruned(reader(path))  # the reader says what is wrong with the whole file
    kind = head.kind
    notes: list[str] = []
    parts: list[Report] = []
    problems: list[ReadProblem] = []
    rows = 0
    votes: dict[str, list[bool]] = {}
    for both, n, _ in report_blocks(path, kind, block, notes, votes, keep):
        rows += n
        problems.extend(both.problems)
        parts.append(pruned(both))
    rep = join_parts(kind, path.name, parts, problems, notes, rows)
    rep.day_resolution = day_resolution(votes)
    return rep


def report_blocks(
    path: Path, kind: str, block: int, notes: list[str], votes: dict[str, list[bool]], keep: Sequence[str] | None = None,
    arrays: bool = False,
) -> Iterator[tuple[Report, int, dict[str, Any] | None]]:
    """Each block of lines of ``path``, a report of ``kind``, as a report of its rows (rows
    repeating one anywhere earlier in the file dropped, with a problem each), the block's
    lines, and (``arrays``) a plain block's rows as arrays instead of its report's frame
    (which has then no columns; None for the other blocks; text and codes as
    :class:`~.plain.Taken`, ids that read as they are as Arrow's strings: ``plain_block``'s
    ``coded``); ``notes`` and ``votes`` (day
    resolution) collect over the file. A plain block is read by Arrow
    (:func:`.plain.plain_block`), any other by its lines' way (:func:`block_rows`); a column's
    distinct cells are read once per file (:class:`.blocks.Known`)."""
    columns = _COLUMNS[kind]
    known: dict[str, Known] = {}
    with open(path, "rb") as fh:
        header = read_header(fh, notes, path.name)
        width = len(header.split("\t"))
        seen = Seen(width)
        where = column_indices(header, columns)
        first = 2
        for raw, ends in raw_blocks(fh, block):
            # (after a block that was not UTF-8, the lines' way reads the rest, as it notes)
            plain = None if notes else plain_block(raw, len(ends), first, width, where, columns, kind, known, keep, coded=arrays)
            if plain is not None:
                n = len(ends)
                vote(plain.day, plain.dates, votes)
                # (most blocks: what drop_keyed does with new lines, without a frame; the block's
                # lines are distinct, or it would not be plain)
                if arrays and seen.remember_new(plain.hashes, plain.cols["line"]):
                    yield Report(kind=kind, name=path.name, data=pd.DataFrame(), columns_found=tuple(where)), n, plain.cols
                elif arrays:  # duplicates found by the lines alone, the columns kept as arrays
                    rep = seen.drop_keyed(Report(kind=kind, name=path.name, data=pd.DataFrame({"line": plain.cols["line"]}),
                                                 columns_found=tuple(where)), plain.hashes, path.name)
                    kept = np.isin(plain.cols["line"], rep.data["line"].to_numpy(), assume_unique=True)
                    cols = plain.cols if kept.all() else rows_of(plain.cols, kept)
                    rep.data = pd.DataFrame()
                    yield rep, n, cols
                else:
                    fast = Report(kind=kind, name=path.name, data=pd.DataFrame(plain.cols), columns_found=tuple(where))
                    yield seen.drop_keyed(fast, plain.hashes, path.name), n, None
            else:
                b = to_block(header, raw, first, notes, path.name)
                n = len(b.lines)
                fast, slow, lines = block_rows(b, kind, columns, path.name, votes, keep=keep, known=known)
                both = join_parts(kind, path.name, [fast] + ([slow] if slow else []), slow.problems if slow else [], [], 0)
                del fast, slow  # (the block's frames go as soon as joined)
                yield seen.drop_repeats(b, both, path.name), lines, None
            first += n


_COLUMNS: dict[str, tuple[Column, ...]] = {"fba_returns": FBA_RETURNS, "mfn_returns": MFN_RETURNS, "orders": ALL_ORDERS}
