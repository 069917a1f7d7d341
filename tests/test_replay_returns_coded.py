"""A plain block's columns read ``coded`` (issue 20, docs/replay.md "Speed and memory"): text and
codes as places in their few readings (:class:`~returnsim.replay.plain.Taken`), ids as Arrow's
strings, days read once per distinct cell. Each way must give exactly what the arrays of a row
each give: these compare them on cases the shipped reports do not hold (places out of order, two
places reading one value, missing values, ids of several lengths)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from returnsim.replay.cells import day_dates
from returnsim.replay.returns import Coded, _through, arrow_bytes, utf8_bytes

plain = sys.modules["returnsim.replay.plain"]
cells_module = sys.modules["returnsim.replay.cells"]


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert [type(x) for x in a.tolist()] == [type(y) for y in b.tolist()]
    assert all(x == y or (x != x and y != y) for x, y in zip(a.tolist(), b.tolist(), strict=True))


@pytest.mark.parametrize("at", [[3, 0, 3, 2, 1, 0, 4, 2], [4, 4, 1], [2], []])
def test_codes_of_places_are_the_codes_of_their_rows(at):
    """Places 3 and 0 come first (their readings first, whatever their places' order); places
    0 and 2 read one value (one code); place 1 is missing (-1), place 4 too (None)."""
    values = np.array(["b", "x", "b", "a", None], dtype=object)
    values[1] = np.nan
    taken = plain.Taken(values, np.asarray(at, dtype=np.intp))
    got, want = Coded.of(taken), Coded.of(taken.rows())
    assert got.codes.dtype == want.codes.dtype == np.int32
    assert got.codes.tolist() == want.codes.tolist()
    _same(got.values, want.values)
    if at and at[0] == 3:
        assert got.values.tolist() == ["a", "b"] and got.codes.tolist() == [0, 1, 0, 1, -1, 1, -1, 1]


@pytest.mark.parametrize("table", [
    {"SELLER": "seller", "CUSTOMER": "customer"},
    {},
    {"SELLER": 1},  # (not strings to strings: pandas' way)
])
def test_a_value_map_looked_up_in_python_is_pandas_map(table):
    values = np.array(["SELLER", "CUSTOMER", "other", None, np.nan, ""], dtype=object)
    coded = Coded.of(values[[0, 1, 2, 3, 4, 5, 0, 2]])
    _same(coded.mapped_by(table), coded.mapped(_through(table)))
    assert coded.mapped_by({"SELLER": "seller"})[0] == "seller"


@pytest.mark.parametrize("ids", [
    ["123-1234567-1234567", "234-1234567-1234567"],  # one width: a reshape
    ["S01-1", "123-1234567-1234567", "A", "B2"],  # several
    ["x"],
])
def test_ids_made_bytes_from_arrow_are_utf8_bytes(ids):
    col = pa.array(["pad"] + ids, type=pa.string()).slice(1)  # (not starting at its bytes' first)
    got = arrow_bytes(col)
    want = utf8_bytes(np.array(ids, dtype=object), np.ones(len(ids), dtype=bool))
    assert got is not None and got.dtype == want.dtype and got.tolist() == want.tolist()
    assert got.flags.writeable


@pytest.mark.parametrize("ids", [["Ä-1", "B"], ["A\x00", "B"], ["", "B"], [None, "B"]])
def test_ids_numpy_may_size_otherwise_take_the_general_way(ids):
    assert arrow_bytes(pa.array(ids, type=pa.string())) is None


@pytest.mark.parametrize("cells", [
    ["05-JAN-2024", "06-jan-2024", "05-JAN-2024", "", "29-FEB-2024"],
    ["05-01-2024", "05-01-2024", "31-12-2100"],
    ["", ""],
    ["05-JAN-2024", "05-01-2024"],  # two forms: the reader's
    ["31-APR-2024", "01-MAY-2024"],  # no such day
])
def test_days_read_once_each_are_the_days_of_every_cell(cells):
    col = pa.array(cells, type=pa.string())
    got, want = day_dates(col), cells_module._days_of(col)  # once per distinct cell, and every cell
    assert (got is None) == (want is None)
    if want is not None:
        assert got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True)
    sliced = pa.array(["01-JAN-2024"] + cells, type=pa.string()).slice(1)  # left to the reader
    assert day_dates(sliced) is None and cells_module._days_of(sliced) is None


def test_a_coded_blocks_rows_are_taken_and_made_arrays_as_the_lines_way_holds_them():
    cols = {
        "line": np.arange(2, 7, dtype=np.int64),
        "order_id": pa.array(["a", "b", "c", "d", "e"], type=pa.string()),
        "sku": plain.Taken(np.array(["s", "t"], dtype=object), np.array([1, 0, 1, 1, 0], dtype=np.intp)),
        "az_claim": pd.array([True, None, False, True, False], dtype="boolean"),
    }
    kept = np.array([True, False, True, True, False])
    got = plain.materialized(plain.rows_of(cols, kept))
    assert got["line"].tolist() == [2, 4, 5]
    assert got["order_id"].dtype == object and got["order_id"].tolist() == ["a", "c", "d"]
    assert got["sku"].dtype == object and got["sku"].tolist() == ["t", "t", "t"]
    assert got["az_claim"].tolist() == [True, False, True]


def test_a_block_of_new_hashes_is_remembered_whole_and_one_with_a_repeat_not_at_all():
    """remember_new stores a block's hashes, each with its line, when none was stored before
    (the keys stay sorted, as drop_keyed's search needs), and stores nothing of a block with a
    repeat, which it reports."""
    from returnsim.replay.rows import Seen

    rng = np.random.default_rng(5)
    seen, stored = Seen(3), {}
    blocks = [rng.integers(0, 2**63 - 1, 50, dtype=np.int64).astype(np.uint64) for _ in range(4)]
    blocks.append(np.concatenate([blocks[1][7:9], rng.integers(0, 2**63 - 1, 5, dtype=np.int64).astype(np.uint64)]))  # two repeat
    first = 2
    for h in blocks:
        lines = np.arange(first, first + len(h), dtype=np.int64)
        new = not any(k in stored for k in h.tolist())
        assert seen.remember_new(h, lines) == new == (h is not blocks[-1])
        if new:
            stored.update(zip(h.tolist(), lines.tolist(), strict=True))
        assert seen.keys.tolist() == sorted(stored) and seen.lines.tolist() == [stored[k] for k in sorted(stored)]
        first += len(h)
    assert len(seen.keys) == 200


@pytest.mark.parametrize("raw", [b"a\tb\n\tc\t\n", "é\tü\t€\n".encode(), b"\t", b"no tab\n", b"\t\t\t\t"])
def test_tabs_counted_by_numpy_are_the_bytes_tabs(raw):
    assert plain._tabs(raw) == raw.count(b"\t")
