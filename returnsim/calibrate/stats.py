"""Estimators with confidence intervals for the fits: shares, means, rates, and distributions
fitted by maximum likelihood.

* A share (a return rate, a reason's share) is a binomial proportion: Wilson's score interval,
  which keeps its coverage near the nominal level for small counts and shares near 0 or 1.
* A mean (a label cost, a delay) uses the Student-t interval of
  :func:`returnsim.experiment.statistics.mean_ci`.
* A rate of counts per day (orders) uses the exact (Garwood) Poisson interval.
* A positive quantity's distribution (prices) is fitted as lognormal and as gamma by maximum
  likelihood and the family with the higher likelihood is kept (both have two parameters).
* The request delay is fitted *through* the delivery time: the report gives order -> request,
  the scenario wants delivery -> request truncated to the return window, so the likelihood is
  that of ``delivery + delay`` (see :func:`fit_request_delay`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from ..experiment.statistics import mean_ci
from ..scenario.distributions import Distribution, Fixed, Gamma, Lognormal

__all__ = [
    "Z95",
    "wilson",
    "mean_interval",
    "poisson_rate",
    "DistributionFit",
    "fit_positive",
    "fit_request_delay",
    "repeat_rate",
]

Z95 = float(stats.norm.ppf(0.975))
"""Two-sided 95 % normal quantile."""


def wilson(k: Any, n: Any, z: float = Z95) -> tuple[Any, Any, Any]:
    """Share ``k / n`` and its Wilson score interval (elementwise; NaN where ``n == 0``)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 (or k = n) the interval's end is 0 (or 1) exactly; computed, it comes out a
    # rounding error away (2e-19), an interval that excludes a true share of 0.
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0, 1))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0, 1))
    return p, low, high


def mean_interval(values: Any) -> tuple[float, float, float, int]:
    """Mean of the non-NaN values, its 95 % Student-t interval, and their number."""
    m, _, n, lo, hi = mean_ci(values)
    return m, lo, hi, n


def poisson_rate(count: float, exposure: float) -> tuple[float, float, float]:
    """Events per unit of exposure and the exact (Garwood) 95 % interval."""
    if exposure <= 0:
        return math.nan, math.nan, math.nan
    lo = 0.0 if count == 0 else stats.chi2.ppf(0.025, 2 * count) / 2
    hi = stats.chi2.ppf(0.975, 2 * count + 2) / 2
    return count / exposure, lo / exposure, hi / exposure


