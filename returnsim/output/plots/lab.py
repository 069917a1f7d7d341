"""The teaching lab's dashboard: one figure that answers "what did my change do?".

Four panels for a policy against a baseline run on the same random numbers: where the money goes
per order, the return dissatisfaction rate against Amazon's 10 % line, returners who buy again,
and profit per order with the paired difference. Every number carries its 95 % interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...amazon import RDR_TARGET
from ...text import for_matplotlib
from ..labels import fmt_money
from .experiments import kpi_bars
from .runs import cost_breakdown, mean_runs

__all__ = ["lab_dashboard"]


def lab_dashboard(result: Any, baseline: str, policy: str, fig: Any = None, *, currency: str = "$") -> Any:
    """Draw the lab's four panels for ``policy`` against ``baseline``.

    Args:
        result: an ``ExperimentResult`` with both policies (common random numbers).
        baseline: the reference policy.
        policy: the policy the student built.
        fig: a matplotlib Figure to draw on (cleared first); a new one if None.
        currency: the label of money.

    Returns:
        The Figure; its axes are, in order: cost breakdown, RDR, buy again, profit per order.
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(12, 7), layout="constrained")
    else:
        fig.clear()
    axes = fig.subplots(2, 2)
    names = [baseline, policy]
    ax = cost_breakdown(mean_runs(result.runs, names), ax=axes[0, 0], per="order", currency=currency)
    ax.set_title("Where the money goes, per order")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)

    summary = result.summary(["rdr", "repeat_purchase_rate", "policy_profit_per_order"])
    summary = summary[summary["policy"].isin(names)]
    ax = kpi_bars(summary, "rdr", ax=axes[0, 1], highlight=policy, currency=currency)
    ax.axvline(RDR_TARGET, color="#d62728", ls="--", lw=1.4, gid="rdr_target")
    ax.text(RDR_TARGET, 0.02, "Amazon's target: below 10 % ", color="#d62728", fontsize=8, va="bottom",
            ha="right", transform=ax.get_xaxis_transform())
    lo, hi = ax.get_xlim()
    ax.set_xlim(0, max(hi, RDR_TARGET * 1.3))
    ax = kpi_bars(summary, "repeat_purchase_rate", ax=axes[1, 0], highlight=policy, currency=currency)
    ax.set_xlim(0, 1.15)
    ax = kpi_bars(summary, "policy_profit_per_order", ax=axes[1, 1], highlight=policy, currency=currency)
    d = result.compare(baseline, ["policy_profit_per_order"]).set_index("policy")
    if policy in d.index:
        r = d.loc[policy]
        sure = "resolved" if (r["ci_low"] > 0 or r["ci_high"] < 0) else "not resolved: could be 0"
        ax.set_title(for_matplotlib(
            f"profit per order: {fmt_money(r['mean_diff'], currency, sign=True)} vs {baseline}\n"
            f"(paired 95 % CI {fmt_money(r['ci_low'], currency, sign=True)} to "
            f"{fmt_money(r['ci_high'], currency, sign=True)}; {sure})"
        ), fontsize=10)
    for a in np.ravel(axes):
        a.title.set_fontsize(10)
    return fig
