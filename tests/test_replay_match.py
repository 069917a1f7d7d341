"""The replay's compact-array matcher (returnsim/replay/returns.py, match.py): the same rows and
matches as the calibration's readers and prepare, held as arrays (issue 20, item 3)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import SEED_SCENARIO
from test_replay import FILES, mix  # the shipped synthetic reports; SplitMix64's finaliser

import returnsim as rs
from returnsim.calibrate.codes import CodeTable
from returnsim.calibrate.prepare import prepare
from returnsim.calibrate.readers import (
    read_classes,
    read_fba_returns,
    read_mfn_returns,
    read_orders,
)
from returnsim.replay import read_inputs
from returnsim.replay.returns import ReturnRows, read_returns

READERS = {"fba_returns": read_fba_returns, "mfn_returns": read_mfn_returns}


@pytest.fixture(scope="module")
def sc():
    return rs.load_scenario(SEED_SCENARIO)


def _same(a: ReturnRows, b: ReturnRows) -> None:
    """Two ReturnRows hold the same rows (coded text compared decoded: codes depend on the
    blocks); the file's name aside."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in ("item", "sku", "asin") and x is not None:
            x, y = (np.append(v.values, None)[v.codes] for v in (x, y))
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        elif isinstance(x, np.ndarray):
            assert x.dtype.kind == y.dtype.kind, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        elif f.name != "name":
            assert x == y, f.name


@pytest.mark.parametrize("kind", ["fba_returns", "mfn_returns"])
def test_a_report_read_by_blocks_is_the_same_rows_as_read_whole(kind):
    codes, reasons = CodeTable.load(), {"defective": 0, "changed_mind": 1}
    whole_rep, whole = read_returns(FILES[kind].read_bytes(), READERS[kind], codes, reasons)  # bytes: the reader, whole
    rep, blocks = read_returns(FILES[kind], READERS[kind], codes, reasons, block=7)
    assert whole is not None and blocks is not None and len(blocks) > 7 * 3
    _same(blocks, whole)
    def problems(r):
        return sorted((p.line, p.column, p.value, p.problem, p.field) for p in r.problems)

    assert problems(rep) == problems(whole_rep) and len(rep.problems) >= 2
    assert rep.day_resolution == whole_rep.day_resolution
    assert rep.rows_read == whole_rep.rows_read
    # Only arrays of numbers, dates or bytes a row: no Python object per return is kept.
    for f in dataclasses.fields(blocks):
        v = getattr(blocks, f.name)
        if isinstance(v, np.ndarray) and len(v) == len(blocks):
            assert v.dtype != object, f.name
    assert all(v.dtype != object for _, v in blocks.happened.items())
    assert rep.data.empty and whole_rep.data.empty  # the reader's frames are not kept


def _hours(dates: pd.Series, start: pd.Timestamp) -> np.ndarray:
    return ((pd.to_datetime(dates) - start).dt.total_seconds() / 3600.0).to_numpy()


def test_requests_are_the_calibrations_matches(sc):
    """Every replayed request is a return the calibration's prepare matches to an order line of
    a scenario class, with that line's time and price and the return's date and reason."""
    inp = read_inputs(sc, **FILES)
    codes = CodeTable.load()
    p, _, _ = prepare(
        fba=read_fba_returns(FILES["fba_returns"]), mfn=read_mfn_returns(FILES["mfn_returns"]),
        orders=read_orders(FILES["orders"]), classes=read_classes(FILES["classes"]), codes=codes,
    )
    start = pd.Timestamp(inp.start)
    o = p.orders
    catalog, reasons = list(inp.scenario.catalog), list(inp.scenario.reasons)
    d = inp.demand
    assert not any("more than one unit" in n for n in inp.notes)  # one request a row here
    for df, col, arrival in ((p.fba, "date", True), (p.mfn, "request_date", False)):
        hit = df["matched"].to_numpy()
        keep = (hit >= 0) & df["item_class"].isin(catalog).to_numpy() & df[col].notna().to_numpy()
        line = o.iloc[hit[keep]]
        want = pd.DataFrame({
            "order_time": _hours(line["date"], start),
            "request_time": _hours(df.loc[keep, col], start),
            "price": line["unit_price"].to_numpy(),
            "item_class": df.loc[keep, "item_class"].map({c: i for i, c in enumerate(catalog)}).to_numpy(),
            "stated_reason": df.loc[keep, "reason"].map({r: i for i, r in enumerate(reasons)}).fillna(-1).astype(int).to_numpy(),
        })
        mine = d.arrival == arrival
        got = pd.DataFrame({c: getattr(d, c)[mine] for c in want.columns})
        assert len(got) == len(want) > 50
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    # The calibration's notes on matching are the replay's.
    for note in p.notes:
        if "match no order line" in note or "give no reason" in note:
            assert note in inp.notes


_ORDER_HEAD = "amazon-order-id\tpurchase-date\torder-status\tfulfillment-channel\tsku\tasin\tquantity\tcurrency\titem-price\tship-country"
_FBA_HEAD = "return-date\torder-id\tsku\tasin\tquantity\tdetailed-disposition\treason\tstatus"


