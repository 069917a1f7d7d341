"""The desk's event heap gives what a SimPy process per agent gives, event for event, ties included.

Issue 24 made the desk's agents events in the desk's own heap, worked through up to the next
event in SimPy's queue, instead of a SimPy process each. The risk is in the order of events at
equal times (which agent resumes first, whether a doorbell rings before a task ends, whether a
run's stop or a feed started at a stop comes before the desk's own events at that instant) and
in working ahead of SimPy's clock. ``ProcessDesk`` below is the desk as it was: the same inbox
(feeds, picks, give-ups) but one SimPy process per agent, a SimPy event per woken agent and a
SimPy timeout per doorbell, so SimPy itself orders everything. Both desks get tie-heavy inputs
(every time on a half-hour grid, zero-length tasks, opening hours on whole hours, patience ending
as an agent frees up), runs stopped at grid instants with the desk read between them, and feeds
started at those stops; every recorded time, every total and the order in which requests are
collected must be identical, bit for bit.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
import simpy

from returnsim.model.desk import Desk, OpenHours, _delay_to


class ProcessDesk(Desk):
    """The desk before issue 24: agents are SimPy processes (the reference)."""

    def __init__(self, env: simpy.Environment, staff: int, *args, **kwargs) -> None:
        super().__init__(env, staff, *args, **kwargs)
        self._idle = []  # wake events, not agent numbers
        for _ in range(staff):
            env.process(self._agent())

    def _set_tick(self) -> None:  # SimPy schedules every event itself
        pass

    def _wake(self) -> None:
        self._idle.pop().succeed()

    def _ring(self) -> None:
        if self._idle and self._feeds:
            at = self._feeds[0][0]
            if at < self._bell_at:
                self._bell_at = at
                self.env.timeout(_delay_to(self.env.now, at), at).callbacks.append(self._bell)

    def _bell(self, event: simpy.Event) -> None:
        self._now = self.env.now
        if event.value == self._bell_at:
            self._bell_at = math.inf
        self._pull(self._now)
        self._ring()

    def _agent(self):
        env, hours, open_until = self.env, self.hours, -math.inf
        while True:
            now = self._now = env.now
            if self._feeds and self._feeds[0][0] <= now:
                self._pull(now)
            if not self._queue and not self._late and not self._follow:
                wake = env.event()
                self._idle.append(wake)
                if self._feeds:
                    self._ring()
                yield wake
                continue
            if hours is not None and now >= open_until:
                closed_for = hours.until_open(now)
                if closed_for > 0:
                    yield env.timeout(closed_for)
                    continue
                open_until = hours.open_until(now)
            task = self._pick()
            if task is None:
                continue
            rid, second = task
            self.visits += 1
            s = self.follow_service[rid] if second else self.service[rid]
            self.busy_hours += s
            if hours is not None:
                over = now + s - max(open_until, self.measure_from)
                if over > 0.0:
                    self.overtime_hours += over
            if self.measure_from > 0.0:
                self._before(s)
            if not second:
                self.start[rid] = now
            yield env.timeout(s)
            now = self._now = env.now
            if self._feeds and self._feeds[0][0] <= now:
                self._pull(now)
            if second:
                self.follow_done[rid] = now
                self.answered.append(rid)
                continue
            self.answer[rid] = now
            delay = self.follow_delay[rid]
            if delay == delay and now + delay <= self.lapse_at[rid]:
                self._replies += 1
                heapq.heappush(self._feeds, (now + delay, self._replies, rid, None, 0.0))
                if self._idle:
                    self._ring()
            else:
                self.answered.append(rid)


def inputs(rng: np.random.Generator, n: int) -> dict[str, list]:
    """Requests with every time on a half-hour grid, so that events tie often."""
    grid = lambda lo, hi, size: (rng.integers(lo, hi, size) / 2).tolist()  # noqa: E731
    follow = rng.random(n) < 0.5
    return {
        "request_time": sorted(grid(0, 2 * 24 * 12, n)),
        "service": grid(0, 5, n),  # zero-length tasks too
        "patience": [math.inf if p > 20 else p / 2 for p in rng.integers(0, 40, n)],
        "follow_delay": [d if f else math.nan for d, f in zip(grid(0, 8, n), follow, strict=True)],
        "follow_service": grid(0, 3, n),
        "lapse_at": [math.inf] * n,
        "instant": (rng.random(n) < 0.1).tolist(),
    }


def run(cls: type[Desk], case: dict, seed: int) -> tuple[Desk, list[tuple[float, list[int]]]]:
    """Run a desk through ``case`` with stops at grid instants; returns it and what each stop
    collected."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    hours = OpenHours([(24 * d + 8, 24 * d + 18) for d in range(5)] + [(130, 134)], holidays=[2]) if case["hours"] else None
    d = inputs(rng, case["n"])
    later = inputs(rng, case["n"] // 4)  # a second feed, started at a stop
    lapse = [t + 6.0 for t in d["request_time"]] if case["lapse"] else None
    desk = cls(
        env,
        case["staff"],
        hours,
        case["discipline"],
        3.0,
        request_time=d["request_time"],
        service=d["service"],
        patience=d["patience"],
        follow_delay=d["follow_delay"],
        follow_service=d["follow_service"],
        follow_priority=case["priority"],
        lapse_at=lapse,
        instant=d["instant"],
        measure_from=case["measure_from"],
    )
    env.process(desk.feed(range(case["n"])))
    log: list[tuple[float, list[int]]] = []
    stops = np.cumsum(rng.integers(1, 60, 200) / 2).tolist()
    fed = False
    for t in stops:
        env.run(until=t)
        if not fed and t > 48:
            # Requests from now on (one at this very instant), handed over at a stop, started
            # as if at an earlier origin (as later purchases are).
            times = sorted(t + x for x in later["request_time"])
            times[0] = t
            slots = desk.add(**{**later, "request_time": times})
            env.process(desk.feed(slots, origin=t - 7.25))
            fed = True
        if len(log) % 3 == 0:
            desk.sweep()
        log.append((t, desk.collect()))
        if not (desk._feeds or desk._queue or desk._late or desk._follow) and fed and t > 400:
            break
    env.run(until=stops[-1] + 1000)
    log.append((env.now, desk.collect()))
    return desk, log


CASES = [
    {"staff": 1, "hours": False, "discipline": "fifo", "priority": "before_new", "lapse": False, "measure_from": 0.0},
    {"staff": 2, "hours": True, "discipline": "fifo", "priority": "arrival", "lapse": True, "measure_from": 30.0},
    {"staff": 3, "hours": True, "discipline": "deadline", "priority": "after_new", "lapse": False, "measure_from": 0.0},
    {"staff": 2, "hours": False, "discipline": "deadline", "priority": "before_new", "lapse": True, "measure_from": 0.0},
    {"staff": 2, "hours": True, "discipline": "fifo", "priority": "before_new", "lapse": False, "measure_from": 0.0},
]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['staff']}agents-{c['discipline']}-{c['priority']}")
def test_the_event_heap_desk_is_the_process_desk_bit_for_bit(case, seed):
    case = {**case, "n": 160}
    new, new_log = run(Desk, case, seed)
    ref, ref_log = run(ProcessDesk, case, seed)
    assert new_log == ref_log  # the same requests collected at every stop, in the same order
    for name in ("start", "answer", "abandoned", "follow_arrive", "follow_done"):
        a, b = np.array(getattr(new, name)), np.array(getattr(ref, name))
        assert np.array_equal(a, b, equal_nan=True), name
    for name in ("queue_area", "busy_hours", "busy_before", "overtime_hours", "visits"):
        assert getattr(new, name) == getattr(ref, name), name
    # Not vacuous: ties happened, buyers gave up, second touches and closed hours were met.
    starts = np.array(new.start)
    assert np.isfinite(starts).sum() > 100
    assert len(np.unique(starts[np.isfinite(starts)])) < np.isfinite(starts).sum()  # equal starts
    assert np.isfinite(new.abandoned).any() and np.isfinite(new.follow_done).any()


