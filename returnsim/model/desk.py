"""The seller's response desk: agents, opening hours, queue discipline.

Think of a small team with a shared inbox. Requests land in the inbox at any hour; an agent who
is free and on shift takes the next one, spends its handling time on it and sends the first
answer. Agents are SimPy processes; a request is not a process, only an index into the request
table, so a request costs one arrival event and one handling timeout.

Two disciplines: ``fifo`` answers the oldest request first. ``deadline`` answers the oldest
request that can still be answered inside the late threshold, and leaves requests that are
already late until no request can be saved; with equal thresholds for every request, this is
earliest-deadline-first with lost causes set aside.

All times are hours from t = 0, Monday 00:00. The desk records, per request, when an agent
picked it up (``start``) and when the answer went out (``answer``), and integrates the number
of requests waiting over time (``queue_area``) so Little's law can be checked.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence

import simpy

from .world import HOURS_PER_WEEK

__all__ = ["OpenHours", "Desk"]


class OpenHours:
    """A weekly timetable: ``intervals`` of (open, close) hours from Monday 00:00."""

    def __init__(self, intervals: Sequence[tuple[float, float]]) -> None:
        merged: list[tuple[float, float]] = []
        for a, b in sorted(intervals):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.intervals = merged
        self._opens = [a for a, _ in merged]
        self.hours_per_week = sum(b - a for a, b in merged)

    def until_open(self, t: float) -> float:
        """Hours from ``t`` until the desk is next open (0 if it is open at ``t``)."""
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
        """Total opening hours in [t0, t1]."""
        return self._cumulative(t1) - self._cumulative(t0)

    def _cumulative(self, t: float) -> float:
        week, pos = divmod(t, HOURS_PER_WEEK)
        done = sum(min(b, pos) - a for a, b in self.intervals if a < pos)
        return week * self.hours_per_week + done


class Desk:
    """Agents answering requests from a shared queue.

    Args:
        env: the SimPy environment.
        staff: number of agents.
        hours: opening hours, or ``None`` for 24/7.
        discipline: ``"fifo"`` or ``"deadline"``.
        late_after: the late threshold in hours (used by ``deadline``).
        request_time, service: per-request arrival time and agent time in hours, indexed by
            request id; both lists grow when requests are added later.
        instant: answer every request on arrival without an agent (auto-authorisation).
    """

    def __init__(
        self,
        env: simpy.Environment,
        staff: int,
        hours: OpenHours | None,
        discipline: str,
        late_after: float,
        request_time: list[float],
        service: list[float],
        instant: bool = False,
    ) -> None:
        self.env = env
        self.instant = instant
        self.hours = hours
        self.deadline = discipline == "deadline"
        self.late_after = late_after
        self.request_time = request_time
        self.service = service
        n = len(request_time)
        self.start: list[float] = [float("nan")] * n
        """When an agent picked each request up."""
        self.answer: list[float] = [float("nan")] * n
        """When each request's first answer went out."""
        self.answered: list[int] = []
        """Ids answered since the caller last cleared this list."""
        self.busy_hours = 0.0
        """Total agent time spent answering."""
        self.queue_area = 0.0
        """Integral over time of the number of requests waiting (request-hours)."""
        self._queue: deque[int] = deque()
        self._late: deque[int] = deque()
        self._idle: list[simpy.Event] = []
        self._last_change = 0.0
        for _ in range(staff):
            env.process(self._agent())

    def extend(self, count: int) -> None:
        """Make room for ``count`` more requests (their times already appended by the caller)."""
        self.start.extend([float("nan")] * count)
        self.answer.extend([float("nan")] * count)

    def arrive(self, rid: int) -> None:
        """Request ``rid`` lands in the queue now."""
        if self.instant:
            self.start[rid] = self.answer[rid] = self.env.now
            self.answered.append(rid)
            return
        self._account()
        self._queue.append(rid)
        if self._idle:
            self._idle.pop().succeed()

    def feed(self, ids: Sequence[int]):
        """A SimPy process that delivers requests ``ids`` (sorted by time) as they arrive."""
        env = self.env
        times = self.request_time
        for rid in ids:
            delay = times[rid] - env.now
            if delay > 0:
                yield env.timeout(delay)
            self.arrive(rid)

    def waiting(self) -> int:
        return len(self._queue) + len(self._late)

    def _account(self) -> None:
        now = self.env.now
        self.queue_area += (len(self._queue) + len(self._late)) * (now - self._last_change)
        self._last_change = now

    def _pick(self) -> int:
        self._account()
        if self.deadline:
            now = self.env.now
            q = self._queue
            while q and self.request_time[q[0]] + self.late_after < now + self.service[q[0]]:
                self._late.append(q.popleft())
            if q:
                return q.popleft()
            return self._late.popleft()
        return self._queue.popleft()

    def _agent(self):
        env = self.env
        while True:
            if not self._queue and not self._late:
                wake = env.event()
                self._idle.append(wake)
                yield wake
                continue
            if self.hours is not None:
                closed_for = self.hours.until_open(env.now)
                if closed_for > 0:
                    yield env.timeout(closed_for)
                    if not self._queue and not self._late:
                        continue
            rid = self._pick()
            self.start[rid] = env.now
            s = self.service[rid]
            self.busy_hours += s
            yield env.timeout(s)
            self.answer[rid] = env.now
            self.answered.append(rid)
