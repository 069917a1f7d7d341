"""Reports shaped like a real seller's (issue 19): fixed list prices, reports ending on different
dates, rows without a label, unreadable cells in a return, files that cannot be used at all, the
Resolution and SAFE-T columns, and Brand Analytics' Repeat Purchase Behavior report."""

from __future__ import annotations

import io
import json
import sqlite3
import tomllib

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SEED_SCENARIO
from scipy import stats

import returnsim as rs
from returnsim.calibrate import ReportError, calibrate, synthetic_reports
from returnsim.calibrate import writer as writer_mod
from returnsim.calibrate.repeat import read_repeat_purchases
from returnsim.calibrate.roundtrip import coverage
from returnsim.calibrate.stats import Z95, repeat_rate
from returnsim.cli import main

EXAMPLES = ROOT / "scenarios" / "examples" / "amazon_reports"
MFN = ["Order ID", "Order date", "Return request date", "Label type", "Label cost", "Label to be paid by", "Return Reason", "Resolution", "In policy", "Order Amount", "SafeT claim id", "SafeT claim state", "SafeT claim reimbursement amount"]


def tsv(header: list[str], rows: list[list[str]]) -> io.StringIO:
    buf = io.StringIO("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    buf.name = "returns.txt"
    return buf


def mfn_row(i: int, label: str = "AmazonPrePaidLabel", cost: str = "7.50", payer: str = "Customer", resolution: str = "StandardRefund", amount: str = "20.00", claim: tuple[str, str, str] = ("", "", ""), request: str = "05-JUL-2026") -> list[str]:
    return [f"111-0000001-{i:07d}", "01-JUL-2026", request, label, cost, payer, "CR-UNWANTED_ITEM", resolution, "Y", amount, *claim]


@pytest.fixture(scope="module")
def store() -> rs.Scenario:
    return rs.load_scenario(SEED_SCENARIO, overrides={"demand.orders_per_day": 30})


# --- fixed list prices -----------------------------------------------------------------------


def test_fixed_list_prices_give_a_fixed_price_class_and_a_valid_scenario(store):
    # the store: All Orders and the seller-fulfilled Returns report, no FBA report and no
    # class mapping; every item sells at one list price, so each price band has one price
    rep = synthetic_reports(store, "seed", seed=4, months=12, fixed_prices=True, fba_share=0.0)
    s = rep.sources()
    cal = calibrate(orders=s["orders"], mfn_returns=s["mfn_returns"], base=rep.scenario)
    prices = {float(c.price.mean) for c in rep.scenario.catalog.values()}
    text = cal.to_scenario()  # validated: every class has a price
    doc = tomllib.loads(text)
    fitted = {k: v["price"] for k, v in doc["catalog"].items() if k.startswith("price_")}
    assert fitted and all(p["dist"] == "fixed" for p in fitted.values())
    assert {p["value"] for p in fitted.values()} == prices
    cv = cal.estimates[cal.estimates["parameter"] == "price_cv"]
    assert (cv["estimate"] == 0).all() and (cv["ci_high"] == 0).all()


# --- reports ending on different dates -------------------------------------------------------


def test_each_order_line_is_mature_against_its_own_channels_report(store):
    rep = synthetic_reports(store, "seed", seed=5, months=12, fba_months=6)
    s = rep.sources()
    cal = calibrate(**s, base=rep.scenario)
    orders = pd.read_csv(io.StringIO(rep.orders), sep="\t")
    fba = pd.read_csv(io.StringIO(rep.fba_returns), sep="\t")
    mfn = pd.read_csv(io.StringIO(rep.mfn_returns), sep="\t")
    day = pd.Timedelta(days=90)
    fba_end = pd.to_datetime(fba["return-date"], utc=True).max().tz_localize(None)
    mfn_end = pd.to_datetime(mfn["Return request date"], format="%d-%b-%Y").max()
    assert fba_end < mfn_end - pd.Timedelta(days=150)  # the FBA report really ends earlier
    placed = pd.to_datetime(orders["purchase-date"], utc=True).dt.tz_localize(None)
    by_fba = orders["fulfillment-channel"] == "Amazon"
    mature = np.where(by_fba, placed <= fba_end - day, placed <= mfn_end - day)
    assert cal.estimates.query("parameter == 'return_rate' and item_class == 'all'")["n"].iat[0] == int(mature.sum())
    # and the rates are the scenario's
    for cls, c in rep.scenario.catalog.items():
        row = cal.estimates.query("parameter == 'return_rate' and item_class == @cls").iloc[0]
        assert row["ci_low"] <= c.return_rate <= row["ci_high"], (cls, row)


# --- rows without a label, a row with one unreadable cell ------------------------------------


def test_label_figures_count_the_rows_that_had_a_label():
    rows = [
        mfn_row(1, payer="Customer"),
        mfn_row(2, payer="Customer", cost="seven"),  # a label whose cost cannot be read: the payer still counts
        mfn_row(3, payer="Seller", cost="9.50"),
        mfn_row(4, label="", cost="5.50", payer="Customer"),  # no type given, a cost shown: a label
        mfn_row(5, label="NoLabel", cost="7.50", payer="Seller", resolution="ReturnlessRefund"),  # no label
        mfn_row(6, label="", cost="", payer="Seller", resolution="ReturnlessRefund"),  # no label
        mfn_row(7, label="AmazonPrePaidLabel", cost="8.00", payer="Seller", resolution="ReturnlessRefund"),  # returnless: no label
    ]
    cal = calibrate(mfn_returns=tsv(MFN, rows))
    share = cal.estimates.query("parameter == 'label_buyer_paid_share'").iloc[0]
    assert (share["estimate"], share["n"]) == (0.75, 4)
    assert cal.estimate("label_cost_mean:buyer") == pytest.approx((7.5 + 5.5) / 2)
    assert cal.estimate("label_cost_mean:seller") == pytest.approx(9.5)
    bad = cal.problems[cal.problems["column"] == "Label cost"].iloc[0]
    assert "still counts in" in bad["problem"] and "not in label_cost_mean" in bad["problem"]


def test_a_return_with_an_unreadable_date_still_counts_as_a_return(store):
    rep = synthetic_reports(store, "seed", seed=6, months=12)
    clean = calibrate(**rep.sources(), base=rep.scenario)
    s = rep.sources()
    lines = s["mfn_returns"].getvalue().split("\n")
    col = lines[0].split("\t").index("Return request date")
    last = pd.to_datetime(pd.Series([ln.split("\t")[col] for ln in lines[1:-1]]), format="%d-%b-%Y").max()
    damaged = 0
    for i in range(1, len(lines) - 1, 7):
        f = lines[i].split("\t")
        if pd.Timestamp(f[col]) == last:
            continue  # the report's last date says where it ends: keep it
        f[col] = "31/13/2025"
        lines[i] = "\t".join(f)
        damaged += 1
    s["mfn_returns"] = io.StringIO("\n".join(lines))
    s["mfn_returns"].name = "mfn.txt"
    cal = calibrate(**s, base=rep.scenario)
    assert cal._prepared is not None and clean._prepared is not None
    assert cal._prepared.orders["returned"].sum() == clean._prepared.orders["returned"].sum()
    assert cal.estimate("return_rate") == clean.estimate("return_rate")
    p = cal.problems[cal.problems["file"] == "mfn.txt"]
    assert len(p) == damaged
    assert p["problem"].str.contains("still counts in return_rate").all()
    assert p["problem"].str.contains("not in in_policy_share").all()


# --- files that cannot be used ---------------------------------------------------------------


def _examples(store, tmp_path):
    rep = synthetic_reports(store, "seed", seed=7, months=3)
    return rep.write(tmp_path / "reports")


@pytest.mark.parametrize(
    "case, expect",
    [
        ("header only", "header but no rows"),
        ("no header", "header line is missing"),
        ("sqlite", "SQLite database"),
        ("xlsx", "Excel workbook"),
        ("orders as fba", "All Orders report"),
        ("fba as mfn", "FBA customer returns report"),
        # a returns report has an order id and an order date, which an orders reader would
        # take for its own: it read 175 Returns rows as order lines without a word
        ("mfn as orders", "seller-fulfilled Returns report, not the report expected here; pass it as --mfn-returns"),
        ("fba as orders", "FBA customer returns report, not the report expected here; pass it as --fba-returns"),
        ("empty", "the file is empty"),
    ],
)
def test_a_file_that_cannot_be_used_is_named_with_the_fix(store, tmp_path, capsys, case, expect):
    paths = _examples(store, tmp_path)
    bad = tmp_path / "bad.txt"
    args = {"--orders": paths["orders"], "--mfn-returns": paths["mfn_returns"]}
    if case == "header only":
        bad.write_text(paths["orders"].read_text().split("\n")[0] + "\n")
        args["--orders"] = bad
    elif case == "no header":
        bad.write_text("\n".join(paths["mfn_returns"].read_text().split("\n")[1:]))
        args["--mfn-returns"] = bad
    elif case == "sqlite":
        con = sqlite3.connect(bad)
        con.execute("create table t (x)")
        con.commit()
        con.close()
        args["--orders"] = bad
    elif case == "xlsx":
        bad.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
        args["--mfn-returns"] = bad
    elif case == "orders as fba":
        args = {"--fba-returns": paths["orders"]}
    elif case == "fba as mfn":
        args["--mfn-returns"] = paths["fba_returns"]
    elif case in ("mfn as orders", "fba as orders"):
        args["--orders"] = paths[f"{case[:3]}_returns"]
    elif case == "empty":
        bad.write_text("\n\n")
        args["--orders"] = bad
    argv = ["calibrate", *[str(x) for kv in args.items() for x in kv], "--output", str(tmp_path / "x.toml")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    given = {"orders as fba": "orders", "fba as mfn": "fba_returns", "mfn as orders": "mfn_returns", "fba as orders": "fba_returns"}
    name = paths[given[case]].name if case in given else "bad.txt"
    assert name in err and expect in err and "Traceback" not in err, err
    assert not (tmp_path / "x.toml").exists()


def test_utf16_without_a_byte_order_mark_reads_like_utf8(store, tmp_path):
    paths = _examples(store, tmp_path)
    text = paths["orders"].read_text()
    plain = calibrate(orders=io.BytesIO(text.encode("utf-8")).getvalue(), mfn_returns=paths["mfn_returns"])
    for enc in ("utf-16-le", "utf-16-be"):
        cal = calibrate(orders=text.encode(enc), mfn_returns=paths["mfn_returns"])
        pd.testing.assert_frame_equal(cal.estimates, plain.estimates)
        assert any("UTF-16 without a byte-order mark" in n for n in cal.notes)


def test_the_library_raises_a_report_error_naming_every_unusable_file():
    with pytest.raises(ReportError, match=r"returns.txt: the first line holds data.*\(bytes\): the file is empty"):
        calibrate(orders=b"", mfn_returns=tsv(mfn_row(1), [mfn_row(2)]))


# --- Resolution and SAFE-T -------------------------------------------------------------------


def test_resolution_and_safet_shares_are_counted_over_the_rows_they_concern():
    approved, denied, pending = ("C1", "Approved", "16.00"), ("C2", "Denied", ""), ("C3", "Pending", "")
    rows = [
        mfn_row(1, resolution="RefundAtFirstScan", claim=approved),
        mfn_row(2, resolution="RefundAtFirstScan", claim=denied, amount="40.00"),
        mfn_row(3, resolution="RefundAtFirstScan", claim=("C4", "Approved", "10.00"), amount="40.00"),
        mfn_row(4, resolution="StandardRefund", claim=pending),
        mfn_row(5, resolution="StandardRefund"),
        mfn_row(6, label="SellerPrepaidLabel", resolution="StandardRefund"),  # not eligible for RFS
        mfn_row(7, label="", cost="", resolution="ReturnlessRefund"),
        mfn_row(8, resolution="Replacement"),
        mfn_row(9, resolution="SomethingNew"),  # unknown: counted, left out
    ]
    cal = calibrate(mfn_returns=tsv(MFN, rows))
    e = cal.estimates.set_index("parameter")
    assert (e.loc["returnless_share", "estimate"], e.loc["returnless_share", "n"]) == (1 / 8, 8)
    assert (e.loc["replacement_share", "estimate"], e.loc["replacement_share", "n"]) == (1 / 8, 8)
    assert (e.loc["rfs_share", "estimate"], e.loc["rfs_share", "n"]) == (3 / 5, 5)
    assert (e.loc["safet_claim_rate", "estimate"], e.loc["safet_claim_rate", "n"]) == (4 / 5, 5)
    assert (e.loc["safet_approval_rate", "estimate"], e.loc["safet_approval_rate", "n"]) == (2 / 3, 3)
    assert e.loc["safet_reimbursed_share", "estimate"] == pytest.approx((16 / 20 + 10 / 40) / 2)
    assert "SOMETHINGNEW" in set(cal.unknown_codes["code"])
    for name in ("rfs_share", "safet_claim_rate", "returnless_share"):
        assert e.loc[name, "ci_low"] <= e.loc[name, "estimate"] <= e.loc[name, "ci_high"]


# --- repeat purchases ------------------------------------------------------------------------


def test_repeat_rate_solves_its_equation_and_covers_at_the_nominal_rate():
    # hand check: with one period of 30 days, orders / customers is a zero-truncated Poisson mean
    est, lo, hi = repeat_rate([110], [100], [30])
    mu = est * 30 / 365.25
    assert mu / -np.expm1(-mu) == pytest.approx(1.1)
    assert lo < est < hi
    assert repeat_rate([50], [50], [30])[:2] == (0.0, 0.0)  # no repeat: 0, and an upper end above it
    rng = np.random.default_rng(19)
    rate, draws, hits = 0.8, 400, 0
    for _ in range(draws):
        n = rng.poisson(rate * 30 / 365.25, size=(12, 1500))
        o, u = (n * (n > 0)).sum(axis=1), (n > 0).sum(axis=1)
        _, lo, hi = repeat_rate(o, u, np.full(12, 30))
        hits += lo <= rate <= hi
    assert hits >= stats.binom.ppf(0.001, draws, 0.95)


def test_the_repeat_purchase_report_reads_as_csv_or_the_apis_json():
    csv = "ASIN,Start Date,End Date,Orders,Unique Customers,Repeat Customers % Total,Repeat Purchase Revenue\nB01,2026-01-01,2026-01-31,120,100,12.5,300.00\nB02,2026-01-01,2026-01-31,9,10,0,0\n"
    doc = {"reportSpecification": {}, "dataByAsin": [
        {"startDate": "2026-01-01", "endDate": "2026-01-31", "asin": "B01", "orders": 120, "uniqueCustomers": 100, "repeatCustomersPctTotal": 12.5, "repeatPurchaseRevenue": {"amount": 300.0, "currencyCode": "USD"}, "repeatPurchaseRevenuePctTotal": 10.0},
        {"startDate": "2026-01-01", "endDate": "2026-01-31", "asin": "B02", "orders": 9, "uniqueCustomers": 10, "repeatCustomersPctTotal": 0, "repeatPurchaseRevenue": {"amount": 0, "currencyCode": "USD"}, "repeatPurchaseRevenuePctTotal": 0},
    ]}
    a, b = read_repeat_purchases(csv.encode()), read_repeat_purchases(json.dumps(doc).encode())
    for rep in (a, b):
        assert rep.data[["asin", "orders", "unique_customers"]].values.tolist() == [["B01", 120, 100]]
        assert [p.line for p in rep.problems] == [3] and "more unique customers than orders" in rep.problems[0].problem
    assert a.data["repeat_revenue"].tolist() == b.data["repeat_revenue"].tolist() == [300.0]


def test_the_written_scenario_uses_the_fitted_values_and_their_intervals(store, tmp_path, monkeypatch):
    rep = synthetic_reports(store, "seed", seed=8, months=12, repeat_purchases=True, regime={})
    cal = calibrate(**rep.sources(), base=rep.scenario)
    path = tmp_path / "cal.toml"
    cal.to_scenario(SEED_SCENARIO, path)
    sc = rs.load_scenario(path)
    row = cal.estimates.query("parameter == 'repeat_purchases_per_year' and item_class == 'all'").iloc[0]
    assert sc.buyer.purchases_per_year.mean == pytest.approx(row["estimate"], abs=1e-4)
    assert sc.buyer.purchases_per_year.dist == store.buyer.purchases_per_year.dist
    u = sc.uncertainty["buyer.purchases_per_year.mean"]
    assert u.source.startswith("fitted") and u.mean == pytest.approx(row["estimate"], abs=1e-5)
    lo, hi = u.ppf(np.array([0.025, 0.975]))
    assert lo == pytest.approx(row["ci_low"], rel=0.02) and hi == pytest.approx(row["ci_high"], rel=0.02)
    for cls in sc.catalog:
        r = cal.estimates.query("parameter == 'return_rate' and item_class == @cls").iloc[0]
        u = sc.uncertainty[f"catalog.{cls}.return_rate"]
        assert u.sd == pytest.approx((r["ci_high"] - r["ci_low"]) / (2 * Z95), rel=1e-3)
    # Amazon's regime is written into the scenario's [amazon] fields (model section 7b) ...
    assert sc.amazon.rfs_excluded_share == pytest.approx(round(1 - cal.estimate("rfs_share"), 4))
    assert not any("rfs_share" in n for n in cal.writer_notes)
    # ... and a regime field the schema does not have is reported, not written.
    missing = tuple(
        writer_mod.Target(t.parameters, "amazon.no_such_field", t.how, t.estimate, t.flip) if t.estimate == "rfs_share" else t
        for t in writer_mod.TARGETS
    )
    monkeypatch.setattr(writer_mod, "TARGETS", missing)
    doc = tomllib.loads(cal.to_scenario(SEED_SCENARIO))
    assert "no_such_field" not in doc.get("amazon", {})
    assert any("rfs_share" in n and "reported only" in n for n in cal.writer_notes)


def test_without_a_repeat_purchase_report_the_summary_says_to_measure_it_first(store):
    rep = synthetic_reports(store, "seed", seed=9, months=3)
    cal = calibrate(**rep.sources(), base=rep.scenario)
    text = cal.summary()
    assert "repeat_purchases_per_year" in text and "measure first" in text and "--repeat-purchases" in text
    sc = rs.parse_scenario(tomllib.loads(cal.to_scenario(SEED_SCENARIO)))
    base = rs.load_scenario(SEED_SCENARIO)
    assert sc.buyer.purchases_per_year == base.buyer.purchases_per_year
    assert sc.uncertainty["buyer.purchases_per_year.mean"] == base.uncertainty["buyer.purchases_per_year.mean"]


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        ("B01,2026-01-01,2026-01-31,9,10\n", "repeat.csv: no readable row (see the problems)"),
        ("B01,2026-01-01,2026-01-31,0,0\n", "repeat.csv: no row left with a customer"),
        ("B01,2026-02-01,2026-01-01,9,9\n", "repeat.csv: no row left with a customer"),
    ],
)
def test_a_repeat_purchase_report_with_nothing_to_fit_says_why(rows, said):
    """The report was given: the notes say why purchases a year stay assumed, not that it is
    missing (a report whose every row was unreadable had been told to pass --repeat-purchases)."""
    from returnsim.calibrate.prepare import NO_REPEAT_NOTE

    repeat = io.StringIO("ASIN,Start Date,End Date,Orders,Unique Customers\n" + rows)
    repeat.name = "repeat.csv"
    cal = calibrate(orders=EXAMPLES / "synthetic_orders.txt", repeat_purchases=repeat)
    assert "repeat_purchases_per_year" not in set(cal.estimates["parameter"])
    assert NO_REPEAT_NOTE not in cal.notes
    assert [n for n in cal.notes if n.startswith("repeat.csv: no ")] == [
        f"{said}: purchases a year with you (buyer.purchases_per_year) stay assumed"
    ], cal.notes


