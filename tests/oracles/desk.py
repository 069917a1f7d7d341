"""A reference desk: the documented service rules of docs/model.md section 3, replayed by hand.

Given each request's arrival time and its known work (fixed handling, reply and follow-up times in
the scenarios that use it), the rules fix every time exactly: ``staff`` identical agents; an agent
starts a task only while the desk is open (it may finish after closing); new requests are taken
first come, first served (``fifo``) or by ``deadline`` (the oldest request that can still be
answered within ``late_after`` hours, else the oldest); a buyer whose request has not been picked
up ``patience`` hours after it arrived has left (at that moment); a first answer that asks the
buyer something brings a second touch ``follow_delay`` hours later, unless that is after
``lapse_at`` (the deadline rule authorised the return); second touches go before new requests,
in arrival order with them, or after them.

This is an independent event loop (no SimPy, nothing from ``returnsim.model``): it always gives
the next task to the agent that is free first, which is what a shared inbox does with identical
agents. Times are hours from t = 0, a Monday 00:00.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class WeekHours:
    """Open spells of a week (hours from Monday 00:00), closed on whole holiday days."""

    def __init__(self, spells: Sequence[tuple[float, float]], holidays: Sequence[int] = ()) -> None:
        self.spells = sorted(spells)
        self.holidays = set(holidays)

    def is_open(self, t: float) -> bool:
        if math.floor(t / 24 + 1e-12) in self.holidays:
            return False
        pos = t % 168.0
        return any(a - 1e-9 <= pos < b for a, b in self.spells)

    def next_open(self, t: float) -> float:
        """The first moment at or after ``t`` when the desk is open."""
        for _ in range(10_000):
            if self.is_open(t):
                return t
            week = math.floor(t / 168.0)
            pos = t - 168.0 * week
            starts = [a for a, _ in self.spells if a > pos + 1e-9]
            nxt = 168.0 * week + (starts[0] if starts else 168.0 + self.spells[0][0])
            day = math.floor(nxt / 24 + 1e-12)
            t = nxt if day not in self.holidays else (day + 1) * 24.0
        raise RuntimeError("the desk never opens")


@dataclass
class DeskRecord:
    start: np.ndarray
    answer: np.ndarray
    abandoned: np.ndarray
    follow_arrive: np.ndarray
    follow_done: np.ndarray


def reference_desk(
    request_time: Sequence[float],
    service: Sequence[float],
    *,
    staff: int,
    hours: WeekHours | None = None,
    discipline: str = "fifo",
    late_after: float = 48.0,
    patience: Sequence[float] | None = None,
    follow_delay: Sequence[float] | None = None,
    follow_service: Sequence[float] | None = None,
    lapse_at: Sequence[float] | None = None,
    follow_priority: str = "before_new",
) -> DeskRecord:
    """Every touch's times under the documented rules (see the module docstring)."""
    t_req = np.asarray(request_time, dtype=float)
    n = len(t_req)
    s = np.asarray(service, dtype=float)
    pat = np.full(n, np.inf) if patience is None else np.asarray(patience, dtype=float)
    fdel = np.full(n, np.nan) if follow_delay is None else np.asarray(follow_delay, dtype=float)
    fsrv = np.zeros(n) if follow_service is None else np.asarray(follow_service, dtype=float)
    lapse = np.full(n, np.inf) if lapse_at is None else np.asarray(lapse_at, dtype=float)
    if discipline == "deadline" and follow_priority == "arrival":
        raise NotImplementedError("arrival-order second touches with the deadline discipline")
    out = DeskRecord(*(np.full(n, np.nan) for _ in range(5)))
    arrivals = list(np.argsort(t_req, kind="stable"))
    nxt = 0  # next arrival not yet in the inbox
    waiting: list[int] = []  # new requests in the inbox, in arrival order
    landing: list[tuple[float, int]] = []  # second touches not yet in the inbox (heap)
    follows: list[int] = []  # second touches in the inbox, in arrival order
    free = [0.0] * staff
    heapq.heapify(free)

    def admit(t: float) -> None:
        nonlocal nxt
        while nxt < n and t_req[arrivals[nxt]] <= t:
            waiting.append(int(arrivals[nxt]))
            nxt += 1
        while landing and landing[0][0] <= t:
            _, rid = heapq.heappop(landing)
            follows.append(rid)

    def drop_gone(t: float) -> None:
        for rid in [r for r in waiting if t_req[r] + pat[r] <= t]:
            out.abandoned[rid] = t_req[rid] + pat[rid]
            waiting.remove(rid)

    def pick_new(t: float) -> int | None:
        drop_gone(t)
        if not waiting:
            return None
        if discipline == "deadline":
            savable = [r for r in waiting if t_req[r] + late_after >= t + s[r]]
            rid = savable[0] if savable else waiting[0]
        else:
            rid = waiting[0]
        waiting.remove(rid)
        return rid

    # Agents are taken in the order they become free, so the inbox never runs ahead of the clock:
    # an idle agent, or one waiting for the desk to open, goes back in line with its new time.
    while True:
        t = heapq.heappop(free)
        admit(t)
        drop_gone(t)
        if not waiting and not follows:
            upcoming = [t_req[arrivals[nxt]]] if nxt < n else []
            upcoming += [landing[0][0]] if landing else []
            if not upcoming:
                break
            heapq.heappush(free, max(t, min(upcoming)))
            continue
        if hours is not None and not hours.is_open(t):
            heapq.heappush(free, hours.next_open(t))
            continue
        task: tuple[int, bool] | None = None
        if follows and (
            follow_priority == "before_new"
            or not waiting
            or (follow_priority == "arrival" and out.follow_arrive[follows[0]] <= t_req[waiting[0]])
        ):
            task = (follows.pop(0), True)
        else:
            rid = pick_new(t)
            if rid is not None:
                task = (rid, False)
            elif follows:
                task = (follows.pop(0), True)
        if task is None:
            heapq.heappush(free, t)
            continue
        rid, second = task
        if second:
            out.follow_done[rid] = t + fsrv[rid]
            heapq.heappush(free, t + fsrv[rid])
            continue
        out.start[rid] = t
        out.answer[rid] = t + s[rid]
        heapq.heappush(free, t + s[rid])
        d = fdel[rid]
        if d == d and t + s[rid] + d <= lapse[rid]:
            out.follow_arrive[rid] = t + s[rid] + d
            heapq.heappush(landing, (t + s[rid] + d, rid))
    return out
