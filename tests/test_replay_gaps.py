"""Dates a replay cannot take as they are, named in its notes. A replay spans the orders' days,
first to last: a stray date (a typo, an order from another period) stretches it, and every day
of it is simulated, so a long run of days without an order inside the span is named. A return
dated before its order is replayed just after the order, and counted in a note."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest
from conftest import SEED_SCENARIO
from test_replay import FILES
from test_replay_arrow import HEADER, ROWS, _set
from test_replay_returns_fast import DATE, TEXT
from test_replay_returns_fast import _set as _set_return

import returnsim as rs
from returnsim.calibrate.gaps import GAP_DAYS, day_gaps, tail_gap
from returnsim.replay import read_inputs


def _days(*runs: tuple[int, int]) -> np.ndarray:
    """Orders per day from (orders, days) runs."""
    return np.concatenate([np.full(days, orders) for orders, days in runs])


def _gaps(per_day: np.ndarray) -> list[tuple[int, int]]:
    return [(g.at, g.days) for g in day_gaps(per_day, date(2024, 1, 1))]


def test_only_runs_longer_than_the_limit_between_orders_are_gaps():
    assert _gaps(_days((3, 5), (0, GAP_DAYS + 1), (2, 1))) == [(5, GAP_DAYS + 1)]
    assert _gaps(_days((3, 5), (0, GAP_DAYS), (2, 1))) == []  # at the limit: no note
    # before the first order and after the last are not inside the span
    assert _gaps(_days((0, 90), (1, 3), (0, 90))) == []
    assert _gaps(_days((1, 1), (0, 40), (1, 1), (0, 30), (1, 1))) == [(1, 40), (42, 30)]
    assert _gaps(np.zeros(100, dtype=np.int64)) == []
    gap = day_gaps(_days((3, 5), (0, 40), (2, 1), (0, 2), (4, 1)), date(2024, 1, 1))[0]
    assert (gap.first, gap.after) == (date(2024, 1, 6), 6)
    assert gap.text() == "no order on the 40 days from 2024-01-06 to 2024-02-14"
    assert gap.fix() == "if the 6 orders after it are misdated, correct or remove them"
    assert day_gaps(_days((3, 5), (0, 40), (1, 1)), date(2024, 1, 1))[0].fix() == "if the 1 order after it is misdated, correct or remove it"


def test_a_tail_gap_is_a_last_gap_with_fewer_lines_after_it_than_its_days_would_hold():
    day0 = date(2024, 1, 1)
    # 2 a day for 100 days, 60 days without, then 3: 120 expected over the gap, 3 came
    gap = tail_gap(_days((2, 100), (0, 60), (1, 3)), day0)
    assert gap is not None and (gap.at, gap.days, gap.after, gap.what) == (100, 60, 3, "return")
    # a season's pause, then a season: more after it than the gap would have held
    assert tail_gap(_days((2, 100), (0, 60), (2, 61)), day0) is None
    # the rate counts from the first day with a line: 20 lines over the 191 days to the gap,
    # whose 40 days would have held 4.2; 3 after it is a tail, 5 is not
    sparse = np.tile(np.r_[1, np.zeros(9, dtype=np.int64)], 20)[:-9]
    assert tail_gap(np.r_[np.zeros(50, dtype=np.int64), sparse, np.zeros(40, dtype=np.int64), [3]], day0) is not None
    assert tail_gap(np.r_[np.zeros(50, dtype=np.int64), sparse, np.zeros(40, dtype=np.int64), [5]], day0) is None
    # the last gap is the one: an earlier long gap does not count
    assert tail_gap(_days((2, 100), (0, 60), (2, 100), (0, 10), (1, 1)), day0) is None
    assert tail_gap(_days((2, 100), (0, GAP_DAYS), (1, 1)), day0) is None  # at the limit: no gap


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


def test_a_return_dated_before_its_order_or_years_after_it_is_named_in_the_notes(tmp_path):
    """Two seller-fulfilled returns dated in 2023, for orders of 2024: both replayed (just after
    their orders), and a note counts them; the shipped report has none. One dated 2031 is
    replayed as dated, and counted in a note too."""
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
    late_path = tmp_path / "late.txt"
    rows = list(lines[1:])
    rows[5] = _set_return(kind, rows[5], DATE[kind], "15-JAN-2031")
    rows[40] = _set_return(kind, rows[40], DATE[kind], "15-FEB-2025")  # inside a year: no note
    late_path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    late = read_inputs(sc, orders=FILES["orders"], mfn_returns=late_path, classes=FILES["classes"])
    assert not [n for n in shipped.notes if "after their order" in n]
    assert [n for n in late.notes if "after their order" in n] == [
        "late.txt: 1 returns are dated more than a year after their order; each is replayed as dated, and the replay "
        "runs on to it: if misdated, correct or remove them"
    ]
    # replayed as dated: the latest request is the 2031 one
    assert late.demand.request_time.max() > shipped.demand.request_time.max() + 5 * 365 * 24


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


@pytest.mark.parametrize(
    ("kind", "when", "cut"),
    [
        ("mfn_returns", "15-JAN-2031", None),
        ("fba_returns", "2031-01-15T10:00:00+00:00", None),
        ("mfn_returns", "15-FEB-2025", None),
        # the Returns report cut at November, so the FBA report ends two months later: the
        # lines counted are the seller-fulfilled ones only, not FBA lines in the cohort by
        # their own report's end
        ("mfn_returns", "15-JAN-2031", "01-NOV-2024"),
    ],
)
def test_calibration_names_a_stray_return_that_sets_its_reports_end(tmp_path, kind, when, cut):
    """One return dated weeks or years after the shipped year ends its report there, so the
    last 90 days' orders count in the return rates' cohort although their returns are not in
    the report. The note gives the order lines it added: exactly the cohort's growth over the
    same reports without that row. The shipped reports have no such note."""
    from returnsim.calibrate import calibrate
    from returnsim.calibrate.codes import CodeTable
    from returnsim.calibrate.prepare import prepare
    from returnsim.calibrate.readers import (
        read_classes,
        read_fba_returns,
        read_mfn_returns,
        read_orders,
    )

    lines = TEXT[kind]
    rows = list(lines[1:])
    rows[5] = _set_return(kind, rows[5], DATE[kind], when)
    if cut is not None:
        at, before = lines[0].split("\t").index(DATE[kind]), datetime.strptime(cut, "%d-%b-%Y")

        def early(row: str) -> bool:
            try:
                return datetime.strptime(row.split("\t")[at], "%d-%b-%Y") < before
            except (ValueError, IndexError):
                return True  # the report's damaged rows stay

        rows = rows[:6] + [r for r in rows[6:] if early(r)]
    stray, dropped = tmp_path / "stray.txt", tmp_path / "dropped.txt"
    stray.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    dropped.write_text("\n".join([lines[0], *rows[:5], *rows[6:]]) + "\n", encoding="utf-8")

    def cohort(path):
        read = {"fba_returns": read_fba_returns, "mfn_returns": read_mfn_returns}
        files = {**FILES, kind: path}
        p, _, _ = prepare(
            fba=read["fba_returns"](files["fba_returns"]), mfn=read["mfn_returns"](files["mfn_returns"]),
            orders=read_orders(files["orders"]), classes=read_classes(files["classes"]), codes=CodeTable.load(),
        )
        return int(p.orders["cohort"].sum())

    def named(path):
        files = {**FILES, kind: path}
        cal = calibrate(orders=files["orders"], fba_returns=files["fba_returns"], mfn_returns=files["mfn_returns"], classes=files["classes"])
        return [n for n in cal.notes if "no return on the" in n]

    assert named(FILES[kind]) == []
    note = named(stray)
    more = cohort(stray) - cohort(dropped)
    assert more > 0 and len(note) == 1, note
    assert note[0].startswith("stray.txt: no return on the ") and ", then 1 return: it sets the report's end" in note[0], note
    assert f"so {more:,} more order lines count as old enough (90 days)" in note[0], (note, more)


@pytest.mark.parametrize(("rename", "hint"), [("Apparel", True), ("shoes", False)])
def test_a_replay_names_a_mapping_class_the_scenario_lacks(tmp_path, rename, hint):
    """Returns of items the mapping puts in a class the scenario does not have are not replayed;
    the notes name the class (and the scenario's class it looks like), not only the count."""
    mapping = FILES["classes"].read_text(encoding="utf-8").replace(",apparel", f",{rename}")
    path = tmp_path / "classes.csv"
    path.write_text(mapping, encoding="utf-8")
    sc = rs.load_scenario(SEED_SCENARIO)
    shipped = read_inputs(sc, orders=FILES["orders"], mfn_returns=FILES["mfn_returns"], classes=FILES["classes"])
    renamed = read_inputs(sc, orders=FILES["orders"], mfn_returns=FILES["mfn_returns"], classes=path)
    assert not [n for n in shipped.notes if "class mapping's" in n]
    said = [n for n in renamed.notes if "class mapping's" in n]
    assert len(said) == 1 and said[0].startswith(
        f"the class mapping's '{rename}' is not a class of the scenario (accessories, electronics, apparel): "
        "their items' returns are not replayed"
    ), said
    assert ("looks like the scenario's 'apparel'" in said[0]) == hint
    assert len(renamed.demand.request_time) < len(shipped.demand.request_time)


@pytest.mark.parametrize("home", ["US", "us", "ZZ"])
def test_a_home_country_no_order_ships_to_is_named(home):
    """A typo in the home country makes every order international without an error: calibration
    and the replay both say so, with the country most orders ship to (counted here)."""
    from returnsim.calibrate import calibrate
    from returnsim.calibrate.readers import read_orders

    ship = read_orders(FILES["orders"]).data["ship_country"]
    top, share = ship.mode().iat[0], float((ship == ship.mode().iat[0]).mean())
    sc = rs.load_scenario(SEED_SCENARIO)
    replay = read_inputs(sc, orders=FILES["orders"], mfn_returns=FILES["mfn_returns"], classes=FILES["classes"], home_country=home)
    cal = calibrate(orders=FILES["orders"], mfn_returns=FILES["mfn_returns"], home_country=home)
    expected = [] if home.upper() == top else [
        f"no order ships to {home}, the home country given: every order counts as international; {share:.0%} ship to {top}"
    ]
    assert [n for n in replay.notes if "ships to" in n] == expected
    assert [n for n in cal.notes if "ships to" in n] == expected
    if expected:
        assert replay.demand.market.all()  # every request international, as the note says
