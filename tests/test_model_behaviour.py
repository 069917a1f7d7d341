"""Rules of the model checked by what they do, not by how they are coded.

Each test states a documented rule (docs/model.md) as a behaviour of runs: orders by month follow
the seasonal shares (chi-square); an investigation reveals misreports at its detection
probability (binomial interval); retained margin is what the documented margin of a kept order
gives on a case small enough to work out by hand; each buyer coefficient moves acceptance in its
documented direction, request by request (common random numbers make the same buyer face two
offers that differ only in that lever); handling times follow the scenario's distribution
(Kolmogorov-Smirnov on the trace). Statistical checks use fixed seeds; each also shows that the
same data reject the alternative a plausible bug would produce, so the test can fail.
"""

from __future__ import annotations

import calendar
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import SEED_SCENARIO, minimal_raw, put
from oracles.dists import frozen
from scipy import stats

import returnsim as rs


def parse(raw: dict[str, Any], **more: Any) -> rs.Scenario:
    return rs.parse_scenario(put(raw, **more))


def logistic(x: Any) -> Any:
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


# Seasonality -----------------------------------------------------------------------------------

SEASON = [0.5, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.4, 1.2, 1.0, 0.9, 0.7]


def test_orders_by_month_follow_the_seasonal_shares():
    """Every order is returned, so requests by order month are orders by month: their counts
    fit ``days in month x seasonality[month]`` (chi-square, p > 0.001) and reject the same shares
    shifted by a month either way (p < 1e-6)."""
    raw = minimal_raw(horizon_days=366)  # 2024, a leap year: 1 January to 31 December
    raw["demand"] = {"orders_per_day": 40, "seasonality": SEASON}
    raw["catalog"]["widget"]["return_rate"] = 1.0
    tr = rs.simulate(parse(raw), "base", seed=3, trace=True).trace
    month = (pd.Timestamp("2024-01-01") + pd.to_timedelta(tr.order_time, unit="h")).dt.month
    counts = np.bincount(month, minlength=13)[1:]
    days = np.array([calendar.monthrange(2024, m)[1] for m in range(1, 13)])

    def p_value(season: list[float]) -> float:
        expected = days * np.asarray(season)
        return float(stats.chisquare(counts, expected / expected.sum() * counts.sum()).pvalue)

    assert counts.sum() > 10_000
    assert p_value(SEASON) > 0.001
    assert p_value(list(np.roll(SEASON, 1))) < 1e-6 and p_value(list(np.roll(SEASON, -1))) < 1e-6


# Investigation ---------------------------------------------------------------------------------


def test_investigation_reveals_misreports_at_the_detection_probability():
    """Half the buyer-fault returns are misreported as defects; the desk investigates every
    seller-fault claim and reveals a misreport with probability 0.8: the share revealed lies in
    its 99.9 % binomial interval (and far from 0.2); an honest claim is never disputed; a revealed
    one goes on record with its true reason and fault."""
    raw = minimal_raw(horizon_days=200)
    raw["returns"] = {"misreport_rate": 0.5, "misreport_as": "defective"}
    raw["catalog"]["widget"]["reasons_are"] = "true"
    raw["desk"]["investigation"] = {"detect_probability": 0.8}
    raw["policies"] = {"check": {"investigate": True}}
    tr = rs.simulate(parse(raw), "check", seed=2, trace=True).trace
    misreported = tr.investigated & (tr.stated_reason != tr.true_reason)
    n, k = int(misreported.sum()), int(tr.disputed[misreported].sum())
    assert n > 200
    lo, hi = stats.binom.interval(0.999, n, 0.8)
    assert lo <= k <= hi, (k, n)
    assert not (stats.binom.interval(0.999, n, 0.2)[0] <= k <= stats.binom.interval(0.999, n, 0.2)[1])
    assert not tr.disputed[~misreported].any()
    assert (tr.investigated == (tr.stated_reason == "defective")).all()
    d = tr[tr.disputed]
    assert (d.reason == d.true_reason).all() and (d.fault == "buyer").all()


# Retained margin -------------------------------------------------------------------------------


