"""The orders pass read by Arrow (issue 20, docs/replay.md "Speed and memory"): a block of
ordinary lines whose ids and dates read as they are is read by pyarrow and numpy, any other by
the lines' way (pandas' parser and the calibration's reader). Both must give IDENTICAL results:
the returned rows, every problem, the notes, the day resolution, the orders per day and per
country. Each case below changes the shipped All Orders report in a way the Arrow path must
either read exactly or leave to the other path, and compares the two (pyarrow switched off by
``blocks._ARROW``)."""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from test_replay import FILES

from returnsim.calibrate.codes import CodeTable
from returnsim.calibrate.tsv import read_cells
from returnsim.replay.cells import iso_seconds
from returnsim.replay.match import LineParts
from returnsim.replay.orders import order_hashes, scan_orders
from returnsim.replay.returns import Coded

blocks_mod = sys.modules["returnsim.replay.blocks"]
orders_mod = sys.modules["returnsim.replay.orders"]

LINES = FILES["orders"].read_text(encoding="utf-8").splitlines()
HEADER, ROWS = LINES[0], LINES[1:]
COLS = HEADER.split("\t")


def _set(row: str, column: str, value: str) -> str:
    f = row.split("\t")
    f[COLS.index(column)] = value
    return "\t".join(f)


def _quoted(rows):
    rows[30] = _set(rows[30], "product-name", '"a name with\ta tab and ""quotes"""')
    rows[95] = _set(rows[95], "product-name", '"a name over\ntwo lines"')
    return rows


def _odd_dates(rows):
    for i, d in zip(range(5, 400, 37), ["31-07-2024", "2024-07-31", "2024-07-31T22:34:59Z", "2024-07-31 22:34:59+00:00",
                                         "2024-03-01T01:00:00-05:00", "2024-01-01T00:30:00+05:30", "31/13/2025",
                                         "1999-12-31T23:00:00+00:00", "", "2024-02-30T00:00:00+00:00", "31-JUL-2024"], strict=True):
        rows[i] = _set(rows[i], "purchase-date", d)
    return rows


def _offsets(rows):
    """Every date of a block of its own written with an offset (read by the Arrow path)."""
    for i in range(50, 100):
        rows[i] = rows[i].replace("+00:00", "-07:00" if i % 2 else "+09:30")
    return rows


def _cancelled(rows):
    for i in range(3, 600, 11):
        rows[i] = _set(rows[i], "order-status", "Cancelled")
    return rows


NOT_RETURNED = ROWS[301].split("\t")[0]


def _duplicates(rows):
    rows.insert(1001, rows[301])  # another block (of 64) than its first copy; not returned
    rows.insert(900, rows[650])  # another block; returned
    rows.insert(140, rows[5])
    rows.insert(12, rows[11])  # the same block
    return rows


def _padded(rows):
    rows[20] = _set(rows[20], "ship-country", " US ")
    rows[70] = _set(rows[70], "amazon-order-id", rows[70].split("\t")[0] + "\u00a0")
    rows[130] = _set(rows[130], "purchase-date", " " + rows[130].split("\t")[COLS.index("purchase-date")])
    rows[200] = _set(rows[200], "item-price", "$1,234.50")
    return rows


def _problems(rows):
    rows[10] = _set(rows[10], "item-price", "abc")
    rows[80] = _set(rows[80], "quantity", "1.5")
    rows[150] = _set(rows[150], "ship-country", "USA")
    rows[160] = "\t".join(rows[160].split("\t")[:5])
    rows[170] = _set(rows[170], "amazon-order-id", "")
    return rows


def _blank(rows):
    rows.insert(33, "")
    rows.insert(90, "\t" * (len(COLS) - 1))
    rows.insert(91, "   ")
    return rows


def _unchanged(rows):
    return rows


def _empty_cells(rows):
    """Empty codes, countries, quantities and prices on returned lines (every fifth line is
    returned): a block whose only new cell of a column is the empty one is read by the reader
    alone, and its missing value must be the same as where it is read beside others."""
    for i in range(0, 300, 5):
        for column in ("currency", "ship-country", "order-status", "quantity", "item-price"):
            rows[i] = _set(rows[i], column, "")
    return rows