class CountingEnvironment(simpy.Environment):
    """Counts the events scheduled on it."""

    scheduled = 0

    def schedule(self, event, priority=simpy.core.NORMAL, delay=0):
        self.scheduled += 1
        super().schedule(event, priority, delay)


def test_the_desk_schedules_few_simpy_events_and_works_ahead_only_to_the_next_one():
    """What made it fast: 50 requests and 100 agent events cost a handful of SimPy events; and
    what keeps it right: after a run stops at t, nothing at t or later has happened at the desk."""
    env = CountingEnvironment()
    n = 50
    desk = Desk(env, 2, None, "fifo", 48.0, [float(i) for i in range(n)], [1.5] * n, [math.inf] * n,
                [math.nan] * n, [0.0] * n)
    env.process(desk.feed(range(n)))
    env.run(until=10.0)
    # Request 9 arrived at 9 and was started then; request 10 arrives at the stop: not yet seen;
    # request 9 is done at 10.5, after the stop.
    assert desk.start[9] == 9.0 and math.isnan(desk.start[10]) and math.isnan(desk.answer[9])
    env.run()
    assert desk.answer == [i + 1.5 for i in range(n)]
    # The feed process's start and end, the first run's stop, the desk's event set by the feed
    # and the one set again after the stop (a process per agent: more than 150).
    assert env.scheduled < 10


def _reached_within_two_ticks(now: float, at: float) -> bool:
    d = _delay_to(now, at)
    got = now + d
    if got == at:
        return True
    # A tick a rounding early: from there, the next delay must land on ``at`` exactly.
    return now < got < at and got + _delay_to(got, at) == at


@pytest.fixture
def fails_instead_of_hanging():
    # The bug this guards against is a loop that never ends: fail it after 20 s instead.
    import signal

    def stop(*_):
        raise TimeoutError("_delay_to did not return")

    before = signal.signal(signal.SIGALRM, stop)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, before)


def test_an_instant_no_delay_reaches_is_reached_by_a_second_tick(fails_instead_of_hanging):
    # now is half an ulp of at: now + d rounds half to even, away from at on both sides, so no
    # delay lands on at (the M/M/c validation run met such a pair and looped for ever).
    now, at = 2.0**-53, 1.0 + 2.0**-52
    assert all(now + d != at for d in (math.nextafter(at - now, -math.inf), at - now, math.nextafter(at - now, math.inf)))
    assert _reached_within_two_ticks(now, at)
    # The same trap at every scale and odd mantissa, and ordinary pairs.
    rng = np.random.default_rng(7)
    for e in range(-10, 12):
        for m in rng.integers(1, 2**20, 40) * 2 + 1:
            at = math.ldexp(1.0 + float(m) * 2.0**-52, e)
            for now in (math.ldexp(1.0, e - 53), math.ldexp(3.0, e - 54), float(rng.uniform(0, at))):
                assert _reached_within_two_ticks(now, at), (now, at)
