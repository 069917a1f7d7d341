"""Rules decided before the goods come back may use the seller's history with the buyer: whether
they have returned something before (``when = { returned_before = true }``)."""

from __future__ import annotations

import numpy as np
from conftest import minimal_raw

import returnsim as rs


def _scenario() -> rs.Scenario:
    raw = minimal_raw(
        horizon_days=120,
        retention={"feedback_into_demand": True},
        buyer={"purchases_per_year": {"dist": "fixed", "value": 12.0}},
        policies={
            "history": {
                "disposition": [
                    {"when": {"returned_before": True}, "action": "give_to_buyer"},
                    {"action": "return_to_origin"},
                ]
            }
        },
    )
    return rs.parse_scenario(raw)


def test_returned_before_matches_exactly_the_buyers_with_an_earlier_return():
    run = rs.simulate(_scenario(), "history", seed=3, trace=True)
    tr = run.trace
    refunded = tr["outcome"].isin(["returnless_refund", "returned_refund"])
    repeat = tr["generation"].to_numpy() > 0
    assert repeat.any() and (~repeat).any()  # both kinds of buyer are present
    given = (tr["action"] == "give_to_buyer").to_numpy()
    np.testing.assert_array_equal(given[refunded.to_numpy()], repeat[refunded.to_numpy()])


def test_a_rule_for_first_time_returners_is_the_complement():
    raw = _scenario().model_dump(mode="json", by_alias=True)
    raw["policies"]["history"]["disposition"][0]["when"] = {"returned_before": False}
    run = rs.simulate(rs.parse_scenario(raw), "history", seed=3, trace=True)
    tr = run.trace
    refunded = tr["outcome"].isin(["returnless_refund", "returned_refund"]).to_numpy()
    given = (tr["action"] == "give_to_buyer").to_numpy()
    np.testing.assert_array_equal(given[refunded], (tr["generation"].to_numpy() == 0)[refunded])
