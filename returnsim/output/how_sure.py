"""The report's verdict and its "How sure is this?" section.

The verdict never names a winner the replications do not resolve. It rests on Kim & Nelson's
selection procedure (:mod:`returnsim.decide.selection`): either a selection made with
``returnsim select`` (which replicates until the contenders are separated), or the same
procedure replayed on the experiment's replications, which may run out of data first. Policies
within the indifference zone of the selected one, or statistically indistinguishable from it,
are named together, as ties.

"How sure is this?" adds, when an :class:`~returnsim.decide.Assessment` is given, the probability
each policy is best over the scenario's declared uncertain inputs, the inputs that would change
the answer with their break-even values, and a tornado chart.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..decide import Assessment, Selection

__all__ = ["DEFAULT_INDIFFERENCE", "selection_of", "selection_verdict", "how_sure_section"]

DEFAULT_INDIFFERENCE = 0.05
"""Indifference zone of the report's verdict on net value per order when none is given: five
cents an order (assumed: about 1 % of a typical return's net cost, below which a seller would
not switch policies)."""

METRIC = "net_value_per_order"

MIN_DRAWS_FOR_EVPPI = 8
"""The report shows values of information per input only with at least this many draws per
uncertain input: with fewer, chance correlations between inputs in the sample dominate."""


def _b(text: str) -> dict[str, Any]:
    return {"text": text, "bold": True}


def _t(text: str) -> dict[str, Any]:
    return {"text": text, "bold": False}


def selection_of(result: Any, decision: Any = None) -> Selection | None:
    """The selection behind the verdict: the decision's, else KN replayed on ``result``'s
    replications (``None`` with fewer than two replications)."""
    if decision is not None:
        return getattr(decision, "selection", decision)
    from ..decide import replay

    if result.runs.groupby("policy").size().min() < 2:
        return None
    return replay(result.runs, METRIC, DEFAULT_INDIFFERENCE, policies=list(result.policies))


def _money(currency: str, x: float) -> str:
    return f"{'-' if x < 0 else ''}{currency}{abs(x):.2f}"


def _with_ci(summary: pd.DataFrame, metric: str, policy: str, currency: str) -> str:
    row = summary[(summary.metric == metric) & (summary.policy == policy)].iloc[0]
    return f"{_money(currency, row['mean'])} (95 % CI {_money(currency, row.ci_low)} to {_money(currency, row.ci_high)})"


def _cheapest(result: Any, summary: pd.DataFrame, currency: str) -> list[dict[str, Any]]:
    """The lowest net return cost per order, with any policy the replications cannot tell from it."""
    from ..experiment.statistics import paired_differences

    metric = "net_return_cost_per_order"
    cost = summary[summary.metric == metric].set_index("policy")["mean"].sort_values()
    low = str(cost.index[0])
    diffs = paired_differences(result.runs, low, [metric])
    same = diffs[(diffs.ci_low <= 0) & (diffs.ci_high >= 0)]["policy"].tolist()
    if not same:
        return [_b(low), _t(f" has the lowest net return cost per order ({_money(currency, cost.iloc[0])}).")]
    pieces = [_t("Lowest net return cost per order: "), _b(low)]
    for p in same:
        pieces += [_t(" and "), _b(p)]
    return pieces + [_t(f" ({_money(currency, cost.iloc[0])} and up), which the replications cannot tell apart.")]


def selection_verdict(
    result: Any, summary: pd.DataFrame, compare: pd.DataFrame, baseline: str, currency: str, decision: Any = None
) -> list[list[dict[str, Any]]]:
    """Paragraphs of the verdict as pieces of text (``bold`` ones are names); the template
    escapes every piece."""
    sel = selection_of(result, decision)
    paras: list[list[dict[str, Any]]] = []
    if sel is None:
        paras.append([_t("One replication per policy cannot separate policies: run more replications.")])
        return paras
    delta = _money(currency, sel.indifference)
    n = sel.total_replications
    if sel.resolved:
        pieces = [
            _b(sel.selected),
            _t(
                f" is the best policy by net value per order: {_with_ci(summary, METRIC, sel.selected, currency)}, "
                "retained margin from returning customers less the net cost of returns. A selection "
                f"procedure (Kim & Nelson, {n} replications in all) ruled out every other policy"
            ),
        ]
        others = sel.table[sel.table.policy != sel.selected].sort_values("advantage")
        if len(others):
            r = others.iloc[0]
            pieces += [
                _t("; the closest, "),
                _b(str(r.policy)),
                _t(
                    f", trails by {_money(currency, r.advantage)} an order (95 % CI "
                    f"{_money(currency, r.ci_low)} to {_money(currency, r.ci_high)})"
                ),
            ]
        pieces.append(
            _t(
                f". The procedure picks the best with at least {sel.confidence:.0%} probability "
                f"when it leads by {delta} or more."
            )
        )
        paras.append(pieces)
    else:
        group = sel.contenders
        pieces = [_t("No single winner: ")]
        for i, p in enumerate(group):
            if i:
                pieces.append(_t(", " if i < len(group) - 1 else " and "))
            pieces.append(_b(p))
        detail = "; ".join(f"{p} {_with_ci(summary, METRIC, p, currency)}" for p in group)
        if sel.stopped == "budget":
            why = (
                f"the {n} replications do not separate them by {delta} an order; "
                "`returnsim select` replicates until they do"
            )
        else:
            why = f"they are within {delta} an order of each other or statistically indistinguishable"
        pieces.append(
            _t(
                f" lead on net value per order ({detail}): {why}. Choose among them on cost, account "
                "health, or what you believe about retention (see How sure is this?)."
            )
        )
        paras.append(pieces)
    paras.append(_cheapest(result, summary, currency))
    if sel.selected != baseline:
        row = compare[(compare.policy == sel.selected) & (compare.metric == METRIC)]
        if len(row):
            r = row.iloc[0]
            sure = "a difference the replications resolve" if (r.ci_low > 0 or r.ci_high < 0) else "not distinguishable from zero"
            paras.append(
                [
                    _t("Against "),
                    _b(baseline),
                    _t(
                        f", {sel.selected} gains {_money(currency, r.mean_diff)} per order (paired 95 % CI "
                        f"{_money(currency, r.ci_low)} to {_money(currency, r.ci_high)}; {sure})."
                    ),
                ]
            )
    return paras


def _selection_rows(sel: Selection, currency: str) -> list[dict[str, str]]:
    status = {
        "selected": "selected",
        "eliminated": "ruled out",
        "within δ": f"tie: within {_money(currency, sel.indifference)}",
        "not resolved": "not separated yet",
        "identical": "identical results",
    }
    rows = []
    for _, r in sel.table.sort_values("mean", ascending=sel.goal == "min", kind="stable").iterrows():
        gap = "" if r.status == "selected" else (
            f"{_money(currency, r.advantage)} ({_money(currency, r.ci_low)} to {_money(currency, r.ci_high)})"
        )
        at = "" if r.status == "selected" or not math.isfinite(r.eliminated_at) else f" after {int(r.eliminated_at)}"
        rows.append(
            {
                "policy": str(r.policy),
                "mean": _money(currency, r["mean"]),
                "n": str(int(r.n)),
                "status": status.get(str(r.status), str(r.status)) + at,
                "gap": gap,
            }
        )
    return rows


def how_sure_section(result: Any, decision: Assessment | Selection | None, currency: str, command: str = "") -> dict[str, Any] | None:
    """Everything the "How sure is this?" partial shows (``None``: nothing to show)."""
    sel = selection_of(result, decision)
    if sel is None:
        return None
    out: dict[str, Any] = {
        "selection": _selection_rows(sel, currency),
        "guarantee": sel.guarantee,
        "indifference": _money(currency, sel.indifference),
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
                    "loss": _money(currency, r.expected_loss),
                }
                for _, r in s.iterrows()
            ],
        }
        lo, hi = psa.evpi_ci()
        out["evpi"] = f"{_money(currency, psa.evpi)} per order (95 % CI {_money(currency, lo)} to {_money(currency, hi)})"
        out["evppi"] = []
        if psa.draws >= MIN_DRAWS_FOR_EVPPI * len(psa.specs):
            voi = psa.evppi(by_group=False)
            voi = voi[voi.evppi > 0].head(3)
            out["evppi"] = [f"{r['name']} ({_money(currency, r.evppi)} per order)" for _, r in voi.iterrows()]
        else:
            out["notes"].append(
                f"{psa.draws} draws are too few to say which of {len(psa.specs)} inputs is worth "
                f"measuring first; `returnsim psa SCENARIO --draws {MIN_DRAWS_FOR_EVPPI * len(psa.specs)}` "
                "estimates the value of information of each."
            )
    tor = getattr(decision, "tornado", None)
    if tor is not None:
        import matplotlib.pyplot as plt

        from . import plots
        from .report import _png

        fig, ax = plt.subplots(figsize=(9, 0.38 * min(12, len(tor.table)) + 1.8), layout="constrained")
        plots.tornado(tor, ax=ax, title=f"What moves {tor.policies[0]} minus {tor.policies[1]}")
        out["tornado"] = _png(fig)
        out["rival"] = tor.policies[1]
        out["flipping"] = tor.flipping()
    out["breakevens"] = [b.describe() for b in getattr(decision, "breakevens", [])]
    return out
