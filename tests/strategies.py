"""Hypothesis strategies for scenarios that produce return requests, spread over the model.

``with_requests(base)`` takes any strategy of raw scenario dicts (``test_hypothesis.scenarios()``)
and *constructs* requests rather than filtering for them: at least one class is returned, and
demand is set so that the expected number of requests is drawn from 20-300 (P(no request) is
below e^-20). It also spreads draws over parts of the model a bare random scenario rarely
reaches: fulfilment by Amazon (a class, or a policy moving classes), reason mixes read as
*stated* (whenever a mix can hold its misreports), start dates whose horizon crosses Amazon's
holiday return window and the new year, desk holidays, impatient buyers who escalate, and slow
replies that lapse at the deadline. Every draw still validates (``tests/test_scenario_properties``
checks that, and how often each feature occurs).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from hypothesis import strategies as st

import returnsim as rs

START_DATES = (dt.date(2024, 1, 1), dt.date(2024, 10, 28), dt.date(2024, 12, 16))
"""Mondays: plain, a horizon running into November's holiday window, one crossing the new year."""


def expected_requests(raw: dict[str, Any]) -> float:
    """Expected return requests of the scenario's own demand (seasonality is not drawn here)."""
    classes = raw["catalog"].values()
    total = sum(c["share"] for c in classes)
    rho = sum(c["share"] * c["return_rate"] for c in classes) / total
    season = raw["demand"].get("seasonality")
    mean_season = sum(season) / len(season) if season else 1.0
    return raw["demand"]["orders_per_day"] * mean_season * raw["horizon_days"] * rho


def _valid(raw: dict[str, Any]) -> bool:
    try:
        rs.Scenario.model_validate(raw)
    except Exception:  # noqa: BLE001 - any validation problem means "not this variant"
        return False
    return True


@st.composite
def with_requests(draw: Any, base: st.SearchStrategy[dict[str, Any]], low: int = 20, high: int = 300) -> dict[str, Any]:
    """A scenario of ``base`` made to produce requests and spread over the model (module doc)."""
    raw = copy.deepcopy(draw(base))
    catalog = raw["catalog"]
    names = sorted(catalog)
    if all(catalog[c]["return_rate"] == 0 for c in names):
        catalog[draw(st.sampled_from(names))]["return_rate"] = draw(st.sampled_from([0.05, 0.2, 0.6]))
    target = draw(st.integers(low, high))
    per_day = target / expected_requests({**raw, "demand": {"orders_per_day": 1.0}})
    raw["demand"]["orders_per_day"] = round(per_day, 3) + 0.001

    start = draw(st.sampled_from(START_DATES))
    raw["start_date"] = start.isoformat()
    if draw(st.booleans()):
        days = draw(st.lists(st.integers(0, raw["horizon_days"] + 10), min_size=1, max_size=3, unique=True))
        raw["desk"]["holidays"] = [(start + dt.timedelta(days=d)).isoformat() for d in days]
    buyer = raw.setdefault("buyer", {})
    if draw(st.integers(0, 3)) == 0:
        buyer["patience_hours"] = {"dist": "exponential", "mean": draw(st.sampled_from([2.0, 12.0, 60.0]))}
    if draw(st.integers(0, 3)) == 0:
        buyer["reply_hours"] = {"dist": "lognormal", "mean": draw(st.sampled_from([20.0, 40.0])), "cv": 1.0}

    # Fulfilled by Amazon: a class of the catalog, or a policy that moves classes there.
    how = draw(st.sampled_from(["none", "none", "class", "policy"]))
    if how == "class":
        catalog[draw(st.sampled_from(names))]["fulfilment"] = "fba"
    elif how == "policy":
        policy = draw(st.sampled_from(sorted(raw["policies"])))
        raw["policies"][policy]["fba_classes"] = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))

    # Reason mixes as stated (the default for real scenarios) wherever they can hold misreports.
    for name in names:
        if draw(st.booleans()):
            trial = copy.deepcopy(raw)
            trial["catalog"][name]["reasons_are"] = "stated"
            if _valid(trial):
                raw = trial
    return raw
