"""Scenario files: what the seller's world looks like and which policies to compare.

A scenario is data, never code: a TOML file validated by the pydantic models of this package.
Modules, in the order a file is read:

* :mod:`.loader`: TOML text and ``--set`` overrides in, a validated :class:`Scenario` out;
* :mod:`.problems`: every validation error as a :class:`Problem` with its field path;
* :mod:`.schema`: the :class:`Scenario` itself and its cross-reference checks;
* :mod:`.world`: demand, markets, catalog, reasons, returns timing, costs, addresses;
* :mod:`.desk`: the seller's desk (staff, opening hours, holidays, handling times, wage);
* :mod:`.behaviour`: buyers' responses, satisfaction and retention;
* :mod:`.policy`: ordered rule tables for offers, freight, disposition and rejection;
* :mod:`.rules`: the structured ``when`` conditions those tables use;
* :mod:`.distributions`: tagged random quantities with analytic moments and inverse CDFs;
* :mod:`.fields`: shared field types and the names of offers and outcomes.
"""

from .behaviour import (
    Buyer,
    ClaimLogit,
    FeeResponse,
    Logit,
    OfferResponse,
    RepeatMultiplier,
    Retention,
    Satisfaction,
)
from .fields import ACTIONS, OFFER_KINDS, RESOLUTIONS, OfferKind, Resolution
from .loader import load_scenario, parse_override_value, parse_scenario
from .policy import DispositionRule, FreightRule, OfferRule, Policy, RejectRule, ReturnlessRule
from .problems import Problem, ScenarioError
from .rules import CONDITIONS, FAULTS, MARKETS, Condition
from .schema import Scenario, scenario_schema
from .world import Address, ItemClass, Lane, Market, Reason

__all__ = [
    "Scenario",
    "Policy",
    "load_scenario",
    "parse_scenario",
    "parse_override_value",
    "scenario_schema",
    "Problem",
    "ScenarioError",
    "ItemClass",
    "Reason",
    "Market",
    "Lane",
    "Address",
    "OfferRule",
    "FreightRule",
    "DispositionRule",
    "RejectRule",
    "ReturnlessRule",
    "Condition",
    "OFFER_KINDS",
    "RESOLUTIONS",
    "ACTIONS",
    "CONDITIONS",
    "FAULTS",
    "MARKETS",
    "OfferKind",
    "Resolution",
    "Buyer",
    "ClaimLogit",
    "FeeResponse",
    "Logit",
    "OfferResponse",
    "RepeatMultiplier",
    "Retention",
    "Satisfaction",
]
