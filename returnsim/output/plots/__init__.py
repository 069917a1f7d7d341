"""Matplotlib figures for notebooks, the terminal and the HTML report.

Every function takes data, draws on ``ax`` if one is given (else on a new figure), and returns
the Axes; none calls ``plt.show()``, writes a file or chooses a backend, so the caller decides
where the figure goes (``ax.figure.savefig(...)``, a notebook, a report).

* :mod:`.runs`: single runs and traces (cost breakdown, response times, outcomes, late by weekday);
* :mod:`.experiments`: experiments (a metric per policy with CIs, forest plots of differences);
* :mod:`.desk`: the desk (Erlang C against simulation, staffing against the 48-hour rule, waits
  by weekday);
* :mod:`.economics`: give away or take back, value decay, who pays the label, the retention study;
* :mod:`.lab`: the teaching lab's dashboard;
* :mod:`.decide`: decision studies (tornado, Sobol' indices, EVPPI, probability best, optima, Pareto);
* :mod:`.screen`: the report's charts, legible on a phone and on a laptop.
"""

from ._style import CATEGORY_COLORS, OUTCOME_COLORS
from .decide import acceptability, evppi_bars, optimum_curve, pareto_front, sobol_bars, tornado
from .desk import decision_hours_by_weekday, erlang_c_curve, late_by_staff
from .economics import (
    break_even_curves,
    breakeven_vs_weeks,
    freight_vs_margin,
    giveaway_breakeven,
    study_ratios,
)
from .experiments import common_random_numbers, forest, kpi_bars
from .lab import lab_dashboard
from .runs import cost_breakdown, late_by_weekday, mean_runs, outcome_mix, response_times
from .screen import cost_chart, differences_chart, screen, tornado_chart, value_chart

__all__ = [
    "cost_breakdown",
    "mean_runs",
    "response_times",
    "outcome_mix",
    "late_by_weekday",
    "kpi_bars",
    "forest",
    "common_random_numbers",
    "erlang_c_curve",
    "late_by_staff",
    "decision_hours_by_weekday",
    "giveaway_breakeven",
    "breakeven_vs_weeks",
    "study_ratios",
    "freight_vs_margin",
    "break_even_curves",
    "lab_dashboard",
    "tornado",
    "sobol_bars",
    "evppi_bars",
    "acceptability",
    "optimum_curve",
    "pareto_front",
    "screen",
    "value_chart",
    "differences_chart",
    "cost_chart",
    "tornado_chart",
    "CATEGORY_COLORS",
    "OUTCOME_COLORS",
]
