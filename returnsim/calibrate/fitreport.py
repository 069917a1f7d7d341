"""The fit report: one standalone HTML file showing what the reports say and how well the fitted
distributions match them.

Figures (PNG embedded as data URIs, no network): return rate per class, the stated reason mix per
class, the request delay (the report's days against both fitted families), prices per class
against their fit, monthly seasonality, FBA dispositions and label costs, each with 95 %
intervals. Tables: every estimate, what could not be read, unknown codes, notes and, given the
written scenario, the fields still assumed. Nothing in it names an order, a buyer or a comment.

The page is ``templates/fit_report.html.j2``, rendered by the machinery of the main report
(:mod:`returnsim.pages`: escaped values, figures as data URIs) and written whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..files import write_text_atomically
from ..pages import png, render
from ..scenario.world import Returns
from .stats import delay_density
from .writer import assumed_paths

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .result import CalibrationData

__all__ = ["write_fit_report", "figures"]


FIGURES = (
    ("return_rate", "Return rates"),
    ("reasons", "Reason mix"),
    ("delay", "Request delay"),
    ("prices", "Prices"),
    ("seasonality", "Seasonality"),
    ("dispositions", "FBA dispositions"),
    ("labels", "Label costs"),
)
"""The report's figures in page order: name in :func:`figures`, heading."""

MAX_PROBLEMS = 500
"""Unreadable rows listed in the page; the rest are counted."""


def _bars(ax: Axes, rows: pd.DataFrame, labels: list[str], title: str, fmt: str = "{:.1%}") -> None:
    y = np.arange(len(rows))
    est = rows["estimate"].to_numpy(float)
    err = np.vstack([est - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - est])
    ax.barh(y, est, xerr=np.nan_to_num(np.clip(err, 0, None)), color="#4878a8", capsize=3)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_title(title, loc="left", fontsize=10)
    for yi, v, n in zip(y, est, rows["n"], strict=True):
        ax.annotate(f"{fmt.format(v)}  (n={n:,})", (v, yi), xytext=(4, 6), textcoords="offset points", fontsize=7)
    ax.grid(axis="x", alpha=0.3)


