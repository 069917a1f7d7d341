"""Confidence intervals against published values and scipy.stats.

* Wilson score interval: Newcombe (1998), "Two-sided confidence intervals for the single
  proportion: comparison of seven methods", Statistics in Medicine 17: 857-872, Table II
  (method 3, score interval without continuity correction).
* Exact Poisson (Garwood 1936) limits for a count: the standard table (e.g. Ulm 1990, American
  Journal of Epidemiology 131: 373-375), to the digits printed there.
* Student t: the 95 % interval of R's ``t.test(extra ~ group, data = sleep, paired = TRUE)``
  on Student's (1908) sleep data, -2.4598858 to -0.7001142, t = -4.0621, p = 0.002833; and
  scipy.stats for everything else.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from returnsim.calibrate.stats import mean_interval, poisson_rate, wilson
from returnsim.experiment.statistics import mean_ci, paired_differences, summarize


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_newcombes_table(k, n, low, high):
    p, lo, hi = wilson(k, n)
    assert p == k / n
    assert float(lo) == pytest.approx(low, abs=5e-5) and float(hi) == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (3, 7), (50, 100), (999, 1000), (2, 5000)])
def test_wilson_matches_scipy(k, n):
    _, lo, hi = wilson(k, n)
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert float(lo) == pytest.approx(ci.low, abs=1e-12) and float(hi) == pytest.approx(ci.high, abs=1e-12)


@pytest.mark.parametrize(
    ("count", "low", "high"),
    [(0, 0.0, 3.689), (1, 0.0253, 5.572), (2, 0.2422, 7.225), (3, 0.6187, 8.767), (5, 1.6235, 11.668),
     (10, 4.7954, 18.390)],
)
def test_poisson_rate_matches_the_exact_table(count, low, high):
    # Exposure 1: the limits of the count itself; exposure 10: a tenth of them (a rate per day).
    rate, lo, hi = poisson_rate(count, 1.0)
    assert rate == count and lo == pytest.approx(low, abs=6e-4) and hi == pytest.approx(high, abs=6e-4)
    rate, lo, hi = poisson_rate(count, 10.0)
    assert rate == count / 10 and lo == pytest.approx(low / 10, abs=6e-5) and hi == pytest.approx(high / 10, abs=6e-5)


def test_poisson_rate_matches_scipys_exact_interval():
    for count in (0, 1, 4, 37, 500):
        _, lo, hi = poisson_rate(count, 3.0)
        # Garwood: the ends are where P(X >= count) and P(X <= count) are 2.5 % (scipy.stats).
        if count:
            assert stats.poisson.sf(count - 1, lo * 3.0) == pytest.approx(0.025, rel=1e-8)
        else:
            assert lo == 0.0
        assert stats.poisson.cdf(count, hi * 3.0) == pytest.approx(0.025, rel=1e-8)
    assert all(math.isnan(v) for v in poisson_rate(3, 0.0))


SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_paired_differences_reproduce_the_published_sleep_data_test():
    runs = pd.DataFrame({"policy": ["drug1"] * 10 + ["drug2"] * 10, "replication": list(range(10)) * 2,
                         "extra": SLEEP_1 + SLEEP_2})
    row = paired_differences(runs, "drug2", ["extra"]).iloc[0]  # drug1 - drug2, as R's group 1 - 2
    assert row["mean_diff"] == pytest.approx(-1.58)
    assert row["ci_low"] == pytest.approx(-2.4598858, abs=1e-7) and row["ci_high"] == pytest.approx(-0.7001142, abs=1e-7)
    assert row["p_value"] == pytest.approx(0.002833, abs=5e-7)
    a, b = np.array(SLEEP_1), np.array(SLEEP_2)
    assert row["var_paired"] == pytest.approx(np.var(a - b, ddof=1))
    assert row["variance_reduction"] == pytest.approx((a.var(ddof=1) + b.var(ddof=1)) / np.var(a - b, ddof=1))


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_mean_ci_is_the_student_t_interval(confidence):
    d = np.array(SLEEP_2) - np.array(SLEEP_1)
    m, sd, n, lo, hi = mean_ci(d, confidence)
    t = stats.t.ppf(0.5 + confidence / 2, 9)
    assert (m, n) == (pytest.approx(1.58), 10)
    assert lo == pytest.approx(1.58 - t * sd / math.sqrt(10)) and hi == pytest.approx(1.58 + t * sd / math.sqrt(10))
    if confidence == 0.95:
        assert t == pytest.approx(2.262, abs=5e-4)  # the printed t table, 9 degrees of freedom
        assert (lo, hi) == (pytest.approx(0.7001142, abs=1e-7), pytest.approx(2.4598858, abs=1e-7))


def test_mean_interval_and_summarize_ignore_nan_and_count_what_is_left():
    x = [1.0, np.nan, 2.0, 4.0]
    m, lo, hi, n = mean_interval(x)
    half = stats.t.ppf(0.975, 2) * np.std([1, 2, 4], ddof=1) / math.sqrt(3)
    assert (m, n) == (pytest.approx(7 / 3), 3) and lo == pytest.approx(7 / 3 - half) and hi == pytest.approx(7 / 3 + half)
    s = summarize(pd.DataFrame({"policy": ["p"] * 4, "replication": range(4), "x": x}), ["x"]).iloc[0]
    assert s["n"] == 3 and s["ci_low"] == pytest.approx(lo)
    assert mean_ci([5.0])[2] == 1 and math.isnan(mean_ci([5.0])[3])
    assert mean_ci([2.0, 2.0, 2.0])[3:] == (2.0, 2.0)
