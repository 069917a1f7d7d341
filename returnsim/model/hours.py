"""A desk's opening hours: a weekly timetable with holidays, and the questions agents ask of it
(how long until the desk opens, when the open spell ends, how many open hours lie between two
times). All times are hours from t = 0, Monday 00:00."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

from .world import HOURS_PER_DAY, HOURS_PER_WEEK

__all__ = ["OpenHours"]


class OpenHours:
    """A weekly timetable: ``intervals`` of (open, close) hours from Monday 00:00, closed on
    ``holidays`` (day indices since t = 0)."""

    def __init__(self, intervals: Sequence[tuple[float, float]], holidays: Iterable[int] = ()) -> None:
        merged: list[tuple[float, float]] = []
        for a, b in sorted(intervals):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.intervals = merged
        self._opens = [a for a, _ in merged]
        self.hours_per_week = sum(b - a for a, b in merged)
        self.holidays = frozenset(holidays)
        """Days (since t = 0) the desk is closed."""

    def until_open(self, t: float) -> float:
        """Hours from ``t`` until the desk is next open (0 if it is open at ``t``)."""
        start = t
        while True:
            wait = self._until_open_weekly(t)
            at = t + wait
            day = math.floor((at + 1e-9) / HOURS_PER_DAY)
            if day not in self.holidays:
                return at - start
            t = (day + 1) * HOURS_PER_DAY

    def open_until(self, t: float) -> float:
        """When the open spell that contains ``t`` ends (``t`` itself if the desk is closed)."""
        if self.until_open(t) > 0:
            return t
        week, pos = divmod(t, HOURS_PER_WEEK)
        i = bisect.bisect_right(self._opens, pos + 1e-9) - 1
        end = week * HOURS_PER_WEEK + self.intervals[i][1]
        day = math.floor((t + 1e-9) / HOURS_PER_DAY)
        # A spell never runs into a holiday: stop it at midnight before one.
        if (day + 1) in self.holidays:
            end = min(end, (day + 1) * HOURS_PER_DAY)
        return end

    def _until_open_weekly(self, t: float) -> float:
        week, pos = divmod(t, HOURS_PER_WEEK)
        # A hair's tolerance: after sleeping until opening time, rounding may leave an agent a
        # few ulps short of it, which must count as open (else it sleeps ~0 hours forever).
        i = bisect.bisect_right(self._opens, pos + 1e-9) - 1
        if i >= 0 and pos < self.intervals[i][1]:
            return 0.0
        if i + 1 < len(self.intervals):
            return self.intervals[i + 1][0] - pos
        return HOURS_PER_WEEK - pos + self.intervals[0][0]

    def open_hours_between(self, t0: float, t1: float) -> float:
        """Total opening hours in [t0, t1] (holidays excluded)."""
        total = self._cumulative(t1) - self._cumulative(t0)
        for h in self.holidays:
            lo, hi = max(t0, h * HOURS_PER_DAY), min(t1, (h + 1) * HOURS_PER_DAY)
            if lo < hi:
                total -= self._cumulative(hi) - self._cumulative(lo)
        return total

    def _cumulative(self, t: float) -> float:
        week, pos = divmod(t, HOURS_PER_WEEK)
        done = sum(min(b, pos) - a for a, b in self.intervals if a < pos)
        return week * self.hours_per_week + done
