"""Runs of days without an order inside the orders' span.

A stray date (a typo, an order line from another period) opens one: the span from the first to
the last order then holds months or years without orders. Calibration leaves those days out of
the days orders are counted over (:mod:`.fits`); a replay simulates them (its span is the
orders'), and both say so in their notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

__all__ = ["GAP_DAYS", "Gap", "order_gaps"]

GAP_DAYS = 28
"""Days without an order, between two days with orders, past which the run is a gap."""


@dataclass(frozen=True)
class Gap:
    """A run of days without an order: where it starts (index into the days counted), how many
    days, the orders on the days after it, and its first day's date."""

    at: int
    days: int
    orders_after: int
    first: date

    def text(self) -> str:
        """What a note says of it."""
        last = self.first + timedelta(days=self.days - 1)
        return f"no order on the {self.days:,} days from {self.first} to {last}"

    def fix(self) -> str:
        """What a note asks the seller to check."""
        n = self.orders_after
        return f"if the {n:,} {'order after it is' if n == 1 else 'orders after it are'} misdated, correct or remove them"


def order_gaps(per_day: np.ndarray, day0: date, longer_than: int = GAP_DAYS) -> list[Gap]:
    """Runs of days without an order between the first and the last day with one, longer than
    ``longer_than`` days, in day order; ``per_day[i]`` counts the orders of ``day0 + i`` days."""
    per_day = np.asarray(per_day)
    has = np.flatnonzero(per_day > 0)
    if len(has) < 2:
        return []
    run = np.diff(has) - 1  # empty days between two days with orders
    out = []
    for i in np.flatnonzero(run > longer_than).tolist():
        at, n = int(has[i]) + 1, int(run[i])
        out.append(Gap(at, n, int(per_day[at + n :].sum()), day0 + timedelta(days=at)))
    return out
