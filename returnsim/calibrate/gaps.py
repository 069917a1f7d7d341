"""Runs of days without an order inside the orders' span.

A stray date (a typo, an order line from another period) opens one: the span from the first to
the last order then holds months or years without orders. Calibration leaves those days out of
the days orders are counted over (:mod:`.fits`); a replay simulates them (its span is the
orders'), and both say so in their notes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GAP_DAYS", "order_gaps"]

GAP_DAYS = 28
"""Days without an order, between two days with orders, past which the run is a gap."""


def order_gaps(per_day: np.ndarray, longer_than: int = GAP_DAYS) -> list[tuple[int, int]]:
    """Runs of days without an order between the first and the last day with one, longer than
    ``longer_than`` days: (index of the first empty day, days), in day order."""
    has = np.flatnonzero(np.asarray(per_day) > 0)
    if len(has) < 2:
        return []
    run = np.diff(has) - 1  # empty days between two days with orders
    at = np.flatnonzero(run > longer_than)
    return [(int(has[i]) + 1, int(run[i])) for i in at]
