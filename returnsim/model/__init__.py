"""The SimPy model of a seller's returns: one module per stage of a return's life.

The model knows nothing of files, the command line, executors or plots: it takes a validated
:class:`~returnsim.scenario.Scenario` and a seed, and returns numbers.
"""

from .budget import RunEstimate, RunTooLarge, estimate_run
from .simulation import KPI_NAMES, RunResult, simulate

__all__ = ["simulate", "RunResult", "KPI_NAMES", "RunTooLarge", "RunEstimate", "estimate_run"]
