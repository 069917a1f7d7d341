"""The seller's response desk: agents, opening hours, queue discipline, second touches and
buyers who give up waiting.

Think of a small team with a shared inbox. Requests land in the inbox at any hour; an agent who
is free and on shift takes the next one, spends its handling time on it and sends the first
answer. When that answer asks the buyer something (an offer, a fee), the buyer's reply lands in
the same inbox later as a *second touch*: the seller must act on it (authorise the return, pay a
partial refund, dispatch an exchange), and only an agent on duty can. Second touches queue before
new requests, in arrival order with them, or after them (the policy's ``follow_up_priority``).

A buyer who gets no first answer within their patience leaves the inbox and asks Amazon to step
in (Erlang A's abandonment). The desk notices when an agent reaches the request, and books the
abandonment at the moment it happened, so the queue-length integral stays exact.

The agents behave as one SimPy process each would (wait for work, sleep while the desk is
closed, hold a task for its handling time), but they are not processes: their events (a task
done, the desk opening, an idle agent woken, a doorbell) wait in the desk's own heap, in the
order SimPy would process them, and the desk keeps one SimPy event set for the earliest. When it
fires, the desk works through every event of its own due before the next event anything else
has scheduled (``Environment.peek``): nothing outside the desk can happen in between, so the
times are those of a process per agent, bit for bit, at a fraction of the cost (issue 24). A
request is not a process either, only a *slot*: an index into the desk's per-request lists;
requests wait in their feed until the desk looks at its inbox and are then taken in at the
instants they arrived (:meth:`Desk.feed`). The
caller adds requests as they come (:meth:`Desk.add`) and releases their slots once it has read
what the desk recorded (:meth:`Desk.release`); released slots are reused, so the lists hold about
as many requests as are ever in progress at once, not every request of the run.

Two disciplines for new requests: ``fifo`` answers the oldest first. ``deadline`` answers the
oldest request that can still be answered inside the late threshold, and leaves requests that
are already late until no request can be saved.

All times are hours from t = 0, Monday 00:00. The desk records, per request, when an agent
picked it up (``start``), when the first answer went out (``answer``), when a buyer gave up
(``abandoned``), when the second touch arrived and was done (``follow_arrive``, ``follow_done``),
and integrates the number of new requests waiting over time (``queue_area``) for Little's law.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Iterable, Iterator

import simpy

from .hours import OpenHours
from .slots import BLOCK, Slots

__all__ = ["OpenHours", "Desk", "BLOCK"]

# The kinds of the desk's own events: an agent resumes (woken, or the desk opened), an agent
# finishes a first touch or a second touch, a doorbell rings.
_RESUME, _FIRST, _SECOND, _BELL = 0, 1, 2, 3


def _delay_to(now: float, at: float) -> float:
    """The delay that brings a clock at ``now`` exactly to ``at`` (> ``now``): SimPy adds it.
    When none does (``now`` half an ulp of ``at``: both sums round away from it), the largest
    short of ``at``: the tick works ahead to SimPy's next event, and the next delay is exact."""
    delay = at - now
    for _ in range(4):
        got = now + delay
        if got == at:
            return delay
        delay = math.nextafter(delay, math.inf if got < at else -math.inf)
    delay = at - now
    while now + delay >= at:
        delay = math.nextafter(delay, -math.inf)
    return delay