@pytest.mark.parametrize("fba", [False, True])
def test_retained_margin_by_hand(fba: bool):
    """One $40 item (cost 50 %, 2 lb, returned half the time), a quarter of buyers abroad. With a
    multiplier that ignores satisfaction (M = 3 logistic(0.4)) and 2 purchases a year, followed
    one year, every returner is expected to buy 2M more times; each such order is worth the
    margin of a kept order: price less cost of goods (50 %), referral fee (15 %) and fulfilment
    (the outbound label on the buyer's lane, 0.75 x $6 + 0.25 x $28, and $1 of handling; or
    Amazon's $3.50 and $0.75 inbound for an FBA class), weighted by the 50 % chance it is kept.
    Of those purchases the return caused 2(M - 1), credited at the seller's share (0.4 here)."""
    raw = minimal_raw(horizon_days=60)
    raw["markets"]["domestic"]["share"], raw["markets"]["international"]["share"] = 0.75, 0.25
    raw["buyer"] = {"purchases_per_year": 2.0}
    raw["retention"] = {
        "feedback_into_demand": False,
        "follow_up_days": 365.25,
        "seller_share": 0.4,
        "repeat_multiplier": {"maximum": 3.0, "intercept": 0.4, "per_satisfaction": 0.0},
    }
    raw["policies"] = {"p": {"fba_classes": ["widget"]} if fba else {}}
    run = rs.simulate(parse(raw), "p", seed=1)
    k = run.kpis
    fulfilment = 3.50 + 0.75 if fba else 0.75 * (5 + 0.5 * 2) + 0.25 * (20 + 4 * 2) + 1.0
    margin = 0.5 * (40 * (1 - 0.5 - 0.15) - fulfilment)
    m = 3.0 * logistic(0.4)
    assert k["return_requests"] > 200
    assert k["retained_margin"] == pytest.approx(k["return_requests"] * 2 * m * margin, rel=1e-9)
    assert k["caused_margin"] == pytest.approx(0.4 * k["return_requests"] * 2 * (m - 1) * margin, rel=1e-9)
    assert k["fulfilment_cost_per_order"] == pytest.approx(fulfilment, rel=1e-12)
    assert k["cost_per_order"] == pytest.approx(k["net_return_cost"] / k["demand_orders"] + fulfilment, rel=1e-9)
    assert k["policy_profit_per_order"] == pytest.approx(
        (k["caused_margin"] - k["net_return_cost"]) / k["demand_orders"] - fulfilment, rel=1e-9
    )


def test_a_policy_fee_per_order_counts_on_every_order():
    """``per_order_fee`` is paid on every order of the store's own demand, returned or not."""
    raw = minimal_raw(horizon_days=30)
    raw["policies"] = {"p": {}, "fee": {"per_order_fee": 0.25}}
    sc = parse(raw)
    a, b = (rs.simulate(sc, p, seed=3).kpis for p in ("p", "fee"))
    assert b["fulfilment_cost_per_order"] - a["fulfilment_cost_per_order"] == pytest.approx(0.25, rel=1e-12)
    assert a["policy_profit_per_order"] - b["policy_profit_per_order"] == pytest.approx(0.25, rel=1e-9)


# The buyer's answer to an offer ----------------------------------------------------------------


def offers_raw(**more: Any) -> dict[str, Any]:
    """Defects get a troubleshooting offer, changes of mind a 20 % partial refund and everyone an
    exchange otherwise never reached; 10 idle agents answer in 10 minutes; buyers reply in 2 h."""
    raw = minimal_raw(horizon_days=90)
    raw["demand"]["orders_per_day"] = 40
    raw["desk"] = {"staff": 10, "hours": "24/7", "handling_minutes": 10, "service_quality": 0.5}
    raw["buyer"] = {"reply_hours": 2, "patience_hours": 10_000}
    raw["policies"] = {
        "p": {
            "offers": [
                {"when": {"reason": "defective"}, "kind": "troubleshoot"},
                {"when": {"reason": "no_longer_needed"}, "kind": "partial_refund", "value_share": 0.2},
            ]
        }
    }
    return put(raw, **more)


def accepted(raw: dict[str, Any], seed: int = 4) -> pd.DataFrame:
    tr = rs.simulate(rs.parse_scenario(raw), "p", seed=seed, trace=True).trace
    assert tr.generation.eq(0).all() and tr.offer.notna().all()
    return tr


