"""Reading a seller's reports for a replay, a block of lines at a time (issue 20, docs/replay.md
"Speed and memory"): the same rows and problems as reading each file whole, duplicates found
across blocks, and a row of several units replayed as that many requests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SEED_SCENARIO, modules_not_hashed
from test_replay import FILES

import returnsim as rs
from returnsim.calibrate.codes import CodeTable
from returnsim.calibrate.readers import read_fba_returns, read_mfn_returns
from returnsim.replay import read_inputs
from returnsim.replay.actuals import actual_figures
from returnsim.replay.orders import _whole, order_hashes, read_blocks, scan_orders

READERS = {"mfn_returns": read_mfn_returns, "fba_returns": read_fba_returns}


def _lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _same_report(got, whole) -> None:
    """Rows (in file order) and problems as reading the file whole gives them."""
    g = got.data.sort_values("line").reset_index(drop=True)
    w = whole.data.sort_values("line").reset_index(drop=True)
    pd.testing.assert_frame_equal(g[w.columns], w, check_dtype=False)
    assert sorted(str(p) for p in got.problems) == sorted(str(p) for p in whole.problems)
    assert got.day_resolution == whole.day_resolution and got.rows_read == whole.rows_read


@pytest.mark.parametrize("kind", ["mfn_returns", "fba_returns"])
def test_a_returns_row_repeated_in_another_block_is_a_duplicate_as_in_the_whole_file(kind, tmp_path):
    """A copy of the second row at the end of the file, blocks of 5 lines apart: reported as a
    duplicate of its first line and counted once, as the reader reading the whole file does."""
    lines = _lines(FILES[kind])
    path = tmp_path / f"{kind}.txt"
    path.write_text("\n".join([*lines, lines[2]]) + "\n", encoding="utf-8")
    reader = READERS[kind]
    whole = reader(path)
    last = len(lines) + 1
    assert any(p.line == last and p.problem == "duplicate of line 3; counted once" for p in whole.problems)
    for block in (5, 40, 10_000):
        got = read_blocks(path, reader, block=block)
        _same_report(got, whole)
        assert last not in got.data["line"].tolist()


@pytest.mark.parametrize("kind", ["mfn_returns", "fba_returns"])
def test_a_row_three_times_across_two_blocks_names_its_first_copy(kind, tmp_path):
    """The last row of a block of 5 lines repeated twice at the start of the next: both copies
    are duplicates of the first, as the reader reading the whole file says (the block's own
    reader named the block's first copy for the third)."""
    lines = _lines(FILES[kind])
    rows = lines[1:40]
    rows[5:5] = [rows[4], rows[4]]  # file lines 6 (the end of the first block), 7 and 8
    path = tmp_path / f"{kind}.txt"
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    whole = READERS[kind](path)
    assert {p.line: p.problem for p in whole.problems if "duplicate" in p.problem} == {
        7: "duplicate of line 6; counted once", 8: "duplicate of line 6; counted once"}
    for block in (5, 1000):
        _same_report(read_blocks(path, READERS[kind], block=block), whole)


def test_the_shipped_returns_reports_read_in_blocks_are_the_whole_files():
    """Every row and every problem (the shipped files' duplicates too), whatever the block."""
    for kind, reader in READERS.items():
        whole = reader(FILES[kind])
        for block in (3, 64):
            _same_report(read_blocks(FILES[kind], reader, block=block), whole)


def test_a_returned_order_line_repeated_in_another_block_is_a_duplicate(tmp_path):
    """An order line of a returned order, repeated 30 lines later (other blocks of 7): reported
    and kept once, as reading the file whole does; its order and its ship country are counted
    once."""
    lines = _lines(FILES["orders"])
    header, rows = lines[0], lines[1:200]
    rows.insert(40, rows[5])
    path = tmp_path / "orders.txt"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    ids = [r.split("\t")[0] for r in rows]
    returned = set(ids[0:200:4]) | {ids[5]}
    codes = CodeTable.load()
    whole, wc = _whole(path, returned, codes)
    assert any("duplicate of line 7" in p.problem for p in whole.problems)
    for block in (7, 64):
        rep, c = scan_orders(path, returned, codes, block=block)
        _same_report(rep, whole)
        pd.testing.assert_series_equal(c.per_day, wc.per_day, check_names=False)
        assert c.countries == wc.countries


def test_cells_with_white_space_or_other_characters_read_as_the_reader_reads_them(tmp_path):
    """Cells padded with spaces or non-breaking spaces, and non-ASCII text, on ordinary lines:
    the fast path strips them as the reader does (the same rows, counts and problems)."""
    lines = _lines(FILES["orders"])
    header, rows = lines[0], lines[1:120]
    cols = header.split("\t")
    at = {c: cols.index(c) for c in ("amazon-order-id", "purchase-date", "ship-country", "sku", "item-price", "product-name")}
    for i, (col, pad) in enumerate(
        [("ship-country", " {} "), ("purchase-date", "{} "), ("amazon-order-id", "{}\u00a0"), ("sku", "\u00a0{}"),
         ("item-price", " {}"), ("product-name", "Café {}")]
    ):
        f = rows[3 + 10 * i].split("\t")
        f[at[col]] = pad.format(f[at[col]])
        rows[3 + 10 * i] = "\t".join(f)
    path = tmp_path / "orders.txt"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    ids = [r.split("\t")[0].strip() for r in rows]
    codes = CodeTable.load()
    whole, wc = _whole(path, set(ids), codes)
    assert len(whole.data) == len(rows)
    for block in (7, 1000):
        rep, c = scan_orders(path, set(ids), codes, block=block)
        _same_report(rep, whole)
        pd.testing.assert_series_equal(c.per_day, wc.per_day, check_names=False)
        assert c.countries == wc.countries


@pytest.mark.parametrize("kind", ["orders", "mfn_returns", "fba_returns"])
def test_a_carriage_return_alone_ends_a_line_as_in_the_whole_file(kind, tmp_path):
    """A carriage return inside a line (a cell pasted from an old Mac file) ends the line for
    the reader, which then finds two short rows: so do the blocks, with the same line numbers
    for every later row and problem (they failed with an IndexError before)."""
    lines = _lines(FILES[kind])
    header, rows = lines[0], lines[1:120]
    for i in (9, 30, 31):
        rows[i] = rows[i][:5] + "\r" + rows[i][5:]
    path = tmp_path / f"{kind}.txt"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    if kind == "orders":
        ids = {r.split("\t")[0].strip() for r in rows}
        codes = CodeTable.load()
        whole, wc = _whole(path, ids, codes)
        assert sum("row skipped" in p.problem for p in whole.problems) == 3
        for block in (7, 1000):
            rep, c = scan_orders(path, ids, codes, block=block)
            _same_report(rep, whole)
            pd.testing.assert_series_equal(c.per_day, wc.per_day, check_names=False)
    else:
        whole = READERS[kind](path)
        assert sum("row skipped" in p.problem for p in whole.problems) >= 3
        for block in (5, 1000):
            _same_report(read_blocks(path, READERS[kind], block=block), whole)


def test_returned_orders_are_found_by_their_hashes():
    h = order_hashes(["111-0000000-0000001", "111-0000000-0000002", None, "111-0000000-0000001"])
    assert len(h) == 2 and h.dtype == np.uint64 and (np.diff(h) > 0).all()
    codes = CodeTable.load()
    a, _ = scan_orders(FILES["orders"], h, codes)
    b, _ = scan_orders(FILES["orders"], {"111-0000000-0000001", "111-0000000-0000002"}, codes)
    pd.testing.assert_frame_equal(a.data, b.data)


# ---------------------------------------------------------------------------------------------
# a row of several units
# ---------------------------------------------------------------------------------------------


def _two_units(tmp_path, order_quantity: int = 2):
    """The shipped reports with one Returns report row returning 2 units of an order line of
    ``order_quantity`` units; returns (files, its order id)."""
    mfn = _lines(FILES["mfn_returns"])
    cols = mfn[0].split("\t")
    q_at = cols.index("Return quantity")
    # a row the replay takes (a refund and a label cost, in a class), not a damaged one
    sc = rs.load_scenario(SEED_SCENARIO)
    base = read_inputs(sc, **FILES)
    rows = [r.split("\t") for r in mfn[1:]]
    oid_at, refund_at = cols.index("Order ID"), cols.index("Refunded Amount")
    pick = next(
        i for i, f in enumerate(rows)
        if len(f) == len(cols) and f[q_at] == "1" and f[refund_at].replace(".", "", 1).isdigit() and float(f[refund_at]) > 0
    )
    oid = rows[pick][oid_at]
    rows[pick][q_at] = "2"
    mfn_path = tmp_path / "mfn.txt"
    mfn_path.write_text("\n".join(["\t".join(cols), *("\t".join(f) for f in rows)]) + "\n", encoding="utf-8")
    orders = _lines(FILES["orders"])
    o_cols = orders[0].split("\t")
    oq, price_at = o_cols.index("quantity"), o_cols.index("item-price")
    out = []
    for ln in orders[1:]:
        f = ln.split("\t")
        if f[0] == oid and len(f) == len(o_cols):
            f[oq] = str(order_quantity)
            f[price_at] = f"{float(f[price_at]) * order_quantity:.2f}"  # the line's price is for its units
        out.append("\t".join(f))
    orders_path = tmp_path / "orders.txt"
    orders_path.write_text("\n".join([orders[0], *out]) + "\n", encoding="utf-8")
    files = {**FILES, "mfn_returns": mfn_path, "orders": orders_path}
    return sc, base, files


def test_a_row_of_two_units_is_two_requests_with_the_rows_money_on_the_first(tmp_path):
    sc, base, files = _two_units(tmp_path)
    two = read_inputs(sc, **files)
    assert len(two.demand) == len(base.demand) + 1
    assert any("more than one unit" in n for n in two.notes)
    # Every request of the base keeps its identity (and so its draws); one more is added.
    new = np.setdiff1d(two.demand.key, base.demand.key)
    assert len(new) == 1 and np.isin(base.demand.key, two.demand.key).all()
    assert len(np.unique(two.demand.key)) == len(two.demand)
    i = int(np.flatnonzero(two.demand.key == new[0])[0])
    j = int(np.flatnonzero((two.demand.order_time == two.demand.order_time[i]) & (two.demand.key != new[0]))[0])
    for col in ("order_time", "request_time", "item_class", "market", "price", "stated_reason", "in_policy"):
        assert getattr(two.demand, col)[i] == getattr(two.demand, col)[j], col
    # The returns frame: one row per request; the report row's money on its first unit only,
    # so the totals a seller compares are the report's.
    assert len(two.returns) == len(two.demand)
    assert actual_figures(two.returns)["refunds"] == pytest.approx(actual_figures(base.returns)["refunds"])
    assert actual_figures(two.returns)["seller_labels"] == pytest.approx(actual_figures(base.returns)["seller_labels"])
    same = two.returns[two.returns["order_time"] == two.demand.order_time[i]]
    assert len(same) == 2 and (same["refunded"] > 0).sum() == 1 and (same["refunded"] == 0).sum() == 1


def test_units_are_at_most_the_order_lines(tmp_path):
    """A row claiming 2 units of a 1-unit order line replays one request (the order's)."""
    sc, base, files = _two_units(tmp_path, order_quantity=1)
    one = read_inputs(sc, **files)
    assert len(one.demand) == len(base.demand)
    np.testing.assert_array_equal(np.sort(one.demand.key), np.sort(base.demand.key))


def test_reading_leaves_arrows_allocator_as_it_was(tmp_path):
    """Reading switches Arrow's memory pool to the system allocator (docs/replay.md) and puts
    the caller's back, also when a file cannot be used."""
    import pyarrow as pa

    sc = rs.load_scenario(SEED_SCENARIO)
    before = pa.default_memory_pool().backend_name
    read_inputs(sc, **FILES)
    assert pa.default_memory_pool().backend_name == before
    bad = tmp_path / "orders.txt"
    bad.write_bytes(b"\x00\x01binary")
    with pytest.raises(ValueError):
        read_inputs(sc, orders=bad, mfn_returns=FILES["mfn_returns"])
    assert pa.default_memory_pool().backend_name == before


def test_pyarrows_split_and_pandas_split_read_the_same(tmp_path, monkeypatch):
    """Blocks of ordinary lines are split by pyarrow when it is installed, else by pandas' C
    parser: the same rows, counts and problems either way (returns reports and orders, with
    padded, damaged and repeated lines)."""
    import sys

    orders_mod = sys.modules["returnsim.replay.blocks"]
    lines = _lines(FILES["orders"])
    header, rows = lines[0], lines[1:300]
    rows[20] = rows[20].replace("\tUS", "\t US ", 1)
    rows.insert(200, rows[10])
    path = tmp_path / "orders.txt"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    ids = {r.split("\t")[0] for r in rows[::3]}
    codes = CodeTable.load()
    got = {}
    calls: list[bool] = []
    real = orders_mod._arrow_columns

    def counted(*a):
        calls.append(True)
        return real(*a)

    monkeypatch.setattr(orders_mod, "_arrow_columns", counted)
    for arrow in (True, False):
        monkeypatch.setattr(orders_mod, "_ARROW", arrow)
        calls.clear()
        got[arrow] = (
            scan_orders(path, ids, codes, block=50),
            {k: read_blocks(FILES[k], r, block=50) for k, r in READERS.items()},
        )
        assert bool(calls) == arrow
    (a, ca), ra = got[True]
    (b, cb), rb = got[False]
    _same_report(a, b)
    pd.testing.assert_series_equal(ca.per_day, cb.per_day)
    assert ca.countries == cb.countries
    for k in READERS:
        _same_report(ra[k], rb[k])


def test_the_reading_does_not_import_the_fitting_stack():
    """A replay reads the reports with the calibration's readers and matching, not its fits:
    importing it must not load scipy.stats (about 50 MB resident, most of the reading's imports
    before calibrate.prepare stopped importing calibrate.fits for one dataclass)."""
    import subprocess
    import sys

    code = "import sys, returnsim.replay; print(sorted(m for m in sys.modules if m.startswith(('scipy.stats', 'returnsim.calibrate.fits'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_module_the_reading_runs_is_part_of_a_replays_identity():
    """A replay's identity in a results store hashes the code that reads the reports: every
    module of returnsim.replay and returnsim.calibrate that reading the shipped reports runs must
    be hashed, or a store would resume a replay with rows read by other code (the id keys,
    which decide which order lines are kept, and the header names were once left out)."""
    files = {k: str(v) for k, v in FILES.items()}
    run = f"import returnsim as rs\nfrom returnsim.replay.inputs import read_inputs, _READING\nread_inputs(rs.load_scenario({str(SEED_SCENARIO)!r}), **{files!r})"
    checked, missing = modules_not_hashed(run, ("returnsim.replay.", "returnsim.calibrate."), "_READING")
    assert checked >= 10  # the reading's modules were loaded
    assert missing == []


def _same_lines(a, b) -> None:
    """Two :class:`~returnsim.replay.match.OrderLines` hold the same lines, field by field."""
    np.testing.assert_array_equal(a.order, b.order)
    np.testing.assert_array_equal(a.date, b.date)
    np.testing.assert_array_equal(a.unit_price, b.unit_price)
    np.testing.assert_array_equal(a.international, b.international)
    assert (a.quantity is None) == (b.quantity is None)
    if a.quantity is not None:
        np.testing.assert_array_equal(a.quantity, b.quantity)
    for c, d in ((a.sku, b.sku), (a.asin, b.asin)):
        assert (c is None) == (d is None)
        if c is not None:
            np.testing.assert_array_equal(np.append(c.values, None)[c.codes], np.append(d.values, None)[d.codes])


@pytest.mark.parametrize("block", [50, 100_000])
def test_returned_order_lines_handed_over_block_by_block_are_the_frames_lines(block, tmp_path):
    """The orders' pass hands each block's returned lines over as arrays (``sink``): joined,
    they are the lines of the pass's whole frame (cancelled lines, a line without its quantity
    or country, prices per unit, the home market), and the report keeps its columns and
    problems, not its rows."""
    from returnsim.replay.match import join_lines, line_part, order_lines

    lines = _lines(FILES["orders"])
    head = lines[0].split("\t")
    rows = [ln.split("\t") for ln in lines[1:]]
    damaged = ((3, "quantity"), (10, "ship-country"), (20, "order-status"), (31, "item-price"), (40, "quantity"))
    for k, col in damaged:  # cells the reader reports and leaves missing, and a cancellation
        rows[k][head.index(col)] = "Cancelled" if col == "order-status" else ("0" if k == 40 else "??")
    path = tmp_path / "orders.txt"
    path.write_text("\n".join(["\t".join(head)] + ["\t".join(r) for r in rows]) + "\n", encoding="utf-8")
    codes = CodeTable.load()
    returned = order_hashes([r[head.index("amazon-order-id")] for r in rows[::3] + [rows[k] for k, _ in damaged]])
    whole, _ = scan_orders(path, returned, codes, block=block)
    frame = whole.data
    assert len(frame) > 100 and frame.isna().any().any()
    parts: list[dict] = []
    rep, _ = scan_orders(path, returned, codes, block=block, sink=lambda df: parts.append(line_part(df, codes)))
    assert rep.data.empty and list(rep.data.columns) == list(frame.columns)
    assert [str(p) for p in rep.problems] == [str(p) for p in whole.problems]
    for home in ("US", "DE", None):
        notes_a: list[str] = []
        notes_b: list[str] = []
        got = join_lines([dict(p) for p in parts], home, notes_a)
        _same_lines(got, _frame_lines(frame, codes, home, notes_b))
        assert notes_a == notes_b and any("cancelled" in n for n in notes_a)
        whole.data = frame
        _same_lines(order_lines(whole, codes, home, []), got)


def _frame_lines(o, codes, home, notes):
    """The returned lines as a calibration reads them from one frame (the reference)."""
    from returnsim.replay.match import OrderLines
    from returnsim.replay.returns import Coded, naive, order_ids

    cancelled = (o["status"].map(codes.value_map("order_status")) == "cancelled").to_numpy()
    if cancelled.any():
        notes.append(f"{int(cancelled.sum()):,} cancelled order lines left out")
    o = o[~cancelled]
    q = o["quantity"]
    ship = o["ship_country"]
    home = (home or "").upper() or ship.mode().iat[0]
    return OrderLines(
        order=order_ids(o["order_id"])[0], date=naive(o["purchase_date"]), sku=Coded.of(o["sku"]), asin=Coded.of(o["asin"]),
        unit_price=(o["item_price"] / q.where(q > 0)).to_numpy(dtype=float), quantity=q.to_numpy(dtype=float),
        international=(ship.notna() & ~(ship == home)).to_numpy(dtype=bool).astype(np.int64),
    )
