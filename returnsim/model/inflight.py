"""Requests in progress: released to the desk and not yet settled.

The desk knows a request by its slot; everything else about it (its id, its row of the request
table, the seller's plan, its customer) waits here, in a column table whose row number is the
slot, until its desk work is over and the run settles it. The desk reuses the slots of settled
requests, so the table is as long as the most requests ever in progress at once, not as the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .columns import put_rows, resized, take_rows
from .demand import Customers, Requests
from .plan import Plan

__all__ = ["Rows", "InFlight"]


@dataclass
class Rows:
    """Requests with their ids, the seller's pre-receipt plan, their customers and how soon they
    must be settled, row by row."""

    ids: np.ndarray
    req: Requests
    plan: Plan
    cust: Customers
    due: np.ndarray
    """A time no later than any purchase the request can lead to once settled (hours; ``inf``:
    none; see :meth:`.retention.CustomerBook.earliest_order`)."""

    def __len__(self) -> int:
        return len(self.ids)


class InFlight:
    """Rows of the requests in progress, addressed by desk slot."""

    def __init__(self) -> None:
        self._table: Rows | None = None

    @property
    def capacity(self) -> int:
        """Rows the table holds (slots in use or free)."""
        return 0 if self._table is None else len(self._table)

    def add(self, rows: Rows, slots: Sequence[int]) -> None:
        """Keep ``rows``, whose desk slots are ``slots`` (same order)."""
        if not len(rows):
            return
        s = np.asarray(slots, dtype=np.int64)
        need = int(s.max()) + 1
        if self._table is None and np.array_equal(s, np.arange(len(s))):
            self._table = rows  # the first rows, in slot order: nothing to move
            return
        if self._table is None:
            self._table = resized(rows, need)
        elif need > len(self._table):
            self._table = resized(self._table, max(need, 2 * len(self._table)))
        put_rows(self._table, s, rows)

    def soonest(self, slots: Sequence[int]) -> float:
        """The earliest ``due`` of ``slots`` (``inf`` for none)."""
        if self._table is None or not len(slots):
            return float("inf")
        return float(self._table.due[np.asarray(slots, dtype=np.int64)].min())

    def take(self, slots: Sequence[int]) -> Rows:
        """The rows of ``slots`` (in that order); the slots may then be reused."""
        assert self._table is not None
        return take_rows(self._table, np.asarray(slots, dtype=np.int64))
