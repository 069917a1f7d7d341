"""The seller's calendar: business days, desk holidays and Amazon's holiday return window.

Think of a wall calendar that starts on the Monday of t = 0. Weekdays that are not holidays are
business days: Amazon's refund clock counts them (a refund is due within 2 business days of the
return arriving [A3]), and the desk is closed on holidays. Times are hours from t = 0; a day is
the 24 hours from midnight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np

from .world import HOURS_PER_DAY

__all__ = ["Calendar"]


class Calendar:
    """Business days from ``start`` (a Monday) for ``days`` days, skipping ``holidays``.

    Args:
        start: the date of t = 0.
        holidays: dates that are not business days (the desk is closed).
        days: how many days to cover; times beyond are extended on demand.
    """

    def __init__(self, start: dt.date, holidays: Iterable[dt.date] = (), days: int = 800) -> None:
        self.start = start
        self.holiday_index = sorted(
            {(d - start).days for d in holidays if (d - start).days >= 0}
        )
        """Day indices (days since t = 0) of holidays."""
        self._build(days)

    def _build(self, days: int) -> None:
        idx = np.arange(days)
        business = (idx % 7) < 5
        hol = [h for h in self.holiday_index if h < days]
        business[hol] = False
        self.days = days
        self.business = business
        """True for each day that is a business day."""
        self.before = np.concatenate([[0], np.cumsum(business)])
        """Business days before each day (and one entry past the end)."""
        self._before_float = self.before.astype(float)
        # (searchsorted of float targets would otherwise convert ``before`` on every call.)

    def _cover(self, t: np.ndarray) -> None:
        # (np.nanmax is np.fmax.reduce behind a Python wrapper that costs more than the pass.)
        need = int(np.fmax.reduce(t, initial=0.0) // HOURS_PER_DAY) + 2
        if need > self.days:
            self._build(max(need, 2 * self.days))

    def business_time(self, t: np.ndarray) -> np.ndarray:
        """Business days elapsed from t = 0 to ``t`` (fractions inside a business day)."""
        t = np.asarray(t, dtype=float)
        self._cover(t)
        day = np.floor(t / HOURS_PER_DAY).astype(np.int64)
        frac = t / HOURS_PER_DAY - day
        return self.before[day] + np.where(self.business[day], frac, 0.0)

    def add_business_days(self, t: np.ndarray, days: np.ndarray) -> np.ndarray:
        """The time ``days`` business days after ``t`` (hours). Time outside business days does
        not count: a return received on Saturday with 1.5 business days to go is refunded at
        noon on Tuesday."""
        t = np.asarray(t, dtype=float)
        days = np.asarray(days, dtype=float)
        # One pass covers both ``t`` and the latest day the target can fall on (each batch pays a
        # pass's fixed cost, whatever its size); then ``business_time`` of ``t``, inline.
        self._cover(np.fmax(t, t + (days * 3 + 30) * HOURS_PER_DAY))
        x = t / HOURS_PER_DAY
        day = np.floor(x).astype(np.int64)
        target = self.before[day] + np.where(self.business[day], x - day, 0.0) + days
        # The day on which the target is reached: the first day whose cumulative count reaches it.
        day = np.searchsorted(self._before_float, target, side="left") - 1
        day = np.maximum(day, 0)
        # Skip to a business day (a target exactly at a day boundary lands at that midnight).
        out = (day + (target - self.before[day])) * HOURS_PER_DAY
        return np.maximum(out, t)
