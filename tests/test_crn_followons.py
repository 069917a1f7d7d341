"""Common random numbers reach the later purchases: a buyer whose first return went exactly the
same way under two policies makes the same later purchases (times, items, prices, reasons,
requests) under both, even though other buyers' purchases differ in number between the runs.

Counts and times come from each customer's own pre-drawn uniforms (``CustomerBook.resolve``),
not from a stream shared in settlement order, which other buyers' draws would shift. Only a
customer's purchases beyond ``FOLLOWON_SLOTS`` draw from the shared stream (documented), so
customers with more are left out.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.model.demand import FOLLOWON_SLOTS

PURCHASE = ["order_time", "item_class", "market", "price", "true_reason", "request_time"]


@pytest.fixture(scope="module")
def scenario() -> rs.Scenario:
    # More later purchases than the seed's buyers make, so that many are compared.
    return rs.load_scenario(SEED_SCENARIO, overrides={"buyer.purchases_per_year.mean": 0.5})


@pytest.mark.parametrize("other", ["giveaway_small", "cost_optimal"])
def test_a_buyer_treated_alike_makes_the_same_later_purchases(scenario, other):
    a = rs.simulate(scenario, "seed", seed=5, trace=True).trace
    b = rs.simulate(scenario, other, seed=5, trace=True).trace
    money = set(rs.CATEGORIES) | {"net_cost"}
    first_a = a[a.generation == 0].set_index("customer")
    first_b = b[b.generation == 0].set_index("customer").loc[first_a.index]
    cols = [c for c in first_a.columns if c not in money and c != "generation"]
    alike = (first_a[cols].eq(first_b[cols]) | (first_a[cols].isna() & first_b[cols].isna())).all(axis=1)
    later_a, later_b = a[a.generation == 1], b[b.generation == 1]
    # The policies must treat some buyers differently, or a shared stream would line up too.
    assert 0 < alike.sum() < len(alike)
    assert len(later_a) != len(later_b)
    few = set(alike[alike].index)
    for later in (later_a, later_b):
        n = later.customer.value_counts()
        few -= set(n[n > FOLLOWON_SLOTS].index)

    def purchases(later: pd.DataFrame) -> pd.DataFrame:
        rows = later[later.customer.isin(few)]
        return rows.sort_values(["customer", "order_time"])[["customer", *PURCHASE]].reset_index(drop=True)

    got_a, got_b = purchases(later_a), purchases(later_b)
    assert len(got_a) >= 50
    pd.testing.assert_frame_equal(got_a, got_b, check_exact=True)
