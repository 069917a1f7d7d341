"""Matplotlib figures for notebooks, the terminal and the HTML report.

Every function takes data, draws on ``ax`` if one is given (else on a new figure), and returns
the Axes; none calls ``plt.show()``, writes a file or chooses a backend, so the caller decides
where the figure goes (``ax.figure.savefig(...)``, a notebook, a report).

* :mod:`.runs`: single runs and traces (cost breakdown, response times, outcomes, late by weekday);
* :mod:`.experiments`: experiments (a metric per policy with CIs, forest plots of differences);
* :mod:`.decide`: decision studies (tornado, Sobol' indices, EVPPI, probability best, optima, Pareto).
"""

from ._style import CATEGORY_COLORS, OUTCOME_COLORS
from .decide import acceptability, evppi_bars, optimum_curve, pareto_front, sobol_bars, tornado
from .experiments import forest, kpi_bars
from .runs import cost_breakdown, late_by_weekday, outcome_mix, response_times

__all__ = [
    "cost_breakdown",
    "response_times",
    "outcome_mix",
    "late_by_weekday",
    "kpi_bars",
    "forest",
    "tornado",
    "sobol_bars",
    "evppi_bars",
    "acceptability",
    "optimum_curve",
    "pareto_front",
    "CATEGORY_COLORS",
    "OUTCOME_COLORS",
]
