"""Model rules that change decisions, each checked on a small case against what the rule says:
stated reasons, freight by destination, the calendar, FBA, escalation, Amazon's ODR."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import SEED_SCENARIO, minimal_raw
from scipy import stats

import returnsim as rs
from returnsim import amazon
from returnsim.model.calendar import Calendar
from returnsim.model.desk import OpenHours
from returnsim.model.windows import rolling_rates


def parse(raw: dict[str, Any]) -> rs.Scenario:
    return rs.parse_scenario(raw)


# Reasons calibrated as stated -------------------------------------------------------------


def test_stated_reason_shares_match_the_scenario_within_sampling_error():
    """The catalog's mix is what buyers *state*: after misreports, each stated share of a run
    lies inside its 99.9 % binomial interval around the scenario's share (a chi-square test of
    the whole mix agrees)."""
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"retention.feedback_into_demand": False})
    tr = rs.simulate(sc, "seed", seed=3, trace=True).trace
    assert (tr.stated_reason != tr.true_reason).sum() > 100  # misreports do happen
    for cname, cls in sc.catalog.items():
        g = tr[tr.item_class == cname]
        n = len(g)
        observed = g.stated_reason.astype(str).value_counts()
        expected = np.array([cls.reasons[r] for r in cls.reasons]) * n
        counts = np.array([observed.get(r, 0) for r in cls.reasons])
        assert stats.chisquare(counts, expected).pvalue > 0.001, cname
        for r, share in cls.reasons.items():
            lo, hi = stats.binom.interval(0.999, n, share)
            assert lo <= observed.get(r, 0) <= hi, (cname, r)


def test_true_mix_option_keeps_the_scenarios_shares_as_true_reasons():
    sc = rs.load_scenario(
        SEED_SCENARIO,
        overrides={"retention.feedback_into_demand": False, "catalog.apparel.reasons_are": "true"},
    )
    tr = rs.simulate(sc, "seed", seed=3, trace=True).trace
    g = tr[tr.item_class == "apparel"]
    share = (g.true_reason == "not_as_described").mean()
    lo, hi = stats.binom.interval(0.999, len(g), 0.10)
    assert lo / len(g) <= share <= hi / len(g)
    assert (g.stated_reason == "not_as_described").mean() > share + 0.03  # misreports add to it


def test_a_stated_mix_misreports_cannot_reach_is_an_error_naming_the_field():
    raw = minimal_raw()
    raw["catalog"]["widget"]["reasons"] = {"defective": 0.02, "no_longer_needed": 0.98}
    raw["returns"]["misreport_rate"] = 0.2
    with pytest.raises(rs.ScenarioError, match=r"catalog\.widget\.reasons\.defective"):
        parse(raw)


def test_misreport_default_is_valid_without_not_as_described():
    """Issue 12 item 5: a scenario that never mentions misreports, and has no reason named
    not_as_described, validates; misreporters state its first seller-fault reason."""
    raw = minimal_raw()
    raw["returns"] = {"misreport_rate": 0.1}
    sc = parse(raw)
    assert sc.returns.misreport_as is None and sc.misreport_target() == "defective"
    raw["reasons"] = {"no_longer_needed": raw["reasons"]["no_longer_needed"]}
    raw["catalog"]["widget"]["reasons"] = {"no_longer_needed": 1.0}
    assert parse(raw).misreport_target() is None  # nothing to misreport as: no misreports


# Freight by destination ---------------------------------------------------------------------


def test_freight_follows_the_parcel_across_borders():
    """Seed freight: a return that crosses a border is the seller's; an international buyer's
    buyer-fault return sent to an address in their own region is a domestic return, so the
    buyer pays its label."""
    sc = rs.load_scenario(
        SEED_SCENARIO, overrides={"horizon_days": 60, "retention.feedback_into_demand": False}
    )
    seed = rs.simulate(sc, "seed", seed=2, trace=True).trace
    hub = rs.simulate(sc, "international_to_domestic_address", seed=2, trace=True).trace
    intl_buyer = (seed.market == "international") & (seed.fault == "buyer") & (seed.outcome == "returned_refund")
    assert intl_buyer.sum() > 10
    assert (seed.buyer_label[intl_buyer] == 0).all()  # to the origin: crosses a border
    to_hub = intl_buyer & (hub.action == "return_to_address") & (hub.outcome == "returned_refund")
    fashion = hub.item_class == "apparel"
    assert (to_hub & ~fashion).sum() > 10 and (to_hub & fashion).sum() > 0
    assert (hub.buyer_label[to_hub & ~fashion] > 0).all()  # to the hub in their region: no border
    # ... and, no longer crossing a border, a fashion return is free to the buyer [A20].
    assert (hub.buyer_label[to_hub & fashion] == 0).all()


# Calendar -----------------------------------------------------------------------------------


def test_business_days_skip_weekends_and_holidays():
    cal = Calendar(dt.date(2024, 1, 1), [dt.date(2024, 1, 15)])  # t = 0 is Monday 1 January
    fri_noon = 4 * 24 + 12
    assert cal.add_business_days(np.array([fri_noon]), np.array([1.0]))[0] == pytest.approx(7 * 24 + 12)
    sat = 5 * 24 + 10
    assert cal.add_business_days(np.array([sat]), np.array([0.5]))[0] == pytest.approx(7 * 24 + 12)
    fri_before_holiday = 11 * 24 + 12  # Friday 12 January; Monday 15 is a holiday
    assert cal.add_business_days(np.array([fri_before_holiday]), np.array([1.0]))[0] == pytest.approx(15 * 24 + 12)


def test_desk_holidays_close_the_desk():
    week = OpenHours([(24 * d + 9, 24 * d + 17) for d in range(5)], holidays=[0])  # Monday off
    assert week.until_open(0.0) == pytest.approx(24 + 9)  # Monday 00:00 -> Tuesday 09:00
    assert week.open_hours_between(0, 168) == pytest.approx(32.0)
    assert week.until_open(168 + 10) == 0.0  # the next Monday is a working day


def test_holiday_orders_may_be_returned_until_january_31():
    raw = minimal_raw(horizon_days=365)
    raw["demand"]["orders_per_day"] = 30
    raw["returns"].update({"request_delay_days": {"dist": "uniform", "low": 0, "high": 80}})
    on = rs.simulate(parse(raw), "base", seed=1, trace=True).trace
    raw["returns"]["holiday_window"] = False
    off = rs.simulate(parse(raw), "base", seed=1, trace=True).trace
    def delay(tr):
        return (tr.request_time - tr.order_time) / 24

    def month(tr):
        return (pd.Timestamp("2024-01-01") + pd.to_timedelta(tr.order_time, unit="h")).dt.month

    nov = month(on) == 11
    assert delay(off)[month(off) == 11].max() <= 30 + 5 + 1e-9  # window + at most 5 delivery days
    assert delay(on)[nov].max() > 60  # returned in late January
    assert np.allclose(delay(on)[month(on) == 6], delay(off)[month(off) == 6])  # June unaffected


# Escalation and Amazon's metrics --------------------------------------------------------------


def test_buyers_who_wait_too_long_escalate_and_count_in_both_rates():
    """A closed weekend and buyers whose patience is 48 h: Friday-evening requests escalate; each
    escalation is late (RDR) and an A-to-z claim not denied (ODR), refunded at the seller's cost."""
    raw = minimal_raw(horizon_days=60)
    raw["desk"]["hours"] = {d: [9, 17] for d in ("mon", "tue", "wed", "thu", "fri")}
    raw["buyer"] = {"patience_hours": 48}
    sc = parse(raw)
    run = rs.simulate(sc, "base", seed=2, trace=True)
    tr = run.trace
    esc = tr.escalated
    assert esc.any() and run.kpis["escalation_rate"] == pytest.approx(esc.mean())
    assert np.allclose(tr.t_answer[esc] - tr.request_time[esc], 48.0)
    assert (tr.late[esc] & tr.claim_not_denied[esc] & tr.odr_defect[esc] & tr.rdr_defect[esc]).all()
    assert (tr.outcome[esc] == "claim_refund").all() and (tr.refunds[esc] == tr.price[esc]).all()
    assert tr.t_start[esc].isna().all()


