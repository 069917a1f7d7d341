"""Tagged distribution specifications.

A scenario file never names a Python callable: a random quantity is a small table whose ``dist``
tag picks the family, e.g. ``{dist = "lognormal", mean = 25, cv = 0.6}``. Each family is a frozen
pydantic model that knows its analytic mean and variance (so tests can check sampled moments,
as Ciw does) and can turn uniforms into values through its inverse CDF, which is how the model
keeps common random numbers: a quantity drawn as ``ppf(u)`` from a pre-drawn uniform ``u`` is the
same under every policy.

Families are parametrised by what a user knows (a mean and a coefficient of variation) rather
than by shape/scale. A bare number where a distribution is expected means ``fixed``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import special

from .kinds import ByTag
from .limits import LIMIT, check_number, check_plain, error

__all__ = [
    "Distribution",
    "Fixed",
    "Exponential",
    "Gamma",
    "Lognormal",
    "Uniform",
    "Triangular",
    "Empirical",
    "as_distribution",
    "parse_distribution",
]

_U_MAX = 1.0 - 2.0**-53
"""The largest uniform ``numpy.random.Generator.random`` returns."""

_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class _Dist(BaseModel):
    """Base of the families: parameters are finite numbers of at most ``LIMIT`` in size, and
    the distribution they make has a finite mean, spread and largest value the model can use."""

    model_config = _CONFIG

    _plain = field_validator("*")(check_plain)

    @model_validator(mode="after")
    def _valid(self) -> _Dist:
        self._check()
        self._usable()
        return self

    def _check(self) -> None:
        """Family-specific checks of the parameters (raise a pydantic error)."""

    def _usable(self) -> None:
        with np.errstate(all="ignore"):
            try:
                mean, var = float(self.mean), float(self.variance)
                low, top = (float(x) for x in self.ppf(np.array([0.0, _U_MAX])))
            except (OverflowError, ValueError, ZeroDivisionError, FloatingPointError):
                mean = var = low = top = math.inf
        sd = math.sqrt(var) if var >= 0 else math.nan
        if not all(math.isfinite(v) and abs(v) <= LIMIT for v in (mean, sd, low, top)):
            raise error(
                "unusable_distribution",
                f"its mean, standard deviation and extreme values must be finite and at most "
                f"{LIMIT:.0e} in size (here: mean {mean:.3g}, sd {sd:.3g}, smallest {low:.3g}, "
                f"largest {top:.3g})",
            )

    @property
    def mean(self) -> float:  # pragma: no cover - every family overrides
        raise NotImplementedError

    @property
    def variance(self) -> float:  # pragma: no cover
        raise NotImplementedError

    @property
    def minimum(self) -> float:
        """Smallest value the distribution can take (used to check non-negativity)."""
        return float(self.ppf(np.array([0.0]))[0])

    def ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Inverse CDF: map uniforms in [0, 1) to values."""
        raise NotImplementedError

    def cdf(self, x: float) -> float:  # pragma: no cover
        """P(X <= x)."""
        raise NotImplementedError

    def ppf_below(self, u: np.ndarray, limit: float) -> np.ndarray:
        """Inverse CDF of the distribution conditioned on ``X <= limit``."""
        return self.ppf(np.asarray(u, dtype=float) * self.cdf(limit))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws as a float64 array."""
        return self.ppf(rng.random(size))


class Fixed(_Dist):
    """Always ``value``: for hand-checkable cases and known constants."""

    dist: Literal["fixed"] = Field(default="fixed", description="the family: always the same value")
    value: float = Field(description="the value, in the unit of the quantity (the field's name says: days, hours, minutes, or the currency)")

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value, dtype=float)

    def cdf(self, x: float) -> float:
        return 1.0 if x >= self.value else 0.0

    def ppf_below(self, u: np.ndarray, limit: float) -> np.ndarray:
        return np.full(np.shape(u), min(self.value, limit), dtype=float)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value, dtype=float)


class _Mean(_Dist):
    """A family parametrised by its mean (the field is ``mean`` in files; ``mean_`` here, as
    ``mean`` is the property every family has)."""

    mean_: float = Field(alias="mean", gt=0, description="the mean, in the unit of the quantity (the field's name says: days, hours, minutes, or the currency)")
    model_config = ConfigDict(**_CONFIG, populate_by_name=True)

    @property
    def mean(self) -> float:
        return self.mean_


class Exponential(_Mean):
    """Exponential with the given ``mean`` (memoryless: Poisson streams, M/M/c service)."""

    dist: Literal["exponential"] = Field(default="exponential", description="the family: exponential, given its mean")

    @property
    def variance(self) -> float:
        return self.mean_**2

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return -self.mean_ * np.log1p(-np.asarray(u, dtype=float))

    def cdf(self, x: float) -> float:
        return 0.0 if x <= 0 else -math.expm1(-x / self.mean_)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_, size)


class _MeanCV(_Mean):
    cv: float = Field(gt=0, description="coefficient of variation: sd / mean (a ratio, no unit)")

    @property
    def variance(self) -> float:
        return (self.cv * self.mean_) ** 2


class Gamma(_MeanCV):
    """Gamma with the given mean and coefficient of variation (shape = 1 / cv²)."""

    dist: Literal["gamma"] = Field(default="gamma", description="the family: gamma, given its mean and cv")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return special.gammaincinv(shape, np.asarray(u, dtype=float)) * (self.mean_ / shape)

    def cdf(self, x: float) -> float:
        shape = 1.0 / self.cv**2
        return float(special.gammainc(shape, max(x, 0.0) / (self.mean_ / shape)))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_ / shape, size)


class Lognormal(_MeanCV):
    """Lognormal with the given mean and coefficient of variation of the value itself."""

    dist: Literal["lognormal"] = Field(default="lognormal", description="the family: lognormal, given its mean and cv")

    def _mu_sigma(self) -> tuple[float, float]:
        s2 = math.log1p(self.cv**2)
        return math.log(self.mean_) - s2 / 2, math.sqrt(s2)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        mu, sigma = self._mu_sigma()
        return np.exp(mu + sigma * special.ndtri(np.asarray(u, dtype=float)))

    def cdf(self, x: float) -> float:
        if x <= 0:
            return 0.0
        mu, sigma = self._mu_sigma()
        return float(special.ndtr((math.log(x) - mu) / sigma))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        mu, sigma = self._mu_sigma()
        return rng.lognormal(mu, sigma, size)


class Uniform(_Dist):
    """Uniform on [low, high)."""

    dist: Literal["uniform"] = Field(default="uniform", description="the family: uniform between low and high")
    low: float = Field(description="the smallest value, in the unit of the quantity (the field's name says: days, hours, minutes, or the currency)")
    high: float = Field(description="the largest value, in the unit of the quantity (the field's name says: days, hours, minutes, or the currency)")

    def _check(self) -> None:
        if not self.high > self.low:
            raise error(
                "value_order",
                f"high ({self.high}) must be greater than low ({self.low})",
                field="high",
            )

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)

    def cdf(self, x: float) -> float:
        return min(1.0, max(0.0, (x - self.low) / (self.high - self.low)))


class Triangular(_Dist):
    """Triangular on [low, high] with the given mode: a common 'min, likely, max' guess."""

    dist: Literal["triangular"] = Field(default="triangular", description="the family: triangular (smallest, likeliest, largest)")
    low: float = Field(description="the smallest value, in the unit of the quantity (the field's name says: days, hours, minutes, or the currency)")
    mode: float = Field(description="the likeliest value, in the unit of the quantity (the field's name says: days, hours, minutes, or the currency)")
    high: float = Field(description="the largest value, in the unit of the quantity (the field's name says: days, hours, minutes, or the currency)")

    def _check(self) -> None:
        if not (self.low <= self.mode <= self.high and self.high > self.low):
            raise error("value_order", "need low <= mode <= high and low < high")

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def variance(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    def ppf(self, u: np.ndarray) -> np.ndarray:
        a, c, b = self.low, self.mode, self.high
        u = np.asarray(u, dtype=float)
        fc = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1 - u) * (b - a) * (b - c))
        return np.where(u < fc, left, right)

    def cdf(self, x: float) -> float:
        a, c, b = self.low, self.mode, self.high
        if x <= a:
            return 0.0
        if x >= b:
            return 1.0
        if x <= c:
            return (x - a) ** 2 / ((b - a) * (c - a))
        return 1 - (b - x) ** 2 / ((b - a) * (b - c))


class Empirical(_Dist):
    """Resample observed ``values`` (optionally with ``weights``): e.g. prices from a report."""

    dist: Literal["empirical"] = Field(default="empirical", description="the family: resample observed values")
    values: list[float] = Field(min_length=1, description="observed values, in the unit of the quantity (the field's name says: days, hours, minutes, or the currency)")
    weights: list[float] | None = Field(default=None, description="relative weight of each value (default: equal)")

    def _check(self) -> None:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise error(
                    "value_count",
                    f"weights has {len(self.weights)} entries but values has {len(self.values)}",
                    field="weights",
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise error(
                    "value_sign",
                    "weights must be non-negative with a positive sum",
                    field="weights",
                )

    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        v = np.asarray(self.values, dtype=float)
        w = np.ones_like(v) if self.weights is None else np.asarray(self.weights, dtype=float)
        order = np.argsort(v, kind="stable")
        v, w = v[order], w[order]
        return v, np.cumsum(w) / w.sum()

    @property
    def mean(self) -> float:
        v = np.asarray(self.values, dtype=float)
        w = np.ones_like(v) if self.weights is None else np.asarray(self.weights, dtype=float)
        return float(np.dot(v, w) / w.sum())

    @property
    def variance(self) -> float:
        v = np.asarray(self.values, dtype=float)
        w = np.ones_like(v) if self.weights is None else np.asarray(self.weights, dtype=float)
        m = np.dot(v, w) / w.sum()
        return float(np.dot((v - m) ** 2, w) / w.sum())

    def ppf(self, u: np.ndarray) -> np.ndarray:
        v, cdf = self._table()
        idx = np.searchsorted(cdf, np.asarray(u, dtype=float), side="right")
        return v[np.minimum(idx, len(v) - 1)]

    def cdf(self, x: float) -> float:
        v, cdf = self._table()
        i = np.searchsorted(v, x, side="right")
        return 0.0 if i == 0 else float(cdf[i - 1])

    def ppf_below(self, u: np.ndarray, limit: float) -> np.ndarray:
        # The generic u * F(limit) form can land on the first value above the limit when F
        # jumps exactly at it; clip keeps the support honest.
        return np.minimum(super().ppf_below(u, limit), max(limit, min(self.values)))


Distribution = Annotated[
    Fixed | Exponential | Gamma | Lognormal | Uniform | Triangular | Empirical,
    Field(discriminator="dist"),
]
"""Any distribution family, chosen by its ``dist`` tag."""


def as_distribution(value: Any) -> Any:
    """Let a bare number stand for ``{dist = "fixed", value = ...}`` (pydantic before-validator)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": float(value)}
    return value