def more_and_never_fewer(low: pd.Series, high: pd.Series) -> None:
    """Same buyers (common random numbers): every offer accepted under ``low`` is accepted under
    ``high``, and some more are."""
    assert not (low & ~high).any(), "a buyer accepted under the less attractive offer only"
    assert (high & ~low).sum() >= 10


def test_acceptance_rate_is_the_documented_logistic():
    """With every term of ``logit p = intercept + per_value_share v + per_day_delay days +
    per_quality q + by_reason[true reason]`` set, each offer kind's acceptance lies in its 99.9 %
    binomial interval around the formula's probability."""
    offers = {
        "troubleshoot": {"intercept": -0.4, "per_day_delay": -0.5, "per_quality": 1.2, "by_reason": {"defective": -0.7}},
        "partial_refund": {"intercept": -2.0, "per_value_share": 6.0, "per_quality": 0.4, "by_reason": {"no_longer_needed": 0.9}},
    }
    tr = accepted(offers_raw(**{"buyer.offers": offers}))
    days = 10 / 60 / 24
    for kind, reason, x in (
        ("troubleshoot", "defective", -0.4 - 0.5 * days + 1.2 * 0.5 - 0.7),
        ("partial_refund", "no_longer_needed", -2.0 + 6.0 * 0.2 + 0.4 * 0.5 + 0.9),
    ):
        g = tr[(tr.offer == kind) & (tr.true_reason == reason)]
        lo, hi = stats.binom.interval(0.999, len(g), float(logistic(x)))
        assert len(g) > 300 and lo <= g.accepted.sum() <= hi, (kind, g.accepted.mean(), float(logistic(x)))


def test_better_service_quality_wins_more_buyers():
    low = accepted(offers_raw(**{"desk.service_quality": 0.1}))
    high = accepted(offers_raw(**{"desk.service_quality": 0.9}))
    more_and_never_fewer(low.accepted, high.accepted)


def test_a_larger_partial_refund_wins_more_buyers():
    small = offers_raw()
    large = offers_raw()
    large["policies"]["p"]["offers"][1]["value_share"] = 0.4
    a, b = accepted(small), accepted(large)
    part = a.offer == "partial_refund"
    more_and_never_fewer(a.accepted[part], b.accepted[part])


def test_acceptance_shifts_by_the_buyers_true_reason():
    """An exchange offered to every request; a shift of +2 for buyers whose *true* reason is a
    change of mind raises their acceptance, including those who stated a defect, and leaves the
    others' answers unchanged."""
    def raw(shift: float) -> dict[str, Any]:
        r = offers_raw(**{"buyer.offers": {"exchange": {"intercept": -1.0, "by_reason": {"no_longer_needed": shift}}}})
        r["policies"]["p"]["offers"] = [{"kind": "exchange"}]
        r["returns"] = {"misreport_rate": 0.5, "misreport_as": "defective"}
        r["catalog"]["widget"]["reasons_are"] = "true"
        return r

    base, shifted = accepted(raw(0.0)), accepted(raw(2.0))
    mind = base.true_reason == "no_longer_needed"
    more_and_never_fewer(base.accepted[mind], shifted.accepted[mind])
    told_defect = mind & (base.stated_reason == "defective")
    assert (shifted.accepted[told_defect] & ~base.accepted[told_defect]).sum() >= 5
    pd.testing.assert_series_equal(base.accepted[~mind], shifted.accepted[~mind])


def test_waiting_makes_buyers_less_likely_to_accept():
    """The same buyers answered by an idle 24/7 desk and by one agent on weekday office hours:
    every buyer who accepts after the slower answer also accepts after the prompt one, and some
    who would have accepted a prompt offer refuse a late one (the deadline rule is off, so no offer
    lapses and only the wait differs)."""
    weekdays = {d: [9, 17] for d in ("mon", "tue", "wed", "thu", "fri")}
    prompt = accepted(offers_raw(**{"policies.p.authorise_at_deadline": False}))
    slow = accepted(offers_raw(**{"policies.p.authorise_at_deadline": False, "desk.staff": 1, "desk.hours": weekdays}))
    waited = (slow.response_hours - prompt.response_hours).to_numpy()
    assert (waited >= -1e-9).all() and (waited > 24).mean() > 0.2
    more_and_never_fewer(slow.accepted, prompt.accepted)


