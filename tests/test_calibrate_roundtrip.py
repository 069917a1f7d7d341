"""Round trips: synthetic reports from known parameters are fitted back inside their intervals,
the intervals cover at their nominal rate, and damaged rows are reported, never fatal."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import SEED_SCENARIO
from scipy import stats

import returnsim as rs
from returnsim.calibrate import calibrate, synthetic_reports
from returnsim.calibrate.roundtrip import coverage, round_trip
from returnsim.calibrate.synthetic import TRACE_COLUMNS, damage


@pytest.fixture(scope="module")
def store() -> rs.Scenario:
    # a smaller store than the seed's, so that a year of reports fits in well under a second
    return rs.load_scenario(SEED_SCENARIO, overrides={"demand.orders_per_day": 30})


def test_one_store_fitted_back_inside_its_intervals(store):
    rt = round_trip(store, "seed", seed=1, reference=3)
    assert len(rt) > 60 and rt["true"].notna().all()
    m = len(rt)
    # at 95 %, misses are binomial(m, 0.05) when the intervals are right ...
    assert (~rt["inside"]).sum() <= stats.binom.ppf(0.999, m, 0.05), rt.loc[~rt["inside"]]
    # ... and no estimate is further from the truth than a family-wise 0.1 % test allows
    # (its standard error from its own interval, and from the reference stores where the truth
    # is a policy outcome)
    z_max = stats.norm.ppf(1 - 0.0005 / m)
    far = rt[np.abs(rt["z"].fillna(0)) > z_max]
    assert far.empty, far
    # both kinds of truth are checked
    assert set(rt["truth"]) == {"scenario", "reference"}


@pytest.mark.slow
def test_intervals_cover_at_the_nominal_rate_over_repeated_draws(store):
    draws = 30
    cov = coverage(store, "seed", draws=draws, seed=100)
    expected = {
        "orders_per_day", "seasonality", "order_share", "price_mean", "price_cv",
        "international_share", "return_rate", "reason_share", "in_policy_share",
        "request_delay_days_mean", "request_delay_after_delivery_mean",
        "request_delay_after_delivery_cv", "disposition_share",
    }
    assert expected <= set(cov["family"])
    low = cov[cov["covered"] < cov["lowest_plausible"]]
    assert low.empty, cov
    pooled = float((cov["covered"] * cov["checks"]).sum() / cov["checks"].sum())
    assert pooled >= stats.binom.ppf(0.001, draws, 0.95) / draws


def test_damaged_rows_are_reported_not_fatal(store):
    rep = synthetic_reports(store, "seed", seed=2, months=12)
    clean = calibrate(**rep.sources(), base=rep.scenario)
    assert clean.problems.empty and clean.unknown_codes.empty
    files = rep.sources()
    done = {}
    for key in ("fba_returns", "mfn_returns", "orders"):
        text, what = damage(files[key].getvalue(), seed=5)
        files[key].seek(0)
        files[key].truncate()
        files[key].write(text)
        done[key] = what
    cal = calibrate(**files, base=rep.scenario)
    # every damaged line is named in the problems, in its own file
    for key, what in done.items():
        name = f"synthetic_{key}.txt"
        lines = set(cal.problems.loc[cal.problems["file"] == name, "line"])
        for w in what:
            if "unknown code" in w or "stray quote" in w:
                continue  # readable rows: an unknown code is counted; a lone quote is a character
            line = int(re.match(r"line (\d+)", w).group(1))
            if "duplicated" in w:
                line = len(files[key].getvalue().rstrip("\n").split("\n"))
            assert line in lines, (key, w, sorted(lines))
    assert "SYN_NEW_CODE" in set(cal.unknown_codes["code"])
    # only the short row and the duplicate are skipped (an order line without its date is kept):
    # the stray quote swallows no line
    used = cal.rows.set_index("report")
    for key in done:
        skipped = 2
        assert used.loc[key, "used"] == used.loc[key, "rows"] - skipped, key
    # the fits still stand, close to the clean ones
    merged = clean.estimates.merge(cal.estimates, on=["parameter", "item_class"], suffixes=("", "_d"))
    assert len(merged) == len(clean.estimates)
    half = (merged["ci_high"] - merged["ci_low"]) / 2
    assert (np.abs(merged["estimate_d"] - merged["estimate"]) <= half + 1e-12).all()


def test_synthetic_reports_need_the_trace_columns_they_use(store, monkeypatch):
    from returnsim.calibrate import synthetic as syn

    monkeypatch.setattr(syn, "TRACE_COLUMNS", (*TRACE_COLUMNS, "no_such_column"))
    with pytest.raises(ValueError, match="no_such_column"):
        syn.synthetic_reports(store, "seed", seed=0, months=2)


def test_synthetic_reports_are_labelled_synthetic(store):
    rep = synthetic_reports(store, "seed", seed=0, months=2)
    assert "SYNTHETIC" in rep.orders and "SYN-" in rep.fba_returns and "SYNTHETIC" in rep.mfn_returns
