"""Amazon's account-health targets as a constraint on the recommendation (issue 18, item 6).

A policy that breaks a target can get a seller's account restricted [A5, A6], whatever it saves,
so it is not recommended while another policy meets every target. :func:`feasible` is that rule,
a pure function of replications: it says which policies are admissible and why the others are
not. When none is, the recommendation still names the best policy, and says so; the cause and the
smallest desk change that would meet the targets are :func:`returnsim.decide.desk_fix`'s.

How a target is judged (``rule``):

* ``"mean"``: the policy's mean rate over the replications is below the target, the rule of the
  warnings the answer prints (:func:`returnsim.amazon.target_breaches`);
* ``"confident"``: the upper end of its ``confidence`` interval is below the target, so the
  replications show it is met (what a desk fix must reach);
* ``windows=True`` also requires the mean of the worst rolling 60-day window below the target.
  Amazon judges a seller on rolling windows, but with a small seller's few requests the worst of
  a year's ~300 overlapping windows is above the rate the desk really runs at, so by default a
  worst-window breach is a warning (printed), not a reason to exclude a policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..amazon import ODR_TARGET, RDR_TARGET

__all__ = ["TARGETS", "Judgement", "Feasibility", "feasible", "judge_policy"]

TARGETS: dict[str, tuple[float, str]] = {
    "rdr": (RDR_TARGET, "return dissatisfaction rate"),
    "odr": (ODR_TARGET, "order defect rate"),
}
"""KPI -> (Amazon's target, its name): the rate must stay below the target [A5, A6]."""

Rule = Literal["mean", "confident"]


@dataclass(frozen=True)
class Judgement:
    """One policy against Amazon's targets."""

    policy: str
    values: dict[str, tuple[float, float, float]]
    """KPI -> (mean, low, high) of its ``confidence`` interval over the replications (shares of
    requests or orders); worst windows under ``<kpi>_window_max``."""
    breaches: tuple[str, ...]
    """KPIs (of :data:`TARGETS`, or ``<kpi>_window_max``) judged at or above their target."""

    @property
    def admissible(self) -> bool:
        """True when the policy meets every target judged."""
        return not self.breaches

    def describe(self) -> str:
        """``"return dissatisfaction rate 13.1 % (12.6-13.6 %) against a target below 10 %"`` per
        breach."""
        parts = []
        for key in self.breaches:
            base = key.removesuffix("_window_max")
            target, name = TARGETS[base]
            mean, lo, hi = self.values[key]
            what = name if key == base else f"{name} in its worst 60-day window"
            parts.append(f"{what} {pct(mean)} ({pct(lo, False)}-{pct(hi)}) against a target below {target * 100:g} %")
        return "; ".join(parts)


def pct(x: float, unit: bool = True) -> str:
    """A share as a percentage with one decimal (``0.131`` -> ``13.1 %``)."""
    if x != x:
        return "-"
    return f"{x * 100:.1f}" + (" %" if unit else "")


def judge_policy(
    policy: str, runs: Any, rule: Rule = "mean", windows: bool = False, confidence: float = 0.95
) -> Judgement:
    """Judge one policy's replications (rows of ``runs`` with ``policy``) against the targets.

    Args:
        policy: the policy's name (a value of ``runs["policy"]``).
        runs: a tidy frame: ``policy`` and one column per KPI (``rdr``, ``odr``, ...).
        rule: ``"mean"`` or ``"confident"`` (see the module's docstring).
        windows: also judge the mean worst 60-day window (``rdr_window_max``, ...).
        confidence: of the intervals (and of the ``"confident"`` rule).

    Returns:
        A :class:`Judgement`; a KPI missing from ``runs`` or undefined (NaN) is not judged.
    """
    from ..experiment.statistics import mean_ci

    if rule not in ("mean", "confident"):
        raise ValueError(f"rule: expected 'mean' or 'confident', got {rule!r}")
    part = runs[runs["policy"] == policy]
    values: dict[str, tuple[float, float, float]] = {}
    breaches: list[str] = []
    for base, (target, _) in TARGETS.items():
        for key in (base, f"{base}_window_max"):
            if key not in part.columns:
                continue
            mean, _, n, lo, hi = mean_ci(part[key].to_numpy(dtype=float), confidence)
            values[key] = (mean, lo, hi)
            if key != base and not windows:
                continue
            # The confident rule judges the upper end of the interval; with one replication
            # there is none, and nothing is shown with confidence.
            judged = mean if rule == "mean" else (hi if n >= 2 else float("inf"))
            if mean == mean and judged >= target:
                breaches.append(key)
    return Judgement(policy, values, tuple(breaches))


@dataclass
class Feasibility:
    """Which policies a seller may be recommended under Amazon's targets, and why not the others."""

    judged: dict[str, Judgement]
    """Per policy, in the order of the runs."""
    rule: Rule = "mean"
    windows: bool = False
    fix: Any = None
    """A :class:`returnsim.decide.deskfix.DeskFix` attached by whoever ran the search (the
    answer's text then names the cause and the fix)."""

    @property
    def admissible(self) -> list[str]:
        """Policies that meet every target."""
        return [p for p, j in self.judged.items() if j.admissible]

    @property
    def none_admissible(self) -> bool:
        """True when every policy breaks a target (and none is excluded for it)."""
        return bool(self.judged) and not self.admissible

    @property
    def excluded(self) -> list[str]:
        """Policies not recommended: they break a target while another policy meets every one."""
        if self.none_admissible:
            return []
        return [p for p, j in self.judged.items() if not j.admissible]

    def contest(self, runs: Any, selection: Any = None) -> tuple[Any, Any]:
        """``runs`` without the excluded policies, and ``selection`` unless it selected one of
        them (a selection among all policies does not say which admissible one is best)."""
        if not self.excluded:
            return runs, selection
        kept = runs[~runs["policy"].isin(self.excluded)]
        if selection is not None and getattr(selection, "selected", None) in self.excluded:
            selection = None
        return kept, selection

    def text(self, best: str | None = None) -> str:
        """A plain-words sentence: which policies are set aside and why, or that none meets the
        targets (with the cause and the fix when :attr:`fix` is set); empty when all meet them."""
        if self.excluded:
            listed = "; ".join(f"{p}, with {self.judged[p].describe()}" for p in self.excluded)
            return (
                f"Not recommended while a policy meets every Amazon account-health target: {listed}."
            )
        if not self.none_admissible:
            return ""
        names = sorted({TARGETS[k.removesuffix('_window_max')][1] for j in self.judged.values() for k in j.breaches})
        which = " and ".join(names)
        lead = f"No policy meets Amazon's {which} target"
        if best is not None and best in self.judged:
            lead += f"; {best}: {self.judged[best].describe()}"
        if self.fix is not None:
            return f"{lead}; {self.fix.text()}."
        return f"{lead}; `returnsim desk-fix` finds the cause and the smallest desk change that meets it."


def feasible(
    runs: Any,
    policies: Sequence[str] | None = None,
    *,
    rule: Rule = "mean",
    windows: bool = False,
    confidence: float = 0.95,
) -> Feasibility:
    """Which policies meet every Amazon account-health target, judged on their replications.

    A pure function of the replications: it runs nothing.

    Args:
        runs: an ``ExperimentResult`` or its tidy ``runs`` frame (``policy`` and one column per
            KPI; ``rdr`` and ``odr`` are judged, ``rdr_window_max``/``odr_window_max`` with
            ``windows``).
        policies: the policies to judge (default: all in ``runs``, in their order).
        rule: ``"mean"`` (the mean rate is below the target, as the warnings judge) or
            ``"confident"`` (the upper end of the ``confidence`` interval is).
        windows: also require the mean worst 60-day window below the target.
        confidence: of the intervals shown and of the ``"confident"`` rule.

    Returns:
        A :class:`Feasibility`: ``.admissible``, ``.excluded`` (break a target while another
        policy meets all), ``.none_admissible``, ``.contest(runs)`` and ``.text()``.
    """
    frame = getattr(runs, "runs", runs)
    names = list(policies) if policies is not None else list(dict.fromkeys(frame["policy"].tolist()))
    return Feasibility(
        {p: judge_policy(p, frame, rule, windows, confidence) for p in names},
        rule=rule,
        windows=windows,
    )