def figures(cal: CalibrationData, returns: Returns | None = None) -> dict[str, Figure]:
    """The report's figures by name (matplotlib Figures; the notebook shows them too)."""
    import matplotlib.pyplot as plt

    e = cal.estimates
    out: dict[str, Figure] = {}
    rr = e[e["parameter"] == "return_rate"]
    if len(rr):
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(rr) + 1.2), layout="constrained")
        _bars(ax, rr, rr["item_class"].tolist(), "Return rate per item class (95 % CI)")
        out["return_rate"] = fig
    rs_ = e[e["parameter"].str.startswith("reason_share:")]
    if len(rs_):
        classes = list(dict.fromkeys(rs_["item_class"]))
        fig, axes = plt.subplots(1, len(classes), figsize=(3.2 * len(classes) + 1, 0.3 * rs_["parameter"].nunique() + 1.5), sharey=True, layout="constrained", squeeze=False)
        names = list(dict.fromkeys(rs_["parameter"]))
        for ax, cls in zip(axes[0], classes, strict=True):
            sub = rs_[rs_["item_class"] == cls].set_index("parameter").reindex(names).fillna({"estimate": 0, "ci_low": 0, "ci_high": 0, "n": 0})
            sub["n"] = sub["n"].astype(int)
            _bars(ax, sub.reset_index(), [n.split(":")[1] for n in names], cls)
        fig.suptitle("Stated reason mix per class (95 % CI)", x=0.02, ha="left", fontsize=11)
        out["reasons"] = fig
    d = cal.details.delays
    if len(d) and cal.delay_fit is not None:
        ret = returns or Returns()
        fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
        bins = np.arange(np.floor(d.min()) - 0.5, np.ceil(d.max()) + 1.5, 1.0).tolist()
        ax.hist(d, bins=bins, density=True, color="#c9d6e3", label=f"report: order -> request, {len(d):,} requests")
        for fam, style in (("lognormal", "-"), ("gamma", "--")):
            if fam in cal.delay_fit.params:
                x, dens = delay_density(cal.delay_fit, ret.delivery_days, ret.window_days, fam)
                ll = cal.delay_fit.loglik[fam]
                best = " (chosen)" if fam == cal.delay_fit.family else ""
                ax.plot(x, dens, style, label=f"{fam}: log-lik {ll:,.1f}{best}")
        ax.set_xlabel("days from order to return request")
        ax.set_ylabel("density")
        ax.set_title("Request delay: report vs fitted (through the delivery time)", loc="left", fontsize=10)
        ax.legend(fontsize=8)
        out["delay"] = fig
    if cal.details.price_fits:
        from scipy import stats

        k = len(cal.details.price_fits)
        fig, axes = plt.subplots(1, k, figsize=(3.3 * k + 0.5, 2.8), layout="constrained", squeeze=False)
        for ax, (cls, fit) in zip(axes[0], cal.details.price_fits.items(), strict=True):
            p = cal.details.prices[cls]
            ax.hist(p, bins=40, density=True, color="#d9d2c3")
            ax.set_title(cls, loc="left", fontsize=9)
            if fit.family == "fixed":  # one list price: a spike, no density to draw
                ax.axvline(fit.mean, color="#8c510a", label=f"fixed: {fit.mean:,.2f}")
                ax.legend(fontsize=7)
                continue
            x = np.linspace(max(p.min(), 1e-6), np.quantile(p, 0.995), 200)
            dist = fit.dist()
            if fit.family == "lognormal":
                s2 = np.log1p(fit.cv**2)
                pdf = stats.lognorm.pdf(x, np.sqrt(s2), scale=np.exp(np.log(fit.mean) - s2 / 2))
            else:
                a = 1 / fit.cv**2
                pdf = stats.gamma.pdf(x, a, scale=fit.mean / a)
            ax.plot(x, pdf, color="#8c510a", label=f"{dist.dist}: mean {fit.mean:,.2f}, cv {fit.cv:.2f}")
            ax.legend(fontsize=7)
        fig.suptitle("Unit prices per class: report vs fitted", x=0.02, ha="left", fontsize=11)
        out["prices"] = fig
    s = cal.details.seasonality
    if s is not None and len(s):
        fig, ax = plt.subplots(figsize=(7, 2.8), layout="constrained")
        x = np.arange(len(s))
        ax.errorbar(x, s["multiplier"], yerr=[s["multiplier"] - s["ci_low"], s["ci_high"] - s["multiplier"]], fmt="o-", capsize=3)
        ax.axhline(1, color="grey", lw=0.8)
        ax.set_xticks(x, s["month"])
        ax.set_title("Orders a day by month over the yearly mean (95 % CI)", loc="left", fontsize=10)
        out["seasonality"] = fig
    disp = e[e["parameter"].str.startswith("disposition_share:")]
    if len(disp):
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(disp) + 1.2), layout="constrained")
        _bars(ax, disp, [p.split(":")[1] for p in disp["parameter"]], "FBA disposition of returned units (95 % CI)")
        out["dispositions"] = fig
    lab = e[e["parameter"].str.startswith("label_cost_mean:") & (e["parameter"].str.count(":") == 2)]
    if len(lab):
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(lab) + 1.2), layout="constrained")
        _bars(ax, lab, [p.split(":", 1)[1].replace(":", ", ") for p in lab["parameter"]], "Return label cost by payer and market (95 % CI)", fmt="{:,.2f}")
        out["labels"] = fig
    return out


def _table(df: pd.DataFrame, floats: str = "{:,.4g}") -> dict[str, Any] | None:
    """A table for the template: column names and rows of text (None: no rows)."""
    if df.empty:
        return None

    def text(v: Any) -> str:
        if isinstance(v, float):
            return floats.format(v) if np.isfinite(v) else "–"
        return str(v)

    return {"columns": [str(c) for c in df.columns], "rows": [[text(v) for v in row] for row in df.itertuples(index=False)]}


def write_fit_report(cal: CalibrationData, path: str | Path, scenario_text: str | None = None, base_returns: Returns | None = None) -> Path:
    """Write the fit report as one HTML file; returns its path.

    Args:
        cal: what the reports gave.
        path: the HTML file (written whole or not at all).
        scenario_text: the scenario written from ``cal``: the page lists its fields still assumed.
        base_returns: the base scenario's delivery time and return window, for the delay figure.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    figs = figures(cal, base_returns)
    page = render(
        "returnsim.calibrate",
        "fit_report.html.j2",
        date=dt.date.today().isoformat(),
        sources=[f"{r.file} ({r.used:,} of {r.rows:,} rows used)" for r in cal.rows.itertuples()],
        classes_from=str(cal.info.get("classes_from")),
        figures=[{"title": title, "src": png(figs[key], dpi=100)} for key, title in FIGURES if key in figs],
        estimates=_table(cal.estimates),
        assumed=assumed_paths(scenario_text) if scenario_text is not None else None,
        problems=_table(cal.problems.head(MAX_PROBLEMS)),
        problems_count=len(cal.problems),
        problems_shown=MAX_PROBLEMS,
        unknown_codes=_table(cal.unknown_codes),
        notes=list(cal.notes),
    )
    return write_text_atomically(Path(path), page)
