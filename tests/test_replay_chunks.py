"""The replay's reading shortcuts against the plain ways they replace: a file's blocks of lines
cut from byte chunks (:func:`~returnsim.replay.chunks.raw_blocks`) against reading it a line at
a time, the pass's digest against the file's, the distinct cells of an Arrow column looked up by
Arrow (:class:`~.blocks.Known`), plain numbers and dates read from their bytes or once per
distinct cell against the calibration's reader reading each cell, and orders of several lines
counted once."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from conftest import SEED_SCENARIO
from test_replay import FILES

import returnsim as rs
from returnsim.calibrate.codes import CodeTable
from returnsim.calibrate.tsv import read_cells
from returnsim.replay import blocks, chunks
from returnsim.replay import inputs as inputs_mod
from returnsim.replay.blocks import Known
from returnsim.replay.cells import plain_numbers
from returnsim.replay.chunks import line_bytes, raw_blocks
from returnsim.replay.inputs import file_digest, read_inputs
from returnsim.replay.orders import scan_orders

pa = pytest.importorskip("pyarrow")


def _by_lines(fh: io.BufferedIOBase, block: int) -> Iterator[list[bytes]]:
    """The blocks as read a line at a time: ``block`` lines, then on a line at a time while
    the block's quotes are odd (a quoted field spanning lines is never cut)."""
    while True:
        lines = list(itertools.islice(fh, block))
        if not lines:
            return
        quotes = sum(ln.count(b'"') for ln in lines)
        while quotes % 2:
            more = fh.readline()
            if not more:
                break
            lines.append(more)
            quotes += more.count(b'"')
        yield lines


TEXTS = {
    "plain": b"a\tb\n" * 40,
    "no line end at the end": b"a\tb\nc\td\ne\tf",
    "blank and crlf lines": b"a\tb\r\n\n\t\nc\td\r\n\n",
    "a quoted field over lines": b'a\t"b\nc\nd"\te\n' + b"f\tg\n" * 5 + b'"h\n\ni"\tj\nk\tl\n',
    "a quote never closed": b"a\tb\n" * 3 + b'"c\td\n' + b"e\tf\n" * 4,
    "long lines": (b"x" * 300 + b"\t" + b"y" * 200 + b"\n") * 7 + b'"' + b"z" * 500 + b'"\n',
    "one line": b"a",
    "nothing": b"",
}


@pytest.mark.parametrize("chunk", [1, 3, 16, 1 << 20])
@pytest.mark.parametrize("block", [1, 2, 7, 1000])
@pytest.mark.parametrize("name", list(TEXTS))
def test_byte_chunks_cut_the_blocks_lines_are_read_to(monkeypatch: pytest.MonkeyPatch, name: str, block: int, chunk: int) -> None:
    """Whatever the chunk (smaller than a line, or the whole file), every block holds the same
    lines as read a line at a time, and its line ends give each line back."""
    text = TEXTS[name]
    monkeypatch.setattr(chunks, "CHUNK_BYTES", chunk)
    want = list(_by_lines(io.BytesIO(text), block))
    got = list(raw_blocks(io.BytesIO(text), block))
    assert [raw for raw, _ in got] == [b"".join(lines) for lines in want]
    for (raw, ends), lines in zip(got, want, strict=True):
        assert len(ends) == len(lines)
        assert line_bytes(raw, ends, np.arange(len(lines))) == [ln.removesuffix(b"\n") for ln in lines]
        some = np.arange(len(lines))[::-2]  # any lines, in any order
        assert line_bytes(raw, ends, some) == [lines[k].removesuffix(b"\n") for k in some.tolist()]


def _read(name: str, kind: str, cells: list[str]) -> tuple[list[object], list[bool]]:
    """Each cell read by the calibration's reader on its own (white space stripped first)."""
    values, wrong, _ = read_cells(name, kind, pd.Series(cells, dtype=object).str.strip())
    return values.tolist(), wrong.tolist()


def _same(a: list[object], b: list[object]) -> bool:
    return len(a) == len(b) and all((pd.isna(x) and pd.isna(y)) or x == y for x, y in zip(a, b, strict=True))


BLOCKS = [
    ["12.50", "3", " 7.25 ", "x1"],
    ["3", "12.50", "é9", "", "4.00"],  # the first two read before, the others new
    ["4.00", "x1", "5", "3"],
    ["12.50 ", "8", "é9"],
]


@pytest.mark.parametrize("arrow", ["arrow", "objects", "both"])
def test_known_reads_each_cell_as_the_reader_does(arrow: str) -> None:
    """A file's distinct cells, block after block, read once each and looked up by Arrow (or
    in the dict for object arrays, or both ways in turn in one file, as the orders' fast and
    ordinary blocks share one): every block's readings are the reader's of each cell."""
    known = Known()
    for i, cells in enumerate(BLOCKS):
        as_arrow = arrow == "arrow" or (arrow == "both" and i % 2 == 0)
        uniq = pa.array(cells, type=pa.string()) if as_arrow else np.array(cells, dtype=object)
        values, wrong = known.read("item_price", "money", uniq)
        want_values, want_wrong = _read("item_price", "money", cells)
        assert _same(list(values), want_values), (i, list(values), want_values)
        assert wrong.tolist() == want_wrong
    assert len(known.wrong) == len({c for b in BLOCKS for c in b})  # each distinct cell read once


