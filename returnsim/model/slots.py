"""The desk's per-request lists, allocated in blocks of slots and reused.

A request at the desk is a *slot*: an index into the desk's per-request lists (its inputs and
the times the desk records). Slots come in blocks of ``BLOCK`` consecutive slots, so the lists
are written a slice at a time; a block is reused once every request in it has been released,
so the lists hold about as many requests as are ever in progress at once, not every request of
the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BLOCK", "Slots"]

_NAN = float("nan")
BLOCK = 256
"""Slots the desk allocates at a time (see :meth:`Slots.add`)."""


class Slots:
    """Slot allocation for :class:`.desk.Desk` (the lists themselves are the desk's)."""

    request_time: list[float]
    service: list[float]
    patience: list[float]
    follow_delay: list[float]
    follow_service: list[float]
    lapse_at: list[float]
    instant: list[bool]
    start: list[float]
    answer: list[float]
    abandoned: list[float]
    follow_arrive: list[float]
    follow_done: list[float]

    def _init_blocks(self, n: int) -> None:
        """The times the desk records, for the ``n`` requests given to the constructor, whose
        slots are never reused."""
        self.start = [_NAN] * n
        """When an agent picked each request up."""
        self.answer = [_NAN] * n
        """When each request's first answer went out."""
        self.abandoned = [_NAN] * n
        """When a buyer gave up waiting for a first answer (NaN: answered)."""
        self.follow_arrive = [_NAN] * n
        """When the second touch landed in the inbox (NaN: none)."""
        self.follow_done = [_NAN] * n
        """When an agent finished the second touch."""
        self._first_block_slot = n
        """Slots from here on are allocated by :meth:`add` in blocks."""
        self._live: list[int] = []
        """Slots in use in each block."""
        self._free_blocks: list[int] = []

    def add(
        self,
        request_time: list[float],
        service: list[float],
        patience: list[float],
        follow_delay: list[float],
        follow_service: list[float],
        lapse_at: list[float],
        instant: list[bool],
    ) -> list[int]:
        """Take in requests (per-request inputs as for the constructor, all the same length) and
        return their slots, in the same order.

        Slots come in blocks of ``BLOCK`` consecutive slots, so the lists are written a slice at
        a time; a block is reused once every request in it has been released.
        """
        n = len(request_time)
        slots: list[int] = []
        inputs: tuple[tuple[list[Any], Sequence[Any]], ...] = (
            (self.request_time, request_time),
            (self.service, service),
            (self.patience, patience),
            (self.follow_delay, follow_delay),
            (self.follow_service, follow_service),
            (self.lapse_at, lapse_at),
            (self.instant, instant),
        )
        outputs = (self.start, self.answer, self.abandoned, self.follow_arrive, self.follow_done)
        done = 0
        while done < n:
            m = min(BLOCK, n - done)
            whole = m == n  # the inputs themselves, not a copy of a slice
            if self._free_blocks:
                block = self._free_blocks.pop()
                a = self._first_block_slot + block * BLOCK
                for lst, values in inputs:
                    lst[a : a + m] = values if whole else values[done : done + m]
                nans = [_NAN] * m
                for lst in outputs:
                    lst[a : a + m] = nans
            else:  # a new block at the end of the lists: one pass each, padded with NaN
                block = len(self._live)
                self._live.append(0)
                a = self._first_block_slot + block * BLOCK
                pad = [_NAN] * (BLOCK - m)
                for lst, values in inputs:
                    lst.extend(values if whole else values[done : done + m])
                    lst.extend(pad)
                nans = [_NAN] * BLOCK
                for lst in outputs:
                    lst.extend(nans)
            self._live[block] = m
            slots.extend(range(a, a + m))
            done += m
        return slots

    def release(self, slots: Sequence[int]) -> None:
        """Free the slots of requests whose desk work is over and whose times have been read."""
        if not len(slots):
            return
        blocks = (np.asarray(slots, dtype=np.int64) - self._first_block_slot) // BLOCK
        blocks = blocks[blocks >= 0]  # slots given to the constructor are never reused
        counts = np.bincount(blocks)
        live = self._live
        for b in np.flatnonzero(counts).tolist():
            live[b] -= int(counts[b])
            if live[b] == 0:
                self._free_blocks.append(b)

    @property
    def capacity(self) -> int:
        """Slots the lists hold (in use or free): the most requests in progress at once."""
        return len(self.request_time)
