"""How big a replication is before it runs: expected requests, peak memory and time.

A scenario that validates can still ask for more than a machine has: ``horizon_days = 1e9``
or ten million orders a day. :func:`estimate_run` reads the size of one replication off the
scenario (orders from demand and seasonality, requests from the return rates, the extra orders
of returning customers, the desk's agents and the days simulated) and prices it with per-unit
costs measured by ``benchmarks/bench_budget.py``, which prints the ratio of estimate to
measurement. :func:`check_run` refuses a replication whose estimated memory exceeds what the
machine has available, before anything is allocated.

Estimates are deliberately on the high side (returning customers are counted at the highest
purchase rate a return can leave them with), so a refusal is never a close call.

A desk that cannot keep up holds far more than a few days of requests (measured: 4-6 times the
estimate that ignored it). Which requests it holds follows the desk's rules, read off a small
fixed sample of requests planned under each of the scenario's policies (:func:`_desk_mix`): a
buyer waiting for a first answer gives up after their patience and is booked at the next sweep,
but an auto-authorised request with a message to send never gives up, so once the agents' hours
cannot cover those alone their queue grows for as long as demand lasts. A request's slot is
freed with its whole block (:mod:`.slots`), so every request that arrived over the span of that
queue keeps its slot (:func:`_overload_slots`).
"""

from __future__ import annotations

import calendar
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .stream import CHUNK_REQUESTS

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario

__all__ = [
    "RunEstimate",
    "DeskMix",
    "RunTooLarge",
    "estimate_run",
    "check_run",
    "available_memory",
    "human_count",
    "human_bytes",
    "human_duration",
    "BYTES_PER_RUN",
    "BYTES_PER_REQUEST",
    "BYTES_PER_SETTLED",
    "BYTES_PER_TRACE_ROW",
    "IN_PROGRESS_DAYS",
    "SWEEP_DAYS",
    "MIX_SAMPLE",
    "MIX_CHUNK",
    "BYTES_PER_AGENT",
    "BYTES_PER_AGENT_EVENT",
    "BYTES_PER_DAY",
    "SECONDS_PER_REQUEST",
    "SECONDS_PER_AGENT",
    "SECONDS_PER_DAY",
]

BYTES_PER_RUN = 4e6
"""Memory of a replication whatever its size (the compiled world, SimPy, buffers), measured
with ``benchmarks/bench_budget.py`` (fitted with the two constants below: 13-17 MB for the seed
scenario at 1 and 10 times its demand)."""
BYTES_PER_REQUEST = 1_200
"""Memory per return request held (drawn, not yet settled, or settled but its desk slot pinned
by its block; the model folds settled requests into running totals, so memory follows the
requests held, not the horizon). Measured with ``benchmarks/bench_budget.py`` as memory over the
most desk slots a run held: 760-800 B at 21,760 and 698,112 slots (10 and 100 times the seed
store's demand), 1,370 B at the seed store's 6,400 slots, where a settled batch's temporaries
weigh more; on the high side. Re-measure when the model changes."""
IN_PROGRESS_DAYS = 9.0
"""Days of the busiest month's requests held at once, on the high side (measured: about 6; a
request is drawn shortly before it reaches the desk and settles when it is refunded)."""
SWEEP_DAYS = 14.0
"""Days a buyer who gave up may still hold their slot: the desk books them when an agent reaches
them or at the sweep at the end of each epoch (``simulate``'s default ``epoch_days``)."""
MIX_SAMPLE = 2048
"""Requests drawn (with a fixed seed, so an estimate is repeatable) to read each policy's desk
mix in :func:`_desk_mix`: 2,048 put a share's standard error under 1.1 points, in about 100 ms
for a scenario of eight policies (paid only where the desk may not keep up)."""
MIX_CHUNK = 512
"""Requests planned at a time in :func:`_desk_mix` (measured: 3.6 MB traced at the peak for 512,
14 MB for 2,048 at once)."""
BYTES_PER_SETTLED = 16
"""What a settled request still leaves behind until the run ends (a few entries of per-day
counters and customer records; measured: about 15 B over ten years of a large store)."""
BYTES_PER_TRACE_ROW = 2_500
"""Memory per request of a run that keeps its per-request trace (``trace=True``): every request
is kept to the end and becomes a row of the trace DataFrame."""
BYTES_PER_AGENT = 80
"""Memory per desk agent. An agent is not a SimPy process but a number in the desk's lists (the
idle agents, the end of each agent's open spell), issue 24: measured 47 B of resident memory
per agent with 100,000 agents (``benchmarks/bench_budget.py``'s last case) and 48 B traced
(``tests/test_draw_speed_budget.py``); on the high side. (148 B resident was measured before
``benchmarks/bench_budget.py`` warmed up for 60 days.)"""
BYTES_PER_AGENT_EVENT = 150
"""Memory per pending agent event: at most one per agent in the desk's heap (a task done, or
the desk opening for an agent that found it closed), and only for an agent that has been given
work, so at most ``min(agents, requests)`` of them. About 140 B (``sys.getsizeof`` of the
event's tuple, its time and number); on the high side."""
BYTES_PER_DAY = 175
"""Memory per simulated day (daily order counts, calendar and window arrays; measured: 140 B,
and 160 B with ``benchmarks/bench_budget.py``'s 60-day warm-up, for a store run over 3,000
years)."""
SECONDS_PER_REQUEST = 12e-6
"""Time per return request on one core (measured: 8-12 microseconds on an idle core, up to
twice that on a busy machine)."""
SECONDS_PER_AGENT = 2e-7
"""Time per desk agent (an agent is an entry in the desk's lists, not a SimPy process:
measured 0.04-0.05 microseconds per agent with 100,000 and 200,000 agents, on the high side)."""
SECONDS_PER_DAY = 1e-6
"""Time per simulated day, of demand or of the desk's backlog after it (measured: 0.4-1.1
microseconds)."""


