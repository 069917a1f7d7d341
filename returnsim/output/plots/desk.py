"""Figures of the desk: queueing against Erlang C, staffing against the 48-hour rule, and when in
the week requests wait.

Every function takes data, draws on ``ax`` if one is given (else on a new figure), and returns
the Axes. Times are hours; shares are fractions of return requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...text import for_matplotlib
from ._style import WEEKDAYS, _axes, _decision_hours, _policy_colors, _trace_of

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["erlang_c_curve", "late_by_staff", "decision_hours_by_weekday"]


def erlang_c_curve(
    table: pd.DataFrame,
    ax: Axes | None = None,
    *,
    x: str = "staff",
    what: str = "wait_probability",
) -> Axes:
    """Erlang C's prediction as a line, simulated means with 95 % CIs as points.

    Args:
        table: one row per setting with columns ``x``, ``erlang_<what>`` (the formula) and,
            optionally, ``sim_<what>``, ``sim_<what>_low``, ``sim_<what>_high`` (simulated mean and
            its interval); ``what`` is ``wait_probability`` (share) or ``wait_hours`` (Wq, hours).
        ax: Axes to draw on; a new figure if None.
        x: the column on the x axis (``staff``, or ``load`` in Erlangs, ...).
        what: which quantity.

    Returns:
        The Axes; the formula's line has ``gid="erlang"``, the simulated points ``gid="simulated"``.
    """
    import matplotlib.ticker as mticker

    ax = _axes(ax, (7, 4.2))
    t = table.sort_values(x)
    ax.plot(t[x], t[f"erlang_{what}"], "-", color="#2166ac", lw=2, label="Erlang C (formula)", gid="erlang")
    if f"sim_{what}" in t:
        m = t[f"sim_{what}"].to_numpy(dtype=float)
        lo = t.get(f"sim_{what}_low", t[f"sim_{what}"]).to_numpy(dtype=float)
        hi = t.get(f"sim_{what}_high", t[f"sim_{what}"]).to_numpy(dtype=float)
        ax.errorbar(t[x], m, yerr=[m - lo, hi - m], fmt="o", color="#d95f02", capsize=4,
                    label="simulated (95 % CI)", gid="simulated")
    if what == "wait_probability":
        ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
        ax.set_ylabel("requests that wait for an agent")
        ax.set_ylim(0, 1.02)
    else:
        ax.set_ylabel("mean wait for an agent (h)")
        ax.set_ylim(bottom=0)
    ax.set_xlabel({"staff": "agents on the desk", "load": "offered load (Erlangs)"}.get(x, x))
    ax.set_title("The desk as an M/M/c queue: formula and simulation")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return ax


def late_by_staff(
    table: pd.DataFrame,
    ax: Axes | None = None,
    *,
    target: float | None = None,
) -> Axes:
    """Share of requests decided late against the number of agents, one line per desk schedule.

    Args:
        table: columns ``staff``, ``hours`` (a schedule's name, e.g. ``"24/7"``), ``late`` and
            optionally ``late_low``/``late_high`` (a 95 % CI).
        ax: Axes to draw on; a new figure if None.
        target: a share to mark with a dashed line (e.g. a tolerable late share).

    Returns:
        The Axes; one line per schedule (``gid="late:<schedule>"``).
    """
    import matplotlib.ticker as mticker

    ax = _axes(ax, (7, 4.2))
    schedules = list(dict.fromkeys(table["hours"].tolist()))
    colors = _policy_colors(schedules)
    for s in schedules:
        t = table[table["hours"] == s].sort_values("staff")
        m = t["late"].to_numpy(dtype=float)
        if "late_low" in t:
            lo = np.clip(t["late_low"].to_numpy(dtype=float), 0, None)
            hi = t["late_high"].to_numpy(dtype=float)
            ax.fill_between(t["staff"], lo, hi, color=colors[s], alpha=0.2, lw=0)
        ax.plot(t["staff"], m, "o-", color=colors[s], label=for_matplotlib(s), gid=f"late:{s}")
    if target is not None:
        ax.axhline(target, color="#d62728", ls="--", lw=1)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_ylim(bottom=0)
    ax.set_xticks(sorted(table["staff"].unique()))
    ax.set_xlabel("agents on the desk")
    ax.set_ylabel("requests decided after 48 h")
    ax.set_title("Staffing against the 48-hour rule")
    ax.grid(alpha=0.3)
    ax.legend(title="desk hours", frameon=False)
    return ax


def decision_hours_by_weekday(
    traces: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    late_after: float = 48.0,
    quantiles: Sequence[float] = (0.5, 0.95),
) -> Axes:
    """When requests wait: quantiles of the time to a decision, by the weekday they arrived.

    Unlike a count of late requests, this chart is never empty: it shows how close each
    weekday's requests come to the late line even when none crosses it. Requests that arrive
    on Friday evening or at the weekend wait for the desk to open.

    Args:
        traces: ``{name: trace DataFrame}`` (RunResults with a trace are accepted).
        ax: Axes to draw on; a new figure if None.
        late_after: the late threshold to mark, hours.
        quantiles: which quantiles to draw (solid: the first, dashed: the others).

    Returns:
        The Axes; one line per name and quantile (``gid="<name>:q<quantile>"``).
    """
    ax = _axes(ax, (8, 4.2))
    names = list(traces)
    colors = _policy_colors(names)
    x = np.arange(7)
    top = late_after
    for n in names:
        tr = _trace_of(n, traces[n])
        day = (tr["request_time"].to_numpy(dtype=float) // 24 % 7).astype(int)
        hours = _decision_hours(tr)
        for i, q in enumerate(quantiles):
            v = np.array([np.quantile(hours[day == d], q) if np.any(day == d) else np.nan for d in range(7)])
            top = max(top, float(np.nanmax(v)) if np.isfinite(v).any() else top)
            ax.plot(x, v, "o-" if i == 0 else "s--", color=colors[n], lw=1.8 if i == 0 else 1.2,
                    label=for_matplotlib(f"{n}: {q:.0%} decided within"), gid=f"{n}:q{q:g}")
    ax.axhline(late_after, color="#d62728", lw=1.4, gid="late_after")
    ax.text(-0.2, late_after, f" {late_after:g} h: late above this line", color="#d62728", va="bottom",
            ha="left", fontsize=8)
    ax.set_xticks(x, WEEKDAYS)
    ax.set_ylim(0, top * 1.12)
    ax.set_xlabel("weekday the return request arrived")
    ax.set_ylabel("hours from request to decision")
    ax.set_title("How long requests wait for a decision, by weekday")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return ax