# Handling times --------------------------------------------------------------------------------


def test_handling_times_follow_the_scenarios_distribution():
    """On an idle 24/7 desk each first answer takes exactly its handling time: the seed's
    lognormal (mean 12 min, cv 0.6) fits them (Kolmogorov-Smirnov p > 0.001), an exponential of
    the same mean does not (p < 1e-6)."""
    sc = rs.load_scenario(
        SEED_SCENARIO,
        overrides={
            "desk.hours": "24/7",
            "desk.staff": 40,
            "horizon_days": 60,
            "retention.feedback_into_demand": False,
            "amazon.marketplace": "none",  # every request answered by the desk, none by Amazon
        },
    )
    tr = rs.simulate(sc, "seed", seed=8, trace=True).trace
    minutes = ((tr.t_answer - tr.t_start) * 60).to_numpy()
    assert len(minutes) > 1000 and not tr.investigated.any()
    d = sc.desk.handling_minutes
    assert stats.kstest(minutes, frozen(d).cdf).pvalue > 0.001
    assert stats.kstest(minutes, stats.expon(scale=d.mean).cdf).pvalue < 1e-6
    assert math.isclose(d.cv, 0.6)


# Feedback and claims -----------------------------------------------------------------------------


def test_feedback_and_claims_follow_their_documented_logistics():
    """Given each request's satisfaction score, negative return feedback has ``logit p = a + b s``
    and an A-to-z claim ``logit p = a + b s + c [negative] + d [late] + e [rejected]`` (claims
    made common here so their count is informative). Over requests grouped by whether they were
    late, the realised counts lie within 4 standard deviations of the sum of the documented
    probabilities (a normal bound on a sum of independent Bernoulli draws), and the late group's
    claims are far more than its probabilities would be with the late term's sign reversed."""
    weekdays = {d: [9, 17] for d in ("mon", "tue", "wed", "thu")}
    raw = put(minimal_raw(horizon_days=120), **{
        "desk": {"staff": 1, "hours": weekdays, "handling_minutes": 20},
        "buyer.patience_hours": 10_000,
        "retention.az_claim": {"intercept": -2.5, "per_satisfaction": -0.5, "late_response": 1.0},
    })
    tr = rs.simulate(parse(raw), "base", seed=6, trace=True).trace
    sc = parse(raw)
    fb, cl = sc.retention.negative_feedback, sc.retention.az_claim
    s = tr.satisfaction.to_numpy()
    p_neg = logistic(fb.intercept + fb.per_satisfaction * s)
    late = tr.late.to_numpy()

    def p_claim(sign: float) -> np.ndarray:
        return logistic(cl.intercept + cl.per_satisfaction * s + cl.negative_feedback * tr.negative_feedback.to_numpy()
                        + sign * cl.late_response * late + cl.rejected * tr.rejected.to_numpy())

    def within(observed: np.ndarray, p: np.ndarray) -> bool:
        return abs(observed.sum() - p.sum()) <= 4 * math.sqrt((p * (1 - p)).sum())

    assert late.mean() > 0.2 and (~late).sum() > 200 and not tr.escalated.any()
    assert within(tr.negative_feedback.to_numpy(), p_neg)
    for group in (late, ~late):
        assert within(tr.az_claim.to_numpy()[group], p_claim(1.0)[group])
    assert not within(tr.az_claim.to_numpy()[late], p_claim(-1.0)[late])


# Questions that lapse, fees on units that stay ---------------------------------------------------


def money_case(policy: dict[str, Any], **more: Any) -> pd.DataFrame:
    """Every request identical: a $40 used item of a buyer who no longer needs it, domestic."""
    raw = minimal_raw(horizon_days=60)
    raw["catalog"]["widget"]["reasons"] = {"no_longer_needed": 1.0}
    raw["reasons"]["no_longer_needed"]["condition"] = {"used": 1.0}
    raw["returns"].update({"condition_understate_rate": 0.0})
    raw["policies"] = {"p": policy}
    return rs.simulate(parse(raw, **more), "p", seed=3, trace=True).trace