class RunTooLarge(ValueError):
    """A run would need more memory than the machine has available.

    The message says how much, which fields make it that large, and how to run it anyway.
    """


@dataclass(frozen=True)
class RunEstimate:
    """The size of one replication of a scenario, estimated before it runs."""

    orders: float
    """Expected orders placed in the horizon (returning customers' included)."""
    requests: float
    """Expected return requests (the model's unit of work)."""
    agents: int
    """Desk agents."""
    days: float
    """Days of demand (the horizon)."""
    memory_bytes: float
    """Estimated peak memory of the replication."""
    seconds: float
    """Estimated time on one core."""
    drivers: list[str] = field(default_factory=list)
    """The scenario fields that set the size, as ``path = value`` (for messages)."""
    held: float = 0.0
    """Requests held at once at the fullest (desk slots, in use or pinned by their block; every
    request when the run keeps its trace)."""

    def describe(self) -> str:
        """``~1.2e+08 return requests, 260 GB, 40 min`` in words a user can act on."""
        return (
            f"~{human_count(self.requests)} return requests from ~{human_count(self.orders)} orders, "
            f"~{human_bytes(self.memory_bytes)} of memory, ~{human_duration(self.seconds)} on one core"
        )


def human_count(x: float) -> str:
    """``12,345`` or ``1.2e+08``."""
    return f"{x:,.0f}" if x < 1e7 else f"{x:.2g}"


