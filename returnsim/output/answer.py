"""The one-line answer a seller reads first: which policy, by how much, and how sure.

The best policy by a metric's mean is only an answer if the replications resolve it. Two rules
decide, and the answer says which one it used:

* **Kim & Nelson's selection procedure** (:mod:`returnsim.decide.selection`), for profit per
  order (``policy_profit_per_order``): a selection made by ``returnsim select`` / ``rs.select_best``, or the same procedure
  replayed on the experiment's replications once every policy has at least its first stage
  (20). Policies within the indifference zone of the selected one, still in contention when the
  data ran out, or statistically indistinguishable from it are *tied* with it. The report's
  "How sure is this?" shows the same selection, so the terminal and the report never disagree.
* Otherwise **paired intervals with a Bonferroni correction**: each other policy's paired
  difference from the best gets an interval at ``1 - (1 - confidence) / (k - 1)``, so "it beats
  every other policy" holds with at least the stated joint confidence; a policy whose interval
  includes zero is tied with the best.

Account-health warnings come from :func:`returnsim.amazon.target_breaches`, the rule the model
and the report use too. A policy that breaks a target is not in the contest while another meets
every one (:func:`returnsim.decide.feasible`, issue 18); when none does, the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..amazon import HealthWarning, target_breaches
from .how_sure import METRIC, selection_of
from .labels import fmt_money
from .labels import metric as metric_info

__all__ = ["Answer", "answer", "health_warnings"]


@dataclass
class Answer:
    """Which policy is best on ``metric``, and how sure the replications make it."""

    metric: str
    best: str
    """The policy with the best mean."""
    ranked: list[str]
    """Every policy, best mean first."""
    tied: list[str]
    """Other policies whose paired difference from the best is not resolved (includes zero)."""
    means: dict[str, tuple[float, float, float]]
    """Per policy: mean and its 95 % (``confidence``) interval."""
    versus: dict[str, tuple[float, float, float]]
    """Per other policy: the paired difference best - policy, its mean and 95 %
    (``confidence``) interval. Ties are decided at the Bonferroni level instead."""
    n: int
    """Paired replications behind the intervals."""
    confidence: float
    """Joint confidence of "the best beats each policy not tied with it"."""
    baseline: str | None = None
    warnings: dict[str, list[HealthWarning]] = field(default_factory=dict)
    """Account-health warnings per policy (means judged by ``amazon.target_breaches``)."""
    higher_is_better: bool = True
    selection: Any = None
    """The Kim & Nelson selection behind ``best`` and ``tied`` (``None``: paired intervals)."""
    health: Any = None
    """Amazon's targets as a constraint (a :class:`returnsim.decide.Feasibility`): policies
    excluded from the contest, or none meeting them (with a desk fix when one is attached)."""

    @property
    def resolved(self) -> bool:
        """True when the replications separate the best from every other policy."""
        return self.n >= 2 and not self.tied and len(self.ranked) > 1

    def text(self, currency: str = "$") -> str:
        """The answer in one line (plain text)."""
        m = metric_info(self.metric)
        words = m.label

        def value(x: float) -> str:
            if m.unit == "money":
                return fmt_money(x, currency, min(m.decimals, 2))
            if m.unit == "share":
                return f"{x * 100:.{m.decimals}f} %"
            return f"{x:,.{m.decimals}f}"

        def diff(x: float) -> str:
            return self.difference(x, currency)

        def span(lo: float, hi: float, f: Any = value) -> str:
            return f"{f(lo)} to {f(hi)}"

        b = self.best
        mean, lo, hi = self.means[b]
        constraint = self.health.text(b) if self.health is not None else ""
        if len(self.ranked) == 1:
            return f"Answer: only one policy {'meets every Amazon target' if self.health and self.health.excluded else 'was run'} ({b}): {words} {value(mean)} (95 % CI {span(lo, hi)}).{' ' + constraint if constraint else ''}"
        if self.n < 2:
            return (
                f"Answer: one replication cannot say which policy is best; run at least 2 "
                f"(highest {words} so far: {b}, {value(mean)}, with no interval yet)."
            )
        other = self.baseline if self.baseline not in (None, b) and self.baseline in self.versus else self.ranked[1]
        role = "" if other == self.baseline else " (the runner-up)"
        d, dlo, dhi = self.versus[other]
        gap = f"{diff(d)} vs {other}{role} (paired 95 % CI {span(dlo, dhi, diff)})"
        note = ""
        if self.warnings.get(b):
            note = f" Note: {b} breaks an account-health target (below)."
        if constraint:
            note += f" {constraint}"
        if self.resolved:
            lead = f"keep {b}" if b == self.baseline else b
            return f"Answer: {lead}: best {words}, {value(mean)} (95 % CI {span(lo, hi)}), {gap}; {self.support(currency)}.{note}"
        names = [b, *self.tied]
        listed = ", ".join(f"{p} ({value(self.means[p][0])})" for p in names[:-1]) + f" and {names[-1]} ({value(self.means[names[-1]][0])})"
        return f"Answer: no clear winner on {words}: {listed} are tied. {self.support(currency)}. {b} has the best mean, {gap}.{note}"

    def difference(self, x: float, currency: str = "$") -> str:
        """A difference ``x`` of the metric, signed, in its unit (pp for shares)."""
        m = metric_info(self.metric)
        if m.unit == "money":
            return fmt_money(x, currency, min(m.decimals, 2), sign=True)
        if m.unit == "share":
            return f"{x * 100:+.{m.decimals}f} pp"
        return f"{x:+,.{m.decimals}f}"

    def support(self, currency: str = "$") -> str:
        """Why the replications do or do not resolve the best, in one sentence without its full
        stop ("" with one policy or one replication)."""
        if len(self.ranked) == 1 or self.n < 2:
            return ""
        sel = self.selection
        others = "the other policy" if len(self.ranked) == 2 else f"each of the {len(self.ranked) - 1} other policies"

        def diff(x: float) -> str:
            return self.difference(x, currency)

        if self.resolved:
            if sel is not None:
                return (
                    f"a selection procedure (Kim & Nelson, {sel.total_replications} replications in all) "
                    f"rules out {others}: it picks the best with at least {sel.confidence:.0%} "
                    f"probability when the best leads by {diff(sel.indifference).lstrip('+')} or more"
                )
            return f"it beats {others} ({self.confidence * 100:g} % joint confidence, {self.n} paired replications)"
        if sel is not None:
            delta = diff(sel.indifference).lstrip("+")
            if sel.stopped == "budget":
                return (
                    f"They are within {delta} of each other, or Kim & Nelson's procedure cannot separate them "
                    f"in {sel.total_replications} replications; `returnsim select` replicates until it can"
                )
            return f"They are within {delta} of each other or statistically indistinguishable, by Kim & Nelson's procedure"
        return f"The replications do not separate them at {self.confidence * 100:g} % joint confidence; more replications may"


def health_warnings(means: dict[str, dict[str, float]]) -> dict[str, list[HealthWarning]]:
    """``{policy: [warning, ...]}`` for every policy whose mean KPIs break an Amazon target."""
    return {p: w for p, kpis in means.items() if (w := target_breaches(p, kpis))}


def answer(
    result: Any,
    metric: str = METRIC,
    baseline: str | None = None,
    confidence: float = 0.95,
    selection: Any = None,
) -> Answer:
    """The best policy on ``metric`` and whether the replications resolve it.

    Args:
        result: an ``ExperimentResult`` or its tidy ``runs`` frame (``policy, replication``
            and one column per metric).
        metric: what "best" means (higher is better unless the metric is a cost or a defect
            rate, as :mod:`returnsim.output.labels` says).
        baseline: the seller's current policy: the gap is reported against it (else against
            the runner-up).
        confidence: joint confidence of the claim that the best beats each untied policy.
        selection: a Kim & Nelson selection on ``metric`` to decide the best and its ties (a
            ``Selection`` of :mod:`returnsim.decide`); by default, for ``policy_profit_per_order``, the
            procedure is replayed on the replications when there are enough of them.

    Returns:
        An :class:`Answer`; ``answer(...).text(currency)`` is the one-line verdict.
    """
    from ..decide.health import feasible
    from ..experiment.statistics import paired_differences, summarize

    everyone = getattr(result, "runs", result)
    health = feasible(everyone)
    health.fix = getattr(result, "desk_fix", None)  # set by `returnsim desk-fix` for its report
    runs, selection = health.contest(everyone, selection)
    policies = list(dict.fromkeys(runs["policy"].tolist()))
    higher = metric_info(metric).higher_is_better is not False
    summary = summarize(runs, [metric], confidence).set_index("policy")
    means = {p: (float(summary.loc[p, "mean"]), float(summary.loc[p, "ci_low"]), float(summary.loc[p, "ci_high"])) for p in policies}
    ranked = sorted(policies, key=lambda p: -means[p][0] if higher else means[p][0])
    best = ranked[0]
    k = len(policies)
    per_comparison = 1 - (1 - confidence) / max(k - 1, 1)
    if selection is None and metric == METRIC:
        selection = selection_of(runs)
    if selection is not None and selection.metric == metric:
        best = selection.selected
        ranked = [best, *(p for p in ranked if p != best)]
    else:
        selection = None
    versus: dict[str, tuple[float, float, float]] = {}
    tied: list[str] = []
    n = int(summary["n"].min()) if k else 0
    if k > 1:
        shown = paired_differences(everyone, best, [metric], confidence).set_index("policy")
        joint = paired_differences(runs, best, [metric], per_comparison).set_index("policy")
        n = int(shown["n"].min())
        for p in ranked[1:]:
            # the frames hold p - best; the answer speaks of best - p
            d, lo, hi = (float(shown.loc[p, c]) for c in ("mean_diff", "ci_low", "ci_high"))
            versus[p] = (-d, -hi, -lo)
            j_lo, j_hi = float(joint.loc[p, "ci_low"]), float(joint.loc[p, "ci_high"])
            beaten = (j_hi < 0) if higher else (j_lo > 0)  # NaN (one replication): not beaten
            if not beaten and selection is None:
                tied.append(p)
        if baseline is not None and baseline in shown.index and baseline not in versus and baseline != best:
            # the seller's current policy, set aside for Amazon's targets, is still what the
            # best is measured against
            d, lo, hi = (float(shown.loc[baseline, c]) for c in ("mean_diff", "ci_low", "ci_high"))
            versus[baseline] = (-d, -hi, -lo)
    if selection is not None:
        tied = [p for p in selection.contenders if p != best]
    kpi_cols = [c for c in runs.columns if c not in ("policy", "replication", "seed")]
    means_all = everyone.groupby("policy", sort=False)[kpi_cols].mean(numeric_only=True)
    warnings = health_warnings({p: means_all.loc[p].to_dict() for p in means_all.index})
    return Answer(
        metric=metric,
        best=best,
        ranked=ranked,
        tied=tied,
        means=means,
        versus=versus,
        n=n,
        confidence=confidence,
        baseline=baseline,
        warnings=warnings,
        higher_is_better=higher,
        selection=selection,
        health=health,
    )
