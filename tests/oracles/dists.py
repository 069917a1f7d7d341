"""Scenario distributions rebuilt from their parameters with scipy.stats, so that an oracle (or a
distribution test on the trace) does not lean on returnsim's own quantile functions.

A scenario distribution is data (``dist = "lognormal", mean = 12, cv = 0.6``); here each family is
turned into a frozen ``scipy.stats`` distribution by its textbook parametrisation: a lognormal of
mean m and coefficient of variation c has ``sigma^2 = ln(1 + c^2)`` and median
``m exp(-sigma^2 / 2)``; a gamma has shape ``1 / c^2`` and scale ``m c^2``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats


class Point:
    """A point mass (``dist = "fixed"`` or a bare number)."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def mean(self) -> float:
        return self.value

    def cdf(self, x: Any) -> Any:
        return np.where(np.asarray(x, dtype=float) >= self.value, 1.0, 0.0)

    def ppf(self, u: Any) -> Any:
        return np.full(np.shape(u), self.value)


class Discrete:
    """Observed values with weights (``dist = "empirical"``)."""

    def __init__(self, values: list[float], weights: list[float] | None) -> None:
        v = np.asarray(values, dtype=float)
        w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
        order = np.argsort(v, kind="stable")
        self.values, self.p = v[order], w[order] / w.sum()

    def mean(self) -> float:
        return float(self.values @ self.p)

    def cdf(self, x: Any) -> Any:
        x = np.asarray(x, dtype=float)
        return (self.p[None, :] * (self.values[None, :] <= x.reshape(-1, 1))).sum(axis=1).reshape(x.shape)

    def ppf(self, u: Any) -> Any:
        idx = np.searchsorted(np.cumsum(self.p), np.asarray(u, dtype=float), side="right")
        return self.values[np.minimum(idx, len(self.values) - 1)]


def frozen(d: Any) -> Any:
    """A scipy-like distribution (``mean()``, ``cdf``, ``ppf``) of a scenario distribution."""
    family = getattr(d, "dist", None)
    if family == "fixed":
        return Point(d.value)
    if family == "exponential":
        return stats.expon(scale=d.mean_)
    if family == "gamma":
        return stats.gamma(a=1 / d.cv**2, scale=d.mean_ * d.cv**2)
    if family == "lognormal":
        s = math.sqrt(math.log1p(d.cv**2))
        return stats.lognorm(s=s, scale=d.mean_ * math.exp(-s * s / 2))
    if family == "uniform":
        return stats.uniform(loc=d.low, scale=d.high - d.low)
    if family == "triangular":
        width = d.high - d.low
        return stats.triang(c=(d.mode - d.low) / width, loc=d.low, scale=width)
    if family == "empirical":
        return Discrete(d.values, d.weights)
    raise TypeError(f"no scipy counterpart for {d!r}")


def mean(d: Any) -> float:
    return float(frozen(d).mean())


def bins(d: Any, n: int, fine: int = 256) -> np.ndarray:
    """``n`` equal-probability bins of ``d``, each represented by its conditional mean (from
    ``fine`` quantile midpoints per bin, the top bin corrected so the bins' average is the mean)."""
    f = frozen(d)
    if isinstance(f, Point):
        return np.array([f.value])
    u = (np.arange(n * fine) + 0.5) / (n * fine)
    values = np.asarray(f.ppf(u), dtype=float).reshape(n, fine).mean(axis=1)
    values[-1] = n * float(f.mean()) - values[:-1].sum()
    return values


def mean_below(d: Any, limit: float, fine: int = 4096) -> float:
    """``E[X | X <= limit]`` (quantile midpoints of the conditional distribution)."""
    f = frozen(d)
    p = float(f.cdf(limit))
    if p <= 0:
        return float("nan")
    u = (np.arange(fine) + 0.5) / fine * p
    return float(np.minimum(np.asarray(f.ppf(u), dtype=float), limit).mean())


def mean_min_below(d: Any, limit: float, cap: float, fine: int = 4096) -> float:
    """``E[min(X, cap) | X <= limit]``."""
    f = frozen(d)
    p = float(f.cdf(limit))
    if p <= 0:
        return float("nan")
    u = (np.arange(fine) + 0.5) / fine * p
    return float(np.minimum(np.asarray(f.ppf(u), dtype=float), min(cap, limit)).mean())