def _ztp(mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of a zero-truncated Poisson count of mean ``mu`` before truncation."""
    mu = np.maximum(mu, 1e-12)
    g = mu / -np.expm1(-mu)
    return g, np.maximum(g * (1 + mu) - g * g, 0.0)


def repeat_rate(orders: Any, customers: Any, days: Any, z: float = Z95) -> tuple[float, float, float]:
    """Purchases a year per customer from orders and unique customers per period.

    Each customer's orders in a period of ``days`` are taken as Poisson of mean ``rate x days /
    365``, seen only when there is at least one: orders per unique customer is then the mean of a
    zero-truncated Poisson. The rate solves ``sum(orders) = sum(customers x E[N | N >= 1])`` over
    the periods; its 95 % interval is the score interval of that equation (the customers'
    counts independent), which stays sensible with no repeat at all (rate 0, upper end > 0).

    Args:
        orders, customers, days: per period (and ASIN): orders, unique customers, length in days.

    Returns:
        The rate (purchases a year) and its interval; NaN without customers.
    """
    o = np.asarray(orders, float)
    u = np.asarray(customers, float)
    t = np.asarray(days, float) / 365.25
    ok = (u > 0) & (o >= u) & (t > 0)
    o, u, t = o[ok], u[ok], t[ok]
    if not len(u):
        return math.nan, math.nan, math.nan
    total = o.sum()

    def score(rate: float) -> float:
        g, v = _ztp(rate * t)
        return float((total - (u * g).sum()) / math.sqrt(max(float((u * v).sum()), 1e-300)))

    def solve(target: float) -> float:
        lo, hi = 1e-9, 1.0
        if score(lo) <= target:
            return 0.0
        while score(hi) > target:
            hi *= 4
            if hi > 1e7:
                return math.inf
        return float(optimize.brentq(lambda r: score(r) - target, lo, hi, xtol=1e-10, rtol=1e-10))

    return solve(0.0), solve(z), solve(-z)


@dataclass
class DistributionFit:
    """A two-parameter family fitted by maximum likelihood."""

    family: str
    """``lognormal`` or ``gamma`` (the one with the higher likelihood)."""
    mean: float
    cv: float
    mean_ci: tuple[float, float]
    cv_ci: tuple[float, float]
    n: int
    loglik: dict[str, float] = field(default_factory=dict)
    """Maximised log-likelihood of each family tried."""
    params: dict[str, tuple[float, float]] = field(default_factory=dict)
    """(mean, cv) of each family tried."""

    def dist(self, family: str | None = None) -> Distribution:
        """The fitted distribution as a scenario distribution."""
        fam = family or self.family
        mean, cv = self.params.get(fam, (self.mean, self.cv))
        cls = Lognormal if fam == "lognormal" else Gamma
        return cls(mean_=mean, cv=cv)

    def as_toml(self) -> dict[str, Any]:
        return {"dist": self.family, "mean": round(self.mean, 4), "cv": round(self.cv, 4)}


def _dist(family: str, mean: float, cv: float) -> Distribution:
    return (Lognormal if family == "lognormal" else Gamma)(mean_=mean, cv=cv)


def _wald(theta: np.ndarray, nll: Any) -> np.ndarray:
    """Standard errors of ``theta`` from the numerical Hessian of the negative log-likelihood."""
    k = len(theta)
    h = 1e-3
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = (nll(theta + ei + ej) - nll(theta + ei - ej) - nll(theta - ei + ej) + nll(theta - ei - ej)) / (4 * h * h)
    try:
        cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    d = np.diag(cov)
    return np.sqrt(np.where(d > 0, d, np.nan))


def _finish(fits: dict[str, tuple[np.ndarray, float, Any]], n: int) -> DistributionFit:
    """Pick the family of highest likelihood; Wald intervals on the log scale."""
    best = max(fits, key=lambda f: -fits[f][1])
    theta, nll_min, nll = fits[best]
    se = _wald(theta, nll)
    mean, cv = float(np.exp(theta[0])), float(np.exp(theta[1]))
    mci = (float(np.exp(theta[0] - Z95 * se[0])), float(np.exp(theta[0] + Z95 * se[0])))
    cci = (float(np.exp(theta[1] - Z95 * se[1])), float(np.exp(theta[1] + Z95 * se[1])))
    return DistributionFit(
        family=best,
        mean=mean,
        cv=cv,
        mean_ci=mci,
        cv_ci=cci,
        n=n,
        loglik={f: -v[1] for f, v in fits.items()},
        params={f: (float(np.exp(v[0][0])), float(np.exp(v[0][1]))) for f, v in fits.items()},
    )


def _logpdf(family: str, x: np.ndarray, mean: float, cv: float) -> np.ndarray:
    if family == "lognormal":
        s2 = math.log1p(cv * cv)
        mu, s = math.log(mean) - s2 / 2, math.sqrt(s2)
        return stats.norm.logpdf(np.log(x), mu, s) - np.log(x)
    shape = 1 / (cv * cv)
    return stats.gamma.logpdf(x, shape, scale=mean / shape)


def fit_positive(x: Any, families: tuple[str, ...] = ("lognormal", "gamma")) -> DistributionFit | None:
    """Fit positive values (e.g. prices) by maximum likelihood; ``None`` with fewer than 10."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if len(x) < 10 or np.ptp(x) == 0:
        return None
    fits: dict[str, tuple[np.ndarray, float, Any]] = {}
    m0, cv0 = float(x.mean()), float(x.std() / x.mean())
    for fam in families:

        def nll(t: np.ndarray, fam: str = fam) -> float:
            return -float(_logpdf(fam, x, math.exp(t[0]), math.exp(t[1])).sum())

        res = optimize.minimize(nll, np.log([m0, max(cv0, 1e-3)]), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-6})
        fits[fam] = (res.x, float(res.fun), nll)
    return _finish(fits, len(x))


# --------------------------------------------------------------------------------------------
# the request delay, through the delivery time


_H = 0.05
"""Grid step of the delay likelihood, days."""


def _cdf(family: str, x: np.ndarray, mean: float, cv: float) -> np.ndarray:
    x = np.maximum(x, 0.0)
    if family == "lognormal":
        s2 = math.log1p(cv * cv)
        mu, s = math.log(mean) - s2 / 2, math.sqrt(s2)
        with np.errstate(divide="ignore"):
            return special.ndtr((np.log(x) - mu) / s)
    shape = 1 / (cv * cv)
    return special.gammainc(shape, x * shape / mean)


def _delivery_pmf(delivery: Distribution, cells: int) -> np.ndarray:
    """Probability of the delivery time in each grid cell ``[k h, (k+1) h)``."""
    if isinstance(delivery, Fixed):
        pmf = np.zeros(cells)
        pmf[min(int(delivery.value / _H), cells - 1)] = 1.0
        return pmf
    edges = np.arange(cells + 1) * _H
    cdf = np.array([delivery.cdf(float(e)) for e in edges])
    return np.diff(cdf)


def _sum_pmf(family: str, mean: float, cv: float, window_days: float, p_del: np.ndarray) -> np.ndarray:
    """Grid probabilities of ``delivery + D`` with ``D`` truncated at the window."""
    d_cells = int(math.ceil(window_days / _H))
    cdf = _cdf(family, np.minimum(np.arange(d_cells + 1) * _H, window_days), mean, cv)
    total = cdf[-1]
    p_d = np.diff(cdf) / total if total > 0 else np.full(d_cells, 1.0 / d_cells)
    return np.convolve(p_d, p_del)


