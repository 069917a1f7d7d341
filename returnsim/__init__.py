"""returnsim: simulate how marketplace sellers handle return requests, and what each policy
costs and does to customer retention.

The package follows the flow of the data (``docs/architecture.md``):
:mod:`returnsim.scenario` (files in, a validated :class:`Scenario` out) ->
:mod:`returnsim.model` (one replication, :func:`simulate`) ->
:mod:`returnsim.experiment` (replications with common random numbers, executors, the results
store, statistics) -> :mod:`returnsim.decide` (selection with a guarantee, sweeps, sensitivity,
value of information, optimisation) -> :mod:`returnsim.output` (tables, plots, report), with
:mod:`returnsim.cli` on top.

>>> import returnsim as rs
>>> sc = rs.load_scenario("scenarios/seed_policies.toml")      # doctest: +SKIP
>>> run = rs.simulate(sc, policy="seed", seed=0)               # doctest: +SKIP
>>> run.kpis["policy_profit_per_order"]                            # doctest: +SKIP
"""

__version__ = "0.1.0"

import sys
import types
from typing import TYPE_CHECKING, Any

from ._lazy import lazy_names
from .shipped import shipped  # light, and shares its name with the module returnsim.shipped

if TYPE_CHECKING:
    from .calibrate import Calibration, calibrate
    from .decide import (  # type: ignore[no-redef]
        DecideError,
        DeskFix,
        Selection,
        desk_fix,
        feasible,
        optimize,
        pareto,
        psa,
        select_best,
        sobol_indices,
        sweep,
        tornado,
    )
    from .experiment import ExperimentResult, ResultStore, run_experiment
    from .model import KPI_NAMES, RunResult, simulate
    from .model.ledger import CATEGORIES, COSTS, CREDITS, net_return_cost
    from .output import plots
    from .replay import ReplayResult, replay
    from .scenario import (
        Policy,
        Problem,
        Scenario,
        ScenarioError,
        load_scenario,
        parse_scenario,
        scenario_schema,
    )
    from .shipped import shipped

# Names load on first use (PEP 562): `import returnsim` and the `returnsim` command's start-up stay
# quick, and a command pays only for the parts it uses (scipy, pandas, matplotlib, pydantic).
_LAZY = {
    "Calibration": "calibrate", "calibrate": "calibrate",
    "DecideError": "decide", "Selection": "decide", "optimize": "decide", "pareto": "decide",
    "psa": "decide", "select_best": "decide", "sobol_indices": "decide", "sweep": "decide",
    "tornado": "decide", "desk_fix": "decide", "DeskFix": "decide", "feasible": "decide",
    "ExperimentResult": "experiment", "ResultStore": "experiment", "run_experiment": "experiment",
    "KPI_NAMES": "model", "RunResult": "model", "simulate": "model",
    "CATEGORIES": "model.ledger", "COSTS": "model.ledger", "CREDITS": "model.ledger",
    "net_return_cost": "model.ledger",
    "plots": "output",
    "replay": "replay", "ReplayResult": "replay",
    "Policy": "scenario", "Problem": "scenario", "Scenario": "scenario", "ScenarioError": "scenario",
    "load_scenario": "scenario", "parse_scenario": "scenario", "scenario_schema": "scenario",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


class _Package(types.ModuleType):
    """``returnsim``, whose function ``calibrate`` shares its name with the subpackage
    ``returnsim.calibrate``: importing the subpackage sets the package's attribute to it, which
    would hide the function. The property keeps ``rs.calibrate`` the function (as the eager
    imports of earlier releases did), and ignores the import system's assignment."""

    @property
    def calibrate(self) -> Any:
        from .calibrate.calibration import calibrate

        return calibrate

    @calibrate.setter
    def calibrate(self, value: Any) -> None:
        pass  # the subpackage stays reachable through sys.modules, as `from returnsim.calibrate import ...`

    @property
    def replay(self) -> Any:
        from .replay.run import replay

        return replay

    @replay.setter
    def replay(self, value: Any) -> None:
        pass  # likewise for `returnsim.replay` (the subpackage) and `rs.replay` (the function)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "__version__",
    "Scenario",
    "Policy",
    "load_scenario",
    "parse_scenario",
    "scenario_schema",
    "ScenarioError",
    "Problem",
    "simulate",
    "RunResult",
    "run_experiment",
    "ExperimentResult",
    "ResultStore",
    "KPI_NAMES",
    "CATEGORIES",
    "COSTS",
    "CREDITS",
    "net_return_cost",
    "plots",
    "calibrate",
    "Calibration",
    "replay",
    "ReplayResult",
    "select_best",
    "Selection",
    "sweep",
    "optimize",
    "psa",
    "tornado",
    "sobol_indices",
    "pareto",
    "DecideError",
    "feasible",
    "desk_fix",
    "DeskFix",
    "shipped",
]