NUMBERS = ["0", "12.50", "007.5", "999999999", "99999.999", "1.5", ".5", "5.", "1.2.3", "1000000000", "-1", " 1",
           "1 ", "1e5", "12,5", "1,234", "$3", "\u0661", "", "nan", "inf", "0x1F", "3.0"]


@pytest.mark.parametrize("kind", ["money", "count"])
def test_plain_numbers_are_numbers_the_reader_never_finds_unreadable(kind: str) -> None:
    """A column of plain numbers is read for the returned rows alone, so the reader must find
    none of its cells unreadable; plain cells are taken as plain, in any company, and one odd
    cell makes the whole column not plain."""
    integer = kind == "count"
    plain = {c for c in NUMBERS if plain_numbers(pa.array([c], type=pa.string()), integer)}
    _, wrong = _read("x", kind, sorted(plain))
    assert not any(wrong), sorted(plain)
    assert plain == ({"0", "999999999"} if integer else {"0", "12.50", "007.5", "999999999", "99999.999", "1.5", "3.0"})
    assert plain_numbers(pa.array(sorted(plain) * 3, type=pa.string()), integer)
    for odd in set(NUMBERS) - plain:
        assert not plain_numbers(pa.array([*sorted(plain), odd, "1"], type=pa.string()), integer), odd


def test_the_orders_pass_hashes_the_bytes_it_reads(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The pass's digest of the orders is the file's (header, every block and a last line
    without its line end included), and a replay's identity is the one a digest read again
    gives; text handed whole has none (it is hashed by file_digest)."""
    trimmed = tmp_path / "orders.txt"
    trimmed.write_bytes(FILES["orders"].read_bytes().rstrip(b"\n"))
    for path in (FILES["orders"], trimmed):
        _, counts = scan_orders(path, np.zeros(0, dtype=np.uint64), CodeTable.load(), block=64)
        assert counts.digest == file_digest(path)
    _, counts = scan_orders(FILES["orders"].read_bytes(), np.zeros(0, dtype=np.uint64), CodeTable.load())
    assert counts.digest is None
    sc = rs.load_scenario(SEED_SCENARIO)
    digest = read_inputs(sc, **FILES).digest
    real = inputs_mod.scan_orders

    def without(*a, **k):  # the pass's digest dropped: read_inputs hashes the file again
        rep, counts = real(*a, **k)
        counts.digest = None
        return rep, counts

    monkeypatch.setattr(inputs_mod, "scan_orders", without)
    assert read_inputs(sc, **FILES).digest == digest


DATE_COLUMNS = {
    "ISO with times": ["2024-01-10T13:03:56+00:00", "2024-03-01T01:00:00-05:00", "2024-01-10T13:03:56+00:00"],
    "ISO at midnight": ["2024-01-10T00:00:00+00:00", "2024-02-29T00:00:00+00:00"] * 3,
    "days, repeated": ["01-JAN-2024", "05-JAN-2024", "01-JAN-2024", "", "31-FEB-2024", " 05-JAN-2024", "01-JAN-2024", "x"] * 3,
    "days and times": ["01-JAN-2024", "2024-01-01T10:00:00+00:00"] * 3,
    "distinct": ["2024-01-10", "2024-01-11 10:00:00", "31/12/2024", "1999-12-31T23:00:00+00:00"],
}


@pytest.mark.parametrize("as_arrow", [True, False])
@pytest.mark.parametrize("name", list(DATE_COLUMNS))
def test_a_date_column_reads_as_the_reader_reads_each_cell(name: str, as_arrow: bool) -> None:
    """Dates read from their digits (Arrow's ISO dates) or once per distinct cell (a report's
    repeated days): the reader's values (and their type), unreadable and missing cells, and
    whether no date has a time of day."""
    from returnsim.calibrate.readers import Column

    cells = DATE_COLUMNS[name]
    col = Column("return_date", ("return-date",), "date")
    given = pa.array(cells, type=pa.string()) if as_arrow else np.array(cells, dtype=object)
    out, wrong, missing, day_only = blocks._read_all(col, given)
    values, want_wrong, want_day = read_cells("return_date", "date", pd.Series([c.strip() for c in cells], dtype=object))
    np.testing.assert_array_equal(out, values.to_numpy())
    assert out.dtype == values.to_numpy().dtype
    assert wrong.tolist() == want_wrong.tolist() and missing.tolist() == values.isna().tolist()
    assert day_only == want_day


def test_an_order_of_several_lines_is_counted_once(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Orders of two and three lines (another SKU each), some across two blocks: each order is
    counted once, on its day, by the Arrow path as by the other and as its distinct ids say."""
    lines = FILES["orders"].read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    cols = header.split("\t")
    sku = cols.index("sku")
    out = []
    for i, row in enumerate(rows):
        out.append(row)
        for extra in range(i % 3):  # 0, 1 or 2 more lines of the same order
            f = row.split("\t")
            f[sku] = f"{f[sku]}-more{extra}"
            out.append("\t".join(f))
    path = tmp_path / "orders.txt"
    path.write_text("\n".join([header, *out]) + "\n", encoding="utf-8")
    per_day = {}
    for arrow in (True, False):
        monkeypatch.setattr(blocks, "_ARROW", arrow)
        _, counts = scan_orders(path, np.zeros(0, dtype=np.uint64), CodeTable.load(), block=64)
        per_day[arrow] = counts.per_day
    pd.testing.assert_series_equal(per_day[True], per_day[False])
    status = cols.index("order-status")
    counted = {r.split("\t")[0] for r in out if r.split("\t")[status] != "Cancelled"}
    assert per_day[True].sum() == len(counted)