@dataclass
class _DelayData:
    continuous: np.ndarray
    """Cell index per observation with a time of day."""
    day_counts: np.ndarray
    """Observations per whole number of days (day-resolution dates)."""
    days: np.ndarray


def fit_request_delay(
    days: Any,
    day_resolution: bool,
    delivery: Distribution,
    window_days: float,
    families: tuple[str, ...] = ("lognormal", "gamma"),
) -> tuple[DistributionFit | None, int]:
    """Fit the delivery -> request delay from order -> request delays of in-window requests.

    The model draws ``request = order + delivery + D`` with ``D`` from the scenario's
    ``returns.request_delay_days`` conditioned on ``D <= window_days``. The report shows only
    ``delivery + D``, so the likelihood of each observation is that of the sum, with the
    delivery time taken from the base scenario (an assumption the fit report names). The sum's
    density is computed on a grid of 0.05 days by convolution. With dates that carry no time of
    day, an observation is the whole number of days between two calendar dates: the order's
    time of day is uniform, so ``P(days = d)`` weighs the sum's density with the triangle
    ``1 - |x - d|``.

    Args:
        days: order -> request delays in days.
        day_resolution: the dates had no time of day.
        delivery: the order -> delivery time (scenario ``returns.delivery_days``).
        window_days: the return window (scenario ``returns.window_days``).

    Returns:
        The fit of ``D`` (mean and cv of the untruncated family, with Wald intervals) or
        ``None`` with fewer than 20 usable observations, and the number of observations left
        out because the window and delivery time cannot explain them.
    """
    x = np.asarray(days, dtype=float)
    x = x[np.isfinite(x)]
    d_cells = int(math.ceil(window_days / _H))
    del_hi = float(delivery.value) if isinstance(delivery, Fixed) else float(delivery.ppf(np.array([0.99999]))[0])
    del_cells = int(math.ceil(del_hi / _H)) + 2
    top = (d_cells + del_cells) * _H
    slack = 1.0 if day_resolution else 0.0
    usable = (x >= -slack) & (x <= top + slack)
    dropped = int((~usable).sum())
    x = x[usable]
    if len(x) < 20:
        return None, dropped
    n_cells = d_cells + del_cells
    if day_resolution:
        d = np.rint(x).astype(int)
        lo = int(d.min())
        counts = np.bincount(d - lo)
        data = _DelayData(np.empty(0, dtype=int), counts, np.arange(lo, lo + len(counts)))
        centres = (np.arange(n_cells) + 0.5) * _H
        kernel = np.maximum(0.0, 1.0 - np.abs(data.days[:, None] - centres[None, :]))
    else:
        cells = np.minimum((x / _H).astype(int), n_cells - 1)
        data = _DelayData(np.bincount(cells, minlength=n_cells), np.empty(0), np.empty(0))
    p_del = _delivery_pmf(delivery, del_cells)

    def pmf_x(fam: str, mean: float, cv: float) -> np.ndarray:
        out = np.zeros(n_cells)
        conv = _sum_pmf(fam, mean, cv, window_days, p_del)[:n_cells]
        out[: len(conv)] = conv
        return out

    fits: dict[str, tuple[np.ndarray, float, Any]] = {}
    start = np.log([max(float(np.mean(x)) - delivery.mean, 1.0), 0.8])
    for fam in families:

        def nll(t: np.ndarray, fam: str = fam) -> float:
            mean, cv = math.exp(t[0]), math.exp(t[1])
            if not (1e-3 < mean < 1e4 and 1e-2 < cv < 20):
                return 1e300
            px = pmf_x(fam, mean, cv)
            if day_resolution:
                p = np.maximum(kernel @ px, 1e-300)
                return -float(data.day_counts @ np.log(p))
            return -float(data.continuous @ np.log(np.maximum(px / _H, 1e-300)))

        best = None
        for s in (start, start + np.array([0.0, -0.7]), start + np.array([0.5, 0.3])):
            res = optimize.minimize(nll, s, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 4000})
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        fits[fam] = (best.x, float(best.fun), nll)
    return _finish(fits, len(x)), dropped


def delay_density(fit: DistributionFit, delivery: Distribution, window_days: float, family: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Density of order -> request days implied by a fitted delay (grid centres, per day)."""
    fam = family or fit.family
    mean, cv = fit.params.get(fam, (fit.mean, fit.cv))
    del_hi = float(delivery.value) if isinstance(delivery, Fixed) else float(delivery.ppf(np.array([0.99999]))[0])
    px = _sum_pmf(fam, mean, cv, window_days, _delivery_pmf(delivery, int(math.ceil(del_hi / _H)) + 2))
    return (np.arange(len(px)) + 0.5) * _H, px / _H


def truncated_mean(dist: Distribution, limit: float) -> float:
    """``E[X | X <= limit]`` by quadrature on the inverse CDF (midpoints of 4,000 quantiles)."""
    u = (np.arange(4000) + 0.5) / 4000
    return float(np.mean(dist.ppf_below(u, limit)))
