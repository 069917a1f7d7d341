"""The calibration's intervals against scipy's, and at the ends where rounding used to bite."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from returnsim.calibrate.stats import wilson


@pytest.mark.parametrize(("k", "n"), [(0, 1832), (1, 40), (5, 20), (37, 300), (299, 300), (300, 300)])
def test_wilson_is_scipys_wilson_interval(k, n):
    p, low, high = wilson(k, n)
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert p == k / n
    assert low == pytest.approx(ci.low, abs=1e-4) and high == pytest.approx(ci.high, abs=1e-4)


def test_a_share_of_none_or_all_has_an_interval_that_reaches_zero_or_one_exactly():
    # A true share of 0 fitted from 0 of 1,832 rows must lie inside its interval: the round
    # trip counted such a fit as a miss when the lower end came out 2e-19.
    _, low, high = wilson(np.array([0, 7, 1832]), np.array([1832, 1832, 1832]))
    assert low[0] == 0.0 and high[2] == 1.0
    assert 0 < low[1] < high[1] < 1
