"""Dates a replay cannot take as they are, named in its notes. A replay spans the orders' days,
first to last: a stray date (a typo, an order from another period) stretches it, and every day
of it is simulated, so a long run of days without an order inside the span is named. A return
dated before its order is replayed just after the order, and counted in a note."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from conftest import SEED_SCENARIO
from test_replay import FILES
from test_replay_arrow import HEADER, ROWS, _set
from test_replay_returns_fast import DATE, TEXT
from test_replay_returns_fast import _set as _set_return

import returnsim as rs
from returnsim.calibrate.gaps import GAP_DAYS, order_gaps
from returnsim.replay import read_inputs


def _days(*runs: tuple[int, int]) -> np.ndarray:
    """Orders per day from (orders, days) runs."""
    return np.concatenate([np.full(days, orders) for orders, days in runs])


def _gaps(per_day: np.ndarray) -> list[tuple[int, int]]:
    return [(g.at, g.days) for g in order_gaps(per_day, date(2024, 1, 1))]


def test_only_runs_longer_than_the_limit_between_orders_are_gaps():
    assert _gaps(_days((3, 5), (0, GAP_DAYS + 1), (2, 1))) == [(5, GAP_DAYS + 1)]
    assert _gaps(_days((3, 5), (0, GAP_DAYS), (2, 1))) == []  # at the limit: no note
    # before the first order and after the last are not inside the span
    assert _gaps(_days((0, 90), (1, 3), (0, 90))) == []
    assert _gaps(_days((1, 1), (0, 40), (1, 1), (0, 30), (1, 1))) == [(1, 40), (42, 30)]
    assert _gaps(np.zeros(100, dtype=np.int64)) == []
    gap = order_gaps(_days((3, 5), (0, 40), (2, 1), (0, 2), (4, 1)), date(2024, 1, 1))[0]
    assert (gap.first, gap.orders_after) == (date(2024, 1, 6), 6)
    assert gap.text() == "no order on the 40 days from 2024-01-06 to 2024-02-14"


@pytest.mark.parametrize(("date", "gap"), [("2025-06-01T10:00:00+00:00", True), ("2024-12-30T10:00:00+00:00", False)])
def test_a_stray_order_date_is_named_in_the_notes(tmp_path, date, gap):
    """The shipped orders run through 2024; one line dated June 2025 stretches the replay by
    five months of days without orders, which the notes name with the one order after them."""
    rows = list(ROWS)
    rows[10] = _set(rows[10], "purchase-date", date)
    path = tmp_path / "orders.txt"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    sc = rs.load_scenario(SEED_SCENARIO)
    inputs = read_inputs(sc, orders=path, fba_returns=FILES["fba_returns"], mfn_returns=FILES["mfn_returns"], classes=FILES["classes"])
    named = [n for n in inputs.notes if "no order on the" in n]
    if gap:
        assert inputs.scenario.horizon_days > 500
        assert len(named) == 1 and "to 2025-05-31" in named[0] and "the 1 order after it is misdated" in named[0], named
    else:
        assert named == [] and inputs.scenario.horizon_days <= 366


def test_a_return_dated_before_its_order_is_named_in_the_notes(tmp_path):
    """Two seller-fulfilled returns dated in 2023, for orders of 2024: both replayed (just after
    their orders), and a note counts them; the shipped report has none."""
    kind = "mfn_returns"
    lines = TEXT[kind]
    rows = list(lines[1:])
    for i in (5, 40):
        rows[i] = _set_return(kind, rows[i], DATE[kind], "15-JAN-2023")
    path = tmp_path / "mfn.txt"
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    sc = rs.load_scenario(SEED_SCENARIO)
    shipped = read_inputs(sc, orders=FILES["orders"], mfn_returns=FILES[kind], classes=FILES["classes"])
    early = read_inputs(sc, orders=FILES["orders"], mfn_returns=path, classes=FILES["classes"])
    assert len(early.demand.request_time) == len(shipped.demand.request_time)
    assert not [n for n in shipped.notes if "before their order" in n]
    assert [n for n in early.notes if "before their order" in n] == [
        "mfn.txt: 2 returns are dated more than a day before their order; each is replayed as requested just after its order"
    ]


@pytest.mark.parametrize("year", [2025, 2031])
def test_calibration_leaves_a_gap_out_of_the_days_orders_are_counted_over(tmp_path, year):
    """One order line dated months or years after the shipped year: the days in between held
    no order and say nothing of how fast orders come. Orders per day stay within the shipped
    reports' interval (they fell from 5.98 to 0.82 a day with the line in 2031), and a note
    names the gap."""
    from returnsim.calibrate import calibrate

    rows = list(ROWS)
    rows[10] = _set(rows[10], "purchase-date", f"{year}-06-01T10:00:00+00:00")
    path = tmp_path / "orders.txt"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")

    def orders_per_day(orders):
        cal = calibrate(orders=orders, fba_returns=FILES["fba_returns"], mfn_returns=FILES["mfn_returns"], classes=FILES["classes"])
        row = cal.estimates.set_index(["parameter", "item_class"]).loc[("orders_per_day", "all")]
        return row, [n for n in cal.notes if "no order on the" in n]

    shipped, none = orders_per_day(FILES["orders"])
    stray, named = orders_per_day(path)
    assert none == [] and len(named) == 1 and f"to {year}-05-31" in named[0], named
    assert shipped["ci_low"] <= stray["estimate"] <= shipped["ci_high"]