def test_the_match_order_sku_then_asin_then_a_single_line(sc, tmp_path):
    lines = [  # order, day, sku, asin, price
        ("111-0000001-0000001", 1, "SKU-A", "ASIN-A", 10), ("111-0000001-0000001", 1, "SKU-B", "ASIN-B", 20),
        ("111-0000002-0000002", 2, "SKU-C", "ASIN-C", 30),
        ("111-0000003-0000003", 3, "SKU-A", "ASIN-A", 40), ("111-0000003-0000003", 3, "SKU-A", "ASIN-A", 50),
        ("111-0000004-0000004", 4, "SKU-D", "ASIN-D", 60), ("111-0000004-0000004", 4, "SKU-E", "ASIN-E", 70),
    ]
    orders = [_ORDER_HEAD] + [f"{o}\t2024-01-0{d}T10:00:00+00:00\tShipped\tAmazon\t{s}\t{a}\t1\tUSD\t{p}\tUS" for o, d, s, a, p in lines]
    returns = [  # order, sku, asin
        ("111-0000001-0000001", "SKU-B", "ASIN-B"),  # its SKU: the second line
        ("111-0000001-0000001", "", "ASIN-A"),  # no SKU: by its ASIN
        ("111-0000002-0000002", "SKU-Z", "ASIN-Z"),  # neither, but the order has one line
        ("111-0000003-0000003", "SKU-A", "ASIN-A"),  # a repeated line: the first
        ("111-0000004-0000004", "SKU-Z", "ASIN-Z"),  # two lines, neither named: no match
        ("999-0000009-0000009", "SKU-A", "ASIN-A"),  # not in the orders
    ]
    fba = [_FBA_HEAD] + [f"2024-02-01T10:00:00+00:00\t{o}\t{s}\t{a}\t1\tSELLABLE\tDEFECTIVE\tUnit returned to inventory" for o, s, a in returns]
    (tmp_path / "o.txt").write_text("\n".join(orders) + "\n")
    (tmp_path / "f.txt").write_text("\n".join(fba) + "\n")
    classes = {s: "accessories" for s in ("SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E")}
    inp = read_inputs(sc, orders=tmp_path / "o.txt", fba_returns=tmp_path / "f.txt", classes=classes)
    assert inp.demand.price.tolist() == [20.0, 10.0, 30.0, 40.0]
    assert "f.txt: 2 of 6 returns match no order line in the orders report (ordered before it starts, or another account)" in inp.notes
    # The calibration matches them so too.
    p, _, _ = prepare(fba=read_fba_returns(tmp_path / "f.txt"), mfn=None, orders=read_orders(tmp_path / "o.txt"),
                      classes=read_classes(classes), codes=CodeTable.load())
    hit = p.fba["matched"].to_numpy()
    assert p.orders["unit_price"].to_numpy()[hit[hit >= 0]].tolist() == inp.demand.price.tolist()


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def test_the_reports_read_hold_no_rows_after_reading(sc):
    """What read_inputs keeps of each report is its columns, not a view of its rows (a slice of
    a frame keeps every row of it alive while the replay runs)."""
    inp = read_inputs(sc, **FILES)
    held = 0
    for rep in inp.reports.values():
        assert rep.data.empty
        for col in rep.data.columns:
            values = rep.data[col].array
            if isinstance(getattr(values, "_ndarray", None), np.ndarray) or isinstance(values, np.ndarray):
                held += _root(np.asarray(values._ndarray if hasattr(values, "_ndarray") else values)).size
    assert held == 0


