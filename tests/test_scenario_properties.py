"""The property tests' scenarios: every draw validates and produces requests, and the draws cover
the model (each feature in a fair share of draws, and absent from others).

The property test itself is ``tests/test_hypothesis.py``; its invariants are only as good as the
scenarios they see. A third of its draws used to produce no request at all, which skipped every
per-request invariant; ``strategies.with_requests`` constructs requests instead, and this file
holds it to that and to its spread, without simulating anything.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from strategies import expected_requests, with_requests
from test_hypothesis import scenarios

import returnsim as rs

DRAWS = 150


def features(raw: dict[str, Any]) -> set[str]:
    sc = rs.Scenario.model_validate(raw)
    pols = list(sc.policies.values())
    rules = lambda attr: [r for p in pols for r in getattr(p, attr)]  # noqa: E731
    out = {
        "offers": any(p.offers for p in pols),
        "negotiate": any(r.payer == "negotiate" for r in rules("freight")),
        "carrier claim": any(r.payer == "carrier_claim" for r in rules("freight")),
        "cost_optimal": any(r.action == "cost_optimal" for r in rules("disposition")),
        "give_to_buyer": any(r.action == "give_to_buyer" for r in rules("disposition")),
        "abandon": any(r.action == "abandon" for r in rules("disposition")),
        "reject": any(p.reject for p in pols),
        "investigate": any(p.investigate for p in pols),
        "auto_authorise": any(p.auto_authorise for p in pols),
        "deadline discipline": any(p.discipline == "deadline" for p in pols),
        "opening hours": sc.desk.hours != "24/7",
        "several agents": sc.desk.staff > 1,
        "international buyers": sc.markets.international.share > 0,
        "addresses": bool(sc.addresses),
        "misreports": sc.returns.misreport_rate > 0,
        "out of window": sc.returns.out_of_window_rate > 0,
        "feedback into demand": sc.retention.feedback_into_demand,
        "several classes": len(sc.catalog) > 1,
        "FBA": any(c.fulfilment == "fba" for c in sc.catalog.values()) or any(p.fba_classes for p in pols),
        "stated mix": any(c.reasons_are == "stated" for c in sc.catalog.values()),
        "holiday window": sc.start_date.month >= 10,
        "desk holidays": bool(sc.desk.holidays),
        "impatient buyers": getattr(sc.buyer.patience_hours, "dist", "") == "exponential",
        "slow replies": sc.buyer.reply_hours.mean >= 20,
    }
    return {k for k, v in out.items() if v}


def test_drawn_scenarios_validate_have_requests_and_spread():
    seen: Counter[str] = Counter()
    sizes: list[float] = []

    @settings(max_examples=DRAWS, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(raw=with_requests(scenarios()))
    def draw(raw: dict[str, Any]) -> None:
        seen.update(features(raw))
        sizes.append(expected_requests(raw))

    draw()
    assert len(sizes) == DRAWS
    assert min(sizes) >= 20, "every draw expects at least 20 requests (P(none) < e^-20)"
    missing = [f for f in ALL_FEATURES if seen[f] < 0.08 * DRAWS]
    always = [f for f in ALL_FEATURES if seen[f] > 0.97 * DRAWS]
    assert not missing and not always, (missing, always, dict(seen))


ALL_FEATURES = (
    "offers", "negotiate", "carrier claim", "cost_optimal", "give_to_buyer", "abandon", "reject",
    "investigate", "auto_authorise", "deadline discipline", "opening hours", "several agents",
    "international buyers", "addresses", "misreports", "out of window", "feedback into demand",
    "several classes", "FBA", "stated mix", "holiday window", "desk holidays", "impatient buyers",
    "slow replies",
)
