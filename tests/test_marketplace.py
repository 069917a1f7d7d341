"""Amazon's marketplace rules (scenario/marketplaces.toml) and the two regimes they imply.

Each test reads one rule off a traced run of the seed scenario in the US store (or a variant)
and checks it request by request, or a rate against the interval of the run's own count.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import ROOT, SEED_SCENARIO, minimal_raw, put
from scipy import stats

import returnsim as rs
from returnsim.analytic import expected_cost_per_return
from returnsim.scenario.marketplace import FEE_CONDITIONS, MARKETPLACES, marketplace_rules

HORIZON = 120


def _load(**overrides):
    return rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": HORIZON, **overrides})


@pytest.fixture(scope="module")
def us():
    return _load()


@pytest.fixture(scope="module")
def trace(us):
    """The seed policy in the US store, 120 days, every request traced."""
    return rs.simulate(us, "seed", seed=7, trace=True).trace


def _wilson_ok(k: int, n: int, p: float) -> bool:
    """``p`` lies inside the 99.9 % Wilson interval of k successes in n."""
    lo, hi = stats.binomtest(k, n).proportion_ci(0.999, method="wilson")
    return lo <= p <= hi


# --- the profiles ---------------------------------------------------------------------------


def test_every_profile_figure_names_a_source_that_exists():
    cited = set(re.findall(r"^\| ([A-Z]\d+) \|", (ROOT / "docs" / "sources.md").read_text(), re.M))
    for code in MARKETPLACES:
        rules = marketplace_rules(code)
        figures = set(type(rules).model_fields) - {"name", "currency", "sources"}
        set_figures = {f for f in figures if getattr(rules, f) not in (None, ())}
        assert set_figures <= set(rules.sources), (code, set_figures - set(rules.sources))
        for field, src in rules.sources.items():
            ids = re.findall(r"\b([A-Z]\d+)\b", src)
            assert ids or src.startswith("assumed"), (code, field, src)
            assert set(ids) <= cited, (code, field, set(ids) - cited)


def test_profiles_state_the_rules_the_sources_give():
    us, uk, de = (marketplace_rules(c) for c in ("US", "UK", "DE"))
    assert us.auto_authorisation == uk.auto_authorisation == de.auto_authorisation == "mandatory"
    assert (us.manual_response_hours, de.manual_response_hours) == (48, 24)
    assert "handbags" in us.free_returns_categories and "handbags" not in uk.free_returns_categories
    assert str(us.free_returns_since) == "2021-10-26" and str(uk.free_returns_since) == "2021-08-09"
    assert us.safet_claim_days == 60
    assert set(us.restocking_caps) <= set(FEE_CONDITIONS)
    assert us.restocking_cap("unopened") == 0 and us.restocking_cap("unopened", in_window=False) == 0.2
    assert us.restocking_cap("used") == 0.5


def test_a_marketplace_fills_what_the_scenario_leaves_unset():
    raw = minimal_raw()
    put(raw, **{"amazon.marketplace": "DE"})
    assert rs.parse_scenario(raw).desk.late_after_hours == 24
    put(raw, **{"desk.late_after_hours": 36})
    assert rs.parse_scenario(raw).desk.late_after_hours == 36  # a per-market override stays


def test_opting_out_where_amazon_forbids_it_is_refused_naming_the_rule():
    raw = minimal_raw()
    put(raw, **{"amazon.marketplace": "US", "policies.base.auto_authorise": False})
    with pytest.raises(rs.ScenarioError) as err:
        rs.parse_scenario(raw)
    msg = str(err.value)
    assert "policies.base.auto_authorise" in msg and "[A8, A18]" in msg and "prepaid_exempt" in msg
    put(raw, **{"amazon.marketplace": "none"})
    assert rs.parse_scenario(raw).policies["base"].auto_authorise is False


# --- who authorises -------------------------------------------------------------------------


def test_amazon_authorises_in_policy_requests_of_non_exempt_classes(us, trace):
    exempt = {n for n, c in us.catalog.items() if c.prepaid_exempt}
    assert exempt == {"electronics"}
    expected = trace.in_window & ~trace.item_class.isin(exempt) & ~trace.fba
    assert (trace.auto_authorised == expected).all()
    assert 0 < trace.auto_authorised.mean() < 1
    # The seller's desk never rejects, investigates or is late on an auto-authorised request
    # without an offer.
    auto = trace[trace.auto_authorised]
    assert not auto.rejected.any() and not auto.investigated.any() and not auto.escalated.any()
    assert (auto.response_hours == 0).all()


def test_individual_sellers_and_the_rule_free_world_authorise_themselves():
    for overrides in ({"amazon.seller_plan": "individual"}, {"amazon.marketplace": "none"}):
        t = rs.simulate(_load(**overrides), "seed", seed=7, trace=True).trace
        assert not t.auto_authorised.any(), overrides


# --- offers race the drop-off ---------------------------------------------------------------


def test_an_offer_counts_only_if_the_buyer_replies_before_dropping_the_parcel_off(trace):
    offered = trace[trace.auto_authorised & trace.offer.notna()]
    assert len(offered) > 50
    # The message goes out when an agent gets to it, after the request.
    assert (offered.t_message >= offered.request_time).all()
    won = offered[offered.accepted]
    lost = offered[offered.lapsed]
    assert len(won) and len(lost), "the seed run should show both sides of the race"
    # An accepted offer closed (the buyer's reply) no later than the drop-off.
    assert (won.t_decision <= won.t_drop_off + 1e-9).all()
    assert (won.t_decision > won.t_message).all()
    # A message sent after the drop-off can never win.
    late_message = offered[offered.t_message > offered.t_drop_off]
    assert len(late_message) and not late_message.accepted.any() and late_message.lapsed.all()
    # A lost race ships the unit: it is received and refunded like any return.
    shipped = lost[lost.outcome == "returned_refund"]
    assert len(shipped) and shipped.t_receive.notna().all()


def test_an_accepted_keep_it_offer_never_buys_a_label(trace):
    kept = trace[trace.auto_authorised & trace.outcome.isin(["kept_partial_refund", "troubleshot"])]
    assert len(kept) and (kept.seller_freight == 0).all() and kept.t_receive.isna().all()


def test_late_in_the_auto_regime_is_an_accepted_offer_the_seller_acted_on_after_the_target(us, trace):
    auto = trace[trace.auto_authorised]
    waited = auto.accepted & (auto.t_follow - auto.request_time > us.desk.late_after_hours + 1e-9)
    assert (auto.late == waited).all()


# --- refund at first scan and SAFE-T ---------------------------------------------------------


def test_refund_at_first_scan_pays_at_the_drop_off_unless_excluded(us, trace):
    returned = trace[trace.auto_authorised & (trace.outcome == "returned_refund") & trace.t_receive.notna()]
    rfs = returned[returned.refund_at_first_scan]
    assert np.allclose(rfs.t_refund, rfs.t_drop_off)
    assert (rfs.t_refund < rfs.t_receive).all()
    excluded = len(returned) - len(rfs)
    assert _wilson_ok(excluded, len(returned), us.amazon.rfs_excluded_share)
    # Never for a partial refund, a manual request or FBA.
    assert not trace[trace.outcome == "kept_partial_refund"].refund_at_first_scan.any()
    assert not trace[~trace.auto_authorised].refund_at_first_scan.any()
    # No restocking fee rides on a refund at first scan.
    assert (rfs.fee_share == 0).all()


def test_safet_claims_follow_the_inspected_condition_and_pay_into_their_own_category():
    # A whole year: enough claims for the grant rate's interval to be narrow.
    us = _load(horizon_days=365)
    trace = rs.simulate(us, "seed", seed=7, trace=True).trace
    st = us.amazon.safet
    eligible = (
        trace.refund_at_first_scan
        & (trace.action == "return_to_origin")
        & trace.condition.isin(st.conditions)
    )
    assert (trace.safet_claim == eligible).all() and eligible.sum() > 30
    claims = trace[trace.safet_claim]
    assert _wilson_ok(int(claims.safet_granted.sum()), len(claims), st.approval_probability)
    granted = claims[claims.safet_granted]
    assert np.allclose(granted.safet_reimbursements, st.reimbursed_share * granted.price)
    assert (trace[~trace.safet_granted].safet_reimbursements == 0).all()
    # Filing takes agent time: an auto request with no message works only on the claim.
    silent = claims[claims.t_message.isna() & ~claims.second_touch]
    assert np.allclose(silent.labor_hours, st.file_minutes / 60)


# --- who pays the label -----------------------------------------------------------------------


def test_no_label_is_deducted_on_in_policy_fashion_returns(us, trace):
    apparel = trace[(trace.item_class == "apparel") & trace.in_window & (trace.outcome == "returned_refund")]
    assert len(apparel) > 30 and not apparel.buyer_paid_label.any() and (apparel.buyer_fees == 0).all()
    # The same buyer-fault returns of another class pay their label.
    other = trace[(trace.item_class == "accessories") & (trace.fault == "buyer") & (trace.market == "domestic")]
    other = other[other.outcome == "returned_refund"]
    assert other.buyer_paid_label.mean() > 0.9
    # Without the marketplace rule apparel's buyer-fault returns pay it too.
    t = rs.simulate(_load(**{"amazon.marketplace": "none"}), "seed", seed=7, trace=True).trace
    a = t[(t.item_class == "apparel") & (t.fault == "buyer") & (t.market == "domestic")]
    assert a[a.outcome == "returned_refund"].buyer_paid_label.mean() > 0.5


# --- restocking fees at receipt ----------------------------------------------------------------


def test_restocking_fees_are_set_on_the_inspected_condition_within_amazons_caps():
    sc = _load(**{"policies.strict_buyer_pays.freight": [
        {"when": {"market": "international"}, "payer": "seller"},
        {"when": {"fault": "buyer", "condition": ["opened", "used", "damaged"]}, "payer": "buyer", "fee_share": 0.8},
        {"when": {"fault": "buyer"}, "payer": "buyer"},
    ]})
    t = rs.simulate(sc, "strict_buyer_pays", seed=7, trace=True).trace
    manual = t[~t.auto_authorised & ~t.fba & (t.outcome == "returned_refund") & (t.fault == "buyer")]
    manual = manual[manual.market == "domestic"]
    charged = manual[manual.fee_share > 0]
    # The fee follows the condition found at receipt, not the one stated ...
    assert charged.condition.isin(["opened", "used", "damaged"]).all()
    understated = manual[(manual.stated_condition == "unopened") & (manual.condition == "opened")]
    assert len(understated) and (understated.fee_share > 0).all()
    # ... and never exceeds what Amazon lets the seller deduct (50 %, not the rule's 80 %).
    assert len(charged) and np.allclose(charged.fee_share, 0.5)
    # Refunds at first scan carry none.
    assert (t[t.refund_at_first_scan].fee_share == 0).all()


# --- account health -----------------------------------------------------------------------------


def test_the_return_dissatisfaction_rate_counts_seller_fulfilled_returns_only():
    r = rs.simulate(_load(), "move_apparel_to_fba", seed=7, trace=True)
    t = r.trace
    assert t.fba.any()
    seller = t[~t.fba]
    assert r.kpis["rdr"] == pytest.approx(seller.rdr_defect.mean(), rel=1e-12)
    assert r.kpis["rdr"] != pytest.approx(t.rdr_defect.mean(), rel=1e-6)
    # Amazon deducts no label on its own in-policy fashion returns either [A20].
    fba_fashion = t[t.fba & t.in_window & (t.fault == "buyer") & (t.outcome == "returned_refund")]
    assert len(fba_fashion) and not fba_fashion.buyer_paid_label.any()


def test_the_closed_form_refuses_what_it_does_not_integrate(us):
    with pytest.raises(ValueError, match="marketplace = 'none'"):
        expected_cost_per_return(us, "seed")


# --- returnless resolutions (Amazon's return settings) -------------------------------------


@pytest.fixture(scope="module")
def giveaway(us):
    """giveaway_small: a returnless refund up to $25, a replacement up to $40 for damaged or
    wrong items, the item kept (scenarios/seed_policies.toml)."""
    return rs.simulate(us, "giveaway_small", seed=7, trace=True).trace


def test_returnless_rules_settle_at_the_request_and_the_buyer_keeps_the_item(us, giveaway):
    t = giveaway
    rule = t.returnless_rule.astype(object)
    refund, replace = rule == "refund", rule == "replacement"
    assert refund.sum() > 100 and replace.sum() > 10
    settled = refund | replace
    # Only in-window seller-fulfilled requests, the first matching rule on the stated reason.
    assert (t.in_window[settled]).all() and not t.fba[settled].any()
    assert (refund == (t.in_window & ~t.fba & (t.price < 25))).all()
    damaged_or_wrong = t.stated_reason.isin(["damaged_in_transit", "wrong_item"])
    assert (replace == (t.in_window & ~t.fba & (t.price >= 25) & (t.price < 40) & damaged_or_wrong)).all()
    # Settled at once, with no desk work, no offer and nothing shipped back.
    assert (t.t_decision[settled] == t.request_time[settled]).all()
    assert (t.labor[settled] == 0).all() and t.offer[settled].isna().all() and t.t_receive[settled].isna().all()
    assert (t.outcome[refund] == "returnless_refund").all() and (t.refunds[refund] == t.price[refund]).all()
    # A replacement sends a new unit (its cost and outbound label) and refunds nothing.
    r = t[replace]
    assert (r.outcome == "replaced").all() and (r.refunds == 0).all()
    share = np.array([us.catalog[c].unit_cost_share for c in r.item_class.astype(str)])
    assert np.allclose(r.replacement_units, r.price * share)
    assert (r.seller_freight > 0).all() and not t.late[settled].any()
    # Nothing reached the desk: the desk's KPIs count only the requests that did.
    assert t.wait_hours[settled].isna().all()
    k = rs.simulate(us, "giveaway_small", seed=7).kpis
    at_desk = t.wait_hours.dropna()
    assert k["desk_wait_probability"] == pytest.approx((at_desk > 1e-12).mean(), abs=1e-12)


def test_amazon_refunds_small_items_itself_only_without_a_domestic_return_address():
    """[A11]: up to the profile's $25, for sellers with no return address in the country; the
    seed seller has one, so none of its requests is settled that way."""
    with_address = rs.simulate(_load(), "seed", seed=3, trace=True).trace
    assert with_address.returnless_rule.isna().all()
    sc = _load(**{"amazon.domestic_return_address": False})
    t = rs.simulate(sc, "seed", seed=3, trace=True).trace
    cap = sc.amazon.rules.auto_returnless_max_price
    assert cap == 25.0
    auto_refund = t.returnless_rule.astype(object) == "refund"
    assert (auto_refund == (t.in_window & ~t.fba & (t.price <= cap))).all() and auto_refund.sum() > 100


def test_offer_messages_on_time_are_those_sent_within_the_marketplaces_target(us):
    run = rs.simulate(us, "seed", seed=7, trace=True)
    t = run.trace
    sent = t.t_message.notna()
    assert sent.sum() > 100 and (t.auto_authorised[sent]).all() and t.offer[sent].notna().all()
    within = (t.t_message - t.request_time)[sent] <= us.amazon.rules.message_response_hours
    assert 0 < within.mean() < 1  # the store's weekend gap makes some late
    assert run.kpis["message_on_time_rate"] == pytest.approx(within.mean(), abs=1e-12)
