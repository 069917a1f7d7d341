"""Shared fixtures: paths and a small, hand-checkable scenario as a raw dict."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SEED_SCENARIO = SCENARIOS / "seed_policies.toml"
MMC_SCENARIO = SCENARIOS / "validation" / "mmc_desk.toml"

_MINIMAL: dict[str, Any] = {
    "name": "minimal",
    "horizon_days": 30,
    "demand": {"orders_per_day": 20},
    "markets": {
        "domestic": {
            "share": 1.0,
            "return_label": {"base": 8.0, "per_lb": 1.0},
            "outbound_label": {"base": 5.0, "per_lb": 0.5},
            "transit_days": 4,
        },
        "international": {
            "share": 0.0,
            "return_label": {"base": 30.0, "per_lb": 5.0},
            "outbound_label": {"base": 20.0, "per_lb": 4.0},
            "transit_days": 10,
        },
    },
    "catalog": {
        "widget": {
            "share": 1.0,
            "price": 40,
            "unit_cost_share": 0.5,
            "weight_lb": 2.0,
            "return_rate": 0.5,
            "reasons": {"defective": 0.5, "no_longer_needed": 0.5},
        }
    },
    "reasons": {
        "defective": {"fault": "seller", "condition": {"opened": 1.0}},
        "damaged_in_transit": {"fault": "carrier", "condition": {"damaged": 1.0}},
        "no_longer_needed": {"fault": "buyer", "condition": {"unopened": 1.0}},
    },
    "returns": {"misreport_rate": 0.0, "misreport_as": "defective"},
    "desk": {"staff": 2, "hours": "24/7", "handling_minutes": 10},
    "retention": {"feedback_into_demand": False},
    "policies": {"base": {}},
}


def minimal_raw(**updates: Any) -> dict[str, Any]:
    """A deep copy of a small valid scenario; ``updates`` replace top-level tables."""
    raw = copy.deepcopy(_MINIMAL)
    raw.update(copy.deepcopy(updates))
    return raw


@pytest.fixture
def minimal() -> dict[str, Any]:
    return minimal_raw()
