"""A streaming quantile with a guaranteed relative error, for response times.

A run reports the 95th percentile of the response time over every request. Keeping every
response until the end would make memory grow with the horizon, so responses are counted in
logarithmic buckets as batches of requests settle, the mapping of DDSketch (Masson, Rim & Lee
2019, [M8] in ``docs/sources.md``): bucket ``k`` holds the values in ``(gamma**(k-1), gamma**k]`` with
``gamma = (1 + alpha) / (1 - alpha)``, and reporting ``2 gamma**k / (gamma + 1)`` for a value of
that bucket is wrong by at most ``alpha`` of the value. The ``ddsketch`` package implements the
same mapping but adds one value per Python call, which costs more than the rest of a request's
bookkeeping; numpy counts a whole batch at once.

Quantiles are interpolated between order statistics as ``numpy.percentile`` does (its default,
linear method), so a quantile differs from ``numpy.percentile`` of the same values by at most
``alpha`` of its value. Zero (an answer at the moment of the request: Amazon's desk, a rule set
in advance) is counted exactly, and the smallest and largest values are kept exactly.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["QuantileSketch", "RELATIVE_ACCURACY"]

RELATIVE_ACCURACY = 1e-4
"""Largest relative error of a reported quantile (0.01 %: 0.006 h on a 60 h percentile)."""

_SMALLEST = 1e-9
"""Values at or below this (hours: 3.6 microseconds) are counted as zero, so a stray tiny value
cannot stretch the bucket array across hundreds of orders of magnitude."""


class QuantileSketch:
    """Counts of non-negative values in logarithmic buckets, added a batch at a time.

    Args:
        alpha: relative accuracy of reported quantiles (0 < alpha < 1).
    """

    def __init__(self, alpha: float = RELATIVE_ACCURACY) -> None:
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        self.alpha = alpha
        self.gamma = (1 + alpha) / (1 - alpha)
        self._log_gamma = math.log(self.gamma)
        self.count = 0
        """Values added."""
        self.zeros = 0
        """Values counted as zero."""
        self.min = math.inf
        self.max = -math.inf
        self._offset = 0
        """Key of ``_counts[0]``."""
        self._counts = np.zeros(0, dtype=np.int64)

    def add(self, values: np.ndarray) -> None:
        """Count a batch of values (negative ones count as zero)."""
        x = np.asarray(values, dtype=float)
        if not len(x):
            return
        self.count += len(x)
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))
        pos = x[x > _SMALLEST]
        self.zeros += len(x) - len(pos)
        if not len(pos):
            return
        keys = np.ceil(np.log(pos) / self._log_gamma).astype(np.int64)
        lo, hi = int(keys.min()), int(keys.max())
        if not len(self._counts):
            self._offset = lo
            self._counts = np.zeros(hi - lo + 1, dtype=np.int64)
        elif lo < self._offset or hi >= self._offset + len(self._counts):
            start = min(lo, self._offset)
            grown = np.zeros(max(hi, self._offset + len(self._counts) - 1) - start + 1, dtype=np.int64)
            grown[self._offset - start : self._offset - start + len(self._counts)] = self._counts
            self._counts, self._offset = grown, start
        self._counts += np.bincount(keys - self._offset, minlength=len(self._counts))

    def _value_at_rank(self, rank: int, cumulative: np.ndarray) -> float:
        """The ``rank``-th smallest value (0-based), to within ``alpha`` of it."""
        if rank <= 0:
            return self.min
        if rank >= self.count - 1:
            return self.max
        if rank < self.zeros:
            return 0.0
        i = int(np.searchsorted(cumulative, rank - self.zeros, side="right"))
        value = 2 * self.gamma ** (i + self._offset) / (self.gamma + 1)
        return min(max(value, self.min), self.max)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0 <= q <= 1), linear between order statistics like
        ``numpy.percentile(values, 100 q)``; NaN when empty."""
        if self.count == 0:
            return float("nan")
        h = q * (self.count - 1)
        lo = math.floor(h)
        cumulative = np.cumsum(self._counts)
        v_lo = self._value_at_rank(lo, cumulative)
        if h == lo:
            return v_lo
        v_hi = self._value_at_rank(lo + 1, cumulative)
        return v_lo + (h - lo) * (v_hi - v_lo)
