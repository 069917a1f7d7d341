"""Figures of experiments: one metric per policy with its confidence interval, and paired
differences from a baseline (forest plots).

Every function takes a summary or comparison frame, draws on ``ax`` if one is given (else on a
new figure), and returns the Axes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ...text import for_matplotlib
from ._style import _axes, _kpi_label_format

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["kpi_bars", "forest", "common_random_numbers"]


def _metric_frame(table: Any, metric: str) -> pd.DataFrame:
    """A frame indexed by policy with columns mean, ci_low, ci_high (CIs may be NaN)."""
    import pandas as pd

    if isinstance(table, Mapping):
        rows = {}
        for p, item in table.items():
            kpis: Any = getattr(item, "kpis", item)
            rows[p] = float(kpis[metric])
        df = pd.DataFrame({"mean": pd.Series(rows)})
    elif isinstance(table, pd.DataFrame):
        df = table
        if "metric" in df.columns:
            df = df[df["metric"] == metric]
            if df.empty:
                raise ValueError(f"metric {metric!r} not in the table")
        if "policy" in df.columns:
            df = df.set_index("policy")
        if "mean" not in df.columns:
            if metric not in df.columns:
                raise ValueError(f"the table has neither a 'mean' nor a {metric!r} column")
            df = df.rename(columns={metric: "mean"})
        df = df[[c for c in ("mean", "ci_low", "ci_high") if c in df.columns]].copy()
    else:
        raise TypeError("table must be a DataFrame or a mapping {policy: RunResult or kpis}")
    for c in ("ci_low", "ci_high"):
        if c not in df.columns:
            df[c] = np.nan
    df.index = df.index.astype(str)
    return df.astype(float)


def kpi_bars(
    table: Any,
    metric: str,
    ax: Axes | None = None,
    *,
    highlight: str | Iterable[str] | None = None,
    annotate: bool = True,
    currency: str = "$",
    labels: Mapping[str, str] | None = None,
) -> Axes:
    """Horizontal bars of one metric per policy, with 95 % CI error bars when given.

    Args:
        table: one of
            - a tidy DataFrame with columns ``policy, metric, mean, ci_low, ci_high``
              (``ExperimentResult.summary()``; the rows of ``metric`` are used);
            - a DataFrame with a ``policy`` column (or policies as index) and a ``metric``
              column, or columns ``mean`` [, ``ci_low``, ``ci_high``];
            - a mapping ``{policy: RunResult}`` or ``{policy: kpis dict}``.
        metric: a KPI name (``rs.KPI_NAMES``) or any column in the table.
        ax: Axes to draw on; a new figure if None.
        highlight: policy name(s) drawn in a strong colour (others grey-blue).
        annotate: write each value at the end of its bar (in the current font size).
        currency: the label of money.
        labels: what each policy is called (``{id: label}``); default: the ids.

    Returns:
        The Axes; ``ax.containers[0]`` is the BarContainer with one bar per policy.

    Units: those of the metric (the label and format of ``returnsim.tables.KPI_ROWS`` when the
    metric is listed there: currency, hours, or a share shown in %).
    """
    import matplotlib.ticker as mticker

    df = _metric_frame(table, metric)
    label, fmt = _kpi_label_format(metric, currency)
    names = list(df.index)
    marked = {highlight} if isinstance(highlight, str) else set(highlight or ())
    colors = ["#d95f02" if n in marked else "#4c72b0" for n in names]
    ax = _axes(ax, (8, 1.0 + 0.45 * len(names)))
    y = np.arange(len(names))
    mean = df["mean"].to_numpy()
    lo, hi = df["ci_low"].to_numpy(), df["ci_high"].to_numpy()
    has_ci = np.isfinite(lo) & np.isfinite(hi)
    bars = ax.barh(y, mean, 0.65, color=colors)
    if has_ci.any():
        err = np.vstack([np.where(has_ci, mean - lo, 0.0), np.where(has_ci, hi - mean, 0.0)])
        ax.errorbar(mean, y, xerr=np.abs(err), fmt="none", ecolor="black", elinewidth=1,
                    capsize=3, label="95 % CI")
    if annotate:
        def show(v: float) -> str:
            try:
                return fmt.format(v) if np.isfinite(v) else "-"
            except (TypeError, ValueError):
                return f"{v:,.3g}"
        end = np.where(has_ci, np.maximum(mean, hi), mean)
        end_neg = np.where(has_ci, np.minimum(mean, lo), mean)
        finite = np.isfinite(mean)
        span = float(np.nanmax(np.abs(np.r_[end[finite], end_neg[finite], 0.0]))) or 1.0
        for yi, m, e, en in zip(y, mean, end, end_neg, strict=True):
            if not np.isfinite(m):
                continue
            x, ha = (e + 0.02 * span, "left") if m >= 0 else (en - 0.02 * span, "right")
            ax.text(x, float(yi), show(m), va="center", ha=ha)
        lo_x, hi_x = ax.get_xlim()
        if np.nanmax(end) > 0:
            hi_x += 0.15 * span
        if np.nanmin(end_neg) < 0:
            lo_x -= 0.15 * span
        ax.set_xlim(lo_x, hi_x)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, [for_matplotlib((labels or {}).get(n, n)) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    if "%" in fmt:
        ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlabel(for_matplotlib(label))
    ax.set_title(for_matplotlib(label) + (" (95 % CI)" if has_ci.any() else ""))
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for bar in bars:
        bar.set_gid(f"kpi:{metric}")
    return ax


def forest(
    compare: pd.DataFrame,
    metric: str,
    ax: Any = None,
    *,
    title: str | None = None,
    currency: str = "$",
    labels: Mapping[str, str] | None = None,
) -> Any:
    """Forest plot of paired differences vs the baseline for one metric.

    One row per policy: a dot at the mean difference and a bar over its confidence interval;
    filled dots are significant (the interval excludes zero), and a vertical line marks zero.

    Args:
        compare: the frame from :func:`paired_differences` / ``ExperimentResult.compare``.
        metric: which metric to plot.
        ax: a matplotlib Axes (a new figure if omitted).
        title: the axes title (default names the metric and the baseline).
        currency: the label of money.
        labels: what each policy is called, the baseline included (``{id: label}``); default:
            the ids.

    Returns:
        The Axes. Text is in the current font size (``rcParams``).
    """
    import matplotlib.pyplot as plt

    part = compare[compare["metric"] == metric]
    if part.empty:
        raise KeyError(f"no comparison rows for metric {metric!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.45 * len(part) + 1.2))
    y = np.arange(len(part))[::-1]
    mean = part["mean_diff"].to_numpy(dtype=float)
    lo = part["ci_low"].to_numpy(dtype=float)
    hi = part["ci_high"].to_numpy(dtype=float)
    label, fmt = _kpi_label_format(metric, currency)
    if "%" in fmt:  # a rate: differences in percentage points
        mean, lo, hi = mean * 100, lo * 100, hi * 100
        label = label + ", percentage points"
    sig = (lo > 0) | (hi < 0)
    ax.errorbar(mean, y, xerr=[mean - lo, hi - mean], fmt="none", ecolor="0.35", capsize=3, lw=1.2)
    ax.scatter(mean[sig], y[sig], color="C0", zorder=3, label="CI excludes 0")
    ax.scatter(mean[~sig], y[~sig], facecolor="white", edgecolor="C0", zorder=3, label="CI includes 0")
    ax.axvline(0.0, color="0.6", lw=1, ls="--")
    names = dict(labels or {})
    ax.set_yticks(y)
    ax.set_yticklabels([for_matplotlib(names.get(p, p)) for p in part["policy"].tolist()])
    baseline = names.get(part["baseline"].iloc[0], part["baseline"].iloc[0])
    ax.set_xlabel(for_matplotlib(f"{label}: policy − {baseline}"))
    words = _kpi_label_format(metric, currency)[0].split(" (")[0]
    ax.set_title(for_matplotlib(title if title is not None else f"{words}: vs {baseline} (paired 95 % CI)"))
    ax.legend(loc="best", frameon=False)
    return ax


def common_random_numbers(
    baseline: Any, other: Any, independent: Any, fig: Any = None, *, names: tuple[str, str] = ("baseline", "other"),
    metric: str = "", currency: str = "$",
) -> Any:
    """Why common random numbers sharpen comparisons, in two panels.

    Left: each replication's value under two policies run on the same random numbers; they move
    together. Right: the spread of the per-replication difference with common random numbers
    against the difference from runs on independent streams.

    Args:
        baseline: values of the baseline policy, one per replication.
        other: values of the other policy on the same replications (same seeds).
        independent: values of the other policy on independent streams (other seeds).
        fig: a Figure to draw on (cleared first); a new one if None.
        names: the two policies' names.
        metric: the metric's name, for the labels.
        currency: the label of money.

    Returns:
        The Figure; its second axes holds the two histograms (labels ``independent streams``
        and ``common random numbers``).
    """
    import matplotlib.pyplot as plt

    from .. import labels

    a, b, c = (np.asarray(v, dtype=float) for v in (baseline, other, independent))
    paired, unpaired = b - a, c[: len(a)] - a
    if fig is None:
        fig = plt.figure(figsize=(11, 4), layout="constrained")
    else:
        fig.clear()
    left, right = fig.subplots(1, 2)
    what = labels.label(metric, currency) if metric else "value"
    left.scatter(a, b, s=14)
    left.axline((float(a.mean()), float(b.mean())), slope=1, color="0.6", lw=1, ls="--", label="slope 1 through the means")
    left.legend(loc="upper left", frameon=False)
    left.set_xlabel(for_matplotlib(f"{names[0]}: {what}"))
    left.set_ylabel(for_matplotlib(f"{names[1]}: {what}"))
    left.set_title("Same replication, two policies: they move together")
    lo, hi = float(min(paired.min(), unpaired.min())), float(max(paired.max(), unpaired.max()))
    bins = np.linspace(lo, hi if hi > lo else lo + 1, 20)
    right.hist(unpaired, bins=bins, alpha=0.6, label="independent streams")
    right.hist(paired, bins=bins, alpha=0.8, label="common random numbers")
    right.set_xlabel(for_matplotlib(f"difference {names[1]} − {names[0]} per replication"))
    right.set_title("Spread of the difference")
    right.legend(frameon=False)
    return fig
