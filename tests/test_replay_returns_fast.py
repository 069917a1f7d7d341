"""The returns reports' plain blocks read by Arrow (issue 20, docs/replay.md "Speed and memory"):
a block whose every line is ordinary and whose every cell reads without a problem is read by
pyarrow and numpy (:mod:`returnsim.replay.plain`), any other by its lines' way (the C split and
the calibration's reader). Both must give IDENTICAL results: the replay's arrays of each
return, the report's problems, notes, day resolution and columns. Each case below changes a
shipped returns report in a way the Arrow path must either read exactly or leave to the
other way, and compares the two (the Arrow path switched off by ``plain._ARROW``)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from test_replay import FILES

import returnsim as rs
from returnsim.calibrate.codes import CodeTable
from returnsim.calibrate.readers import read_fba_returns, read_mfn_returns
from returnsim.calibrate.tsv import read_cells
from returnsim.replay.cells import day_dates
from returnsim.replay.returns import Coded, read_returns
from returnsim.replay.rows import read_blocks

plain_mod = sys.modules["returnsim.replay.plain"]
rows_mod = sys.modules["returnsim.replay.rows"]

READERS = {"fba_returns": read_fba_returns, "mfn_returns": read_mfn_returns}
TEXT = {k: FILES[k].read_text(encoding="utf-8").splitlines() for k in READERS}
NAME = {"fba_returns": "product-name", "mfn_returns": "Item Name"}
ID = {"fba_returns": "order-id", "mfn_returns": "Order ID"}
DATE = {"fba_returns": "return-date", "mfn_returns": "Return request date"}
REASONS = {r: i for i, r in enumerate(rs.load_scenario("scenarios/seed_policies.toml").reasons)}
BLOCK = 24
"""Lines a block in the comparisons: small enough that most blocks of a damaged report are
plain (Arrow's) and the damaged ones are not, large enough that the lines' way, which reads a
block's cells column by column, does not cost seconds a case."""


def _set(kind: str, row: str, column: str, value: str) -> str:
    f = row.split("\t")
    f[TEXT[kind][0].split("\t").index(column)] = value
    return "\t".join(f)


def _unchanged(kind, rows):
    return rows


def _quoted(kind, rows):
    rows[10] = _set(kind, rows[10], NAME[kind], '"a name with\ta tab and ""quotes"""')
    rows[40] = _set(kind, rows[40], NAME[kind], '"a name over\ntwo lines"')
    return rows


def _day_dates(kind, rows):
    """Request dates without their time, in each way the reader reads them."""
    for i, d in zip(range(5, 90, 9), ["2024-04-08", "08-04-2024", "08-APR-2024", "08-Apr-2024", "08.04.2024",
                                       "2024-04-08 13:00:00", "08-APR-2024 13:00:00", "2024-04-08T13:00:00Z", "8-APR-2024"],
                    strict=False):
        rows[i] = _set(kind, rows[i], DATE[kind], d)
    return rows


def _times(kind, rows):
    """A block of dates written as ISO dates with offsets, one without time, one of days in
    two forms and one of days as 21-10-2024 (day-only where the report has times, and the
    other way round)."""
    for i in range(16, 32):
        rows[i] = _set(kind, rows[i], DATE[kind], f"2024-04-{i - 10:02d}T{i - 10:02d}:15:00{'-07:00' if i % 2 else '+09:30'}")
    for i in range(48, 64):
        rows[i] = _set(kind, rows[i], DATE[kind], f"2024-05-{i - 40:02d}")
    for i in range(64, 80):
        rows[i] = _set(kind, rows[i], DATE[kind], f"{i - 60:02d}-10-2024" if i % 3 else f"{i - 60:02d}-Oct-2024")
    for i in range(80, 88):
        rows[i] = _set(kind, rows[i], DATE[kind], f"{i - 60:02d}-10-2024")
    return rows


def _odd_dates(kind, rows):
    for i, d in zip(range(3, 90, 11), ["31/13/2025", "1999-12-31T23:00:00+00:00", "2024-02-30T00:00:00+00:00", "",
                                        "2024-01-01T00:30:00+15:00", "tomorrow", " 2024-04-08T10:00:00+00:00"], strict=False):
        rows[i] = _set(kind, rows[i], DATE[kind], d)
    return rows


def _cells(kind, rows):
    """Cells the reader reports, and cells it reads after some cleaning."""
    if kind == "mfn_returns":
        changes = [("Label cost", "abc"), ("Refunded Amount", "$1,234.50"), ("Return quantity", "1.5"), ("In policy", "maybe"),
                   ("A-to-Z Claim", "y"), ("Order Amount", "-3"), ("Return Reason", " CR-DEFECTIVE "), ("SafeT claim id", " 77 "),
                   ("Label to be paid by", "Seller"), ("Merchant SKU", "")]
    else:
        changes = [("quantity", "two"), ("quantity", "1.0"), ("reason", ""), ("sku", " SYN-apparel-03 "), ("asin", ""),
                   ("detailed-disposition", "sellable"), ("quantity", "3")]
    for i, (col, v) in zip(range(4, 90, 8), changes, strict=False):
        rows[i] = _set(kind, rows[i], col, v)
    return rows


def _numbers(kind, rows):
    """Money and counts Arrow reads itself when every distinct cell of a block's column is a
    plain number: whole numbers only in the first block (pandas reads them as int64 there),
    leading zeros, nine digits, points anywhere between digits; and numbers it leaves to the
    reader (a point first or last, an exponent, ten digits, which the reader reports)."""
    if kind == "mfn_returns":
        for i in range(24):
            rows[i] = _set(kind, rows[i], "Label cost", str(i % 7 + 1))
            rows[i] = _set(kind, rows[i], "Refunded Amount", str(10 * i))
            rows[i] = _set(kind, rows[i], "Order Amount", f"0{i + 5}")
        for i, v in zip(range(30, 90, 3), ["123456789", "12345.6789", "0.5", "007.50", "99999999.9", "1.000", ".5", "5.",
                                            "1e3", "1234567890", "0", "000000003"], strict=False):
            rows[i] = _set(kind, rows[i], "Refunded Amount", v)
            rows[i + 1] = _set(kind, rows[i + 1], "Return quantity", v if "." not in v else "2")
    else:
        for i in range(24):
            rows[i] = _set(kind, rows[i], "quantity", ["1", "2", "10", "01"][i % 4])
        for i, v in zip(range(30, 90, 5), ["0", "000000003", "123456789", "1234567890", "2.0", "3."], strict=False):
            rows[i] = _set(kind, rows[i], "quantity", v)
    return rows


def _ids(kind, rows):
    rows[7] = _set(kind, rows[7], ID[kind], "")
    rows[25] = _set(kind, rows[25], ID[kind], " " + rows[25].split("\t")[TEXT[kind][0].split("\t").index(ID[kind])])
    rows[60] = _set(kind, rows[60], ID[kind], rows[60].split("\t")[TEXT[kind][0].split("\t").index(ID[kind])] + "\u00a0")
    rows[70] = _set(kind, rows[70], ID[kind], "123-ÄÖÜ")
    return rows


def _duplicates(kind, rows):
    rows.insert(80, rows[3])  # another block than its first copy
    rows.insert(20, rows[19])  # the same block
    rows.insert(50, rows[30] + "\t")  # the same row with a trailing tab
    return rows


def _trailing_tabs(kind, rows):
    """Every line of the first blocks with a tab after its last field (which the reader drops:
    a row copied without it elsewhere is a duplicate)."""
    rows = [r + "\t" if i < 40 else r for i, r in enumerate(rows)]
    rows.insert(60, rows[5][:-1])
    return rows


def _blank(kind, rows):
    rows.insert(13, "")
    rows.insert(41, "\t" * (len(TEXT[kind][0].split("\t")) - 1))
    rows.insert(42, "   ")
    rows[70] = "\t".join(rows[70].split("\t")[:5])
    return rows


CASES = {
    "unchanged": (_unchanged, "\n", "utf-8", ""),
    "quoted fields": (_quoted, "\n", "utf-8", ""),
    "dates without time": (_day_dates, "\n", "utf-8", ""),
    "offsets and days": (_times, "\n", "utf-8", ""),
    "unreadable dates": (_odd_dates, "\n", "utf-8", ""),
    "odd cells": (_cells, "\n", "utf-8", ""),
    "plain numbers": (_numbers, "\n", "utf-8", ""),
    "odd ids": (_ids, "\n", "utf-8", ""),
    "duplicates": (_duplicates, "\n", "utf-8", ""),
    "blank and short lines": (_blank, "\n", "utf-8", ""),
    "trailing tabs": (_trailing_tabs, "\n", "utf-8", ""),
    "byte-order mark": (_unchanged, "\n", "utf-8-sig", ""),
    "Windows line ends": (_unchanged, "\r\n", "utf-8", ""),
    "Windows-1252": (lambda k, r: [_set(k, x, NAME[k], "Café") if i == 50 else x for i, x in enumerate(r)], "\n", "cp1252", ""),
    "no final newline": (_unchanged, "\n", "utf-8", "strip"),
}


def _write(tmp_path, kind: str, case: str):
    change, end, encoding, last = CASES[case]
    rows = change(kind, list(TEXT[kind][1:]))
    text = end.join([TEXT[kind][0], *rows]) + end
    path = tmp_path / f"{kind}.txt"
    path.write_bytes((text.rstrip(end) if last == "strip" else text).encode(encoding))
    return path


def _read(path, kind, block, monkeypatch, arrow: bool):
    """read_returns and read_blocks (every column) with or without the Arrow path; which
    blocks the Arrow path read."""
    monkeypatch.setattr(plain_mod, "_ARROW", arrow)
    real = rows_mod.plain_block
    used: list[bool] = []

    def counted(*a, **k):
        got = real(*a, **k)
        used.append(got is not None)
        return got

    monkeypatch.setattr(rows_mod, "plain_block", counted)
    rep, rows = read_returns(path, READERS[kind], CodeTable.load(), REASONS, block=block)
    every = read_blocks(path, READERS[kind], block=block)
    return rep, rows, every, used


def _same_report(a, b) -> None:
    pd.testing.assert_frame_equal(a.data, b.data)  # the columns and their types, all rows
    assert [str(p) for p in a.problems] == [str(p) for p in b.problems]
    assert (a.kind, a.name, a.notes, a.day_resolution, a.rows_read, a.columns_found) == (
        b.kind, b.name, b.notes, b.day_resolution, b.rows_read, b.columns_found)


def _same_array(a, b, name) -> None:
    if isinstance(a, Coded):
        _same_array(a.codes, b.codes, name + ".codes")
        _same_array(a.values, b.values, name + ".values")
        return
    if a is None or b is None:
        assert a is None and b is None, name
        return
    assert a.dtype == b.dtype and a.shape == b.shape, name
    same = np.array_equal(a, b, equal_nan=True) if a.dtype.kind in "fcmM" else all(x == y or (x != x and y != y) for x, y in zip(a.tolist(), b.tolist(), strict=True))
    assert same, name


def _same_rows(a, b) -> None:
    assert (a is None) == (b is None)
    if a is None:
        return
    for name in ("kind", "name", "channel", "day_only", "notes"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("order", "has_order", "oid", "item", "sku", "asin", "date", "quantity", "reason", "in_policy"):
        _same_array(getattr(a, name), getattr(b, name), name)
    pd.testing.assert_frame_equal(a.happened, b.happened)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", list(READERS))
def test_the_arrow_path_reads_what_the_lines_way_reads(kind, case, tmp_path, monkeypatch):
    path = _write(tmp_path, kind, case)
    for block in (BLOCK, 10_000):
        rep, rows, every, used = _read(path, kind, block, monkeypatch, arrow=True)
        base, base_rows, base_every, used_base = _read(path, kind, block, monkeypatch, arrow=False)
        assert not any(used_base)
        _same_report(rep, base)
        _same_rows(rows, base_rows)
        _same_report(every, base_every)
        assert rows is not None and len(rows) > 50
        if block == BLOCK and case not in ("Windows line ends",):
            assert any(used), case  # the blocks without anything odd are Arrow's
        if case == "Windows line ends":
            assert not any(used)


@pytest.mark.parametrize("case", ["quoted fields", "unreadable dates", "odd cells", "odd ids", "duplicates", "blank and short lines"])
def test_a_block_with_something_odd_is_left_to_the_lines_way(case, tmp_path, monkeypatch):
    """Each odd line makes its block the lines' way (and only its block)."""
    for kind in READERS:
        path = _write(tmp_path, kind, case)
        rep, _, _, used = _read(path, kind, 8, monkeypatch, arrow=True)
        assert not all(used) and any(used)
        assert rep.problems or case in ("quoted fields", "odd ids")


def test_days_read_by_numpy_are_the_readers_days():
    """20,000 days across 2000-2100 written as 31-JUL-2026 (in any case) and as 31-07-2026,
    with leap days and empty cells: the reader's values, in its type."""
    rng = np.random.default_rng(7)
    days = rng.integers(np.datetime64("2000-01-01", "D").astype(int), np.datetime64("2101-01-01", "D").astype(int), 20_000)
    when = days.astype("datetime64[D]").astype(object)
    named = [d.strftime("%d-%b-%Y") for d in when]
    named = [c.upper() if i % 3 else c.lower() if i % 2 else c for i, c in enumerate(named)] + ["29-FEB-2024", "29-Feb-2000"]
    numbered = [d.strftime("%d-%m-%Y") for d in when] + ["29-02-2024", "", "01-01-2000"]
    for cells in (named, numbered, named + [""] * 3, ["31-DEC-2100"]):
        got = day_dates(pa.array(cells))
        want = read_cells("d", "date", pd.Series(cells, dtype=object))[0].to_numpy()
        assert got is not None and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "day", ["29-FEB-2023", "31-APR-2024", "01-JAN-1999", "01-JAN-2101", "1-JAN-2024", "01 JAN 2024", "01-JNA-2024", "00-JAN-2024",
            "01-13-2024", "31-04-2024", "2024-01-01", "01-JAN-2024 ", "01.01.2024", "01-JAN-2024 10:00:00", "01-01-202a"],
)
def test_a_day_numpy_cannot_read_exactly_leaves_its_block_to_the_reader(day):
    """Not a real day, a year outside 2000-2100, another way of writing it, or a time: the
    block's dates are the reader's (which reads or reports them)."""
    assert day_dates(pa.array(["01-JAN-2024" if len(day) == 11 else "01-01-2024", day])) is None


def test_the_1_m_order_reports_blocks_are_all_arrows(tmp_path, monkeypatch):
    """A synthetic year's returns reports (the form Amazon writes: ISO dates with offsets, or
    days as 31-JUL-2026; money, Y/N, codes) are read by Arrow, every block of them."""
    from returnsim.calibrate import synthetic_reports

    sc = rs.load_scenario("scenarios/seed_policies.toml")
    synthetic_reports(sc, "seed", seed=3, months=2).write(tmp_path)
    for kind in READERS:
        path = tmp_path / f"synthetic_{kind}.txt"
        rep, rows, _, used = _read(path, kind, 64, monkeypatch, arrow=True)
        assert len(used) > 2 and all(used), kind
        base, base_rows, _, _ = _read(path, kind, 64, monkeypatch, arrow=False)
        _same_report(rep, base)
        _same_rows(rows, base_rows)


def _heads(kind: str) -> dict[str, bytes]:
    """Heads of files a returns report may be passed as: its own, and the reader's every reason
    for an unusable report (and near misses that are usable)."""
    header, rows = TEXT[kind][0], TEXT[kind][1:60]
    cols = header.split("\t")
    other = "fba_returns" if kind == "mfn_returns" else "mfn_returns"

    def without(name: str) -> str:
        return "\t".join(c for c in cols if c != name)

    return {
        "the report": "\n".join([header, *rows, ""]).encode(),
        "a header alone": (header + "\n").encode(),
        "blank lines first": ("\n \n" + header + "\n" + rows[0] + "\n").encode(),
        "a quoted header": ("\t".join(f'"{c}"' for c in cols) + "\n" + rows[0] + "\n").encode(),
        "upper-case headers": (header.upper().replace("-", " ") + "\n" + rows[0] + "\n").encode(),
        "empty": b"",
        "blank": b"\n\n  \n",
        "no order id column": (without(ID[kind]) + "\n").encode(),
        "no date column": (without(DATE[kind]) + "\n").encode(),
        "no known column": b"a\tb\tc\n1\t2\t3\n",
        "the other returns report": "\n".join([TEXT[other][0], *TEXT[other][1:5], ""]).encode(),
        "data, no header": "\n".join(rows[:5]).encode(),
        "a zip archive": b"PK\x03\x04" + header.encode(),
        "NUL bytes": (header + "\n").encode() + b"\x00\x01" * 8,
        "Windows-1252": (header + "\n" + _set(kind, rows[0], NAME[kind], "Café")).encode("cp1252"),
        "UTF-16": (header + "\n" + rows[0] + "\n").encode("utf-16"),
    }


@pytest.mark.parametrize("kind", list(READERS))
def test_the_probe_finds_usable_what_the_reader_finds_usable(kind, tmp_path):
    """The probe judges a returns report's head itself, without reading its cells: whatever
    the head, it must say what the reader says of it (the file's kind, and whether it is
    usable; the probe of a file the reader cannot use is the reader's)."""
    from returnsim.replay.blocks import probe

    for what, head in _heads(kind).items():
        path = tmp_path / "head.txt"
        path.write_bytes(head)
        got, want = probe(path, READERS[kind]), READERS[kind](head)
        assert (got.kind, bool(got.unusable)) == (want.kind, bool(want.unusable)), what
        if want.unusable:  # the reader's own words
            assert got.unusable == want.unusable, what


@pytest.mark.parametrize(
    "blocks",
    [[["1", "2"], ["3.5", "4"], ["5"]], [["1.5"], ["2"]], [["abc", "1"], ["2"]], [["", "1"], ["3"]], [["007", "1"], ["1.0", "2"], ["2"]],
     [["2"], ["$3"], ["4"]], [["123456789"], ["0.000001"], ["1"]], [["1"], ["1", "2.25"], ["3"]]],
)
@pytest.mark.parametrize("kind", ["money", "count"])
def test_plain_numbers_read_by_arrow_are_the_readers_block_after_block(blocks, kind):
    """A money or count column's distinct cells block after block, read by Arrow where every
    cell is a plain number and by the file's known cells otherwise: each block's values and
    their type (int64 until the column has had a float) are what the known cells alone give."""
    from returnsim.calibrate.readers import Column
    from returnsim.replay.blocks import Known

    col = Column("amount", ("amount",), kind)
    alone: dict = {}
    mixed: dict = {}
    for cells in blocks:
        want, wrong = alone.setdefault("amount", Known()).read("amount", kind, pa.array(cells, type=pa.string()))
        want = want.to_numpy()
        # (a slice of a longer array, as Arrow may hand a column: its bytes start further on)
        got = plain_mod._plain_numbers(col, pa.array(["0123456789"] + cells, type=pa.string()).slice(1), mixed)
        if got is None:
            got = mixed.setdefault("amount", Known()).read("amount", kind, pa.array(cells, type=pa.string()))[0].to_numpy()
        else:
            assert not wrong.any()
        assert got.dtype == want.dtype, (cells, got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "ids",
    [["123-1234567-1234567"] * 3, ["a", np.nan, "bc"], [np.nan, np.nan], [None, "x"], ["ab\x00", "c"], ["é1", "x"], ["", "a"],
     [np.str_("ab"), "cd"], [5, "x"], [1.5, np.nan], [pd.NA, "a"], []],
)
def test_order_ids_of_strings_are_what_the_general_way_gives(ids):
    """Ids that are all strings are hashed and made bytes without being made strings again;
    what they give is the general way's (each id as ``str``, numpy's text, then bytes)."""
    from returnsim.replay.keys import id_keys as hash_ids
    from returnsim.replay.returns import order_ids, utf8_bytes

    values = np.array(ids, dtype=object)
    present = ~pd.isna(values)
    h, got_present = order_ids(values)
    want = np.zeros(len(values), dtype=np.uint64)
    want[present] = hash_ids(pd.Series(values[present], dtype=object).astype(str).to_numpy(dtype=object))
    np.testing.assert_array_equal(got_present, present)
    np.testing.assert_array_equal(h, want)
    text = np.where(present, values, "")
    try:
        general = np.asarray(text, dtype=str).astype(bytes)
    except UnicodeEncodeError:
        general = np.array([s.encode("utf-8") for s in text.tolist()], dtype=bytes)
    got = utf8_bytes(values, present)
    assert got.dtype == general.dtype
    np.testing.assert_array_equal(got, general)