CASES = {
    "unchanged": (_unchanged, "\n", "utf-8", ""),
    "quoted fields": (_quoted, "\n", "utf-8", ""),
    "odd dates": (_odd_dates, "\n", "utf-8", ""),
    "offsets": (_offsets, "\n", "utf-8", ""),
    "cancelled": (_cancelled, "\n", "utf-8", ""),
    "duplicates": (_duplicates, "\n", "utf-8", ""),
    "padded cells": (_padded, "\n", "utf-8", ""),
    "unreadable cells": (_problems, "\n", "utf-8", ""),
    "blank lines": (_blank, "\n", "utf-8", ""),
    "byte-order mark": (_unchanged, "\n", "utf-8-sig", ""),
    "Windows line ends": (_unchanged, "\r\n", "utf-8", ""),
    "Windows-1252": (lambda r: [_set(x, "product-name", "Café") if i == 300 else x for i, x in enumerate(r)], "\n", "cp1252", ""),
    "no final newline": (_unchanged, "\n", "utf-8", "strip"),
    "empty cells": (_empty_cells, "\n", "utf-8", ""),
}


def _write(tmp_path, case: str):
    change, end, encoding, last = CASES[case]
    rows = change(list(ROWS))
    text = end.join([HEADER, *rows]) + end
    path = tmp_path / "orders.txt"
    path.write_bytes((text.rstrip(end) if last == "strip" else text).encode(encoding))
    ids = [r.split("\t")[0].strip() for r in rows]
    twice = {r.split("\t")[0] for r, n in Counter(rows).items() if n > 1}
    return path, (set(ids[::5]) | twice) - {NOT_RETURNED}


def _scan(path, returned, block, monkeypatch, arrow: bool):
    """scan_orders with or without pyarrow; also how many blocks the Arrow path read."""
    monkeypatch.setattr(blocks_mod, "_ARROW", arrow)
    real = orders_mod._simple_block
    used: list[bool] = []

    def counted(*a, **k):
        got = real(*a, **k)
        used.append(got is not None)
        return got

    monkeypatch.setattr(orders_mod, "_simple_block", counted)
    rep, counts = scan_orders(path, returned, CodeTable.load(), block=block)
    return rep, counts, used


def _identical(a, b) -> None:
    (ra, ca), (rb, cb) = a, b
    pd.testing.assert_frame_equal(ra.data, rb.data)
    assert [str(p) for p in ra.problems] == [str(p) for p in rb.problems]
    assert (ra.notes, ra.day_resolution, ra.rows_read, ra.columns_found) == (rb.notes, rb.day_resolution, rb.rows_read, rb.columns_found)
    pd.testing.assert_series_equal(ca.per_day, cb.per_day)
    assert ca.countries == cb.countries and ca.lines == cb.lines


@pytest.mark.parametrize("case", list(CASES))
def test_the_arrow_path_reads_what_the_other_path_reads(case, tmp_path, monkeypatch):
    path, returned = _write(tmp_path, case)
    for block in (64, 20_000):
        rep, counts, used = _scan(path, returned, block, monkeypatch, arrow=True)
        base, base_counts, used_base = _scan(path, returned, block, monkeypatch, arrow=False)
        assert not any(used_base)
        _identical((rep, counts), (base, base_counts))
        assert len(rep.data) > 0 and counts.per_day.sum() > 0
        if block == 64 and case not in ("byte-order mark", "Windows line ends"):
            # Blocks without anything odd are Arrow's; with Windows line ends none is (nor
            # after a block that was not UTF-8, whose note the other path writes).
            assert any(used), case
        if case == "Windows line ends":
            assert not any(used)


def test_every_block_of_a_clean_report_is_read_by_arrow(tmp_path, monkeypatch):
    path, returned = _write(tmp_path, "unchanged")
    _, _, used = _scan(path, returned, 64, monkeypatch, arrow=True)
    assert used and all(used)


@pytest.mark.parametrize("case", ["quoted fields", "odd dates", "padded cells", "unreadable cells", "blank lines", "duplicates"])
def test_a_block_with_something_odd_is_left_to_the_other_path(case, tmp_path, monkeypatch):
    """Each odd line makes its block the other path's (and only its block)."""
    path, returned = _write(tmp_path, case)
    _, _, used = _scan(path, returned, 64, monkeypatch, arrow=True)
    assert not all(used) and any(used)


