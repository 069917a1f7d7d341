"""Distribution families: sampled moments match the analytic ones, the inverse CDF behaves, and
bad parameters are refused at validation.

Moment test. With n = 200_000 independent draws, the sample mean has standard error
``sqrt(variance / n)``; it must lie within 4 of them of the analytic mean (a two-sided normal
tail of 6e-5 per check). The sample variance s² has, for large n, standard error
``sqrt((mu4 - sigma^4) / n) = sigma^2 * sqrt((kurtosis - 1) / n)`` where ``kurtosis = mu4 /
sigma^4`` is the family's (non-excess) kurtosis, known in closed form for every family below
(``KURTOSIS``). s² is skewed for heavy-tailed families, so its normal approximation is looser
than the mean's: it must lie within 5 of its standard errors. Seeds are fixed, so the test is
deterministic; the bounds say how far off a correct sampler could plausibly be, and a wrong
mean or variance formula (or a sampler drawing from a different law) misses them by far.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Annotated

import numpy as np
import pytest
from conftest import SEED_SCENARIO
from pydantic import BeforeValidator, TypeAdapter, ValidationError

from returnsim.scenario.distributions import (
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    Triangular,
    Uniform,
    as_distribution,
)

N = 200_000
Z_MEAN = 4.0
Z_VAR = 5.0

DISTS = {
    "fixed": Fixed(value=3.5),
    "exponential": Exponential(mean=2.0),
    "gamma": Gamma(mean=10.0, cv=0.5),
    "gamma_skewed": Gamma(mean=1.0, cv=1.5),
    "lognormal": Lognormal(mean=25.0, cv=0.6),
    "uniform": Uniform(low=2.0, high=5.0),
    "triangular": Triangular(low=1.0, mode=2.0, high=6.0),
    "triangular_mode_at_low": Triangular(low=0.0, mode=0.0, high=4.0),
    "empirical": Empirical(values=[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]),
    "empirical_weighted": Empirical(values=[10.0, 20.0, 50.0], weights=[5.0, 3.0, 2.0]),
}
CONTINUOUS = [k for k, d in DISTS.items() if not isinstance(d, Fixed | Empirical)]


def kurtosis(d) -> float:
    """Non-excess kurtosis mu4 / sigma^4, in closed form per family."""
    if isinstance(d, Exponential):
        return 9.0
    if isinstance(d, Gamma):
        return 3.0 + 6.0 * d.cv**2  # excess 6 / shape, shape = 1 / cv^2
    if isinstance(d, Lognormal):
        s2 = math.log1p(d.cv**2)
        return math.exp(4 * s2) + 2 * math.exp(3 * s2) + 3 * math.exp(2 * s2) - 3
    if isinstance(d, Uniform):
        return 9.0 / 5.0
    if isinstance(d, Triangular):
        return 12.0 / 5.0  # excess -3/5 whatever the mode
    if isinstance(d, Empirical):
        v = np.asarray(d.values)
        w = np.ones_like(v) if d.weights is None else np.asarray(d.weights)
        w = w / w.sum()
        m = v @ w
        return float(((v - m) ** 4) @ w / (((v - m) ** 2) @ w) ** 2)
    raise TypeError(d)


def _check_moments(d, x: np.ndarray) -> None:
    assert x.shape == (N,) and x.dtype == np.float64
    mean, var = d.mean, d.variance
    if var == 0:
        assert np.all(x == mean)
        return
    se_mean = math.sqrt(var / N)
    assert abs(x.mean() - mean) <= Z_MEAN * se_mean, (x.mean(), mean, se_mean)
    se_var = var * math.sqrt((kurtosis(d) - 1) / N)
    assert abs(x.var(ddof=1) - var) <= Z_VAR * se_var, (x.var(ddof=1), var, se_var)


@pytest.mark.parametrize("name", sorted(DISTS))
def test_sample_moments_match_analytic(name):
    d = DISTS[name]
    _check_moments(d, d.sample(np.random.default_rng(20240101), N))


@pytest.mark.parametrize("name", sorted(DISTS))
def test_inverse_cdf_moments_match_analytic(name):
    """The model draws through ``ppf`` of pre-drawn uniforms (common random numbers): that path
    must follow the same law as ``sample``."""
    d = DISTS[name]
    _check_moments(d, d.ppf(np.random.default_rng(7).random(N)))


@pytest.mark.parametrize("name", sorted(DISTS))
def test_sampling_is_reproducible(name):
    d = DISTS[name]
    a = d.sample(np.random.default_rng(3), 1000)
    b = d.sample(np.random.default_rng(3), 1000)
    np.testing.assert_array_equal(a, b)


U_GRID = np.concatenate(
    [[0.0, 1e-12, 1e-6], np.linspace(0.001, 0.999, 999), [1 - 1e-9, 1 - 2**-53]]
)


@pytest.mark.parametrize("name", sorted(DISTS))
def test_ppf_is_monotone(name):
    x = DISTS[name].ppf(U_GRID)
    assert np.all(np.isfinite(x))
    assert np.all(np.diff(x) >= 0)


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_cdf_inverts_ppf(name):
    d = DISTS[name]
    u = np.linspace(0.001, 0.999, 199)
    back = np.array([d.cdf(float(x)) for x in d.ppf(u)])
    np.testing.assert_allclose(back, u, atol=1e-9)


@pytest.mark.parametrize("name", ["empirical", "empirical_weighted"])
def test_empirical_ppf_is_the_generalised_inverse(name):
    """For a step CDF, ppf(u) is the smallest value x with F(x) > u (u in [0, 1))."""
    d = DISTS[name]
    values = np.unique(d.values)
    for u in np.linspace(0.0, 0.999, 200):
        x = float(d.ppf(np.array([u]))[0])
        assert d.cdf(x) > u
        below = values[values < x]
        assert all(d.cdf(float(v)) <= u for v in below)


@pytest.mark.parametrize("name", sorted(DISTS))
@pytest.mark.parametrize("q", [0.05, 0.5, 0.95])
def test_ppf_below_stays_below_the_limit(name, q):
    d = DISTS[name]
    limit = float(d.ppf(np.array([q]))[0])  # a limit inside the support
    x = d.ppf_below(U_GRID, limit)
    assert np.all(x <= limit)
    assert np.all(np.diff(x) >= 0)


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_ppf_below_is_the_truncated_law(name):
    """ppf_below(U, L) has the law of X given X <= L: its CDF is F(x) / F(L)."""
    d = DISTS[name]
    limit = float(d.ppf(np.array([0.7]))[0])
    x = np.sort(d.ppf_below(np.random.default_rng(11).random(50_000), limit))
    grid = d.ppf(np.array([0.1, 0.3, 0.5]))
    for g in grid:
        empirical = np.searchsorted(x, g, side="right") / len(x)
        assert abs(empirical - d.cdf(float(g)) / d.cdf(limit)) < 0.01


def test_ppf_below_with_a_limit_beyond_the_support_is_ppf():
    u = np.linspace(0, 0.99, 50)
    for d in (DISTS["uniform"], DISTS["triangular"], DISTS["empirical"]):
        np.testing.assert_allclose(d.ppf_below(u, 1e9), d.ppf(u))


def test_fixed_ppf_below_clips():
    assert Fixed(value=5).ppf_below(np.array([0.3]), 2.0)[0] == 2.0
    assert Fixed(value=1).ppf_below(np.array([0.3]), 2.0)[0] == 1.0


def test_analytic_moments_by_hand():
    assert Exponential(mean=2).variance == 4
    assert Gamma(mean=10, cv=0.5).variance == pytest.approx(25)
    assert Lognormal(mean=25, cv=0.6).variance == pytest.approx(225)
    assert Uniform(low=2, high=5).mean == 3.5 and Uniform(low=2, high=5).variance == 0.75
    t = Triangular(low=0, mode=0, high=3)
    assert t.mean == 1 and t.variance == pytest.approx(0.5)
    e = Empirical(values=[10, 20, 50], weights=[5, 3, 2])
    assert e.mean == pytest.approx(21) and e.variance == pytest.approx(
        0.5 * 121 + 0.3 * 1 + 0.2 * 841
    )


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

DIST = TypeAdapter(Annotated[Distribution, BeforeValidator(as_distribution)])


@pytest.mark.parametrize("value", [3, 3.0, 0, -2.5])
def test_bare_number_is_fixed(value):
    d = DIST.validate_python(value)
    assert isinstance(d, Fixed) and d.value == float(value)
    assert d.mean == value and d.variance == 0


def test_bool_is_not_a_number():
    with pytest.raises(ValidationError):
        DIST.validate_python(True)


@pytest.mark.parametrize(
    ("table", "cls"),
    [
        ({"dist": "fixed", "value": 2}, Fixed),
        ({"dist": "exponential", "mean": 2}, Exponential),
        ({"dist": "gamma", "mean": 2, "cv": 0.3}, Gamma),
        ({"dist": "lognormal", "mean": 2, "cv": 0.3}, Lognormal),
        ({"dist": "uniform", "low": 0, "high": 1}, Uniform),
        ({"dist": "triangular", "low": 0, "mode": 1, "high": 1}, Triangular),
        ({"dist": "empirical", "values": [1, 2]}, Empirical),
        ({"dist": "empirical", "values": [1, 2], "weights": [0, 1]}, Empirical),
    ],
)
def test_tables_validate_to_their_family(table, cls):
    d = DIST.validate_python(table)
    assert type(d) is cls
    assert DIST.validate_python(d.model_dump(by_alias=True)) == d  # round trip


@pytest.mark.parametrize(
    "table",
    [
        {"dist": "gamma", "mean": 2, "cv": 0},
        {"dist": "gamma", "mean": 2, "cv": -0.5},
        {"dist": "lognormal", "mean": 2, "cv": 0},
        {"dist": "lognormal", "mean": 0, "cv": 0.5},
        {"dist": "exponential", "mean": 0},
        {"dist": "exponential", "mean": -1},
        {"dist": "uniform", "low": 2, "high": 2},
        {"dist": "uniform", "low": 3, "high": 1},
        {"dist": "triangular", "low": 1, "mode": 1, "high": 1},
        {"dist": "triangular", "low": 0, "mode": 5, "high": 4},
        {"dist": "empirical", "values": [1, 2, 3], "weights": [1, 1]},
        {"dist": "empirical", "values": [1, 2], "weights": [1, -1]},
        {"dist": "empirical", "values": [1, 2], "weights": [0, 0]},
        {"dist": "empirical", "values": []},
        {"dist": "gamma", "mean": 2},  # cv missing
        {"dist": "lognormal", "mean": 2, "cv": 0.5, "sd": 1},  # unknown key
        {"dist": "lognorm", "mean": 2, "cv": 0.5},  # unknown family
        {"mean": 2, "cv": 0.5},  # no family
        "two",
    ],
)
def test_invalid_parameters_raise(table):
    with pytest.raises(ValidationError):
        DIST.validate_python(table)


def test_invalid_parameters_raise_on_construction():
    with pytest.raises(ValidationError, match="cv"):
        Gamma(mean=1, cv=0)
    with pytest.raises(ValidationError, match="high"):
        Uniform(low=1, high=1)
    with pytest.raises(ValidationError, match="weights has 1 entries but values has 2"):
        Empirical(values=[1, 2], weights=[1])


def test_distributions_are_frozen():
    d = Gamma(mean=1, cv=0.5)
    with pytest.raises(ValidationError):
        d.cv = 2  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Poisson quantiles (purchase counts)
# --------------------------------------------------------------------------------------------


def test_poisson_ppf_matches_scipy():
    from scipy import stats

    from returnsim.scenario.distributions import poisson_ppf

    rng = np.random.default_rng(5)
    u = rng.random(50_000)
    mu = rng.uniform(0, 60, 50_000)  # both sides of the switch to scipy at mean 30
    np.testing.assert_array_equal(poisson_ppf(u, mu), stats.poisson.ppf(u, mu))
    assert np.all(poisson_ppf(np.array([0.0, 0.3, 0.99]), np.zeros(3)) == 0)
    # Means past 30 are inverted without scipy.stats, as scipy.stats inverts them: very large
    # means, and the ends (q = 0 is -1, q = 1 infinity, outside [0, 1] NaN).
    q = np.concatenate([rng.random(20_000), [0.0, 1.0, np.nan, -0.1, 1.1, 5e-324, np.nextafter(1.0, 0.0)]])
    big = np.concatenate([np.exp(rng.uniform(np.log(30.0), np.log(1e7), 20_000)), np.full(7, 40.0)])
    np.testing.assert_array_equal(poisson_ppf(q, big), stats.poisson.ppf(q, big))


def test_a_simulation_does_not_import_scipy_stats():
    """scipy.stats costs a fresh process about a second of CPU to import (more than a seed
    replication): a worker or a command that only simulates must not pay it, also when a purchase
    count's mean is past 30 (the seed scenario's customers' past purchases are)."""
    code = (
        "import sys, returnsim as rs\n"
        f"run = rs.simulate(rs.load_scenario({str(SEED_SCENARIO)!r}), 'seed', seed=0)\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("mu", [0.3, 4.0, 25.0, 45.0])
def test_poisson_ppf_moments(mu):
    from returnsim.scenario.distributions import poisson_ppf

    k = poisson_ppf(np.random.default_rng(9).random(N), np.full(N, mu))
    assert abs(k.mean() - mu) <= Z_MEAN * math.sqrt(mu / N)
    # Poisson kurtosis is 3 + 1/mu.
    assert abs(k.var(ddof=1) - mu) <= Z_VAR * mu * math.sqrt((2 + 1 / mu) / N)
