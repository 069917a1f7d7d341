"""Figures of decision studies (:mod:`returnsim.decide`): tornado diagrams, Sobol' indices,
value of information, probability best against willingness to pay, optimised levers and
Pareto frontiers.

Every function takes the study's result, draws on ``ax`` if one is given (else on a new
figure), and returns the Axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...text import for_matplotlib
from ._style import _axes, _kpi_label_format, _policy_colors

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["tornado", "sobol_bars", "evppi_bars", "acceptability", "optimum_curve", "pareto_front"]

_LOW, _HIGH = "#2166ac", "#b2182b"


def _label(metric: str) -> str:
    return _kpi_label_format(metric)[0]


def tornado(
    result: Any,
    ax: Axes | None = None,
    *,
    top: int = 12,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Axes:
    """Tornado diagram of a :class:`~returnsim.decide.Tornado`: for each input (largest swing
    on top), the response at the low (blue) and high (red) end of its range, drawn from the
    value at the scenario's own inputs. For a difference between two policies, the dashed
    line at zero is where their order flips. ``labels`` names the policies (``{id: label}``;
    default: the ids); text is in the current font size (``rcParams``)."""
    table = result.table.head(top).iloc[::-1]
    ax = _axes(ax, (8.5, 0.42 * len(table) + 1.6))
    base = result.base
    y = np.arange(len(table))
    ax.barh(y, table["at_low"] - base, left=base, color=_LOW, height=0.7, label="input at its low end")
    ax.barh(y, table["at_high"] - base, left=base, color=_HIGH, height=0.7, alpha=0.85, label="input at its high end")
    rows = [
        for_matplotlib(f"{lab}  ({_short(lo)} to {_short(hi)})")
        for lab, lo, hi in zip(table["label"], table["low"], table["high"], strict=True)
    ]
    ax.set_yticks(y, rows)
    ax.axvline(base, color="black", lw=1)
    names = [(labels or {}).get(p, p) for p in result.policies]
    if len(result.policies) == 2:
        ax.axvline(0.0, color="0.3", lw=1, ls="--")
        xlabel = f"{_label(result.metric)}: {names[0]} minus {names[1]}"
    else:
        xlabel = f"{_label(result.metric)} of {names[0]}"
    ax.set_xlabel(for_matplotlib(xlabel))
    ax.set_title(for_matplotlib(title or "What moves the answer (one input at a time)"))
    ax.legend(loc="lower right", frameon=False)
    return ax


def _short(x: float) -> str:
    return f"{x:.3g}"


def sobol_bars(result: Any, ax: Axes | None = None, *, top: int = 12) -> Axes:
    """First-order (S1) and total (ST) Sobol' indices of a
    :class:`~returnsim.decide.SobolIndices`, with their bootstrap intervals."""
    table = result.table.head(top).iloc[::-1]
    ax = _axes(ax, (8.5, 0.42 * len(table) + 1.6))
    y = np.arange(len(table))
    h = 0.38
    for off, key, color, name in ((-h / 2, "S1", "#92c5de", "first order (alone)"), (h / 2, "ST", "#2166ac", "total (with interactions)")):
        lo = (table[key] - table[f"{key}_low"]).clip(lower=0)
        hi = (table[f"{key}_high"] - table[key]).clip(lower=0)
        ax.barh(y + off, table[key], height=h, color=color, xerr=[lo, hi], capsize=2, label=name)
    ax.set_yticks(y, table["label"])
    ax.set_xlabel("share of the variance of " + result.title)
    ax.set_xlim(left=min(0.0, float(table[["S1_low", "ST_low"]].min().min())))
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title("Sobol' indices")
    return ax


def evppi_bars(table: pd.DataFrame, ax: Axes | None = None, *, top: int = 12, per: str = "per order") -> Axes:
    """Expected value of partial perfect information per input or group
    (:meth:`returnsim.decide.PSA.evppi`), with its interval."""
    table = table.head(top).iloc[::-1]
    ax = _axes(ax, (8.5, 0.42 * len(table) + 1.6))
    y = np.arange(len(table))
    colors = ["#5aae61" if k == "group" else "#2166ac" for k in table["kind"]]
    err = [(table["evppi"] - table["ci_low"]).clip(lower=0), (table["ci_high"] - table["evppi"]).clip(lower=0)]
    ax.barh(y, table["evppi"], color=colors, xerr=err, capsize=2)
    ax.set_yticks(y, [f"{n} (group)" if k == "group" else n for n, k in zip(table["name"], table["kind"], strict=True)])
    ax.set_xlabel(f"value of knowing it exactly ({per})")
    ax.set_title("Which assumption is worth measuring first (EVPPI)")
    return ax


def acceptability(psa: Any, ax: Axes | None = None, *, wtp: Sequence[float] | None = None) -> Axes:
    """Probability each policy is best against what a dollar of the margin the return experience
    causes is worth (:meth:`returnsim.decide.PSA.acceptability`); policies never best are left
    out."""
    curve = psa.acceptability(wtp)
    ax = _axes(ax, (8.5, 4.2))
    colors = _policy_colors(list(curve.columns))
    for p in curve.columns:
        if curve[p].max() > 0:
            ax.plot(curve.index, curve[p], marker="o", ms=3, color=colors[p], label=p)
    ax.axvline(1.0, color="0.5", lw=1, ls=":")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"worth of \$1 of caused margin to the seller (\$; 1 = profit per order)")
    ax.set_ylabel("probability best")
    ax.set_title("Which policy is best, by how much retention is worth")
    ax.legend(fontsize=8, frameon=False)
    return ax


def optimum_curve(result: Any, ax: Axes | None = None) -> Axes:
    """The curve an :class:`~returnsim.decide.Optimum` came from: the metric's mean with its
    interval at each lever value, the optimum and its confidence interval (one lever); a
    heat map with the optimum marked (two levers)."""
    curve = result.curve
    cols = [i.path for i in result.levers]
    ax = _axes(ax, (8.5, 4.2))
    if len(cols) == 1:
        c = cols[0]
        ax.fill_between(curve[c], curve["ci_low"], curve["ci_high"], color="#92c5de", alpha=0.5,
                        label="95 % CI of the mean at each value")
        ax.plot(curve[c], curve["mean"], marker="o", ms=3, color="#2166ac", label=f"{result.policy}")
        lo, hi = result.ci[c]
        ax.axvspan(lo, hi, color="#f4a582", alpha=0.4, label="optimum, 95 % CI")
        ax.axvline(result.value[c], color="#b2182b", lw=1.5)
        ax.set_xlabel(c)
    else:
        table = curve.pivot_table(index=cols[1], columns=cols[0], values="mean")
        mesh = ax.pcolormesh(table.columns, table.index, table.to_numpy(), shading="nearest", cmap="viridis")
        ax.figure.colorbar(mesh, ax=ax, label=_label(result.metric))
        ax.plot([result.value[cols[0]]], [result.value[cols[1]]], marker="*", ms=14, color="white", mec="black")
        ax.set_xlabel(cols[0])
        ax.set_ylabel(cols[1])
    if len(cols) == 1:
        ax.set_ylabel(_label(result.metric))
        ax.legend(fontsize=8, frameon=False)
    what = "maximum" if result.goal == "max" else "minimum"
    ax.set_title(f"{_label(result.metric)} of {result.policy}: the {what}")
    return ax


def pareto_front(frame: pd.DataFrame, x: str, y: str, ax: Axes | None = None, *, by: str = "policy",
                 goals: Mapping[str, str] | None = None) -> Axes:
    """A Pareto frontier (:func:`returnsim.decide.pareto`): every candidate with its intervals
    on both objectives, the frontier joined by a line, dominated candidates grey."""
    ax = _axes(ax, (7.5, 5.0))
    on = frame["pareto"].to_numpy(dtype=bool)
    for mask, color in ((~on, "0.6"), (on, "#b2182b")):
        part = frame[mask]
        ax.errorbar(
            part[x], part[y],
            xerr=[part[x] - part[f"{x}_low"], part[f"{x}_high"] - part[x]],
            yerr=[part[y] - part[f"{y}_low"], part[f"{y}_high"] - part[y]],
            fmt="o", color=color, capsize=2, ms=5,
        )
    front = frame[on].sort_values(x)
    ax.plot(front[x], front[y], color="#b2182b", lw=1)
    for _, r in frame.iterrows():
        ax.annotate(str(r[by]), (r[x], r[y]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    ax.set_title("Pareto frontier (red): no policy beats these on both")
    return ax
