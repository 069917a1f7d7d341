"""Readers of Amazon's reports: liberal in what they accept, exact about what they could not read."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from returnsim.calibrate import CodeTable, calibrate
from returnsim.calibrate.readers import (
    read_classes,
    read_fba_returns,
    read_mfn_returns,
    read_orders,
    redact,
)

FBA_HEADER = [
    "return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity",
    "fulfillment-center-id", "detailed-disposition", "reason", "status", "license-plate-number",
    "customer-comments",
]


def fba_row(date="2026-07-31T22:34:59+00:00", order="111-0000001-0000001", sku="SKU1", reason="UNWANTED_ITEM", disposition="SELLABLE", comment="") -> list[str]:
    return [date, order, sku, "B000000001", "X001", "Widget", "1", "PHX3", disposition, reason, "Unit returned to inventory", "LPN1", comment]


def tsv(header: list[str], rows: list[list[str]], newline: str = "\n") -> str:
    return newline.join(["\t".join(header)] + ["\t".join(r) for r in rows]) + newline


def test_fba_report_read_whatever_the_encoding_line_endings_and_column_order():
    rows = [fba_row(order=f"111-0000001-000000{i}") for i in range(3)]
    plain = tsv(FBA_HEADER, rows)
    order = [12, 0, 9, 8, 1, 2, 3, 4, 5, 6, 7, 10, 11]  # shuffled columns
    shuffled = tsv([FBA_HEADER[i] for i in order], [[r[i] for i in order] for r in rows], "\r\n")
    variants = {
        "plain": plain.encode("utf-8"),
        "bom": b"\xef\xbb\xbf" + plain.encode("utf-8"),
        "utf16": plain.encode("utf-16"),
        "crlf shuffled": shuffled.encode("utf-8"),
        "amazon-order-id": plain.replace("order-id", "amazon-order-id", 1).encode("utf-8"),
        "no comments column": tsv(FBA_HEADER[:-1], [r[:-1] for r in rows]).encode("utf-8"),
        "extra column": tsv(FBA_HEADER + ["something-new"], [r + ["x"] for r in rows]).encode("utf-8"),
    }
    for name, raw in variants.items():
        rep = read_fba_returns(raw)
        assert not rep.problems, (name, rep.problems)
        assert len(rep.data) == 3, name
        assert rep.data["reason"].tolist() == ["UNWANTED_ITEM"] * 3, name
        assert rep.data["return_date"].iloc[0] == pd.Timestamp("2026-07-31 22:34:59"), name


def test_dates_in_every_listed_format_and_day_resolution():
    rows = [fba_row(date=d, order=f"111-0000001-000000{i}") for i, d in enumerate(["2026-07-31T22:34:59+00:00", "31-07-2026", "31-JUL-2026", "31-Jul-2026", "2026-07-31"])]
    rep = read_fba_returns(tsv(FBA_HEADER, rows).encode())
    assert not rep.problems
    assert rep.data["return_date"].dt.date.eq(pd.Timestamp("2026-07-31").date()).all()
    assert rep.day_resolution["return_date"] is False
    rep = read_fba_returns(tsv(FBA_HEADER, rows[1:]).encode())
    assert rep.day_resolution["return_date"] is True


def test_quoted_fields_with_tabs_and_line_breaks_and_stray_quotes():
    rows = [fba_row(order="111-0000001-0000001"), fba_row(order="111-0000001-0000002"), fba_row(order="111-0000001-0000003")]
    rows[0][5] = '"Widget\twith a tab"'
    rows[1][12] = '"first line\nsecond line"'
    rows[2][5] = '24" monitor'
    text = tsv(FBA_HEADER, rows)
    rep = read_fba_returns(io.StringIO(text))
    assert not rep.problems, rep.problems
    assert len(rep.data) == 3
    # the row after a multi-line field keeps its own line number
    assert rep.data["line"].tolist() == [2, 3, 5]


def test_every_unreadable_row_is_reported_and_the_rest_used():
    rows = [fba_row(order=f"111-0000001-00000{i:02d}") for i in range(10)]
    rows[1][0] = "31/13/2025"  # line 3
    rows[3] = rows[3][:-2]  # line 5: two fields short
    rows[5][6] = "two"  # line 7: quantity
    rows[7][1] = ""  # line 9: no order id (kept: its reason still counts)
    rows.append(list(rows[8]))  # line 12: duplicate of line 10
    rep = read_fba_returns(io.StringIO(tsv(FBA_HEADER, rows)))
    found = {(p.line, p.column) for p in rep.problems}
    assert found == {(3, "return-date"), (5, ""), (7, "quantity"), (12, "")}
    by_line = {p.line: p for p in rep.problems}
    assert by_line[3].value == "31/13/2025" and "date" in by_line[3].problem
    assert "13 fields" not in by_line[5].problem and "11 fields" in by_line[5].problem
    assert "duplicate of line 10" in by_line[12].problem
    # rows with a bad cell are used with that cell empty; the short row and the duplicate are not
    assert len(rep.data) == 9
    assert rep.data["return_date"].isna().sum() == 1


def test_problem_values_never_show_order_ids_or_emails():
    assert redact("111-2223334-4445556") == "<order id>"
    assert "<e-mail>" in redact("write to jane.doe@example.com")
    rows = [fba_row()]
    rows[0][0] = "111-2223334-4445556"  # an order id shifted into the date column
    rep = read_fba_returns(io.StringIO(tsv(FBA_HEADER, rows)))
    assert rep.problems and "111-2223334" not in str(rep.problems[0])


def test_mfn_report_yes_no_money_and_unknown_values():
    header = ["Order ID", "Order date", "Return request date", "Label cost", "Label to be paid by", "A-to-Z Claim", "In policy", "Return Reason", "Order Amount", "Refunded Amount"]
    rows = [
        ["111-0000001-0000001", "01-JUL-2026", "05-JUL-2026", "$7.50", "Customer", "N", "Y", "CR-UNWANTED_ITEM", "1,234.50", "1,227.00"],
        ["111-0000001-0000002", "01-JUL-2026", "06-JUL-2026", "8.10", "Seller", "Yes", "maybe", "AMZ-PG-APP-TOO-SMALL", "20", "20"],
    ]
    rep = read_mfn_returns(io.StringIO(tsv(header, rows)))
    assert [(p.line, p.column, p.value) for p in rep.problems] == [(3, "In policy", "maybe")]
    d = rep.data
    assert d["label_cost"].tolist() == [7.5, 8.1]
    assert d["order_amount"].tolist() == [1234.5, 20.0]
    assert d["az_claim"].tolist() == [False, True]
    codes = CodeTable.load()
    assert [codes.reason_of(c) for c in d["reason"]] == ["no_longer_needed", "wrong_size"]


def test_orders_report_or_counts_per_month():
    rep = read_orders({"2026-01": 100, "2026-02": 90})
    assert rep.kind == "monthly_orders" and rep.data["orders"].tolist() == [100, 90]
    text = "month,orders\n2026-01,100\n2026-02,ninety\n"
    rep = read_orders(io.StringIO(text))
    assert [(p.line, p.column, p.value) for p in rep.problems] == [(3, "orders", "ninety")]
    rep = read_orders(io.StringIO("foo\tbar\n1\t2\n"))
    assert rep.problems and "not recognised" in rep.problems[0].problem


def test_class_mapping_names_become_scenario_keys():
    rep = read_classes(io.StringIO("sku,item_class\nA,Home & Kitchen\nB,toys\nA,toys\n"))
    assert rep.data.set_index("sku")["item_class"].to_dict() == {"A": "home_kitchen", "B": "toys"}
    assert {p.line for p in rep.problems} == {2, 4}


@pytest.mark.parametrize("sep", [";", "\t"])
def test_a_class_mapping_reads_alike_with_commas_semicolons_or_tabs(sep):
    """Excel saves CSV with semicolons where the decimal mark is a comma: the same mapping then
    reads as with commas (it was refused as having no column returnsim reads)."""
    text = "sku,item_class\nA,Home & Kitchen\nB,toys\nC,toys\n"
    comma, other = read_classes(io.StringIO(text)), read_classes(io.StringIO(text.replace(",", sep)))
    assert other.unusable is None and other.problems == comma.problems
    pd.testing.assert_frame_equal(other.data, comma.data)


def test_unknown_codes_are_counted_and_left_out_of_the_mix():
    rows = [fba_row(order=f"111-0000001-00000{i:02d}", reason=r, disposition=d) for i, (r, d) in enumerate(
        [("UNWANTED_ITEM", "SELLABLE"), ("DEFECTIVE", "DEFECTIVE"), ("BRAND_NEW_CODE", "SELLABLE"), ("BRAND_NEW_CODE", "MYSTERY"), ("UNKNOWN_OTHER_REASON", "SELLABLE")]
    )]
    cal = calibrate(fba_returns=io.StringIO(tsv(FBA_HEADER, rows)))
    u = cal.unknown_codes.set_index(["column", "code"])["rows"].to_dict()
    assert u == {("reason", "BRAND_NEW_CODE"): 2, ("detailed-disposition", "MYSTERY"): 1}
    shares = cal.estimates[cal.estimates["parameter"].str.startswith("reason_share:")]
    assert set(shares["n"]) == {2}  # only the two known reasons count
    assert np.isclose(shares["estimate"].sum(), 1.0)
    assert any("give no reason" in n for n in cal.notes)


def test_a_file_without_the_needed_columns_is_one_clear_problem():
    rep = read_fba_returns(io.StringIO("foo\tbar\n1\t2\n"))
    assert len(rep.problems) == 1 and rep.data.empty
    rep = read_mfn_returns(io.StringIO("Order ID\tLabel cost\n111-0000001-0000001\t7\n"))
    assert [(p.line, p.column) for p in rep.problems] == [(1, "return-request-date")]


@pytest.mark.parametrize("bad", [b"\xff\xfe\x00", b"", b"\n\n"])
def test_odd_bytes_never_raise(bad: bytes):
    rep = read_fba_returns(bad)
    assert rep.data.empty and rep.problems


def test_order_rows_without_an_order_id_are_skipped_and_without_a_date_kept():
    header = ["amazon-order-id", "purchase-date", "sku", "quantity", "item-price", "ship-country"]
    rows = [["111-0000001-0000001", "2026-07-01T10:00:00+00:00", "A", "1", "10.00", "US"], ["", "2026-07-01T10:00:00+00:00", "A", "1", "10.00", "US"], ["111-0000001-0000003", "", "A", "1", "10.00", "usa"], ["111-0000001-0000004", "31/13/2025", "A", "1", "12.00", "US"]]
    rep = read_orders(io.StringIO(tsv(header, rows)))
    assert {(p.line, p.column) for p in rep.problems} == {(3, "amazon-order-id"), (4, "purchase-date"), (4, "ship-country"), (5, "purchase-date")}
    # without its id a row says nothing; without its date it is still an order line
    assert rep.data["line"].tolist() == [2, 4, 5]
    cal = calibrate(orders=io.StringIO(tsv(header, rows)))
    assert cal.estimates.query("parameter == 'order_share'")["n"].tolist() == [3]
    assert cal.estimates.query("parameter == 'orders_per_day'")["n"].tolist() == [1]
    assert cal.estimate("price_mean", "all_items") == pytest.approx(32 / 3)
    p = cal.problems[(cal.problems["line"] == 5)].iloc[0]
    assert "still counts in order_share, price_mean" in p["problem"] and "not in orders_per_day" in p["problem"]
