"""The faster forms of drawing requests (issue 24) give the numbers of the forms they replace, bit
for bit: a categorical draw counted over a transposed table (``demand.pick``) against counting
along the gathered rows (``demand.pick_rows``), and one ``ppf`` call for a per-row limit
(``demand.ppf_below_each``) against one ``ppf_below`` call per distinct limit, for every family
of distribution (those that override ``ppf_below`` included)."""

from __future__ import annotations

import numpy as np
import pytest

from returnsim.model.demand import pick, pick_rows, ppf_below_each
from returnsim.scenario.distributions import Empirical, Exponential, Fixed, Gamma, Lognormal, Triangular, Uniform


@pytest.mark.parametrize("n", [0, 1, 7, 4096])
def test_pick_is_pick_rows_of_the_gathered_rows(n: int) -> None:
    rng = np.random.default_rng(n)
    raw = rng.random((5, 6))
    raw[1, 2] = 0.0  # an empty category: a tie in the cumulative shares
    table = np.cumsum(raw, axis=1) / raw.sum(axis=1, keepdims=True)
    table[3] = np.cumsum([0.5, 0.25, 0.25, 0.0, 0.0, 0.0])  # shares that end early: exact 1.0
    row = rng.integers(0, 5, n)
    u = rng.random(n)
    u[: n // 3] = table[row[: n // 3], 1]  # uniforms exactly on a boundary
    got, want = pick(table, row, u), pick_rows(table[row], u)
    assert got.dtype == want.dtype == np.int64
    assert np.array_equal(got, want)


FAMILIES = [
    Fixed(value=3.0),
    Exponential(mean_=4.0),
    Gamma(mean_=8.0, cv=0.8),
    Lognormal(mean_=8.0, cv=0.8),
    Uniform(low=0.0, high=14.0),
    Triangular(low=0.0, mode=2.0, high=20.0),
    Empirical(values=[1.0, 2.0, 5.0, 30.0], weights=[1.0, 2.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("dist", FAMILIES, ids=lambda d: type(d).__name__)
def test_ppf_below_each_is_ppf_below_per_limit(dist) -> None:
    rng = np.random.default_rng(1)
    n = 3000
    u = rng.random((n, 3))[:, 1]  # a strided column, as build_requests passes it
    limit = rng.choice([2.0, 5.0, 14.0, 30.0, 61.0, 95.0], n)
    want = np.empty(n)
    for w in np.unique(limit):
        sel = limit == w
        want[sel] = dist.ppf_below(u[sel], float(w))
    got = ppf_below_each(dist, u, limit)
    assert got.tobytes() == want.tobytes()