# --- the round trip over every shape ---------------------------------------------------------

SHAPES = {"fba_months": 6, "fixed_prices": True, "label_gaps": True, "regime": {}, "repeat_purchases": True}


@pytest.mark.slow
def test_shaped_reports_cover_every_parameter_at_the_nominal_rate(store):
    draws = 30
    cov = coverage(store, "seed", draws=draws, seed=300, **SHAPES)
    families = set(cov["family"])
    assert {"return_rate", "price_mean", "rfs_share", "safet_claim_rate", "safet_approval_rate", "safet_reimbursed_share", "repeat_purchases_per_year"} <= families
    low = cov[cov["covered"] < cov["lowest_plausible"]]
    assert low.empty, cov


def test_a_returns_report_without_rows_still_gives_a_valid_scenario(store):
    # no returns in the period: nothing is fitted from the report, and the price-band classes
    # take what it would have given from the base, marked assumed
    rep = synthetic_reports(store, "seed", seed=10, months=6, fba_share=0.0)
    empty = io.StringIO(rep.mfn_returns.split("\n")[0] + "\n")
    empty.name = "returns.txt"
    cal = calibrate(orders=io.StringIO(rep.orders), mfn_returns=empty)
    assert any("returns.txt: a header and no rows" in n for n in cal.notes)
    text = cal.to_scenario(SEED_SCENARIO)
    sc = rs.parse_scenario(tomllib.loads(text))
    new = [c for c in sc.catalog if c.startswith("price_")]
    assert new and all(f"catalog.{c}.return_rate" in cal.assumed(text) for c in new)
