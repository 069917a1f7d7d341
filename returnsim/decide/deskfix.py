"""The smallest desk change that makes a policy meet Amazon's account-health targets (issue 18,
item 6): ``rs.desk_fix(scenario, policy)``.

When no policy meets the targets, a seller needs to know what would: :func:`desk_fix` diagnoses
the cause (:mod:`.latecause`) and tries candidate desk changes in order of their added agent
hours a week (weekend cover, longer days, more staff: :func:`desk_changes`), each with the same
seeds as the desk as it is (common random numbers) and a modest number of replications, and
stops at the first whose targets are met with confidence: the upper end of the 95 % interval of
each rate below the target (:func:`returnsim.decide.health.feasible`, rule ``"confident"``).

The cost of a change is the agent hours it adds, paid whether or not there is work: added agent
hours a week x the desk's ``wage_per_hour``, per order of the scenario's own demand. The run's
return cost already holds the agent time spent on requests (the ledger's ``labor``), so the
change's effect on it (usually small: fewer escalations and claims) is shown separately, as a
paired difference with its interval.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..scenario import Scenario
from ..scenario.desk import WEEKDAYS
from ..scenario.loader import as_scenario, parse_scenario
from .errors import DecideError
from .health import Judgement, judge_policy, pct
from .latecause import Diagnosis, diagnose

__all__ = ["DeskChange", "Trial", "DeskFix", "desk_changes", "desk_fix"]

Hours = dict[str, tuple[float, float]]


@dataclass(frozen=True)
class DeskChange:
    """A desk to try: its staff and opening hours, and the agent hours a week it adds."""

    label: str
    """Plain words, e.g. ``"weekend cover Sat 10-14 (1 agent)"``."""
    staff: int
    hours: Hours | str
    """``"24/7"`` or ``{weekday: (open, close)}`` in hours after midnight."""
    agent_hours: float
    """Agent hours a week added (staff x open hours, new minus current)."""

    def apply(self, scenario: Scenario) -> Scenario:
        """``scenario`` with this desk (everything else unchanged)."""
        raw = scenario.model_dump(mode="json", by_alias=True)
        raw["desk"]["staff"] = self.staff
        raw["desk"]["hours"] = self.hours if isinstance(self.hours, str) else {d: list(h) for d, h in self.hours.items()}
        return parse_scenario(raw)


def _week(hours: Hours) -> float:
    return sum(c - o for o, c in hours.values())


def _h(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{int(x)}:{round((x - int(x)) * 60):02d}"


def desk_changes(desk: Any) -> list[DeskChange]:
    """Candidate desk changes, cheapest (fewest added agent hours a week) first.

    For a desk with opening hours: cover of each closed day and of all of them, a short shift
    (four hours from an hour after the usual opening) and a full day (the usual hours); days an
    hour or two longer (closing later, opening earlier); one or two more agents; and every day
    open with one more agent. Staff applies to every open hour (the scenario's desk has one
    staff number), so weekend cover with two agents costs twice the hours. A 24/7 desk can only
    add agents. Ties in cost keep this order.
    """
    staff = int(desk.staff)
    if desk.hours == "24/7":
        return [DeskChange(f"{staff + k} agents instead of {staff}", staff + k, "24/7", 168.0 * k) for k in (1, 2, 3)]
    now: Hours = {d: (h.open, h.close) for d in WEEKDAYS if (h := getattr(desk.hours, d)) is not None}
    base = staff * _week(now)
    usual_open, usual_close = Counter(now.values()).most_common(1)[0][0]
    closed = [d for d in WEEKDAYS if d not in now]
    agents = f"{staff} agent" + ("s" if staff > 1 else "")
    out: list[tuple[str, int, Hours]] = []
    short = (min(usual_open + 1, 20.0), min(usual_open + 5, 24.0))
    groups = [[d] for d in closed] + ([closed] if len(closed) > 1 else [])
    for shift in (short, (usual_open, usual_close)):
        for g in groups:
            days = "+".join(d.capitalize() for d in g)
            out.append((f"{'weekend' if set(g) <= {'sat', 'sun'} else 'closed-day'} cover {days} "
                        f"{_h(shift[0])}-{_h(shift[1])} ({agents})", staff, {**now, **dict.fromkeys(g, shift)}))
    for extra in (1.0, 2.0, 4.0):
        later = {d: (o, min(c + extra, 24.0)) for d, (o, c) in now.items()}
        out.append((f"open days to {_h(min(usual_close + extra, 24.0))} instead of {_h(usual_close)}", staff, later))
        earlier = {d: (max(o - extra, 0.0), c) for d, (o, c) in now.items()}
        out.append((f"open days from {_h(max(usual_open - extra, 0.0))} instead of {_h(usual_open)}", staff, earlier))
    for k in (1, 2):
        out.append((f"{staff + k} agents instead of {staff}", staff + k, now))
    if closed:
        every = {**now, **dict.fromkeys(closed, (usual_open, usual_close))}
        out.append((f"every day {_h(usual_open)}-{_h(usual_close)} with {staff + 1} agents", staff + 1, every))
    seen: set[tuple[int, tuple[tuple[str, tuple[float, float]], ...]]] = set()
    changes = []
    for label, s, hours in out:
        key = (s, tuple(sorted(hours.items())))
        if key in seen or (s == staff and hours == now):
            continue
        seen.add(key)
        ordered = {d: hours[d] for d in WEEKDAYS if d in hours}
        changes.append(DeskChange(label, s, ordered, s * _week(ordered) - base))
    return sorted(changes, key=lambda c: c.agent_hours)


@dataclass(frozen=True)
class Trial:
    """One candidate desk change, simulated."""

    change: DeskChange
    judgement: Judgement
    """Its targets, judged with confidence."""
    labour_per_order: float
    """Added agent hours' wages per order (the scenario's currency)."""
    metric_change: tuple[float, float, float] | None
    """The paired difference (change - desk as it is) of ``metric``: mean, low, high."""


@dataclass
class DeskFix:
    """The outcome of :func:`desk_fix`: the desk as it is, the cause, what was tried, the fix."""

    policy: str
    before: Judgement
    """The desk as it is, judged with confidence."""
    diagnosis: Diagnosis
    tried: list[Trial]
    """Candidates simulated, cheapest first; the last is the fix when one was found."""
    replications: int
    seed: int
    currency: str = "$"
    metric: str | None = None
    confidence: float = 0.95
    untried: list[DeskChange] = field(default_factory=list)
    """Candidates not simulated (beyond ``max_candidates``, or after the fix)."""

    @property
    def needed(self) -> bool:
        """False when the desk as it is already meets every target with confidence."""
        return not self.before.admissible

    @property
    def found(self) -> Trial | None:
        """The cheapest candidate that meets every target with confidence, if any."""
        return self.tried[-1] if self.tried and self.tried[-1].judgement.admissible else None

    def text(self) -> str:
        """The cause and the fix in one sentence (the answer and the report show it)."""
        if not self.needed:
            return f"{self.policy} meets every Amazon target with the desk as it is"
        cause = self.diagnosis.text()
        fix = self.found
        if fix is None:
            largest = f", the largest {self.tried[-1].change.label}," if self.tried else ""
            return f"{cause}; none of the {len(self.tried)} desk changes tried{largest} meets it with {self.confidence * 100:g} % confidence"
        reached = "; ".join(
            f"{_NAMES.get(k, k)} then {pct(m)} ({pct(lo, False)}-{pct(hi)})"
            for k, (m, lo, hi) in fix.judgement.values.items()
            if k in _NAMES
        )
        money = f"+{self.currency}{fix.labour_per_order:,.2f} per order in agent hours"
        return f"{cause}; the smallest fix found: {fix.change.label}, {money}; {reached}"


_NAMES = {"rdr": "return dissatisfaction rate", "odr": "order defect rate"}


def _orders_per_week(scenario: Scenario, runs: Any) -> float:
    """The scenario's own orders a week over the measured days (after the warm-up)."""
    days = scenario.horizon_days - scenario.warmup_days
    return float(runs["demand_orders"].mean()) / days * 7.0


