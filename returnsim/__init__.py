"""returnsim: simulate how marketplace sellers handle return requests, and what each policy
costs and does to customer retention.

>>> import returnsim as rs
>>> sc = rs.load_scenario("scenarios/seed_policies.toml")      # doctest: +SKIP
>>> run = rs.simulate(sc, policy="seed", seed=0)               # doctest: +SKIP
>>> run.kpis["net_value_per_order"]                            # doctest: +SKIP
"""

from .experiment import ExperimentResult, run_experiment
from .loader import Problem, ScenarioError, load_scenario, parse_scenario, scenario_schema
from .model import KPI_NAMES, RunResult, simulate
from .model.ledger import CATEGORIES, COSTS, CREDITS, net_return_cost
from .scenario import Policy, Scenario

__version__ = "0.1.0"

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
    "KPI_NAMES",
    "CATEGORIES",
    "COSTS",
    "CREDITS",
    "net_return_cost",
]