def human_bytes(x: float) -> str:
    """``260 GB``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if x >= size:
            return f"{x / size:.3g} {unit}"
    return f"{x / 1e3:.3g} kB"


def human_duration(seconds: float) -> str:
    """``3.5 hours``."""
    for unit, size in (("years", 3.156e7), ("days", 86400.0), ("hours", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.2g} s"


def _season_by_day(sc: Scenario) -> np.ndarray | None:
    """Each day's seasonal multiplier (times the part of the day inside the horizon), for
    horizons up to ten years; ``None`` beyond."""
    horizon = float(sc.horizon_days)
    if horizon > 3653:
        return None
    season = np.asarray(sc.demand.seasonality, dtype=float)
    n = math.ceil(horizon)
    dates = np.datetime64(sc.start_date.isoformat(), "D") + np.arange(n)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    return season[month] * np.minimum(1.0, horizon - np.arange(n))


def _seasonal_days(sc: Scenario, by_day: np.ndarray | None) -> float:
    """Sum over the horizon of each day's seasonal multiplier (days of orders at the base
    rate), exact for horizons up to ten years (``by_day``: :func:`_season_by_day`) and from the
    yearly average beyond."""
    if by_day is not None:
        return float(by_day.sum())
    season = np.asarray(sc.demand.seasonality, dtype=float)
    days = np.array([calendar.monthrange(2023, m)[1] for m in range(1, 13)], dtype=float)
    return float(sc.horizon_days) * float(season @ days) / float(days.sum())


@dataclass(frozen=True)
class DeskMix:
    """How one policy's requests use the desk, from a sample (shares of all requests)."""

    patient: float
    """Share of requests at the desk that never give up (auto-authorised with a message to
    send: their buyer has a label and waits for nothing)."""
    impatient: float
    """Share of requests at the desk whose buyer gives up after their patience."""
    patient_hours: float
    """Mean agent hours per patient request (first touch and investigation: see
    :func:`_desk_mix` for why not the second touch)."""
    impatient_hours: float
    """Mean agent hours per impatient request (first touch, investigation, second touch)."""
    patience_days: float
    """Mean patience of an impatient request's buyer (days)."""


_MIXES: dict[str, list[DeskMix]] = {}
"""The last few scenarios' desk mixes, by the scenario's JSON: every replication of an experiment
checks its run size, and sampling costs about 100 ms where serialising costs 0.3 ms."""
_MIXES_KEPT = 16


def _desk_mix(sc: Scenario) -> list[DeskMix]:
    """Each policy's :class:`DeskMix`, from ``MIX_SAMPLE`` requests planned as the run plans
    them (the same draws under every policy, so policies compare like for like)."""
    key = sc.model_dump_json()
    mixes = _MIXES.get(key)
    if mixes is None:
        mixes = _sample_desk_mix(sc)
        if len(_MIXES) >= _MIXES_KEPT:
            _MIXES.pop(next(iter(_MIXES)))  # the oldest
        _MIXES[key] = mixes
    return mixes


