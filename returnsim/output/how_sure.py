"""The report's verdict and its "How sure is this?" section.

The verdict (:func:`returnsim.output.answer.answer`) never names a winner the replications do
not resolve. For profit per order (``policy_profit_per_order``) it rests on Kim & Nelson's selection procedure
(:mod:`returnsim.decide.selection`): either a selection made with ``returnsim select`` (which
replicates until the contenders are separated), or the same procedure replayed on the
experiment's replications, which may run out of data first. :func:`selection_of` picks which, for
the answer and this section alike.

"How sure is this?" adds, when an :class:`~returnsim.decide.Assessment` is given, the probability
each policy is best over the scenario's declared uncertain inputs, the inputs that would change
the answer with their break-even values, and a tornado chart.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .labels import fmt_money, metric

if TYPE_CHECKING:  # pragma: no cover

    from ..decide import Assessment, Selection

__all__ = ["DEFAULT_INDIFFERENCE", "FIRST_STAGE", "selection_of", "how_sure_section"]

DEFAULT_INDIFFERENCE = 0.05
"""Indifference zone of the report's verdict on profit per order when none is given: five
cents an order (assumed: about 1 % of a typical return's net cost, below which a seller would
not switch policies)."""

METRIC = "policy_profit_per_order"

FIRST_STAGE = 20
"""Replications per policy before KN's first elimination (its first stage): fewer, and the
verdict falls back to paired intervals."""

MIN_DRAWS_FOR_EVPPI = 8
"""The report shows values of information per input only with at least this many draws per
uncertain input: with fewer, chance correlations between inputs in the sample dominate."""


def selection_of(result: Any, decision: Any = None) -> Selection | None:
    """The selection behind the verdict: the decision's, else KN replayed on the replications
    of ``result`` (an experiment result or its runs table; ``None`` while a policy has fewer
    than :data:`FIRST_STAGE`)."""
    if decision is not None:
        return getattr(decision, "selection", decision)
    from ..decide import replay

    runs = getattr(result, "runs", result)
    policies = list(dict.fromkeys(runs["policy"].tolist()))
    if len(policies) < 2 or runs.groupby("policy").size().min() < FIRST_STAGE:
        return None
    return replay(runs, METRIC, DEFAULT_INDIFFERENCE, policies=policies, first_stage=FIRST_STAGE)


def _selection_rows(sel: Selection, currency: str, runs: Any = None, baseline: str | None = None) -> list[dict[str, str]]:
    """One row per policy of the selection. With ``runs`` and ``baseline``, the mean shown is
    each policy's change against the baseline over every replication of ``runs`` (the numbers
    the verdict quotes), not the selection's own mean over the replications it kept."""
    change: dict[str, float] = {}
    counts: Any = None
    if runs is not None and baseline is not None and sel.metric in runs.columns:
        means = runs.groupby("policy")[sel.metric].mean()
        if baseline in means.index:
            change = {str(p): float(m - means[baseline]) for p, m in means.items()}
            counts = runs.groupby("policy")[sel.metric].count()
    status = {
        "selected": "selected",
        "eliminated": "ruled out",
        "within δ": f"tie: within {fmt_money(sel.indifference, currency)}",
        "not resolved": "not separated yet",
        "identical": "identical results",
    }
    rows = []
    for _, r in sel.table.sort_values("mean", ascending=sel.goal == "min", kind="stable").iterrows():
        gap = "" if r.status == "selected" else (
            f"{fmt_money(r.advantage, currency)} ({fmt_money(r.ci_low, currency)} to {fmt_money(r.ci_high, currency)})"
        )
        at = "" if r.status == "selected" or not math.isfinite(r.eliminated_at) else f" after {int(r.eliminated_at)}"
        rows.append(
            {
                "policy": str(r.policy),
                "mean": fmt_money(change[str(r.policy)], currency, 2, sign=True) if change else fmt_money(r["mean"], currency),
                "n": str(int(counts[str(r.policy)])) if change else str(int(r.n)),
                "status": status.get(str(r.status), str(r.status)) + at,
                "gap": gap,
            }
        )
    return rows


def how_sure_section(
    sel: Selection | None,
    decision: Assessment | Selection | None,
    currency: str,
    command: str = "",
    names: dict[str, str] | None = None,
    runs: Any = None,
    baseline: str | None = None,
) -> dict[str, Any] | None:
    """Everything the "How sure is this?" partial shows (``None``: nothing to show); ``sel`` is
    :func:`selection_of` the result and ``decision``, which the verdict uses too; ``names``
    calls the policies in the tornado chart (``{id: label}``; default: their ids); with ``runs``
    and ``baseline``, means are changes against the baseline over those runs."""
    if sel is None:
        return None
    out: dict[str, Any] = {
        "selection": _selection_rows(sel, currency, runs, baseline),
        "mean_header": f"profit per order against {(names or {}).get(baseline, baseline)}" if runs is not None and baseline else "mean",
        # The guarantee names the metric by its id (a `select --metric` value); a reader gets its label.
        "guarantee": sel.guarantee.replace(f"mean {sel.metric} ", f"mean {metric(sel.metric).label} "),
        "indifference": fmt_money(sel.indifference, currency),
        "replications": sel.total_replications,
        "replayed": decision is None,
        "psa": None,
        "evpi": None,
        "breakevens": [],
        "tornado": None,
        "notes": list(getattr(decision, "notes", []) or []),
        "command": command,
    }
    psa = getattr(decision, "psa", None)
    if psa is not None:
        s = psa.summary()
        never = s[s.p_best == 0]["policy"].tolist()
        s = s[s.p_best > 0].sort_values("p_best", ascending=False)
        out["psa"] = {
            "draws": psa.draws,
            "inputs": len(psa.specs),
            "never": never,
            "rows": [
                {
                    "policy": str(r.policy),
                    "p_best": f"{r.p_best:.0%}",
                    "ci": f"{r.p_best_low:.0%} to {r.p_best_high:.0%}",
                    "loss": fmt_money(r.expected_loss, currency),
                }
                for _, r in s.iterrows()
            ],
        }
        lo, hi = psa.evpi_ci()
        out["evpi"] = f"{fmt_money(psa.evpi, currency)} per order (95 % CI {fmt_money(lo, currency)} to {fmt_money(hi, currency)})"
        out["evppi"] = []
        if psa.draws >= MIN_DRAWS_FOR_EVPPI * len(psa.specs):
            voi = psa.evppi(by_group=False)
            voi = voi[voi.evppi > 0].head(3)
            out["evppi"] = [f"{r['name']} ({fmt_money(r.evppi, currency)} per order)" for _, r in voi.iterrows()]
        else:
            out["notes"].append(
                f"{psa.draws} draws are too few to say which of {len(psa.specs)} inputs is worth "
                f"measuring first; `returnsim psa SCENARIO --draws {MIN_DRAWS_FOR_EVPPI * len(psa.specs)}` "
                "estimates the value of information of each."
            )
    tor = getattr(decision, "tornado", None)
    if tor is not None:
        from ..pages import svg
        from . import plots

        called = {p: (names or {}).get(p, p) for p in tor.policies}
        with plots.screen():
            title = f"What moves {called[tor.policies[0]]} minus {called[tor.policies[1]]}"
            out["tornado"] = svg(plots.tornado_chart(tor, called, title=title, currency=currency))
        out["rival"] = tor.policies[1]
        out["flipping"] = tor.flipping()
    out["breakevens"] = [b.describe() for b in getattr(decision, "breakevens", [])]
    return out
