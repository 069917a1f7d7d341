"""Figures of single runs and their traces: where the money goes, how fast requests are
answered, how they end, and when late responses arise.

Every function takes data (``{policy: RunResult}`` or ``{policy: trace DataFrame}``), draws on
``ax`` if one is given (else on a new figure), and returns the Axes. None of them calls
``plt.show()``, writes a file or chooses a backend.

Units: money is in the scenario's currency (``currency`` only changes the label), times are
hours from the buyer's return request, shares are fractions of return requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...model.ledger import CATEGORIES, COSTS, CREDITS
from ...scenario import RESOLUTIONS
from ...text import for_matplotlib
from ..labels import category_label, outcome_label
from ._style import (
    _PER_LABEL,
    CATEGORY_COLORS,
    OUTCOME_COLORS,
    WEEKDAYS,
    _axes,
    _decision_hours,
    _money,
    _policy_colors,
    _trace_of,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["cost_breakdown", "mean_runs", "response_times", "outcome_mix", "late_by_weekday"]


# --------------------------------------------------------------------------------------------
# cost breakdown


def mean_runs(runs: Any, policies: Sequence[str]) -> dict[str, Any]:
    """Each policy's means over its replications (``runs``: an experiment's runs table), in the
    shape :func:`cost_breakdown` takes: objects with a ``ledger`` and ``kpis``."""
    from types import SimpleNamespace

    means = runs[runs["policy"].isin(policies)].groupby("policy", sort=False).mean(numeric_only=True)
    return {
        p: SimpleNamespace(ledger={c: float(means.loc[p, c]) for c in CATEGORIES if c in means}, kpis=means.loc[p].to_dict())
        for p in policies
    }


def cost_breakdown(
    runs: Mapping[str, Any],
    ax: Axes | None = None,
    per: str = "order",
    *,
    currency: str = "$",
    annotate: bool = True,
    hide_zero: bool = True,
    labels: Mapping[str, str] | None = None,
) -> Axes:
    """Horizontal stacked bars of the seller's return money, one bar per policy.

    Costs (``rs.COSTS``) stack to the right of zero, credits (``rs.CREDITS``) to the left; a
    black diamond marks the net return cost (costs - credits), which is also written beside
    the bar when ``annotate``.

    Args:
        runs: ``{policy: RunResult}`` (anything with ``.ledger`` and ``.kpis``), in the order
            the bars should appear from top to bottom.
        ax: Axes to draw on; a new figure if None.
        per: ``"order"`` (divide by ``kpis["demand_orders"]``, the denominator of every per-order KPI), ``"return"`` (by
            ``kpis["return_requests"]``) or ``"total"`` (money over the whole run).
        currency: symbol used in labels (money is in the scenario's currency).
        annotate: write the net cost beside each bar.
        hide_zero: leave out categories that are zero for every policy (e.g. disposal fees
            when nothing is disposed of).
        labels: what each policy is called on its bar (``{id: label}``,
            :func:`~returnsim.output.policy_labels.policy_label_map`); default: the ids.

    Returns:
        The Axes. ``ax.containers`` holds one BarContainer per category drawn, each with one
        bar per policy. Text is in the current font size (``rcParams``), so a caller that
        enlarges it for a screen enlarges all of it.

    Units: currency per order, per return request, or in total, as ``per`` says.
    """
    if per not in _PER_LABEL:
        raise ValueError(f"per must be 'order', 'return' or 'total', not {per!r}")
    names = list(runs)
    if not names:
        raise ValueError("no runs to plot")

    def divisor(run: Any) -> float:
        if per == "total":
            return 1.0
        key = "demand_orders" if per == "order" else "return_requests"
        d = float(run.kpis[key])
        return d if d > 0 else float("nan")

    div = np.array([divisor(runs[n]) for n in names])
    money = {c: np.array([float(runs[n].ledger.get(c, 0.0)) for n in names]) / div
             for c in (*COSTS, *CREDITS)}
    extra = [c for n in names for c in runs[n].ledger if c not in money]
    for c in dict.fromkeys(extra):  # unknown categories: treated as costs, shown in grey
        money[c] = np.array([float(runs[n].ledger.get(c, 0.0)) for n in names]) / div
    costs = [c for c in money if c not in CREDITS]
    credits = [c for c in CREDITS if c in money]
    if hide_zero:
        costs = [c for c in costs if np.any(np.abs(np.nan_to_num(money[c])) > 0)]
        credits = [c for c in credits if np.any(np.abs(np.nan_to_num(money[c])) > 0)]

    ax = _axes(ax, (10, 1.0 + 0.55 * len(names)))
    y = np.arange(len(names))
    height = 0.7
    right = np.zeros(len(names))
    for c in costs:
        v = np.nan_to_num(money[c])
        ax.barh(y, v, height, left=right, label=category_label(c), color=CATEGORY_COLORS.get(c, "#bbbbbb"),
                edgecolor="white", linewidth=0.5)
        right += v
    left = np.zeros(len(names))
    for c in credits:
        v = np.nan_to_num(money[c])
        ax.barh(y, -v, height, left=left, label=f"− {category_label(c)}", color=CATEGORY_COLORS.get(c, "#bbbbbb"),
                edgecolor="white", linewidth=0.5)
        left -= v
    net = sum((money[c] for c in costs), np.zeros(len(names))) - sum(
        (money[c] for c in credits), np.zeros(len(names))
    )
    ax.scatter(net, y, marker="D", s=45, color="black", edgecolor="white", linewidth=0.8,
               zorder=3, label="net return cost")
    ax.axvline(0, color="black", linewidth=0.8)
    if annotate:
        span = float(np.nanmax(right) - np.nanmin(left)) or 1.0
        for yi, x_end, v in zip(y, right, net, strict=True):
            if np.isfinite(v):
                ax.text(x_end + 0.01 * span, float(yi), for_matplotlib(f"net {_money(v, currency, per)}"),
                        va="center", ha="left")
        ax.set_xlim(right=float(np.nanmax(right)) + 0.16 * span)
    ax.set_yticks(y, [for_matplotlib((labels or {}).get(n, n)) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)  # first policy on top
    unit = "" if per == "total" else f" {_PER_LABEL[per]}"
    ax.set_xlabel(for_matplotlib(f"{currency}{unit}   (credits left of 0, costs right)"))
    ax.set_title(f"Net return cost by category, {_PER_LABEL[per]}")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


# --------------------------------------------------------------------------------------------
# response times


def response_times(
    traces: Mapping[str, Any],
    late_after: float = 48,
    ax: Axes | None = None,
    *,
    target: float | None = 24,
    decision: bool = True,
    log_x: bool = True,
) -> Axes:
    """Empirical CDFs of response time (solid) and decision time (dashed) per policy.

    Response time is request -> the seller's first answer; decision time is request ->
    authorisation or close, the clock Amazon judges late against (``late_after``). A dotted
    line marks the ``target`` (24 h) and a red line the late threshold; each policy's legend
    entry gives its share of late requests.

    Args:
        traces: ``{policy: trace DataFrame}`` (``RunResult.trace``; RunResults are accepted).
        late_after: late threshold in hours (``scenario.desk.late_after_hours``).
        ax: Axes to draw on; a new figure if None.
        target: a response-time target to mark, in hours (None: no line).
        decision: also draw the decision-time curves.
        log_x: symmetric-log x axis (linear below 1 h, so instant answers at 0 h still show).

    Returns:
        The Axes; one Line2D per policy for response times (``gid="response:<policy>"``) and,
        with ``decision``, one per policy for decision times (``gid="decision:<policy>"``).

    Units: hours on x; share of requests answered (decided) within x on y.
    """
    import matplotlib.ticker as mticker
    from matplotlib.lines import Line2D

    names = list(traces)
    colors = _policy_colors(names)
    ax = _axes(ax, (10, 5.5))
    xmax = late_after
    handles = []
    for n in names:
        tr = _trace_of(n, traces[n])
        resp = tr["response_hours"].to_numpy(dtype=float)
        curves = [("response", resp, "-")]
        if decision:
            curves.append(("decision", _decision_hours(tr), "--"))
        for kind, values, style in curves:
            if len(values) == 0:
                continue
            xmax = max(xmax, float(values.max()))
            ax.ecdf(values, linestyle=style, color=colors[n],
                    linewidth=1.6 if kind == "response" else 1.2,
                    gid=f"{kind}:{n}", label="_nolegend_")
        if "late" in tr:
            late = float(np.mean(tr["late"])) if len(tr) else float("nan")
        else:
            late = float(np.mean(_decision_hours(tr) > late_after)) if len(tr) else float("nan")
        note = ", all at 0 h" if len(resp) and resp.max() == 0 else ""
        handles.append(
            Line2D([], [], color=colors[n], linewidth=2, label=for_matplotlib(f"{n}  (late {late:.1%}{note})"))
        )

    ref = [Line2D([], [], color="grey", linestyle="-", label="response (first answer)")]
    if decision:
        ref.append(Line2D([], [], color="grey", linestyle="--", label="decision (authorised/closed)"))
    if target is not None:
        ax.axvline(target, color="0.3", linestyle=":", linewidth=1.2, gid="target")
        ref.append(Line2D([], [], color="0.3", linestyle=":", label=f"{target:g} h target"))
    ax.axvline(late_after, color="#d62728", linestyle="-", linewidth=1.4, gid="late_after")
    ref.append(Line2D([], [], color="#d62728", label=f"{late_after:g} h: late"))

    if log_x:
        ax.set_xscale("symlog", linthresh=1.0, linscale=0.5)
        ticks = [t for t in (0, 1, 2, 4, 8, 12, 24, 48, 72, 96, 168, 336, 720) if t <= xmax * 1.5]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(mticker.NullLocator())
    ax.set_xlim(-0.08 if log_x else -0.01 * xmax, xmax * 1.1)  # instant answers stay visible
    ax.set_ylim(0, 1.01)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlabel("hours since the return request" + (" (symlog scale)" if log_x else ""))
    ax.set_ylabel("share of requests within x")
    ax.set_title("How fast requests are answered and decided")
    ax.grid(alpha=0.3)
    blank = Line2D([], [], linestyle="none", label=" ")
    ax.legend(handles=[*handles, blank, *ref], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=8, frameon=False, title="policy (share late)", title_fontsize=8,
              alignment="left")
    return ax


# --------------------------------------------------------------------------------------------
# outcome mix


def outcome_mix(
    runs_or_traces: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    annotate: bool = True,
    hide_zero: bool = True,
) -> Axes:
    """Stacked horizontal bars: the share of return requests ending in each terminal outcome.

    Outcomes (``returnsim.scenario.RESOLUTIONS``) that keep the sale (troubleshot, partial
    refund, exchange, replacement) are green/blue; refunds are warm colours.

    Args:
        runs_or_traces: ``{policy: RunResult with trace}`` or ``{policy: trace DataFrame}``.
        ax: Axes to draw on; a new figure if None.
        annotate: write shares of 4 % or more inside their segment.
        hide_zero: leave out outcomes no policy reached.

    Returns:
        The Axes; ``ax.containers`` holds one BarContainer per outcome drawn, each with one
        bar per policy.

    Units: share of return requests (each bar sums to 100 %).
    """
    import matplotlib.ticker as mticker
    import pandas as pd

    names = list(runs_or_traces)
    shares = {}
    for n in names:
        out = _trace_of(n, runs_or_traces[n])["outcome"].astype("object")
        counts = out.value_counts()
        total = counts.sum()
        shares[n] = counts / total if total else counts
    table = pd.DataFrame(shares).T.fillna(0.0)
    order = [o for o in RESOLUTIONS if o in table.columns] + [
        o for o in table.columns if o not in RESOLUTIONS
    ]
    table = table.reindex(columns=order, fill_value=0.0)
    if hide_zero:
        table = table.loc[:, (table > 0).any(axis=0)]

    ax = _axes(ax, (10, 1.0 + 0.55 * len(names)))
    y = np.arange(len(names))
    left = np.zeros(len(names))
    for o in table.columns:
        v = table[o].reindex(names).to_numpy(dtype=float)
        bars = ax.barh(y, v, 0.7, left=left, label=o, color=OUTCOME_COLORS.get(o, "#bbbbbb"),
                       edgecolor="white", linewidth=0.5)
        if annotate:
            labels = [f"{s:.0%}" if s >= 0.04 else "" for s in v]
            dark = o in ("troubleshot", "exchanged", "returned_refund", "rejected")
            ax.bar_label(bars, labels=labels, label_type="center", fontsize=7,
                         color="white" if dark else "black")
        left += v
    ax.set_yticks(y, [for_matplotlib(n) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlabel("share of return requests")
    ax.set_title("How return requests end")
    # Bars keep the outcome's id as their label (what code and tests look up); the legend reads
    # in plain words.
    handles = list(ax.containers)
    ax.legend(handles, [outcome_label(str(h.get_label())) for h in handles],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return ax


# --------------------------------------------------------------------------------------------
# late responses by weekday


def late_by_weekday(
    traces: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    late_after: float | None = None,
) -> Axes:
    """Grouped bars: the share of requests that were late, by the weekday they arrived.

    Shows where late responses come from when the desk keeps office hours: requests that
    arrive on Friday evening or at the weekend wait for Monday.

    Args:
        traces: ``{policy: trace DataFrame}`` (RunResults with a trace are accepted).
        ax: Axes to draw on; a new figure if None.
        late_after: if given, recompute lateness as decision time > ``late_after`` hours
            instead of using the trace's ``late`` column.

    Returns:
        The Axes; ``ax.containers`` holds one BarContainer per policy with 7 bars (Mon..Sun).

    Units: share of that weekday's requests that were late (decision after 48 h).
    """
    import matplotlib.ticker as mticker

    names = list(traces)
    colors = _policy_colors(names)
    ax = _axes(ax, (9, 4.5))
    x = np.arange(7)
    width = 0.8 / max(len(names), 1)
    top = 0.0
    for i, n in enumerate(names):
        tr = _trace_of(n, traces[n])
        day = (tr["request_time"].to_numpy(dtype=float) // 24 % 7).astype(int)
        if late_after is None and "late" in tr:
            late = tr["late"].to_numpy(dtype=bool)
        else:
            late = _decision_hours(tr) > (48 if late_after is None else late_after)
        count = np.bincount(day, minlength=7)
        share = np.bincount(day, weights=late.astype(float), minlength=7) / np.maximum(count, 1)
        share = np.where(count > 0, share, np.nan)
        ax.bar(x - 0.4 + width * (i + 0.5), share, width, color=colors[n], label=n)
        top = max(top, float(np.nanmax(share)) if np.isfinite(share).any() else 0.0)
    ax.set_xticks(x, WEEKDAYS)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    # A share is never negative: the axis starts at 0 even when no request was late (matplotlib
    # would centre all-zero bars on 0); then the chart says so instead of looking empty.
    ax.set_ylim(0, top * 1.15 if top > 0 else 0.05)
    if top == 0:
        ax.text(3, 0.025, "no request was decided late", ha="center", va="center", fontsize=11, color="0.35",
                gid="none_late")
    ax.set_xlabel("weekday the return request arrived")
    ax.set_ylabel("share of requests decided late")
    ax.set_title("Late responses by weekday of the request")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, frameon=False)
    return ax