def _blake(text: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _request_key(kind: str, order: int, item: str, k: int, unit: int) -> int:
    """A request's key as the documentation of ``request_keys`` gives it, one at a time."""
    return mix(mix(mix(mix(_blake(kind) ^ order) ^ _blake(item)) ^ k) ^ unit)


def test_request_keys_name_the_report_order_item_occurrence_and_unit():
    """A request's identity is its report, order id, item, the k-th kept row of that (order,
    item) pair and its unit, chained through SplitMix64 (the same ids written differently
    would not match); every request of the example gets its own key."""
    from returnsim.replay.keys import id_keys
    from returnsim.replay.match import request_keys
    from returnsim.replay.returns import Coded, ReturnRows

    ids = ["111-1111111-1111111", "222-2222222-2222222", "111-1111111-1111111", "111-1111111-1111111", "222-2222222-2222222"]
    oid = np.array([i.encode() for i in ids], dtype=bytes)
    order = id_keys(np.array(ids, dtype=object))
    item = Coded(np.array([0, 0, 0, 1, -1], dtype=np.int32), np.array(["A", "B"], dtype=object))
    n = len(oid)
    rows = ReturnRows(
        kind="mfn_returns", name="r", channel="mfn", day_only=False, order=order, has_order=np.ones(n, dtype=bool), oid=oid,
        item=item, sku=item, asin=None, date=np.zeros(n, dtype="datetime64[ns]"), quantity=None,
        reason=np.zeros(n, dtype=np.int64), in_policy=np.zeros(n, dtype=np.int8), happened=pd.DataFrame(index=range(n)),
    )
    keep = np.array([0, 1, 2, 3, 4])
    units = np.array([1, 2, 1, 1, 1])
    a, b = 11111111111111111, 22222222222222222  # the ids' digits
    want = [(a, "A", 0, 0), (b, "A", 0, 0), (b, "A", 0, 1), (a, "A", 1, 0), (a, "B", 0, 0), (b, "", 0, 0)]
    got = request_keys(rows, keep, units).tolist()
    assert got == [_request_key("mfn_returns", *w) for w in want]
    assert len(set(got)) == len(got)
    other = dataclasses.replace(rows, kind="fba_returns")
    assert not set(request_keys(other, keep, units).tolist()) & set(got)  # the report is part of it


@pytest.mark.parametrize("hashes", ["the ids'", "shared by different ids"])
def test_request_keys_count_each_rows_occurrence_by_its_ids_bytes(hashes):
    """Random rows (ids repeated, items missing, rows of up to 3 units, some rows not kept):
    each key is the request's report, order key, item, occurrence and unit as written out row
    by row, the occurrences counted by the ids themselves, also when two ids share a 64-bit key.
    The same rows in another order give the same keys."""
    from returnsim.replay.keys import id_keys
    from returnsim.replay.match import request_keys
    from returnsim.replay.returns import Coded, ReturnRows

    rng = np.random.default_rng(11)
    n = 23_000
    ids = [f"{rng.integers(100, 999)}-{rng.integers(0, 60):07d}" for _ in range(n)]
    oid = np.array([i.encode() for i in ids], dtype=bytes)
    item = Coded(rng.integers(-1, 3, n).astype(np.int32), np.array(["A", "B", "SKU-ü"], dtype=object))
    order = {"the ids'": id_keys(np.array(ids, dtype=object)),
             "shared by different ids": (id_keys(np.array(ids, dtype=object)) % np.uint64(7))}[hashes]
    rows = ReturnRows(
        kind="fba_returns", name="r", channel="fba", day_only=False, order=order, has_order=np.ones(n, dtype=bool), oid=oid,
        item=item, sku=item, asin=None, date=np.zeros(n, dtype="datetime64[ns]"), quantity=None,
        reason=np.zeros(n, dtype=np.int64), in_policy=np.zeros(n, dtype=np.int8), happened=pd.DataFrame(index=range(n)),
    )
    keep = np.flatnonzero(rng.random(n) < 0.8)
    units = rng.choice([1, 1, 1, 2, 3], len(keep))
    want, seen = [], {}
    for r, u in zip(keep.tolist(), units.tolist(), strict=True):
        name = item.values[item.codes[r]] if item.codes[r] >= 0 else ""
        k = seen.get((ids[r], name), 0)
        seen[(ids[r], name)] = k + 1
        want += [_request_key("fba_returns", int(order[r]), name, k, j) for j in range(u)]
    got = request_keys(rows, keep, units)
    assert got.tolist() == want
    # rows listed the other way round (one unit each): an (order, item) pair's k-th row is
    # another row, but the requests' keys are the same ones
    one = np.ones(len(keep), dtype=np.int64)
    assert set(request_keys(rows, keep[::-1], one).tolist()) == set(request_keys(rows, keep, one).tolist())


def test_a_return_without_an_item_matches_its_orders_line_without_one():
    """A missing SKU is a value like the others (as the calibration's matching takes it): a
    return without one is its order's line without one; an item the lines do not have, and
    an order of several lines none of which it names, match nothing."""
    from returnsim.replay.match import Classes, OrderLines, match
    from returnsim.replay.returns import Coded, ReturnRows

    h = np.array([11, 11, 11, 22, 22], dtype=np.uint64)  # two orders of the lines, by hash
    lines = OrderLines(order=h, date=np.zeros(5, dtype="datetime64[ns]"),
                       sku=Coded(np.array([0, -1, 1, 0, 1], dtype=np.int32), np.array(["Y", "X"], dtype=object)), asin=None,
                       unit_price=np.ones(5), quantity=None, international=np.zeros(5, dtype=np.int64),
                       item_class=np.full(5, np.nan, dtype=object))
    n = 4
    rows = ReturnRows(
        kind="fba_returns", name="r", channel="fba", day_only=False, order=np.array([11, 11, 22, 11], dtype=np.uint64),
        has_order=np.ones(n, dtype=bool), oid=np.zeros(n, dtype="S1"),
        item=Coded(np.array([-1, 0, -1, 1], dtype=np.int32), np.array(["X", "Z"], dtype=object)), sku=None, asin=None,
        date=np.zeros(n, dtype="datetime64[ns]"), quantity=None, reason=np.zeros(n, dtype=np.int64),
        in_policy=np.zeros(n, dtype=np.int8), happened=pd.DataFrame(index=range(n)),
    )
    rows.sku = rows.item
    got, _ = match(rows, lines, Classes({}, {}, "none"), [])
    assert got.tolist() == [1, 2, -1, -1]