NEGOTIATE = {"freight": [{"payer": "negotiate", "ask": "loss_fee", "fee_share": 0.25, "label_payer": "buyer"}]}


def test_a_fee_question_that_lapses_collects_no_fee():
    """The buyer would agree to any fee but replies after 60 h: the deadline rule authorises the
    return at 48 h without an answer, so only the label (the buyer's either way) is deducted."""
    agreeable = {"buyer.fee_acceptance": {"intercept": 50.0}}
    slow = money_case(NEGOTIATE, **agreeable, **{"buyer.reply_hours": 60})
    prompt = money_case(NEGOTIATE, **agreeable, **{"buyer.reply_hours": 2})
    label = 8.0 + 1.0 * 2.0
    assert slow.lapsed.all() and not slow.second_touch.any()
    assert np.allclose(slow.buyer_fees, label)
    assert np.allclose(prompt.buyer_fees, label + 0.25 * 40) and prompt.second_touch.all()


def test_no_fee_is_negotiated_for_a_unit_that_never_ships_back():
    """Given to the buyer, the unit comes back to no one: no question, no second touch, the
    first answer decides."""
    tr = money_case({**NEGOTIATE, "disposition": [{"action": "give_to_buyer"}]})
    assert (tr.outcome == "returnless_refund").all()
    assert not tr.second_touch.any() and (tr.t_decision == tr.t_answer).all()
    assert (tr.buyer_fees == 0).all()


# Amazon's returns processing fee -----------------------------------------------------------------


def test_fba_returns_processing_fee_is_charged_on_the_share_above_the_threshold():
    """A class returned at 40 % against a 10 % threshold: three quarters of its physically returned
    units pay the $2.96 fee, in expectation (Amazon's monthly rule [F7])."""
    raw = minimal_raw(horizon_days=30)
    raw["catalog"]["widget"].update(
        {"return_rate": 0.4, "fulfilment": "fba", "fba": {"returns_fee_threshold": 0.10, "returns_processing_fee": 2.96}}
    )
    tr = rs.simulate(parse(raw), "base", seed=2, trace=True).trace
    back = tr.outcome == "returned_refund"
    assert back.sum() > 50
    assert np.allclose(tr.processing_fees[back], 2.96 * (1 - 0.10 / 0.4))


@pytest.mark.parametrize("ask, amount", [("loss_fee", 20.0), ("freight", 10.0)])
def test_fee_acceptance_is_the_documented_logistic(ask: str, amount: float):
    """Every buyer is asked a 50 % loss fee ($20 of $40) or the $10 label: they agree with
    ``logit p = 1 - 6 x amount / price`` (the defaults), inside the 99.9 % binomial interval, and
    far from the probability with the fee's sign reversed."""
    rule = {"payer": "negotiate", "ask": ask, "fee_share": 0.5, "label_payer": "seller"}
    tr = money_case({"freight": [rule]})
    asked = tr.second_touch.to_numpy()
    agreed = int(tr.fee_accepted[asked].sum())
    p, flipped = logistic(1 - 6 * amount / 40), logistic(1 + 6 * amount / 40)
    lo, hi = stats.binom.interval(0.999, int(asked.sum()), p)
    assert asked.sum() > 200 and lo <= agreed <= hi, (agreed, asked.sum(), p)
    assert agreed < stats.binom.interval(0.999, int(asked.sum()), flipped)[0]


def test_a_stated_mix_comes_out_as_stated_even_when_many_buyers_misreport():
    """Buyers state half defects, half changes of mind, and 40 % of those who changed their mind
    say "defective": the true mix is 1/6 defects, 5/6 changes of mind, and the stated shares of a
    run lie in their 99.9 % binomial intervals around the scenario's."""
    raw = put(minimal_raw(horizon_days=60), **{"returns.misreport_rate": 0.4, "returns.misreport_as": "defective"})
    tr = rs.simulate(parse(raw), "base", seed=5, trace=True).trace
    n = len(tr)
    for column, share in (("stated_reason", 0.5), ("true_reason", 5 / 6)):
        lo, hi = stats.binom.interval(0.999, n, share)
        assert lo <= (tr[column] == "no_longer_needed").sum() <= hi, (column, (tr[column] == "no_longer_needed").mean())