def _sample_desk_mix(sc: Scenario) -> list[DeskMix]:
    """:func:`_desk_mix`, computed."""
    # Imported here: the model's planning is needed only when a desk may be overloaded.
    from .demand import UNIFORMS, build_requests
    from .plan import plan
    from .world import HOURS_PER_DAY, World

    world = World(sc)
    rng = np.random.default_rng(0)
    span_h = min(float(sc.horizon_days), 365.0) * HOURS_PER_DAY
    names = list(sc.policies)
    # Per policy: requests that are patient, impatient; their agent hours; impatient patience.
    sums = np.zeros((len(names), 5))
    # Planned MIX_CHUNK requests at a time: planning allocates about 7 kB per request at its
    # peak, which would otherwise show in the peak memory of the run being estimated.
    for _ in range(MIX_SAMPLE // MIX_CHUNK):
        n = MIX_CHUNK
        order_time = np.sort(rng.random(n)) * span_h
        U = rng.random((n, len(UNIFORMS)))
        req = build_requests(world, U, order_time, np.arange(n), np.zeros(n, dtype=np.int64))
        for k, name in enumerate(names):
            pl = plan(world, sc.policy(name), req)
            desk = ~pl.at_once
            patient, impatient = desk & pl.auto, desk & ~pl.auto
            first = req.handling_h + req.investigate_h * pl.investigated
            # A patient request's reply stops needing the desk once its parcel is handed over
            # (``lapse_at``): on a desk too slow for the patient requests, long before an agent
            # reaches the request, so its second touch never costs agent time.
            work = first + req.follow_up_h * pl.asked
            sums[k] += (
                patient.sum(),
                impatient.sum(),
                first[patient].sum(),
                work[impatient].sum(),
                req.patience_h[impatient].sum(),
            )
    mixes = []
    for p, q, hp, hq, wait in sums.tolist():
        mixes.append(
            DeskMix(
                patient=p / MIX_SAMPLE,
                impatient=q / MIX_SAMPLE,
                patient_hours=hp / p if p else 0.0,
                impatient_hours=hq / q if q else 0.0,
                patience_days=wait / q / HOURS_PER_DAY if q else 0.0,
            )
        )
    return mixes


def _overload_slots(
    mix: DeskMix, daily: np.ndarray | None, requests: float, peak_per_day: float, days: float, agent_hours: float
) -> float:
    """Desk slots an overloaded desk holds at its fullest beyond the usual requests in progress.

    Args:
        mix: the policy's desk mix.
        daily: expected requests on each day of demand (``None``: spread evenly).
        requests: expected requests of the run; ``peak_per_day``: a day in the busiest month.
        days: days of demand; ``agent_hours``: agent hours the desk is open a day.

    A desk that keeps up at the busiest month's rate holds nothing more. One that does not
    holds every impatient request until its buyer gives up and the next sweep books it
    (``patience_days + SWEEP_DAYS`` of arrivals). When its hours cannot cover even the patient
    requests, those queue: agents of so slow a desk reach only patient requests (an impatient
    one at the head of the queue has given up), ``agent_hours / patient_hours`` a day, and the
    queue grows on days with more patient arrivals and shrinks on days with fewer (Lindley's
    recursion, day by day), to ``Q`` at its longest. A slot is freed with its whole block of
    ``slots.BLOCK`` consecutive requests, and patient requests are spread among the others, so
    the slots of every request that arrived over that queue's span, and over the span of the
    patient requests served in the last epoch and not yet settled, stay taken:
    ``(Q + SWEEP_DAYS * agent_hours / patient_hours) / patient``.
    """
    if days <= 0 or requests <= 0:
        return 0.0
    load = peak_per_day * (mix.patient * mix.patient_hours + mix.impatient * mix.impatient_hours)
    if load <= agent_hours:
        return 0.0
    slots = peak_per_day * (mix.patience_days + SWEEP_DAYS) if mix.impatient > 0 else 0.0
    if mix.patient > 0 and mix.patient_hours > 0:
        served = agent_hours / mix.patient_hours
        if daily is None:
            queue = (mix.patient * requests / days - served) * days
        else:
            # Q_d = max(0, Q_{d-1} + arrivals_d - served) is S_d - min(0, S_1..S_d) for the
            # running sum S of arrivals minus service.
            net = np.cumsum(mix.patient * daily - served)
            queue = float(np.max(net - np.minimum.accumulate(np.minimum(net, 0.0))))
        # Served requests keep their slots until the run settles them, up to an epoch later:
        # the span of pinned blocks reaches back over the patient requests served meanwhile.
        slots = max(slots, (queue + served * SWEEP_DAYS) / mix.patient)
    return slots


def estimate_run(scenario: Scenario, trace: bool = False) -> RunEstimate:
    """Estimated size of one replication of ``scenario`` (any policy).

    Args:
        scenario: the scenario.
        trace: the run keeps its per-request trace (memory then grows with every request).

    Returns:
        A :class:`RunEstimate`; memory in bytes, time in seconds on one core.
    """
    sc = scenario
    shares = np.array([c.share for c in sc.catalog.values()], dtype=float)
    rates = np.array([c.return_rate for c in sc.catalog.values()], dtype=float)
    return_rate = float(shares @ rates / shares.sum()) if shares.sum() > 0 else 0.0
    by_day = _season_by_day(sc)
    season_days = _seasonal_days(sc, by_day)
    orders = sc.demand.orders_per_day * season_days
    requests = orders * return_rate
    if sc.retention.feedback_into_demand:
        # Each returner buys again at (at most) the multiplier's ceiling times their own rate,
        # for the part of the follow-up window inside the horizon: with returns spread over
        # the horizon H and a window W, that part is W - W^2 / 2H on average (H / 2 if W > H).
        m = sc.retention.repeat_multiplier
        per_day = sc.buyer.purchases_per_year.mean / 365.25 * m.maximum
        h, w = float(sc.horizon_days), float(sc.retention.follow_up_days)
        window = w - w * w / (2 * h) if w <= h else h / 2
        extra = requests * per_day * window
        orders += extra
        requests += extra * return_rate
    agents = int(sc.desk.staff)
    # The run advances through its span in epochs: the horizon, or longer when the desk's
    # backlog (every request's handling, shared by the agents in their open hours) outlasts it.
    hours = sc.desk.hours
    open_share = 1.0 if hours == "24/7" else sum(b - a for a, b in hours.intervals()) / 168.0
    backlog = requests * sc.desk.handling_minutes.mean / 1440.0 / agents / open_share
    days = float(sc.horizon_days)
    span = max(days, backlog)
    # Requests in progress at the busiest time of year: the peak month's daily rate, held for
    # IN_PROGRESS_DAYS, plus the block of requests drawn ahead of the clock.
    peak = float(np.max(sc.demand.seasonality)) if len(sc.demand.seasonality) else 1.0
    mean_season = season_days / days if days > 0 else 1.0
    per_day = requests / days * peak / max(mean_season, 1e-12) if days > 0 else 0.0
    # An overloaded desk holds more (:func:`_overload_slots`), the most under any policy.
    agent_hours = agents * 24.0 * open_share
    daily = None if by_day is None or season_days <= 0 else by_day * (requests / season_days)
    # (Planning the sample is skipped when the desk keeps up even if every request took every
    # touch: the common case costs nothing.)
    d = sc.desk
    most_hours = (d.handling_minutes.mean + d.investigation.minutes.mean + d.follow_up_minutes.mean) / 60.0
    overload = (
        max(_overload_slots(m, daily, requests, per_day, days, agent_hours) for m in _desk_mix(sc))
        if per_day * most_hours > agent_hours and days > 0 and sc.policies
        else 0.0
    )
    in_progress = min(requests, per_day * IN_PROGRESS_DAYS + CHUNK_REQUESTS + overload)
    held = requests if trace else in_progress
    memory = (
        BYTES_PER_RUN
        + BYTES_PER_REQUEST * held
        + BYTES_PER_SETTLED * requests
        + (BYTES_PER_TRACE_ROW * requests if trace else 0.0)
        + BYTES_PER_AGENT * agents
        + BYTES_PER_AGENT_EVENT * min(agents, requests)
        + BYTES_PER_DAY * days
    )
    seconds = SECONDS_PER_REQUEST * requests + SECONDS_PER_AGENT * agents + SECONDS_PER_DAY * span
    drivers = [
        f"horizon_days = {sc.horizon_days:g}",
        f"demand.orders_per_day = {sc.demand.orders_per_day:g}",
        f"return rate {return_rate:.3g}",
    ]
    if sc.retention.feedback_into_demand:
        drivers.append(f"buyer.purchases_per_year mean {sc.buyer.purchases_per_year.mean:g}")
    if agents >= 1000:
        drivers.append(f"desk.staff = {agents}")
    if backlog > days:
        drivers.append(f"desk.handling_minutes mean {sc.desk.handling_minutes.mean:g}")
    return RunEstimate(orders, requests, agents, days, memory, seconds, drivers, held)


def available_memory() -> float | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``, capped by a
    cgroup limit if one is set), or ``None`` where it cannot be read."""
    best: float | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    best = float(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = float(f.read().strip())
        if limit != "max":
            free = float(limit) - used
            best = free if best is None else min(best, free)
    except (OSError, ValueError):
        pass
    if best is None and hasattr(os, "sysconf"):
        try:
            best = float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            best = None
    return best


def check_run(scenario: Scenario, allow_large: bool = False, trace: bool = False) -> RunEstimate:
    """Estimate one replication and refuse it if it would not fit in memory.

    Args:
        scenario: the scenario to run.
        allow_large: run anyway (the estimate is still returned).
        trace: the run keeps its per-request trace.

    Raises:
        RunTooLarge: the estimated peak memory exceeds the memory available.
    """
    est = estimate_run(scenario, trace)
    if allow_large:
        return est
    free = available_memory()
    if free is not None and est.memory_bytes > free:
        raise RunTooLarge(
            f"one replication would need {est.describe()}, but {human_bytes(free)} of memory is "
            f"available ({'; '.join(est.drivers)}). Shorten horizon_days or lower the demand; "
            "to run it anyway pass allow_large=True (returnsim: --allow-large)"
        )
    return est