def test_odr_counts_orders_with_a_defect_once():
    """ODR = orders with negative seller feedback, an A-to-z claim not denied or a chargeback,
    over all orders; returns' negative *return* feedback is RDR's, not ODR's."""
    raw = minimal_raw(horizon_days=120)
    raw["health"] = {"chargeback_rate": 0.0, "negative_seller_feedback_rate": 0.0}
    run = rs.simulate(parse(raw), "base", seed=4, trace=True)
    tr = run.trace
    by_hand = (tr.negative_seller_feedback | tr.claim_not_denied | tr.chargeback).sum()
    assert tr.negative_feedback.sum() > by_hand  # return feedback is common, not counted here
    assert run.kpis["odr"] == pytest.approx(by_hand / run.kpis["orders"])
    raw["health"] = {"chargeback_rate": 0.02, "negative_seller_feedback_rate": 0.0}
    more = rs.simulate(parse(raw), "base", seed=4).kpis["odr"]
    assert more - run.kpis["odr"] == pytest.approx(0.02, abs=0.005)  # chargebacks on every order


def test_rolling_windows_by_hand():
    # Requests on days 0..9, defects on days 8 and 9 only; 3-day windows end on days 2..9.
    t = np.repeat(np.arange(10) * 24.0 + 1, 2)
    d = np.repeat(np.arange(10) >= 8, 2)
    rates = rolling_rates(t, d, None, 3)
    assert len(rates) == 8
    assert rates.max() == pytest.approx(4 / 6) and (rates > 0).sum() == 2
    # With a denominator per day (orders) and defects not among the items (kept orders).
    rates = rolling_rates(t[:0], d[:0], np.full(10, 100.0), 5, extra=np.arange(10.0))
    assert rates.max() == pytest.approx(sum(range(5, 10)) / 500)


