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
>>> run.kpis["net_value_per_order"]                            # doctest: +SKIP
"""

__version__ = "0.1.0"

from .calibrate import Calibration, calibrate  # noqa: E402
from .decide import (  # noqa: E402
    DecideError,
    Selection,
    optimize,
    pareto,
    psa,
    select_best,
    sobol_indices,
    sweep,
    tornado,
)
from .experiment import ExperimentResult, ResultStore, run_experiment  # noqa: E402
from .model import KPI_NAMES, RunResult, simulate  # noqa: E402
from .model.ledger import CATEGORIES, COSTS, CREDITS, net_return_cost  # noqa: E402
from .output import plots  # noqa: E402
from .scenario import (  # noqa: E402
    Policy,
    Problem,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_schema,
)
from .shipped import shipped  # noqa: E402

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
    "select_best",
    "Selection",
    "sweep",
    "optimize",
    "psa",
    "tornado",
    "sobol_indices",
    "pareto",
    "DecideError",
    "shipped",
]
