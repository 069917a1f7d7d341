"""Why a policy breaks Amazon's targets: which defects make its rates, and when late answers
are late (issue 18, item 6).

Amazon's return dissatisfaction rate counts requests with a late response (no answer within
48 h [A1]), negative return feedback or an invalid rejection; the order defect rate counts
A-to-z claims not denied, negative seller feedback and chargebacks [A5, A6]
(``docs/model.md``). :func:`diagnose` reads those shares from a run's KPIs and splits the late
answers by where their wait went, from the per-request trace:

* **across closed days**: the wait spans a whole calendar day the desk is closed (a weekend, a
  weekday without hours, a holiday): hours or days of cover would answer them;
* **while the desk was open**: every other late answer waited through working days, nights
  between them included: the desk's open hours could not clear its queue in time, so more
  staff or longer days would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.calendar import Calendar
from ..model.desk import OpenHours
from ..scenario import Scenario
from ..scenario.desk import WEEKDAYS
from .health import pct

__all__ = ["Diagnosis", "diagnose", "split_late"]

HOURS_PER_DAY = 24.0


@dataclass(frozen=True)
class Diagnosis:
    """Shares of a policy's return requests behind its account-health defects (means over
    replications), and the late ones split by where their wait went (from traces)."""

    late: float
    """Requests not authorised or closed within the late threshold (48 h)."""
    negative_feedback: float
    invalid_rejections: float
    az_claims: float
    late_closed_days: float
    """Requests late across a whole day the desk is closed (share of all requests)."""
    late_open: float
    """Requests late though their wait ran through working days (share of all requests)."""
    closed_days: tuple[str, ...]
    """Weekdays the desk never opens (``("sat", "sun")``); empty for a desk open every day."""
    late_after_hours: float = 48.0

    @property
    def main(self) -> str:
        """The largest source of return-dissatisfaction defects: ``late``, ``negative_feedback``
        or ``invalid_rejections``."""
        parts = {"late": self.late, "negative_feedback": self.negative_feedback, "invalid_rejections": self.invalid_rejections}
        return max(parts, key=lambda k: -1.0 if parts[k] != parts[k] else parts[k])

    def text(self) -> str:
        """``"the cause: answers after 48 h on 9.4 % of requests, 8.9 % across the days the desk
        is closed, Sat and Sun; negative return feedback on 4.8 % of requests"``: the sources of return
        dissatisfaction defects, largest first (a late answer also makes negative feedback
        likelier, so the two overlap)."""
        h = f"{self.late_after_hours:g} h"
        where = []
        if round(self.late_closed_days * 1000) > 0:
            days = " and ".join(d.capitalize() for d in self.closed_days)
            where.append(f"{pct(self.late_closed_days)} across the days the desk is closed" + (f", {days}" if days else ""))
        if round(self.late_open * 1000) > 0:
            where.append(f"{pct(self.late_open)} queued through working days")
        parts = {
            "late": (self.late, f"answers after {h} on {pct(self.late)} of requests" + (f", {'; '.join(where)}" if where else "")),
            "negative_feedback": (self.negative_feedback, f"negative return feedback on {pct(self.negative_feedback)} of requests"),
            "invalid_rejections": (self.invalid_rejections, f"invalid rejections of {pct(self.invalid_rejections)} of requests"),
        }
        shown = [text for key, (x, text) in sorted(parts.items(), key=lambda kv: kv[0] != self.main) if x == x and round(x * 1000) > 0]
        return "the cause: " + "; ".join(shown) if shown else "the cause: not found in late answers, feedback or rejections"


def _closed_day_flags(hours: OpenHours, first_day: int, last_day: int) -> np.ndarray:
    """Per day from ``first_day`` to ``last_day`` (inclusive): True when the desk is closed all day."""
    days = np.arange(first_day, last_day + 1)
    return np.array([hours.open_hours_between(d * HOURS_PER_DAY, (d + 1) * HOURS_PER_DAY) <= 0 for d in days], dtype=bool)


def split_late(trace: Any, hours: OpenHours | None) -> tuple[int, int, int]:
    """``(requests, late across a closed day, late otherwise)`` among the measured rows of a
    trace (``returnsim.simulate(..., trace=True).trace``). A late request whose answer time is
    unknown (its buyer escalated) is judged over its first 48 h... of wait up to its resolution.
    A 24/7 desk has no closed days."""
    rows = trace[~trace["warmup"]] if "warmup" in trace.columns else trace
    late = rows[rows["late"].astype(bool)]
    if hours is None or late.empty:
        return len(rows), 0, len(late)
    start = late["request_time"].to_numpy(dtype=float)
    end = start + late["response_hours"].to_numpy(dtype=float)
    stop = late["t_resolved"].to_numpy(dtype=float)
    end = np.where(np.isfinite(end), end, np.where(np.isfinite(stop), stop, start))
    first, last = int(math.floor(start.min() / HOURS_PER_DAY)), int(math.ceil(end.max() / HOURS_PER_DAY))
    closed = _closed_day_flags(hours, first, last)
    cum = np.concatenate([[0], np.cumsum(closed)])
    # Whole days inside [start, end]: from the first midnight after start to the last before end.
    a = np.ceil(start / HOURS_PER_DAY).astype(int) - first
    b = np.floor(end / HOURS_PER_DAY).astype(int) - first
    spans = np.where(b > a, cum[np.clip(b, 0, len(closed))] - cum[np.clip(a, 0, len(closed))], 0) > 0
    return len(rows), int(spans.sum()), int((~spans).sum())


def diagnose(
    scenario: Scenario, policy: str, runs: Any, seeds: Sequence[Any], simulate_fn: Any = None
) -> Diagnosis:
    """The sources of ``policy``'s account-health defects on ``scenario``.

    Args:
        scenario: the scenario (its desk's hours and holidays say which days are closed).
        policy: the policy diagnosed.
        runs: its replications (tidy frame: ``policy`` and KPI columns) for the defect shares.
        seeds: seeds of the replications to trace for the split of the late answers (a few are
            enough; each is simulated again with a trace).
        simulate_fn: :func:`returnsim.simulate` or a stand-in (tests).

    Returns:
        A :class:`Diagnosis`.
    """
    from ..model import simulate

    sim = simulate_fn or simulate
    part = runs[runs["policy"] == policy]

    def mean(col: str) -> float:
        return float(part[col].mean()) if col in part.columns else float("nan")

    desk = scenario.desk
    hours = None if desk.hours == "24/7" else OpenHours(
        desk.hours.intervals(), Calendar(scenario.start_date, desk.holidays).holiday_index
    )
    n = closed = open_ = 0
    for s in seeds:
        t = sim(scenario, policy, seed=s, trace=True).trace
        a, b, c = split_late(t, hours)
        n, closed, open_ = n + a, closed + b, open_ + c
    late = mean("late_response_rate")
    # The traces give the split; the replications' mean gives the level.
    share_closed = closed / (closed + open_) if closed + open_ else 0.0
    closed_days = () if desk.hours == "24/7" else tuple(d for d in WEEKDAYS if getattr(desk.hours, d) is None)
    return Diagnosis(
        late=late,
        negative_feedback=mean("negative_feedback_rate"),
        invalid_rejections=mean("invalid_rejection_rate"),
        az_claims=mean("az_claim_rate"),
        late_closed_days=late * share_closed,
        late_open=late * (1 - share_closed),
        closed_days=closed_days,
        late_after_hours=desk.late_after_hours,
    )
