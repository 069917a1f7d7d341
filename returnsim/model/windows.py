"""Amazon's account-health rates over rolling windows.

Amazon reports the Order Defect Rate over the last 60 days [A6] (and shows the Return
Dissatisfaction Rate the same way), so a seller who is fine on average can still breach a target
in a bad stretch: the holiday peak, a week the desk was short. :func:`rolling_rates` computes a
rate for every window of whole days that ends on a day boundary (one window per day, sliding),
and :func:`summary` gives the worst window and the share of windows at or over a target.
"""

from __future__ import annotations

import numpy as np

from .world import HOURS_PER_DAY

__all__ = ["rolling_rates", "summary"]


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
    w = max(int(round(window_days)), 1)
    day = np.floor(np.asarray(event_time, dtype=float) / HOURS_PER_DAY).astype(np.int64)
    n_days = int(day.max(initial=-1)) + 1
    if denominator_per_day is not None:
        n_days = max(n_days, len(denominator_per_day))
    if n_days == 0:
        return np.empty(0)
    num = np.bincount(day, weights=np.asarray(defect, dtype=float), minlength=n_days).astype(float)
    if denominator_per_day is None:
        den = np.bincount(day, minlength=n_days).astype(float)
    else:
        den = np.zeros(n_days)
        den[: len(denominator_per_day)] = denominator_per_day
        # Items dated past the denominator's days (repeat orders) are left out of the windows.
        num = num[: len(denominator_per_day)] if len(num) > len(denominator_per_day) else num
        den = den[: len(num)]
    if extra is not None:
        num[: len(extra)] += extra[: len(num)]
    w = min(w, len(num))
    cnum = np.concatenate([[0.0], np.cumsum(num)])
    cden = np.concatenate([[0.0], np.cumsum(den)])
    wn = cnum[w:] - cnum[:-w]
    wd = cden[w:] - cden[:-w]
    ok = wd > 0
    return wn[ok] / wd[ok]


def summary(rates: np.ndarray, target: float) -> tuple[float, float]:
    """(worst window's rate, share of windows at or over ``target``); NaN without windows."""
    if not len(rates):
        return float("nan"), float("nan")
    return float(rates.max()), float((rates >= target).mean())
