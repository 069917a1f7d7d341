"""The report's charts, drawn for a screen: legible on a phone held upright and on a laptop.

A chart in the report is inline SVG (:func:`returnsim.pages.svg`) as wide as the page's text,
up to its natural width. Text of ``s`` points in a figure ``W`` points wide shows at
``s × box / W`` CSS pixels when the box is ``box`` pixels wide. On a phone 390 px wide the report's
box is 358 px (measured in Chromium: 390 less the page's padding and a scroll bar), so every
figure here is :data:`WIDTH_IN` wide and every text in it is :data:`FONT_PT` (titles, ticks,
legends and annotations alike): no text reads smaller than :data:`MIN_TEXT_PX` on that phone. On
a laptop the chart shows at its natural size, text at ``FONT_PT × 4/3`` px. Long names wrap onto
a second line instead of squeezing the bars.

Each function returns a Figure and must run inside :func:`screen` (the font sizes are read when
a figure's text is made, and again when its ticks are drawn, so the figure is saved inside it too).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ...text import for_matplotlib
from ._style import _kpi_label_format
from .decide import tornado
from .experiments import forest, kpi_bars
from .runs import cost_breakdown

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "MIN_TEXT_PX",
    "PHONE_BOX_PX",
    "WIDTH_IN",
    "FONT_PT",
    "screen",
    "fit",
    "wrap",
    "value_chart",
    "differences_chart",
    "cost_chart",
    "tornado_chart",
]

MIN_TEXT_PX = 11.0
"""Smallest text on a phone, in CSS pixels (assumed: about the smallest size read comfortably at
arm's length; browsers' own smallest default for captions)."""

PHONE_BOX_PX = 350.0
"""Width of the report's text on a phone 390 CSS px wide, rounded down from the 358 px measured
in Chromium (tests/test_report.py), so that a few pixels of other padding keep the text legible."""

WIDTH_IN = 5.0
"""Width of each chart, in inches (72 points each): narrow enough that its text need not be large
on a laptop to be legible on a phone."""

FONT_PT = math.ceil(MIN_TEXT_PX * WIDTH_IN * 72 / PHONE_BOX_PX * 2) / 2
"""Size of every text of a chart, in points: :data:`MIN_TEXT_PX` on a phone, rounded up to half
a point (11.5 pt; 15 px on a laptop)."""

_NAME_CHARS = 18
"""A policy's name wraps after this many characters: a third of a chart's width at FONT_PT."""

_LINE_CHARS = 50
"""Titles and axis labels wrap after this many characters (a chart's width at FONT_PT)."""

_AXES_CHARS = 30
"""A title over axes that policies' names flank wraps after this many characters (the axes'
width at FONT_PT)."""


@contextmanager
def screen() -> Iterator[None]:
    """Matplotlib settings of the report's charts (every text :data:`FONT_PT`), for the block."""
    import matplotlib as mpl

    one = "medium"  # one size for every text: "small" would fall under MIN_TEXT_PX on a phone
    with mpl.rc_context({
        "font.size": FONT_PT, "axes.titlesize": one, "axes.labelsize": one, "xtick.labelsize": one,
        "ytick.labelsize": one, "legend.fontsize": one, "legend.title_fontsize": one,
        "figure.titlesize": one, "figure.labelsize": one, "axes.titleweight": "bold",
    }):
        yield


def wrap(text: str, chars: int = _NAME_CHARS) -> str:
    """``text`` broken into lines of at most ``chars`` characters (a longer word keeps its line)."""
    return "\n".join(textwrap.wrap(text, chars, break_long_words=False)) or text


def _figure(height: float) -> tuple[Figure, Any]:
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(WIDTH_IN, height), layout="constrained")


def fit(fig: Figure, pad: float = 0.1) -> Figure:
    """``fig`` narrowed until what it draws, with ``pad`` inches around (as
    :func:`returnsim.pages.svg` saves it), is at most :data:`WIDTH_IN` wide: a title, a legend or
    a number beside a bar may reach past the axes' room, and a wider drawing would be scaled
    down on a phone, its text with it."""
    target = WIDTH_IN * 0.98  # room for the SVG renderer's text extents, a little off Agg's
    for _ in range(4):
        fig.canvas.draw()
        drawn = fig.get_tightbbox().width + 2 * pad
        narrower = fig.get_figwidth() * target / drawn
        # a text wider than the chart cannot be fitted: leave it (the report's browser test
        # measures what a phone shows) rather than squeeze the axes to nothing
        if drawn <= target or narrower < 0.6 * WIDTH_IN:
            break
        fig.set_figwidth(narrower)
    return fig


def _room_for_values(ax: Any) -> None:
    """Widen ``ax``'s x range until every text written in it (a value beside its bar) lies inside
    the axes: at this font size the margin the plot left may be too small, and the number would
    overlap the axis or leave the chart."""
    if not ax.texts:
        return
    fig = ax.figure
    for _ in range(4):
        fig.canvas.draw()
        box = ax.get_window_extent()
        lo, hi = ax.get_xlim()
        per_px = (hi - lo) / box.width
        extents = [t.get_window_extent() for t in ax.texts]
        grow_left = max(0.0, box.x0 + 3 - min(e.x0 for e in extents)) * per_px
        grow_right = max(0.0, max(e.x1 for e in extents) - box.x1 + 3) * per_px
        if grow_left == grow_right == 0:
            return
        ax.set_xlim(lo - grow_left, hi + grow_right)