def test_windows_catch_a_bad_stretch_the_mean_hides():
    """The seed's RDR peaks with the holiday season's volume: its worst 60-day window is above
    its mean, and the windows' rates recomputed from the trace agree with the KPIs."""
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 365})
    run = rs.simulate(sc, "seed", seed=1, trace=True)
    k, tr = run.kpis, run.trace
    assert k["rdr_window_max"] > k["rdr"] + 0.005
    day = (tr.request_time // 24).astype(int)
    per_day = tr.groupby(day).rdr_defect.agg(["sum", "count"]).reindex(range(day.max() + 1), fill_value=0)
    num = per_day["sum"].rolling(60).sum().dropna()
    den = per_day["count"].rolling(60).sum().dropna()
    rates = (num / den)[den > 0]
    assert k["rdr_window_max"] == pytest.approx(rates.max())
    assert k["rdr_windows_over_target"] == pytest.approx((rates >= amazon.RDR_TARGET).mean())


# FBA ------------------------------------------------------------------------------------------


def test_fba_class_uses_amazons_desk_labels_and_grades():
    sc = rs.load_scenario(
        SEED_SCENARIO, overrides={"horizon_days": 90, "retention.feedback_into_demand": False}
    )
    tr = rs.simulate(sc, "move_apparel_to_fba", seed=5, trace=True).trace
    fba = tr.item_class == "apparel"
    assert (tr.fba == fba).all()
    f = tr[fba]
    assert (f.response_hours == 0).all() and (f.labor == 0).all() and not f.late.any()
    assert (f.seller_freight == 0).all() and (f.inspection == 0).all()
    assert f.grade.notna().all() and set(f.grade.astype(str)) >= {"sellable", "unsellable"}
    # Unsellable units pay the disposal fee by weight [F1] and nothing comes back; every
    # physically returned apparel unit pays the returns processing fee [F7].
    junk = f[(f.grade == "unsellable") & (f.outcome == "returned_refund")]
    assert np.allclose(junk.disposal_fees, amazon.removal_fee(0.8)) and (junk.recovered_value == 0).all()
    back = f.outcome == "returned_refund"
    assert np.allclose(f.processing_fees[back], 2.32)
    # The other classes stay with the seller's desk, which now has less work.
    seed = rs.simulate(sc, "seed", seed=5, trace=True).trace
    # (Amazon authorises most requests itself: the desk touches those it must answer or message.)
    touched = lambda t: ~t.escalated & (~t.auto_authorised | t.offer.notna())  # noqa: E731
    assert (tr.labor[~fba & touched(tr)] > 0).all() and (seed.labor[fba & touched(seed)] > 0).all()
    assert tr.response_hours[~fba].mean() <= seed.response_hours[~fba].mean()


def test_grade_and_resell_recovery_in_the_ledger():
    raw = minimal_raw(horizon_days=60)
    raw["catalog"]["widget"].update(
        {"fulfilment": "fba", "unit_cost_share": 0.9, "fba": {"size_tier": "large_standard", "fulfilment_fee": 5.80}}
    )
    raw["reasons"]["defective"]["condition"] = {"used": 1.0}
    raw["catalog"]["widget"]["reasons"] = {"defective": 1.0}
    raw["catalog"]["widget"]["price"] = 30
    raw["fba"] = {"grades": {"used": {"good": 1.0}}}
    tr = rs.simulate(parse(raw), "base", seed=1, trace=True).trace
    # Amazon's worked example: a $30 large-standard item graded Good nets $12.80 [F5]; under
    # the saved-cost rule it is credited at most its cost of goods ($27), so $12.80 stands.
    assert np.allclose(tr.recovered_value, 12.80)


def test_seed_policies_never_give_used_items_easier_freight_terms_than_unopened():
    """For every seed policy, market and buyer-stated reason, what the buyer is charged for a
    used item (whatever they answer a negotiation) is at least what an unopened one costs them."""
    from returnsim.model.freight import freight_terms
    from returnsim.model.ledger import ASK, PAYER
    from returnsim.model.world import CONDITION, World
    from returnsim.scenario.rules import RequestView

    sc = rs.load_scenario(SEED_SCENARIO)
    world = World(sc)
    reasons = np.arange(len(world.reason_names))
    n = len(reasons) * 2 * 3
    reason = np.tile(reasons, 6)
    market = np.repeat([0, 1], len(reasons) * 3)
    price = np.tile(np.repeat([5.0, 30.0, 120.0], len(reasons)), 2)

    def charged(cond: str, pol, refuse: bool) -> np.ndarray:
        view = RequestView(
            price=price,
            market=market,
            item_class=np.zeros(n, dtype=np.int64),
            reason=reason,
            true_reason=reason,
            fault=world.reason_fault[reason],
            condition=np.full(n, CONDITION[cond]),
            in_window=np.ones(n, dtype=bool),
            returned_before=np.zeros(n, dtype=bool),
        )
        t = freight_terms(world, pol, view)
        label = 10.0
        nego = t.payer == PAYER["negotiate"]
        label_paid = (t.payer == PAYER["buyer"]) | (
            nego & np.where(t.ask == ASK["freight"], not refuse, t.label_payer == PAYER["buyer"])
        )
        fee = np.where((t.payer == PAYER["buyer"]) | (nego & (t.ask == ASK["loss_fee"]) & (not refuse)), t.fee_share, 0.0)
        return label * label_paid + price * fee

    for name, pol in sc.policies.items():
        for refuse in (False, True):
            used, unopened = charged("used", pol, refuse), charged("unopened", pol, False)
            assert (used >= unopened - 1e-12).all(), (name, refuse)


def test_no_seller_decision_outside_open_hours_except_by_rules_set_in_advance():
    """Every decision the seller makes — a first answer, or acting on a buyer's answer — starts
    while the desk is open; the only decisions at other hours are a buyer accepting an offer, the
    deadline rule, Amazon stepping in for a buyer who gave up, and Amazon authorising a request
    at once (section 7b)."""
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 120})
    tr = rs.simulate(sc, "seed", seed=6, trace=True).trace
    cal = Calendar(sc.start_date, sc.desk.holidays)
    hours = OpenHours(sc.desk.hours.intervals(), cal.holiday_index)
    follow_up = sc.desk.follow_up_minutes.mean / 60  # fixed in the seed scenario

    def opened(t: float) -> bool:
        return hours.until_open(t) == 0.0

    manual = ~tr.auto_authorised
    first = ~tr.escalated & ~tr.second_touch & ~tr.lapsed & manual
    assert first.sum() > 100 and all(opened(t) for t in tr.t_start[first])
    messaged = tr.t_review.notna()  # an agent picked up the offer to an auto-authorised buyer
    assert messaged.sum() > 100 and all(opened(t) for t in tr.t_review[messaged])
    acted = tr.second_touch & (tr.t_decision == tr.t_follow)
    assert acted.sum() > 100 and all(opened(t - follow_up) for t in tr.t_follow[acted])
    # The deadline rule: a question still open at 48 h (or a late first answer that asked one)
    # authorises the return then; an insisting buyer's answer not yet acted on, at 48 h.
    decision_h = tr.t_decision - tr.request_time
    lapsed = tr.lapsed & manual
    assert lapsed.any()
    assert np.allclose(decision_h[lapsed], np.maximum(48.0, (tr.t_answer - tr.request_time)[lapsed]))
    waiting = tr.second_touch & ~tr.accepted & (tr.t_decision < tr.t_follow) & manual
    assert waiting.any() and np.allclose(decision_h[waiting], 48.0)
    # A buyer who accepts closes the request themselves, at any hour.
    accepted = tr.second_touch & tr.accepted
    assert (tr.t_decision[accepted] < tr.t_follow[accepted]).all()
    assert not all(opened(t) for t in tr.t_decision[accepted])


@pytest.mark.parametrize("reply_hours", [0.0, 4.0])
def test_a_reply_to_a_late_answer_is_no_second_touch(reply_hours):
    # The deadline rule authorises a return whose question is still open at the deadline; a
    # question first asked after it is open then, however fast the buyer replies. The desk and
    # the settlement must agree on that (they did not at reply_hours = 0: no follow-up was
    # done, yet the settlement waited for one, and the money came out NaN).
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"buyer.reply_hours": reply_hours, "horizon_days": 60})
    run = rs.simulate(sc, "seed", seed=7, trace=True)
    assert all(np.isfinite(v) for v in run.ledger.values())
    t = run.trace
    t = t[~t.auto_authorised]  # the deadline rule is the manual workflow's (section 4)
    asked = t.second_touch | t.lapsed
    late_answer = t.t_answer > t.request_time + sc.desk.late_after_hours
    assert (asked & late_answer).sum() > 0  # the case exists in this run
    assert t.t_follow[t.second_touch].notna().all()
    assert (t.lapsed == asked & (late_answer | (t.t_answer + reply_hours > t.request_time + sc.desk.late_after_hours))).all()
