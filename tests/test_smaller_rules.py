"""Issue 17 item 7, the smaller rules (docs/model.md section 7b): liquidation of seller-fulfilled
units on the seller's own terms, misreports spread over a mix of reasons, and the FBA size tier
from weight and dimensions by Amazon's table [F8]."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import minimal_raw, put
from scipy import stats

import returnsim as rs
from returnsim import amazon
from returnsim.model.ledger import ABANDON, ACTION, PAYER, RECEIPT, flows, liquidation_terms
from returnsim.model.world import OUTCOME, World


def parse(raw: dict[str, Any]) -> rs.Scenario:
    return rs.parse_scenario(raw)


def problems(raw: dict[str, Any]) -> list[Any]:
    with pytest.raises(rs.ScenarioError) as info:
        parse(raw)
    return info.value.problems


# Liquidation of seller-fulfilled units ---------------------------------------------------------


def _abandon_flows(world: World, n: int = 3, *, mode: str = "liquidate", market: int = 0) -> dict[str, np.ndarray]:
    """The money of ``n`` merchant returns of the minimal scenario's widget ($40, 2 lb) that the
    seller abandons (``mode``), refunded in full, the seller paying every label."""
    z = np.zeros(n)
    i = np.zeros(n, dtype=np.int64)
    return flows(
        world,
        item_class=i,
        market=np.full(n, market),
        price=np.full(n, 40.0),
        condition=np.full(n, 1),
        grade=np.full(n, -1),
        outcome=np.full(n, OUTCOME["returned_refund"]),
        offer_value=z,
        payer=np.full(n, PAYER["seller"]),
        ask=i,
        fee_share=z,
        fee_accepted=z,
        label_payer=np.full(n, PAYER["seller"]),
        action=np.full(n, ACTION["abandon"]),
        address=np.full(n, -1),
        abandon_mode=np.full(n, ABANDON[mode]),
        receipt=np.full(n, RECEIPT["resell"]),
        fba=np.zeros(n, dtype=bool),
        labor_hours=z,
        weeks_to_resale=z,
    )


def test_seller_fulfilled_liquidation_uses_the_sellers_terms_and_no_label():
    """An abandoned seller-fulfilled unit liquidated where it lies: the seller's recovery share of
    the price with no referral fee, the seller's fee, and no return label; Amazon's FBA terms
    (gross share less the referral fee, $0.50 a unit) are for FBA units."""
    raw = put(minimal_raw(), **{"costs.seller_liquidation": {"recovery_share": 0.12, "item_fee": 0.3}})
    world = World(parse(raw))
    f = _abandon_flows(world)
    assert np.allclose(f["recovered_value"], 40.0 * 0.12)
    assert np.allclose(f["processing_fees"], 0.3)
    assert np.allclose(f["seller_freight"], 0.0)
    # Amazon's terms apply to a fulfilled-by-Amazon unit, from the same function.
    costs = world.scenario.costs
    rec, fee, label = liquidation_terms(
        world, fba=np.array([True, False]), abandoned=np.array([True, True]),
        market=np.zeros(2, dtype=np.int64), item_class=np.zeros(2, dtype=np.int64), price=np.array([40.0, 40.0]),
    )
    assert rec[0] == pytest.approx(40.0 * costs.liquidation_recovery_share * (1 - costs.referral_rate))
    assert fee[0] == costs.liquidation_item_fee and rec[1] == pytest.approx(40.0 * 0.12) and fee[1] == 0.3
    assert (label == 0).all()
    # Disposal still buys the return label to the origin: only liquidation changed.
    d = _abandon_flows(world, mode="dispose")
    assert np.allclose(d["seller_freight"], 8.0 + 1.0 * 2.0)


def test_an_abandoned_unit_rides_the_liquidators_label():
    raw = minimal_raw(
        addresses={
            "liquidator": {
                "return_label": {"domestic": {"base": 3.0, "per_lb": 0.25}, "international": {"base": 9.0}},
                "transit_days": 3,
            }
        }
    )
    put(raw, **{"costs.seller_liquidation.address": "liquidator"})
    world = World(parse(raw))
    f = _abandon_flows(world)
    assert np.allclose(f["seller_freight"], 3.0 + 0.25 * 2.0)
    # Liquidated at receipt at the origin: the unit is already there, no second label.
    rec, fee, label = liquidation_terms(
        world, fba=np.zeros(1, dtype=bool), abandoned=np.zeros(1, dtype=bool),
        market=np.zeros(1, dtype=np.int64), item_class=np.zeros(1, dtype=np.int64), price=np.array([40.0]),
    )
    assert label[0] == 0.0


def test_a_liquidation_address_must_exist():
    raw = put(minimal_raw(), **{"costs.seller_liquidation.address": "nowhere"})
    (p,) = problems(raw)
    assert p.path == "costs.seller_liquidation.address" and p.value == "nowhere" and "unknown address" in p.expected


def test_cost_optimal_values_liquidation_as_the_ledger_books_it():
    """``cost_optimal`` choosing between the origin and abandoning to liquidation: with a high
    liquidation recovery it abandons, and the money booked for those units is the seller's terms
    (recovery share of the price, no label); with a recovery of zero it never does."""
    def run(share: float) -> Any:
        raw = minimal_raw(horizon_days=60)
        raw["policies"] = {
            "opt": {"disposition": [{"action": "cost_optimal", "candidates": ["return_to_origin", "abandon:liquidate"]}]}
        }
        put(raw, **{"costs.seller_liquidation.recovery_share": share})
        return rs.simulate(parse(raw), "opt", seed=4, trace=True).trace

    tr = run(0.9)
    ab = tr[(tr.action == "abandon") & (tr.outcome == "returned_refund")]
    assert len(ab) > 20
    assert np.allclose(ab.recovered_value, ab.price * 0.9)
    assert np.allclose(ab.seller_freight, 0.0)
    assert not (run(0.0).action == "abandon").any()


# Misreports spread over reasons -----------------------------------------------------------------


def _mis_raw(mix: Any, rate: float = 0.5) -> dict[str, Any]:
    raw = minimal_raw(horizon_days=120)
    raw["reasons"]["wrong_item"] = {"fault": "seller", "condition": {"unopened": 1.0}}
    raw["catalog"]["widget"]["reasons_are"] = "true"
    raw["returns"] = {"misreport_rate": rate, "misreport_as": mix}
    return raw


def test_misreports_follow_the_mix_within_sampling_error():
    """Misreports are stated as each reason of the mix in its share: the count stated as
    'defective' among misreports lies inside its 99.9 % binomial interval; with a single name,
    every misreport states it."""
    tr = rs.simulate(parse(_mis_raw({"defective": 0.7, "wrong_item": 0.3})), "base", seed=2, trace=True).trace
    mis = tr[tr.true_reason.astype(str) != tr.stated_reason.astype(str)]
    assert (mis.true_reason == "no_longer_needed").all()
    n = len(mis)
    assert n > 200
    lo, hi = stats.binom.interval(0.999, n, 0.7)
    assert lo <= (mis.stated_reason == "defective").sum() <= hi
    assert (mis.stated_reason == "wrong_item").sum() == n - (mis.stated_reason == "defective").sum()
    one = rs.simulate(parse(_mis_raw("wrong_item")), "base", seed=2, trace=True).trace
    assert (one[one.true_reason.astype(str) != one.stated_reason.astype(str)].stated_reason == "wrong_item").all()


def test_a_mix_keeps_which_requests_misreport():
    """The mix only changes which reason a misreporter states: the same requests, the same true
    reasons and the same requests misreport with one target or a mix (the request's own uniform
    decides both; common random numbers)."""
    a = rs.simulate(parse(_mis_raw("defective")), "base", seed=5, trace=True).trace
    b = rs.simulate(parse(_mis_raw({"defective": 0.5, "wrong_item": 0.5})), "base", seed=5, trace=True).trace
    a0, b0 = a[a.generation == 0], b[b.generation == 0]
    assert (a0.price.to_numpy() == b0.price.to_numpy()).all()
    assert (a0.true_reason.astype(str).to_numpy() == b0.true_reason.astype(str).to_numpy()).all()
    mis_a = (a0.true_reason.astype(str) != a0.stated_reason.astype(str)).to_numpy()
    mis_b = (b0.true_reason.astype(str) != b0.stated_reason.astype(str)).to_numpy()
    assert (mis_a == mis_b).all() and mis_a.sum() > 100
    assert (b0.stated_reason[mis_b] == "wrong_item").any()


def test_a_misreport_mix_names_its_errors():
    raw = _mis_raw({"defective": 0.7, "wrong_item": 0.2})
    (p,) = problems(raw)
    assert p.path == "returns.misreport_as" and "sum to 1, got 0.9" in p.expected
    raw = _mis_raw({"defective": 0.5, "no_longer_needed": 0.5})
    (p,) = problems(raw)
    assert p.path == "returns.misreport_as" and p.value == "no_longer_needed"
    assert "'no_longer_needed' is buyer fault" in p.expected


def test_the_true_mix_undoes_a_misreport_mix():
    """A stated mix: each target of the mix gives back its share of the misreports, so the true
    mix the model derives, pushed through the misreports again, is the stated one."""
    raw = minimal_raw()
    raw["reasons"]["wrong_item"] = {"fault": "seller", "condition": {"unopened": 1.0}}
    raw["catalog"]["widget"]["reasons"] = {"defective": 0.3, "wrong_item": 0.2, "no_longer_needed": 0.5}
    raw["returns"] = {"misreport_rate": 0.2, "misreport_as": {"defective": 0.75, "wrong_item": 0.25}}
    world = World(parse(raw))
    names = world.reason_names
    true = dict(zip(names, world.reason_mix[0], strict=True))
    q = 0.2
    stated_again = {
        "defective": true["defective"] + q * 0.75 * true["no_longer_needed"],
        "wrong_item": true["wrong_item"] + q * 0.25 * true["no_longer_needed"],
        "no_longer_needed": (1 - q) * true["no_longer_needed"],
    }
    for r, s in {"defective": 0.3, "wrong_item": 0.2, "no_longer_needed": 0.5}.items():
        assert stated_again[r] == pytest.approx(s)


def test_the_seed_spreads_misreports_over_a_mix():
    sc = rs.load_scenario("scenarios/seed_policies.toml")
    assert len(sc.misreport_mix("no_longer_needed")) >= 2
    assert sum(sc.misreport_mix("no_longer_needed").values()) == pytest.approx(1.0)


# Size tiers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "sides", "tier"),
    [
        (0.5, [10, 8, 0.5], "small_standard"),
        (0.5, [10, 8, 1.0], "large_standard"),  # shortest side over 0.75 in
        (1.5, None, "large_standard"),  # over 16 oz: never small standard
        (1.5, [9, 6, 3], "large_standard"),
        (12, [20, 15, 10], "large_bulky"),  # longest side over 18 in
        (5, [50, 30, 10], "extra_large_70_150"),  # dimensional weight 15000/139 = 107.9 lb
        (10, [60, 10, 10], "extra_large_0_50"),  # longest side over 59 in
        (25, None, "large_bulky"),
        (200, None, "extra_large_150_plus"),
    ],
)
def test_size_tiers_by_amazons_table(weight, sides, tier):
    assert amazon.size_tier(weight, sides) == tier


def test_a_contradicted_size_tier_is_an_error_naming_the_tables_tier():
    raw = put(minimal_raw(), **{"catalog.widget.weight_lb": 1.5, "catalog.widget.fba": {"size_tier": "small_standard"}})
    (p,) = problems(raw)
    assert p.path == "catalog.widget.fba.size_tier" and p.value == "small_standard"
    assert "large_standard" in p.expected and "[F8]" in p.expected
    raw = put(minimal_raw(), **{"catalog.widget.weight_lb": 0.5, "catalog.widget.dimensions_in": [10, 8, 0.5],
                               "catalog.widget.fba": {"size_tier": "large_standard"}})
    (p,) = problems(raw)
    assert p.path == "catalog.widget.fba.size_tier" and "gives small_standard" in p.expected
    # A tier the table agrees with, and an older oversize name for a bulky unit, are accepted.
    parse(put(minimal_raw(), **{"catalog.widget.weight_lb": 0.5, "catalog.widget.dimensions_in": [10, 8, 0.5],
                                "catalog.widget.fba": {"size_tier": "small_standard"}}))
    parse(put(minimal_raw(), **{"catalog.widget.weight_lb": 12, "catalog.widget.dimensions_in": [20, 15, 10],
                                "catalog.widget.fba": {"size_tier": "small_oversize"}}))


def test_the_derived_tier_sets_the_grade_and_resell_fee():
    """With no stated tier, a 3.35 lb class is large standard by the table, and Grade and Resell
    charges that tier's fee ($1.80, [F4]), as in Amazon's worked example [F5]."""
    sc = parse(put(minimal_raw(), **{"catalog.widget.weight_lb": 3.35, "catalog.widget.fulfilment": "fba"}))
    world = World(sc)
    assert world.fba_size_tier == ["large_standard"]
    assert amazon.grade_and_resell_recovery(30.0, "like_new", world.fba_size_tier[0], 0.15, 5.80) == pytest.approx(16.62)


def test_the_calibration_cap_weighs_each_target_of_the_mix():
    """The calibration writer's largest feasible misreport rate follows the mix: each target gets
    its share of the buyer-fault reasons' misreports, and the model refuses a rate just above the
    cap and accepts one just below (the same rule on both sides)."""
    from returnsim.calibrate.writer import feasible_misreport_rate

    raw = _mis_raw({"defective": 0.7, "wrong_item": 0.3}, rate=0.0)
    raw["catalog"]["widget"].pop("reasons_are")
    raw["catalog"]["widget"]["reasons"] = {"defective": 0.05, "wrong_item": 0.05, "no_longer_needed": 0.9}
    sc = parse(raw)
    cap = feasible_misreport_rate(dict(sc.catalog["widget"].reasons), sc)
    assert cap == pytest.approx(min(0.05 / (0.05 + 0.9 * 0.7), 0.05 / (0.05 + 0.9 * 0.3)))
    parse(put(raw, **{"returns.misreport_rate": cap * 0.99}))
    (p,) = problems(put(raw, **{"returns.misreport_rate": cap * 1.01}))
    assert p.path == "catalog.widget.reasons.defective"


def test_the_stated_reason_of_a_misreport_is_drawn_apart_from_the_other_draws():
    """Which reason of the mix a misreporter states is independent of the item's condition (drawn
    from the request's misreport uniform, not from another column): a chi-square test of
    independence of stated reason and condition among misreports does not reject at 0.1 %."""
    raw = _mis_raw({"defective": 0.7, "wrong_item": 0.3})
    raw["reasons"]["no_longer_needed"]["condition"] = {"unopened": 0.5, "opened": 0.5}
    tr = rs.simulate(parse(raw), "base", seed=8, trace=True).trace
    mis = tr[tr.true_reason.astype(str) != tr.stated_reason.astype(str)]
    table = np.array(
        [[((mis.stated_reason == r) & (mis.condition == c)).sum() for c in ("unopened", "opened")] for r in ("defective", "wrong_item")]
    )
    assert table.min() > 20
    assert stats.chi2_contingency(table).pvalue > 0.001