def test_the_problems_of_a_damaged_file_are_the_readers(tmp_path, monkeypatch):
    """The problems found by either path are the reader's own (at the file's lines)."""
    path, returned = _write(tmp_path, "unreadable cells")
    rep, _, _ = _scan(path, returned, 64, monkeypatch, arrow=True)
    text = [str(p) for p in rep.problems]
    assert any("item-price" in t and "'abc'" in t for t in text)
    assert any("has 5 fields" in t for t in text)
    assert any("empty; row skipped" in t for t in text)


def _iso(t: int, minutes: int) -> str:
    local = np.datetime64(int(t) + int(minutes) * 60, "s").astype(object)
    sign = "-" if minutes < 0 else "+"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def test_iso_dates_read_by_numpy_are_the_readers_dates():
    """20,000 dates across 2000-2100 with offsets up to 14 hours either way, and leap days."""
    rng = np.random.default_rng(20)
    secs = rng.integers(np.datetime64("2000-01-02", "s").astype(int), np.datetime64("2100-12-30", "s").astype(int), 20_000)
    offsets = rng.integers(-14 * 60, 14 * 60 + 1, 20_000)
    dates = [_iso(t, m) for t, m in zip(secs, offsets, strict=True)] + ["2024-02-29T00:00:00+00:00", "2000-02-29T12:00:00+00:00"]
    got = iso_seconds(pa.array(dates))
    want = read_cells("d", "date", pd.Series(dates, dtype=object))[0].to_numpy()
    assert got is not None
    np.testing.assert_array_equal(got.astype("datetime64[s]").astype(want.dtype), want)


@pytest.mark.parametrize(
    "date",
    ["2023-02-29T00:00:00+00:00", "2024-04-31T00:00:00+00:00", "2024-13-01T00:00:00+00:00", "2024-01-01T24:00:00+00:00",
     "2024-01-01T00:60:00+00:00", "2024-01-01 00:00:00+00:00", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00+15:00",
     "2000-01-01T00:30:00+01:00", "2100-12-31T23:00:00-02:00", "2024-01-01T00:00:00*00:00", "2024-0a-01T00:00:00+00:00",
     "31-07-2024", ""],
)
def test_a_date_numpy_cannot_read_exactly_leaves_its_block_to_the_reader(date):
    """Not a real day or time, another way of writing it, an offset beyond 14 hours, a year
    outside 2000-2100 once in UTC: the block is the reader's (which reads or reports it)."""
    assert iso_seconds(pa.array(["2024-01-01T00:00:00+00:00", date])) is None


class _FramesOnly(LineParts):
    """The orders' pass's sink without :meth:`~LineParts.arrays`: every block's returned lines
    come as a frame, as before the plain blocks handed them over as arrays."""

    arrays = None  # type: ignore[assignment]


def _lines_equal(a, b) -> None:
    for f in dataclasses.fields(a):
        if f.name == "lookup":
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, Coded) or isinstance(y, Coded):
            assert np.array_equal(x.codes, y.codes), f.name
            assert pd.Series(x.values, dtype=object).equals(pd.Series(y.values, dtype=object)), f.name
        elif x is None or y is None:
            assert x is None and y is None, f.name
        else:
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name


@pytest.mark.parametrize("case", list(CASES))
def test_returned_lines_handed_over_as_arrays_are_the_frames_lines(case, tmp_path):
    """A plain block's returned lines go to the matching as arrays (no frame of strings): the
    same lines, cancelled ones left out, as the frame of the same rows gives (line_part)."""
    path, returned = _write(tmp_path, case)
    for block in (64, 20_000):
        got = []
        for sink in (LineParts(CodeTable.load()), _FramesOnly(CodeTable.load())):
            rep, counts = scan_orders(path, order_hashes(returned), CodeTable.load(), block=block, sink=sink)
            notes: list[str] = []
            parts = len(sink.parts)
            got.append((rep, counts, sink.join("US", notes), notes, parts))
        (ra, ca, la, na, pa_), (rb, cb, lb, nb, pb) = got
        _identical((ra, ca), (rb, cb))
        assert list(ra.data.columns) == list(rb.data.columns) and ra.data.empty
        _lines_equal(la, lb)
        assert na == nb and len(la) > 0
        if block == 64 and case == "unchanged":
            assert pa_ > pb  # (the arrays came block by block: the way under test was taken)
