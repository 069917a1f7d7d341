"""Runs of days without an order (or a return) inside a report's span.

A stray date (a typo, a line from another period) opens one: the span from the first to the
last date then holds months or years without a line. Calibration leaves an orders report's
gaps out of the days orders are counted over (:mod:`.fits`); a replay simulates them (its span
is the orders'), and both say so in their notes. A returns report's last date ends the
report, which sets the orders old enough to count in return rates: when a few returns after
a long gap set it (:func:`tail_gap`), calibration says so (:mod:`.prepare`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

__all__ = ["GAP_DAYS", "Gap", "day_gaps", "tail_gap"]

GAP_DAYS = 28
"""Days without a line, between two days with lines, past which the run is a gap."""


@dataclass(frozen=True)
class Gap:
    """A run of days without a line: where it starts (index into the days counted), how many
    days, the lines on the days after it, its first day's date, and what a line is (``order``,
    ``return``)."""

    at: int
    days: int
    after: int
    first: date
    what: str = "order"

    def text(self) -> str:
        """What a note says of it."""
        last = self.first + timedelta(days=self.days - 1)
        return f"no {self.what} on the {self.days:,} days from {self.first} to {last}"

    def fix(self) -> str:
        """What a note asks the seller to check."""
        n, one = self.after, self.after == 1
        return f"if the {n:,} {self.what}{'' if one else 's'} after it {'is' if one else 'are'} misdated, correct or remove {'it' if one else 'them'}"


def day_gaps(per_day: np.ndarray, day0: date, longer_than: int = GAP_DAYS, what: str = "order") -> list[Gap]:
    """Runs of days without a line between the first and the last day with one, longer than
    ``longer_than`` days, in day order; ``per_day[i]`` counts the lines of ``day0 + i`` days."""
    per_day = np.asarray(per_day)
    has = np.flatnonzero(per_day > 0)
    if len(has) < 2:
        return []
    run = np.diff(has) - 1  # empty days between two days with lines
    out = []
    for i in np.flatnonzero(run > longer_than).tolist():
        at, n = int(has[i]) + 1, int(run[i])
        out.append(Gap(at, n, int(per_day[at + n :].sum()), day0 + timedelta(days=at), what))
    return out


def tail_gap(per_day: np.ndarray, day0: date, longer_than: int = GAP_DAYS, what: str = "return") -> Gap | None:
    """The last gap, when the lines after it are fewer than its days would have held at the
    rate of the days before it (from the first line to the gap): the span's end then rests on
    a few lines that may be misdated. A season's pause, followed by a season, is not one."""
    gaps = day_gaps(per_day, day0, longer_than, what)
    if not gaps:
        return None
    g = gaps[-1]
    per_day = np.asarray(per_day)
    first = int(np.flatnonzero(per_day > 0)[0])
    rate = float(per_day[: g.at].sum()) / (g.at - first)
    return g if g.after < rate * g.days else None