def _fixed(value: Any) -> Fixed | None:
    """A bare number as a fixed distribution (``None`` for anything else, booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        raise error("finite_number", "input should be a finite number")
    check_number(value)
    return Fixed(value=value)


_EXAMPLE = '{dist = "lognormal", mean = 10, cv = 0.5}'

parse_distribution = ByTag(
    "dist",
    {
        m.model_fields["dist"].default: m
        for m in (Fixed, Exponential, Gamma, Lognormal, Uniform, Triangular, Empirical)
    },
    what="distribution family",
    expected=f"a number or a distribution table such as {_EXAMPLE}",
    scalar=_fixed,
    missing_hint=" (or a bare number for a fixed value)",
)
"""Pydantic wrap validator of a distribution field: a bare number is ``fixed``; a table is
validated by the family its ``dist`` tag names, so errors are located at the table's own keys
(``price.cv``), never under the family's name."""


def poisson_ppf(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson quantiles: the smallest k with P(K <= k) >= u, elementwise (float array).

    Sums the probability mass upwards, which is fast for the small means of purchase counts;
    means above 30 are inverted as ``scipy.stats.poisson.ppf`` inverts them
    (:func:`_poisson_ppf_large`); that function's per-call cost is why this one exists. Once few
    elements are still summing (the largest means), they finish in plain Python floats: the
    same IEEE operations in the same order, without a numpy pass per step for a handful.
    """
    u = np.asarray(u, dtype=float)
    mu = np.broadcast_to(np.asarray(mu, dtype=float), u.shape).copy()
    k = np.zeros(u.shape)
    big = mu > 30
    if big.any():
        k[big] = _poisson_ppf_large(u[big], mu[big])
    small = ~big
    pmf = np.where(small, np.exp(-mu), 0.0)
    cdf = pmf.copy()
    active = np.flatnonzero(small & (cdf < u))
    steps = 0
    while len(active) > _FEW and steps < _MOST:
        steps += 1
        k[active] += 1
        pmf[active] *= mu[active] / k[active]
        cdf[active] += pmf[active]
        active = active[cdf[active] < u[active]]
    for i in active.tolist():
        ki, p, c, ui, mi = float(k[i]), float(pmf[i]), float(cdf[i]), float(u[i]), float(mu[i])
        while c < ui and ki < _MOST:
            ki += 1.0
            p *= mi / ki
            c += p
        k[i] = ki
    return k


def _poisson_ppf_large(q: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``scipy.stats.poisson.ppf(q, mu)`` for means ``mu`` >= 0, by the same ``scipy.special``
    calls in the same order (scipy's ``poisson_gen._ppf``, and ``rv_discrete.ppf``'s ends: -1
    at q = 0, infinity at q = 1, NaN outside [0, 1]), without importing ``scipy.stats``: that
    import alone costs a fresh process about a second of CPU on the 2-core machine, which
    every worker and command that simulates paid for its first large mean."""
    out = np.full(q.shape, np.nan)
    out[q == 0] = -1.0
    out[q == 1] = np.inf
    inside = (q > 0) & (q < 1)
    qi, mi = q[inside], mu[inside]
    vals = np.ceil(special.pdtrik(qi, mi))
    below = np.maximum(vals - 1, 0)
    out[inside] = np.where(special.pdtr(below, mi) >= qi, below, vals) + 0.0  # (+ loc: no -0.0)
    return out


_MOST = 200
"""The largest count :func:`poisson_ppf` sums to (mean <= 30: P(K > 200) is far below double
precision)."""
_FEW = 16
"""Elements still summing below which :func:`poisson_ppf` goes on in Python floats."""