def _wrap_labels(ax: Any) -> None:
    """Title and axis labels of ``ax`` wrapped to the chart's width (already escaped text)."""
    for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
        text.set_text(wrap(text.get_text(), _LINE_CHARS))


def _title_across(fig: Figure, ax: Any) -> None:
    """``ax``'s title moved to the figure's, wrapped to its width: centred on axes that long
    names flank, a long title would squeeze the axes to make room on both sides."""
    title = ax.get_title()
    ax.set_title("")
    if title:
        fig.suptitle(wrap(title, _LINE_CHARS), fontweight="bold")
    ax.xaxis.label.set_text(wrap(ax.get_xlabel(), _AXES_CHARS))


def _names(labels: Mapping[str, str], policies: Sequence[str]) -> dict[str, str]:
    return {p: wrap(labels.get(p, p)) for p in policies}


def value_chart(
    summary: pd.DataFrame, metric: str, labels: Mapping[str, str], *, highlight: str | None = None, currency: str = "$"
) -> Figure:
    """One metric per policy with its 95 % CI (:func:`kpi_bars`); ``labels``: ``{id: label}``."""
    policies = list(dict.fromkeys(summary.loc[summary["metric"] == metric, "policy"].astype(str)))
    fig, ax = _figure(1.4 + 0.55 * len(policies))
    kpi_bars(summary, metric, ax=ax, highlight=highlight, currency=currency, labels=_names(labels, policies))
    ax.set_title("")  # the page's heading names the chart
    _wrap_labels(ax)
    _room_for_values(ax)
    fit(fig)
    _room_for_values(ax)
    return fig


def differences_chart(
    compare: pd.DataFrame, metrics: Sequence[str], labels: Mapping[str, str], *, currency: str = "$"
) -> Figure:
    """Paired differences from the baseline, one forest plot per metric, one above the other."""
    import matplotlib.pyplot as plt

    policies = list(dict.fromkeys(compare["policy"].astype(str)))
    names = _names(labels, [*policies, *compare["baseline"].astype(str)])
    lines = sum(len(names[p].splitlines()) for p in policies)
    fig, axes = plt.subplots(
        len(metrics), 1, figsize=(WIDTH_IN, len(metrics) * (0.24 * lines + 0.12 * len(policies) + 1.1)),
        layout="constrained", squeeze=False,
    )
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        forest(compare, metric, ax=ax, currency=currency, labels=names)
        ax.get_legend().remove()  # the page says what a filled dot means, once
        # The page's heading names the baseline; the title says what is compared, in its unit:
        # a long title or axis label centred on the axes would squeeze them.
        words, fmt = _kpi_label_format(metric, currency)
        title = words + (", percentage points" if "%" in fmt else "")
        ax.set_title("")  # forest's own, centred
        ax.set_title(for_matplotlib(wrap(title, _AXES_CHARS)), loc="left")
        ax.set_xlabel("")
    return fit(fig)


def cost_chart(runs: Mapping[str, Any], labels: Mapping[str, str], *, currency: str = "$") -> Figure:
    """Where the money goes, per order, by category (:func:`cost_breakdown`), the legend below."""
    fig, ax = _figure(1.0)
    cost_breakdown(runs, ax=ax, per="order", currency=currency, labels=_names(labels, list(runs)))
    ax.set_title("")
    _title_across(fig, ax)
    entries = _legend_below(fig, ax)
    # bars, the axis and one line per legend entry
    fig.set_figheight(1.6 + 0.55 * len(runs) + 0.26 * entries)
    _room_for_values(ax)
    fit(fig)
    _room_for_values(ax)
    return fig


def tornado_chart(
    result: Any, labels: Mapping[str, str], *, title: str | None = None, top: int = 12, currency: str = "$"
) -> Figure:
    """A tornado diagram (:func:`tornado`) with its inputs' names wrapped; with a ``title``
    (naming the policies), the x axis says only the metric, in ``currency``."""
    shown = min(top, len(result.table))
    fig, ax = _figure(2.5 + 0.62 * shown)
    tornado(result, ax=ax, top=top, title=title, labels=labels)
    ax.set_yticks(ax.get_yticks(), [wrap(t.get_text(), 26) for t in ax.get_yticklabels()])
    if title is not None:  # the title says of what: the axis, in what unit
        ax.set_xlabel(for_matplotlib(_kpi_label_format(result.metric, currency)[0]))
    _title_across(fig, ax)
    _legend_below(fig, ax)
    return fit(fig)


def _legend_below(fig: Figure, ax: Any) -> int:
    """Move ``ax``'s legend below the chart, one entry a line; returns how many entries."""
    legend = ax.get_legend()
    handles, texts = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
    legend.remove()
    fig.legend(handles, texts, loc="outside lower center", ncol=1, frameon=False)
    return len(texts)
