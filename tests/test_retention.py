"""Retention and account health: calibration to Bower & Maxham, the complaint ladder, and the
direction of policy effects under common random numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import SCENARIOS, SEED_SCENARIO, minimal_raw
from scipy import stats

import returnsim as rs
from returnsim.model.retention import satisfaction
from returnsim.model.world import OUTCOME, World

BOWER_MAXHAM = SCENARIOS / "validation" / "bower_maxham.toml"


def ci(values, level: float = 0.95) -> tuple[float, float]:
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return x.mean() - half, x.mean() + half


@pytest.mark.slow
def test_bower_maxham_post_return_spending_ranges():
    """Published: customers who paid for their return spent 0-25 % of their pre-return
    spending over the next two years; free-return customers 158-457 %. With the default
    retention parameters, the 95 % CI of the simulated ratio lies inside each range."""
    sc = rs.load_scenario(BOWER_MAXHAM)
    ratio = {p: [rs.simulate(sc, p, seed=(17, r)).kpis["post_return_spend_ratio"] for r in range(8)] for p in sc.policies}
    lo, hi = ci(ratio["customer_pays"])
    assert 0.0 <= lo and hi <= 0.25, f"customer_pays ratio CI [{lo:.3f}, {hi:.3f}]"
    lo, hi = ci(ratio["free_returns"])
    assert 1.58 <= lo and hi <= 4.57, f"free_returns ratio CI [{lo:.3f}, {hi:.3f}]"


def test_fee_effect_holds_when_the_customer_was_at_fault():
    """Bower & Maxham: paying for the return cuts spending even when the customer caused it."""
    sc = rs.load_scenario(BOWER_MAXHAM, overrides={"horizon_days": 30})
    paid = rs.simulate(sc, "customer_pays", seed=2, trace=True).trace.query("generation == 0")
    free = rs.simulate(sc, "free_returns", seed=2, trace=True).trace.query("generation == 0")
    buyer = paid.fault == "buyer"  # the same requests under both (common random numbers)
    assert buyer.sum() > 100
    assert paid.satisfaction[buyer].mean() < free.satisfaction[buyer].mean() - 1.0


@pytest.mark.slow
def test_complaint_ladder_quick_beats_slow_beats_unresolved():
    """docs/sources.md [B5]: loyalty after a complaint is highest when resolved quickly, then when
    resolved slowly, lowest when unresolved. Same customers (common random numbers); the
    paired differences of repeat purchase rates are positive beyond their 95 % CI."""
    base = {"demand.orders_per_day": 100, "horizon_days": 60}
    weekdays = {d: [9, 17] for d in ("mon", "tue", "wed", "thu", "fri")}
    quick = rs.load_scenario(BOWER_MAXHAM, overrides=base)
    slow = rs.load_scenario(BOWER_MAXHAM, overrides={**base, "desk.staff": 1, "desk.hours": weekdays})
    unresolved = rs.load_scenario(BOWER_MAXHAM, overrides={**base, "policies.free_returns.reject": [{"when": {}}]})
    rate = {name: [] for name in ("quick", "slow", "unresolved")}
    for r in range(5):
        for name, sc in (("quick", quick), ("slow", slow), ("unresolved", unresolved)):
            rate[name].append(rs.simulate(sc, "free_returns", seed=(8, r)).kpis["repeat_purchase_rate"])
    for better, worse in (("quick", "slow"), ("slow", "unresolved")):
        lo, _ = ci(np.subtract(rate[better], rate[worse]))
        assert lo > 0, f"{better} vs {worse}: {np.mean(rate[better]):.3f} vs {np.mean(rate[worse]):.3f}"


@pytest.mark.slow
def test_fewer_staff_answer_later_and_hurt_account_health():
    """Halving the desk (same requests, same buyers) raises late responses, RDR and negative
    feedback: paired differences positive beyond their 95 % CI."""
    over = {"demand.orders_per_day": 250, "horizon_days": 120}
    two = rs.load_scenario(SEED_SCENARIO, overrides={**over, "desk.staff": 2})
    one = rs.load_scenario(SEED_SCENARIO, overrides={**over, "desk.staff": 1})
    runs = [(rs.simulate(two, "seed", seed=(6, r)).kpis, rs.simulate(one, "seed", seed=(6, r)).kpis) for r in range(5)]
    for metric in ("response_hours_mean", "late_response_rate", "rdr", "negative_feedback_rate"):
        lo, _ = ci([b[metric] - a[metric] for a, b in runs])
        assert lo > 0, metric


@pytest.mark.slow
def test_free_returns_retain_more_and_cost_more_freight_than_buyer_pays():
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 180})
    pairs = [(rs.simulate(sc, "seed", seed=(9, r)).kpis, rs.simulate(sc, "free_returns", seed=(9, r)).kpis) for r in range(5)]
    for metric in ("repeat_purchase_rate", "post_return_spend_ratio", "retained_margin"):
        lo, _ = ci([f[metric] - s[metric] for s, f in pairs])
        assert lo > 0, metric
    lo, _ = ci([f["net_freight_cost"] / f["return_requests"] - s["net_freight_cost"] / s["return_requests"] for s, f in pairs])
    assert lo > 0, "free returns should cost more freight per return"


def test_satisfaction_is_the_documented_sum():
    sc = rs.parse_scenario(minimal_raw())
    w = sc.retention.satisfaction
    s = satisfaction(
        World(sc),
        response_h=np.array([30.0, 1.0]),
        decision_h=np.array([50.0, 1.0]),
        buyer_paid_label=np.array([True, False]),
        fee_share_paid=np.array([0.2, 0.0]),
        refund_delay_h=np.array([240.0, np.nan]),
        outcome=np.array([OUTCOME["returned_refund"], OUTCOME["troubleshot"]]),
        disputed=np.array([True, False]),
    )
    first = (
        w.per_response_day * 30 / 24 + w.over_24h + w.over_48h + w.buyer_paid_freight
        + w.per_fee_share * 0.2 + w.per_refund_day * 10 + w.disputed_reason
        + w.resolution["returned_refund"]
    )
    second = w.per_response_day / 24 + w.resolution["troubleshot"]
    assert s == pytest.approx([first, second])


def reject_scenario(when: dict) -> rs.Scenario:
    raw = minimal_raw(horizon_days=60)
    raw["returns"]["out_of_window_rate"] = 0.2
    raw["policies"] = {"accept_all": {}, "reject": {"reject": [{"when": when}]}}
    return rs.parse_scenario(raw)


def test_rejecting_in_window_requests_is_invalid_and_costly():
    sc = reject_scenario({})
    ok = rs.simulate(sc, "accept_all", seed=1, trace=True)
    rej = rs.simulate(sc, "reject", seed=1, trace=True)
    tr = rej.trace
    in_window = tr.in_window
    assert rej.kpis["invalid_rejection_rate"] == pytest.approx(in_window.mean())
    assert ok.kpis["invalid_rejection_rate"] == 0.0
    # Rejected buyers file A-to-z claims far more often; granted ones are refunded at the
    # seller's cost, and only inside the window.
    assert rej.kpis["az_claim_rate"] > 5 * ok.kpis["az_claim_rate"]
    granted = tr.outcome == "claim_refund"
    assert granted.any() and (tr.in_window[granted]).all()
    assert (tr.refunds[granted] == tr.price[granted]).all()
    assert ((tr.outcome == "rejected") | granted).all()
    # RDR: return requests with negative return feedback, a late response or an invalid rejection.
    late = (tr.t_decision - tr.request_time > 48 + 1e-9) | tr.escalated
    assert rej.kpis["rdr"] == pytest.approx((tr.in_window | tr.negative_feedback | late).mean(), abs=1e-12)


def test_rejecting_only_out_of_window_requests_is_valid():
    sc = reject_scenario({"in_window": False})
    run = rs.simulate(sc, "reject", seed=1, trace=True)
    tr = run.trace
    assert (tr.outcome[~tr.in_window] == "rejected").all()
    assert run.kpis["invalid_rejection_rate"] == 0.0
    assert (tr.refunds[~tr.in_window] == 0).all()


def test_unanswered_offers_lapse_at_the_deadline():
    raw = minimal_raw(horizon_days=60)
    raw["buyer"] = {"reply_hours": {"dist": "exponential", "mean": 40}}
    raw["policies"] = {
        "lapse": {"offers": [{"kind": "troubleshoot"}]},
        "wait": {"offers": [{"kind": "troubleshoot"}], "authorise_at_deadline": False},
    }
    sc = rs.parse_scenario(raw)
    lapse = rs.simulate(sc, "lapse", seed=4, trace=True)
    wait = rs.simulate(sc, "wait", seed=4, trace=True)
    assert lapse.kpis["late_response_rate"] == 0.0
    assert wait.kpis["late_response_rate"] > 0.2
    tr = lapse.trace
    assert tr.lapsed.any() and not tr.accepted[tr.lapsed].any()
    assert np.allclose((tr.t_decision - tr.request_time)[tr.lapsed], 48.0)