class Desk(Slots):
    """Agents answering requests and second touches from a shared inbox.

    Args:
        env: the SimPy environment.
        staff: number of agents.
        hours: opening hours, or ``None`` for 24/7.
        discipline: ``"fifo"`` or ``"deadline"`` (for new requests).
        late_after: the late threshold in hours (used by ``deadline``).
        request_time, service: per-request arrival time and first-touch agent hours.
        patience: per-request hours a buyer waits for a first answer before giving up
            (``inf``: never, e.g. auto-authorised requests, whose first touch is off the clock).
        follow_delay: per-request hours from the first answer to the second touch's arrival (the
            buyer's reply), or NaN when there is no second touch.
        follow_service: per-request agent hours of the second touch.
        follow_priority: ``"before_new"``, ``"arrival"`` or ``"after_new"``.
        lapse_at: per-request time after which a reply no longer needs the desk, because a rule
            set in advance authorised the return at the deadline (``inf``: none).
        instant: per-request flag: answered on arrival by someone else's desk (Amazon's, for
            fulfilled-by-Amazon items), never queued here.
        measure_from: agent time before this moment (hours) is also counted in
            ``busy_before``, so that utilisation can leave out a warm-up period.

    The lists given are the first slots (0, 1, ...); :meth:`add` appends or reuses slots.
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
        patience: list[float],
        follow_delay: list[float],
        follow_service: list[float],
        follow_priority: str = "before_new",
        lapse_at: list[float] | None = None,
        instant: list[bool] | None = None,
        measure_from: float = 0.0,
    ) -> None:
        self.env = env
        self.hours = hours
        self.deadline = discipline == "deadline"
        self.late_after = late_after
        self.request_time = request_time
        self.service = service
        self.patience = patience
        self.follow_delay = follow_delay
        self.follow_service = follow_service
        self.lapse_at = lapse_at if lapse_at is not None else [math.inf] * len(request_time)
        self.instant = instant if instant is not None else [False] * len(request_time)
        self.follow_first = follow_priority == "before_new"
        self.follow_last = follow_priority == "after_new"
        self.answered: list[int] = []
        """Ids whose desk work is complete, since the last :meth:`collect`."""
        self.busy_hours = 0.0
        """Total agent time spent on requests and second touches."""
        self.measure_from = measure_from
        self.busy_before = 0.0
        """The part of ``busy_hours`` spent before ``measure_from``."""
        self.overtime_hours = 0.0
        """Agent time after ``measure_from`` spent past closing time, finishing a task begun
        while open (hours); utilisation counts it as time available as well as time busy, so it
        never exceeds 1 (issue 22: a desk open a few seconds a day showed 3,000 %)."""
        self.queue_area = 0.0
        """Integral over time of the number of new requests waiting (request-hours)."""
        self.visits = 0
        """Touches handled by agents (first touches and second touches)."""
        self._queue: deque[int] = deque()
        self._late: deque[int] = deque()
        self._follow: deque[int] = deque()
        self._idle: list[int] = list(range(staff))
        """Agents waiting for work, the last to wait woken first (agents start waiting)."""
        self._due: list[tuple[float, int, int, int, int]] = []
        """The desk's own events: (time, number, kind, agent, slot), numbered in the order they
        were scheduled, as SimPy numbers its events, so that equal times keep SimPy's order."""
        self._seq = 0
        self._now = env.now
        """The desk's clock: the time of the event it is working on (ahead of ``env.now`` while it
        works through its events), or ``env.now`` when called from outside."""
        self._tick_at = math.inf
        """When the desk's SimPy event is set for (inf: none)."""
        self._tick_event: simpy.Event | None = None
        self._open_until = [-math.inf] * staff
        """Per agent, the end of the open spell the agent last saw."""
        self._feeds: list[tuple[float, int, int, Iterator[int] | None, float]] = []
        """What lands in the inbox next: the next request of each feed (arrival, feed number,
        slot, feed, feed start) and the buyers' replies on their way (landing, a number after
        every feed's, slot, None, 0)."""
        self._feed_seq = 0
        self._replies = 1 << 62
        """Numbers of replies on their way (they order the heap after feeds at equal times)."""
        self._bell_at = math.inf
        """When the doorbell is set for (inf: not set)."""
        self._last_change = 0.0
        self._init_blocks(len(request_time))

    def _wake(self) -> None:
        """Wake the agent that waited last: it resumes now, after the events already due now."""
        self._seq += 1
        heapq.heappush(self._due, (self._now, self._seq, _RESUME, self._idle.pop(), -1))

    def feed(self, ids: Iterable[int], origin: float | None = None):
        """A SimPy process that hands over requests ``ids`` (slots, in time order) to arrive at
        their request times; ``ids`` may be a lazy iterable, read one slot ahead of the clock.

        Requests are not events: they wait in the feed until the desk looks at its inbox (an
        agent picks its next task, the run sweeps the queue) and are then taken in at the
        instants they arrived, or until their instant if an agent is idle (a doorbell wakes it).
        So an arrival costs an event only when an agent is waiting for work; the numbers are
        those of an event per arrival.

        ``origin`` (hours, at most the first arrival): arrive at the instants a feed started at
        ``origin`` would have, even if this one starts later. A clock advanced by a delay rounds
        (``now + (t - now)`` may differ from ``t`` in the last bit), so where a feed starts would
        show in the last bit of its first arrival; ``origin`` keeps a request's arrival
        independent of when the run got round to scheduling it."""
        now = self._now = self.env.now
        self._feed_seq += 1
        self._next_of(iter(ids), now if origin is None else origin, now, self._feed_seq)
        self._ring()
        self._set_tick()
        return
        yield  # a process (it ends at once, having handed the requests over)

    def _next_of(self, it: Iterator[int], at: float, since: float, seq: int) -> None:
        """Queue the next request of feed ``it`` (whose clock is at ``at``, started at
        ``since``): it arrives where that clock lands, advanced by the delay to its time."""
        rid = next(it, None)
        if rid is not None:
            delay = self.request_time[rid] - at
            if delay > 0:
                at += delay
            heapq.heappush(self._feeds, (at if at > since else since, seq, rid, it, since))

    def _pull(self, now: float, strict: bool = False) -> None:
        """Take in every request that arrived by ``now`` (before it, if ``strict``), in order."""
        feeds, times, instant, queue, idle = self._feeds, self.request_time, self.instant, self._queue, self._idle
        while feeds:
            at, seq, rid, it, since = feeds[0]
            if at > now or (strict and at == now):
                return
            if it is None:  # a buyer's reply: the second touch lands
                heapq.heappop(feeds)
                self.follow_arrive[rid] = at
                self._follow.append(rid)
                if idle:
                    self._wake()
                continue
            if instant[rid]:  # answered on arrival, without an agent
                self.start[rid] = self.answer[rid] = at
                self.answered.append(rid)
            else:  # into the queue (the queue-length integral inline: this runs once per request)
                self.queue_area += (len(queue) + len(self._late)) * (at - self._last_change)
                self._last_change = at
                queue.append(rid)
                if idle:
                    self._wake()
            # The feed's next request replaces this one (as in _next_of, one heap operation).
            nxt = next(it, None)
            if nxt is None:
                heapq.heappop(feeds)
                continue
            delay = times[nxt] - at
            if delay > 0:
                at += delay
            heapq.heapreplace(feeds, (at if at > since else since, seq, nxt, it, since))

    def _ring(self) -> None:
        """While an agent waits for work, keep a doorbell set for the next arrival."""
        if self._idle and self._feeds:
            at = self._feeds[0][0]
            if at < self._bell_at:
                self._bell_at = at
                self._seq += 1
                heapq.heappush(self._due, (at, self._seq, _BELL, -1, -1))

    def _set_tick(self) -> None:
        """Keep the desk's SimPy event set for its earliest event of its own."""
        if self._due and self._due[0][0] < self._tick_at:
            at = self._tick_at = self._due[0][0]
            self._tick_event = self.env.timeout(_delay_to(self.env.now, at))
            self._tick_event.callbacks.append(self._tick)

    def _tick(self, event: simpy.Event) -> None:
        if event is not self._tick_event:
            return  # superseded by an earlier one, which has done its work
        self._tick_at, self._tick_event = math.inf, None
        # Nothing else happens before the next event in SimPy's queue: that event's own priority
        # puts it first at its instant (runs stop, feeds start: both urgent), so the desk's
        # events at that instant wait for it, as they would have as processes.
        self._advance(self.env.peek())
        self._set_tick()

    def collect(self) -> list[int]:
        """The slots whose desk work is complete (arrivals before now taken in), since the last
        call."""
        self._now = self.env.now
        self._pull(self._now, strict=True)
        self._set_tick()
        done = self.answered[:]
        self.answered.clear()  # in place: agents hold the list
        return done

    def sweep(self) -> None:
        """Book every buyer who has given up by now (the agents would find them later)."""
        now = self._now = self.env.now
        # Events at `now` itself come after the run's stop, so arrivals at `now` wait too.
        self._pull(now, strict=True)
        self._set_tick()
        for q in (self._queue, self._late):  # one pass over a queue that may be long
            gone = [self.request_time[r] + self.patience[r] <= now for r in q]
            if any(gone):
                for r in itertools.compress(q, gone):
                    self._give_up(r)  # (in queue order, the queue still full)
                alive = [r for r, g in zip(q, gone, strict=True) if not g]
                q.clear()
                q.extend(alive)

    def _account(self) -> None:
        now = self._now
        self.queue_area += (len(self._queue) + len(self._late)) * (now - self._last_change)
        self._last_change = now

    def _give_up(self, rid: int) -> None:
        """``rid`` left the queue when its patience ran out; it was counted as waiting since."""
        self._account()
        at = self.request_time[rid] + self.patience[rid]
        self.queue_area -= self._now - at
        self.abandoned[rid] = at
        self.answered.append(rid)

    def _gone(self, rid: int) -> bool:
        return self.request_time[rid] + self.patience[rid] <= self._now

    def _pick_new(self) -> int | None:
        q, late = self._queue, self._late
        now = self._now
        self.queue_area += (len(q) + len(late)) * (now - self._last_change)
        self._last_change = now
        if self.deadline:
            while q:
                rid = q[0]
                if self._gone(rid):
                    q.popleft()
                    self._give_up(rid)
                elif self.request_time[rid] + self.late_after < now + self.service[rid]:
                    late.append(q.popleft())
                else:
                    return q.popleft()
            while late:
                rid = late.popleft()
                if not self._gone(rid):
                    return rid
                self._give_up(rid)
            return None
        times, patience = self.request_time, self.patience
        while q:
            rid = q.popleft()
            if times[rid] + patience[rid] > now:
                return rid
            self._give_up(rid)
        return None

    def _pick(self) -> tuple[int, bool] | None:
        """The next task: (request id, is a second touch), or None if only give-ups were left."""
        follow = self._follow
        if not follow:
            rid = self._pick_new()
            return None if rid is None else (rid, False)
        if self.follow_first or not (self._queue or self._late):
            return follow.popleft(), True
        if not self.follow_last:
            # Arrival order: compare the oldest second touch with the oldest live new request.
            while self._queue and self._gone(self._queue[0]):
                self._account()
                self._give_up(self._queue.popleft())
            if not self._queue or self.follow_arrive[follow[0]] <= self.request_time[self._queue[0]]:
                return follow.popleft(), True
        rid = self._pick_new()
        if rid is not None:
            return rid, False
        return follow.popleft(), True

    def _before(self, s: float) -> None:
        """Count the part of a task of ``s`` hours starting now that falls before ``measure_from``."""
        now = self._now
        if now < self.measure_from:
            self.busy_before += min(s, self.measure_from - now)

    def _advance(self, horizon: float) -> None:
        """Work through the desk's own events due before ``horizon`` (hours), in SimPy's order.

        Each agent runs the loop a SimPy process would: take in what has arrived; wait if the
        inbox is empty; sleep if the desk is closed; else pick a task and hold it for its
        handling time. An event resumes the loop where that process would have resumed."""
        due = self._due
        hours = self.hours
        queue, late, follow = self._queue, self._late, self._follow
        measure_from = self.measure_from
        feeds, pull, idle, answered, pick = self._feeds, self._pull, self._idle, self.answered, self._pick
        service, follow_service, follow_delay, lapse_at = self.service, self.follow_service, self.follow_delay, self.lapse_at
        start, answer, follow_done, open_until = self.start, self.answer, self.follow_done, self._open_until
        pop, push, pushpop = heapq.heappop, heapq.heappush, heapq.heappushpop
        times, patience, deadline, follow_first = self.request_time, self.patience, self.deadline, self.follow_first
        # Totals only this loop changes, kept in locals (added in the same order).
        visits, busy, overtime = self.visits, self.busy_hours, self.overtime_hours
        event = None
        try:
            while True:
                if event is None:
                    if not due:
                        return
                    event = pop(due)
                if event[0] >= horizon:
                    push(due, event)
                    return
                now, _, kind, a, rid = event
                event = None
                self._now = now
                if kind == _BELL:
                    if now == self._bell_at:
                        self._bell_at = math.inf
                    pull(now)
                    if idle and feeds and feeds[0][0] < self._bell_at:
                        self._ring()
                    continue
                if kind == _SECOND:
                    if feeds and feeds[0][0] <= now:
                        pull(now)
                    follow_done[rid] = now
                    answered.append(rid)
                elif kind == _FIRST:
                    if feeds and feeds[0][0] <= now:
                        pull(now)
                    answer[rid] = now
                    delay = follow_delay[rid]
                    if delay == delay and now + delay <= lapse_at[rid]:
                        # The reply lands in the inbox at now + delay (where a timeout would): it
                        # waits in the heap like an arrival, a doorbell set if an agent is idle.
                        self._replies += 1
                        push(feeds, (now + delay, self._replies, rid, None, 0.0))
                        if idle and feeds[0][0] < self._bell_at:
                            self._ring()
                    else:
                        answered.append(rid)
                while True:  # the agent's loop, until it waits for an event
                    if feeds and feeds[0][0] <= now:
                        pull(now)
                    if not queue and not late and not follow:
                        idle.append(a)
                        if feeds and feeds[0][0] < self._bell_at:
                            self._ring()
                        break
                    if hours is not None and now >= open_until[a]:
                        closed_for = hours.until_open(now)
                        if closed_for > 0:
                            self._seq += 1
                            push(due, (now + closed_for, self._seq, _RESUME, a, -1))
                            break
                        open_until[a] = hours.open_until(now)
                    if follow and (follow_first or not (queue or late)):
                        rid, second = follow.popleft(), True
                    elif follow or deadline:
                        task = pick()
                        if task is None:
                            continue
                        rid, second = task
                    else:  # first come, first served: _pick_new inline (once per task)
                        self.queue_area += len(queue) * (now - self._last_change)
                        self._last_change, rid, second = now, queue.popleft(), False
                        while times[rid] + patience[rid] <= now:
                            self._give_up(rid)
                            rid = queue.popleft() if queue else -1
                            if rid < 0:
                                break
                        if rid < 0:
                            continue
                    visits += 1
                    s = follow_service[rid] if second else service[rid]
                    busy += s
                    if hours is not None:
                        until = open_until[a]
                        over = now + s - (until if until > measure_from else measure_from)
                        if over > 0.0:
                            overtime += over
                    if measure_from > 0.0:
                        self._before(s)
                    if not second:
                        start[rid] = now
                    self._seq += 1
                    # The agent's next event is often the desk's next: one heap call for both.
                    event = (now + s, self._seq, _SECOND if second else _FIRST, a, rid)
                    if due:
                        event = pushpop(due, event)
                    break
        finally:
            self.visits, self.busy_hours, self.overtime_hours = visits, busy, overtime
