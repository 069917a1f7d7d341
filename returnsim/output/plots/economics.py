"""Figures of return-handling economics for teaching: give away or take back, what time does to
the value of returned goods, who pays the label, and the study behind retention.

Every function takes data (a scenario, or tables the notebooks compute), draws on ``ax`` if one
is given (else on a new figure), and returns the Axes. Money is in the scenario's currency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...text import for_matplotlib
from ._style import _axes, _policy_colors

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = [
    "giveaway_breakeven",
    "breakeven_vs_weeks",
    "study_ratios",
    "freight_vs_margin",
    "break_even_curves",
]


def _recovery_share(scenario: Any, item_class: str, condition: str, weeks: float) -> float:
    """Share of the price a unit taken back is worth to the seller after ``weeks``
    (:func:`returnsim.analytic.restock_credit_share`)."""
    from ...analytic import restock_credit_share

    return restock_credit_share(scenario, item_class, condition, weeks)


def giveaway_breakeven(
    scenario: Any,
    item_class: str,
    condition: str = "opened",
    market: str = "domestic",
    payer: str = "seller",
    weeks_to_resale: float = 0.0,
    ax: Axes | None = None,
    *,
    max_price: float | None = None,
) -> Axes:
    """Give it away or take it back? Both refund the price; what differs is drawn against price.

    Taking a return back costs the same whatever the price (label and inspection: the flat line)
    and gets back a unit worth a share of the price to the seller (the rising line). Where they cross is the break-even
    price of :func:`returnsim.analytic.giveaway_breakeven`: below it, a returnless refund is
    cheaper.

    Args:
        scenario: a validated scenario.
        item_class, condition, market, payer, weeks_to_resale: as for
            :func:`returnsim.analytic.giveaway_breakeven`.
        ax: Axes to draw on; a new figure if None.
        max_price: right end of the price axis (default: three times the break-even).

    Returns:
        The Axes; the break-even is marked by a vertical line with ``gid="breakeven"``.
    """
    from ...analytic import giveaway_breakeven as breakeven

    p_star = breakeven(scenario, item_class, condition, market, payer, weeks_to_resale)  # type: ignore[arg-type]
    share = _recovery_share(scenario, item_class, condition, weeks_to_resale)
    cost = p_star * share  # the flat cost equals the value recovered at the break-even
    top = max_price or 3 * p_star
    price = np.linspace(0, top, 200)
    cur = getattr(scenario, "currency", "$")
    ax = _axes(ax, (7, 4.2))
    ax.plot(price, np.full_like(price, cost), color="#b2182b", lw=2,
            label=for_matplotlib(f"cost of taking it back ({cur}{cost:.2f}: label, inspection)"))
    ax.plot(price, price * share, color="#2166ac", lw=2,
            label=for_matplotlib(f"what the unit is worth to you ({share:.0%} of the price)"))
    ax.fill_between(price, price * share, cost, where=price < p_star, color="#fdb863", alpha=0.35,
                    label="give it away: cheaper")
    ax.axvline(p_star, color="black", ls="--", lw=1, gid="breakeven")
    ax.text(p_star, 0.45, for_matplotlib(f" break-even {cur}{p_star:.2f}"), va="center", fontsize=9,
            transform=ax.get_xaxis_transform())
    ax.set_xlim(0, top)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(for_matplotlib(f"item price ({cur})"))
    ax.set_ylabel(for_matplotlib(f"{cur} per return"))
    ax.set_title(for_matplotlib(f"{item_class}, {condition}, {market}, label paid by {payer}: give away or take back?"), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return ax


def breakeven_vs_weeks(
    scenario: Any,
    item_classes: Sequence[str] | None = None,
    condition: str = "opened",
    market: str = "domestic",
    payer: str = "seller",
    weeks: Sequence[float] = tuple(range(0, 27)),
    ax: Axes | None = None,
) -> Axes:
    """Why processing speed matters: the give-away break-even price as returns take longer to
    resell. Goods lose value every week (``value_decay_per_week``), so the slower a return is
    back on sale, the less it recovers and the more items are worth giving away.

    Returns:
        The Axes; one line per item class (``gid="breakeven:<class>"``; NaN where nothing is
        recovered any more, so every item is worth giving away).
    """
    from ...analytic import giveaway_breakeven as breakeven

    names = list(item_classes or scenario.catalog)
    colors = _policy_colors(names)
    cur = getattr(scenario, "currency", "$")
    ax = _axes(ax, (7, 4.2))
    w = np.asarray(weeks, dtype=float)
    for n in names:
        values = []
        for wk in w:
            try:
                v = breakeven(scenario, n, condition, market, payer, float(wk))  # type: ignore[arg-type]
            except ValueError:  # outside the closed form's validity (fee cap, label)
                v = math.nan
            values.append(v if math.isfinite(v) else math.nan)
        decay = scenario.catalog[n].value_decay_per_week
        ax.plot(w, values, "-", color=colors[n], lw=2, gid=f"breakeven:{n}",
                label=for_matplotlib(f"{n} (loses {decay:.2%} a week)"))
    ax.set_xlabel("weeks from the sale until the returned unit is resold")
    ax.set_ylabel(for_matplotlib(f"break-even price ({cur}): give away below it"))
    ax.set_title("The slower the return, the more is worth giving away")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return ax


def study_ratios(
    ratios: Mapping[str, tuple[float, float, float]],
    published: Mapping[str, tuple[float, float]],
    ax: Axes | None = None,
    *,
    title: str = "Spending in the two years after a return",
) -> Axes:
    """Simulated post/pre spending ratio per policy (mean and 95 % CI) against published ranges.

    Args:
        ratios: ``{policy: (mean, ci_low, ci_high)}`` of ``post_return_spend_ratio``.
        published: ``{policy: (low, high)}``, the study's range for the same policy.
        ax: Axes to draw on; a new figure if None.
        title: the axes title.

    Returns:
        The Axes; ``ax.containers[0]`` holds one bar per policy.
    """
    import matplotlib.ticker as mticker

    ax = _axes(ax, (7, 4.2))
    names = list(ratios)
    x = np.arange(len(names))
    mean = np.array([ratios[p][0] for p in names])
    err = np.array([[ratios[p][0] - ratios[p][1], ratios[p][2] - ratios[p][0]] for p in names]).T
    ax.bar(x, mean, 0.45, color="#4c72b0", label="simulated mean")
    for i, p in enumerate(names):
        if p in published:
            lo, hi = published[p]
            ax.fill_between([i - 0.38, i + 0.38], lo, hi, color="#1b9e77", alpha=0.22, lw=0,
                            label="published range (Bower & Maxham 2012)" if i == 0 else None)
            ax.text(i + 0.40, hi, f"published\n{lo:.0%}-{hi:.0%}", va="bottom", ha="left", fontsize=8, color="#1b7837")
    ax.errorbar(x, mean, yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=5, label="95 % CI")
    for xi, m, top in zip(x, mean, mean + np.nan_to_num(err[1]), strict=True):
        ax.text(float(xi), top, f"{m:.0%}", ha="center", va="bottom", fontsize=9)
    ax.axhline(1.0, color="0.4", lw=0.8, ls="--")
    ax.text(-0.58, 1.0, "same as before", ha="left", va="bottom", fontsize=8, color="0.3")
    highs = [published[p][1] for p in names if p in published] or [0.0]
    ax.set_ylim(0, 1.15 * max(max(highs), float(np.nanmax(mean + np.nan_to_num(err[1])))))
    ax.set_xticks(x, [for_matplotlib(p) for p in names])
    ax.set_xlim(-0.6, len(names) - 0.1)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_ylabel("spending after / spending before\n(two years each)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return ax


def freight_vs_margin(
    per_order: pd.DataFrame,
    ax: Axes | None = None,
    *,
    freight: str = "freight_per_order",
    margin: str = "retained_margin_per_order",
    currency: str = "$",
) -> Axes:
    """Freight paid now against margin kept later, one point per policy with 95 % CIs both ways.

    Args:
        per_order: a summary frame (``policy, metric, mean, ci_low, ci_high``) holding the two
            metrics, per order.
        ax: Axes to draw on; a new figure if None.
        freight, margin: the metric names of the x and y axes.
        currency: the label of money.

    Returns:
        The Axes; one errorbar container per policy (label: the policy).
    """
    s = per_order.set_index(["policy", "metric"])
    policies = list(dict.fromkeys(per_order["policy"].tolist()))
    colors = _policy_colors(policies)
    ax = _axes(ax, (7.5, 5))
    for i, p in enumerate(policies):
        fx, my = s.loc[(p, freight)], s.loc[(p, margin)]
        ax.errorbar(fx["mean"], my["mean"],
                    xerr=[[fx["mean"] - fx["ci_low"]], [fx["ci_high"] - fx["mean"]]],
                    yerr=[[my["mean"] - my["ci_low"]], [my["ci_high"] - my["mean"]]],
                    fmt="o", ms=7, capsize=3, color=colors[p], label=for_matplotlib(p))
        ax.annotate(for_matplotlib(p), (fx["mean"], my["mean"]), textcoords="offset points",
                    xytext=(7, 6 if i % 2 == 0 else -12), fontsize=8, color=colors[p])
    ax.margins(x=0.2, y=0.1)
    ax.set_xlabel(for_matplotlib(f"net freight cost, {currency} per order (labels bought − labels buyers paid)"))
    ax.set_ylabel(for_matplotlib(f"retained margin, {currency} per order\n(returners' purchases over the next two years)"))
    ax.set_title("Freight paid now vs margin kept later (95 % CI)")
    ax.grid(alpha=0.3)
    return ax


def break_even_curves(
    curves: Mapping[str, pd.DataFrame],
    ax: Axes | None = None,
    *,
    crossings: Mapping[str, float | None] | None = None,
    assumed: float | None = None,
    currency: str = "$",
    log_x: bool = True,
) -> Axes:
    """A paired difference against a customer's pre-return spending, one curve per variant.

    Args:
        curves: ``{variant: frame}`` with columns ``spend`` (x), ``diff``, ``ci_low``,
            ``ci_high`` (the paired difference and its 95 % CI).
        ax: Axes to draw on; a new figure if None.
        crossings: ``{variant: spend where diff crosses zero}`` to mark (None: no crossing).
        assumed: the scenario's assumed spending, marked with a grey line.
        currency: the label of money.
        log_x: a logarithmic spending axis.

    Returns:
        The Axes; one line per variant (``gid="curve:<variant>"``).
    """
    import matplotlib.ticker as mticker

    ax = _axes(ax, (8, 4.8))
    colors = _policy_colors(list(curves))
    for name, t in curves.items():
        t = t.sort_values("spend")
        ax.plot(t["spend"], t["diff"], "o-", ms=4, color=colors[name], label=for_matplotlib(name), gid=f"curve:{name}")
        ax.fill_between(t["spend"], t["ci_low"], t["ci_high"], color=colors[name], alpha=0.18, lw=0)
        x = (crossings or {}).get(name)
        if x is not None and np.isfinite(x):
            ax.axvline(x, color=colors[name], lw=0.9, ls=":")
            ax.annotate(for_matplotlib(f"{currency}{x:,.1f}"), (x, 0), textcoords="offset points",
                        xytext=(4, -14 - 11 * list(curves).index(name)), fontsize=8, color=colors[name])
    ax.axhline(0, color="black", lw=0.8)
    if assumed is not None:
        ax.axvline(assumed, color="0.5", lw=1, ls="--")
        ax.text(assumed, 1.0, " scenario's assumption", transform=ax.get_xaxis_transform(),
                va="top", ha="left", fontsize=8, color="0.35")
    if log_x:
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: for_matplotlib(f"{currency}{v:g}")))
    ax.set_xlabel("a returning customer's spending with you in the two years before the return")
    ax.set_ylabel(for_matplotlib(f"paired difference, {currency} per order (95 % CI)"))
    ax.grid(alpha=0.3, which="both")
    ax.legend(title="retention effect", fontsize=8, title_fontsize=8, frameon=False, loc="upper left")
    return ax