def _paired(runs: Any, base: Any, metric: str | None) -> tuple[float, float, float] | None:
    from ..experiment.statistics import mean_ci

    if metric is None or metric not in runs.columns:
        return None
    a = runs.set_index("replication")[metric]
    b = base.set_index("replication")[metric]
    d = (a - b).dropna().to_numpy(dtype=float)
    m, _, _, lo, hi = mean_ci(d)
    return (m, lo, hi)


def desk_fix(
    scenario: Scenario | str | Any,
    policy: str,
    *,
    replications: int = 20,
    seed: int = 0,
    metric: str | None = "net_return_cost_per_order",
    windows: bool = False,
    confidence: float = 0.95,
    candidates: Sequence[DeskChange] | None = None,
    max_candidates: int = 12,
    traces: int = 3,
    executor: Any = None,
    workers: int | None = None,
    progress: bool | None = False,
) -> DeskFix:
    """Diagnose why ``policy`` breaks Amazon's targets and find the cheapest desk change that
    meets them with confidence, by simulation.

    Args:
        scenario: a :class:`Scenario` or a path to a scenario file.
        policy: the policy to fix (usually the best one on the headline metric).
        replications: per candidate; every candidate uses the same seeds (common random numbers).
        seed: base seed of the replications.
        metric: a KPI whose paired change (candidate - desk as it is) is reported with each
            candidate (e.g. the headline metric); ``None`` for none.
        windows: also require the mean worst 60-day window below each target.
        confidence: a target is met when the upper end of this interval is below it.
        candidates: desk changes to try, in order (default: :func:`desk_changes`).
        max_candidates: stop after this many candidates without a fix.
        traces: replications traced again to split the late answers (:mod:`.latecause`).
        executor, workers, progress: as :func:`returnsim.run_experiment`.

    Returns:
        A :class:`DeskFix`; ``.found`` is the fix (``None`` when no candidate tried meets the
        targets), ``.text()`` says it in words.

    Raises:
        DecideError: ``policy`` is not in the scenario, or a count is not positive.
    """
    from ..experiment import run_experiment

    sc = as_scenario(scenario)
    if policy not in sc.policies:
        raise DecideError(f"policy {policy!r} is not in the scenario; expected one of: {', '.join(sc.policies)}")
    for name, value in (("replications", replications), ("max_candidates", max_candidates)):
        if not isinstance(value, int) or isinstance(value, bool) or value < (2 if name == "replications" else 1):
            raise DecideError(f"{name}: expected a whole number of at least {2 if name == 'replications' else 1}, got {value!r}")
    where = {"executor": executor, "workers": workers, "progress": progress}

    def run(s: Scenario) -> Any:
        return run_experiment(s, [policy], replications, seed, **where).runs

    base = run(sc)
    before = judge_policy(policy, base, "confident", windows, confidence)
    seeds = [np.random.SeedSequence([seed, r]) for r in range(min(traces, replications))]
    diagnosis = diagnose(sc, policy, base, seeds)
    todo = list(candidates) if candidates is not None else desk_changes(sc.desk)
    fix = DeskFix(policy, before, diagnosis, [], replications, seed, sc.currency, metric, confidence)
    if not fix.needed:
        fix.untried = todo
        return fix
    per_week = _orders_per_week(sc, base)
    for i, change in enumerate(todo[:max_candidates]):
        runs = run(change.apply(sc))
        judged = judge_policy(policy, runs, "confident", windows, confidence)
        labour = change.agent_hours * sc.desk.wage_per_hour / per_week
        fix.tried.append(Trial(change, judged, labour, _paired(runs, base, metric)))
        if judged.admissible:
            fix.untried = todo[i + 1 :]
            break
    else:
        fix.untried = todo[max_candidates:]
    return fix
