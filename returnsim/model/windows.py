"""Amazon's account-health rates over rolling windows.

Amazon reports the Order Defect Rate over the last 60 days [A6] (and shows the Return
Dissatisfaction Rate the same way), so a seller who is fine on average can still breach a target
in a bad stretch: the holiday peak, a week the desk was short. :func:`rolling_rates` computes a
rate for every window of whole days that ends on a day boundary (one window per day, sliding),
and :func:`summary` gives the worst window and the share of windows at or over a target. A run
counts its requests per day as they settle (:class:`DailyCounts`) and computes the windows from
those counts at the end (:func:`request_rates`, :func:`order_rates`), leaving out the windows
that start in a warm-up.
"""

from __future__ import annotations

import numpy as np

from .world import HOURS_PER_DAY

__all__ = ["rolling_rates", "order_rates", "request_rates", "DailyCounts", "summary"]


def rolling_rates(
    event_time: np.ndarray,
    defect: np.ndarray,
    denominator_per_day: np.ndarray | None,
    window_days: float,
    *,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """Rate of defects per window of ``window_days`` days, one window ending on each day.

    Args:
        event_time: hours at which each item is dated (a request, or its order).
        defect: per item, whether it is a defect.
        denominator_per_day: items per day for the denominator (orders); ``None`` counts the
            items themselves (requests).
        window_days: window length in days (rounded to whole days, at least 1).
        extra: defects per day not among the items (kept orders' own defects), same length as
            ``denominator_per_day``.

    Returns:
        One rate per window that has a non-empty denominator. When the data span less than one
        window, the single window is the whole span.
    """
    counts = DailyCounts()
    counts.add(event_time, defect)
    if denominator_per_day is None:
        return request_rates(counts.defects, counts.items, window_days)
    return order_rates(counts.defects, denominator_per_day, window_days, extra=extra)


def request_rates(defects: np.ndarray, items: np.ndarray, window_days: float, *, start_day: int = 0) -> np.ndarray:
    """Windowed rates when the items are their own denominator (requests): ``defects`` and
    ``items`` per day from day 0; only windows that start on ``start_day`` or later count (days
    before it are a warm-up)."""
    return _windows(defects[start_day:], items[start_day:].astype(float), window_days)


def order_rates(
    defects: np.ndarray,
    denominator_per_day: np.ndarray,
    window_days: float,
    *,
    extra: np.ndarray | None = None,
    start_day: int = 0,
) -> np.ndarray:
    """Windowed rates over orders: ``defects`` of the items per day (by order day) over
    ``denominator_per_day`` orders, plus ``extra`` defects per day that are not among the items
    (kept orders' own); items dated past the denominator's days (repeat orders after the
    horizon) are left out. Only windows that start on ``start_day`` or later count."""
    n_days = max(len(defects), len(denominator_per_day))
    num = np.zeros(n_days)
    num[: len(defects)] = defects
    den = np.zeros(n_days)
    den[: len(denominator_per_day)] = denominator_per_day
    # Items dated past the denominator's days (repeat orders) are left out of the windows.
    num = num[: len(denominator_per_day)] if len(num) > len(denominator_per_day) else num
    den = den[: len(num)]
    if extra is not None:
        num[: len(extra)] += extra[: len(num)]
    return _windows(num[start_day:], den[start_day:], window_days)


def _windows(num: np.ndarray, den: np.ndarray, window_days: float) -> np.ndarray:
    """Rates of every window of whole days over per-day numerators and denominators."""
    if not len(num):
        return np.empty(0)
    w = min(max(int(round(window_days)), 1), len(num))
    cnum = np.concatenate([[0.0], np.cumsum(num)])
    cden = np.concatenate([[0.0], np.cumsum(den)])
    wn = cnum[w:] - cnum[:-w]
    wd = cden[w:] - cden[:-w]
    ok = wd > 0
    return wn[ok] / wd[ok]


class DailyCounts:
    """Items and defects per day (day 0 starts at t = 0), added a batch at a time: what the
    windows need, in memory that grows with days, not with items."""

    def __init__(self) -> None:
        self.defects = np.zeros(0)
        """Defects dated each day."""
        self.items = np.zeros(0, dtype=np.int64)
        """Items dated each day."""

    def add(self, event_time: np.ndarray, defect: np.ndarray) -> None:
        """Count items dated ``event_time`` (hours), of which ``defect`` are defects."""
        day = np.floor(np.asarray(event_time, dtype=float) / HOURS_PER_DAY).astype(np.int64)
        n_days = max(int(day.max(initial=-1)) + 1, len(self.items))
        if n_days > len(self.items):
            self.defects = np.concatenate([self.defects, np.zeros(n_days - len(self.defects))])
            self.items = np.concatenate([self.items, np.zeros(n_days - len(self.items), dtype=np.int64)])
        if len(day):
            self.defects += np.bincount(day, weights=np.asarray(defect, dtype=float), minlength=n_days)
            self.items += np.bincount(day, minlength=n_days)


def summary(rates: np.ndarray, target: float) -> tuple[float, float]:
    """(worst window's rate, share of windows at or over ``target``); NaN without windows."""
    if not len(rates):
        return float("nan"), float("nan")
    return float(rates.max()), float((rates >= target).mean())
