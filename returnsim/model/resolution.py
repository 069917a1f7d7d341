"""From the desk's work to a settled return: timing, receipt, money and the buyer's verdict.

The seller's pre-receipt decisions are made by :func:`~returnsim.model.plan.plan` before the desk
sees a request. Once the desk has done every touch a request needs (or the buyer has given up
waiting), :func:`resolve` takes the times the desk recorded and works out, as pure functions of
arrays: when the return was authorised or closed (the 48 h clock), whether the buyer accepted
the offer, when the unit shipped, arrived and was graded, what the second stage at receipt did
with it on its true condition, when the refund was paid (business days), the money, and the
buyer's satisfaction, feedback, claims and account-health defects. Randomness comes only from
the request's pre-drawn uniforms, realised as ``u < p``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scenario import Policy
from ..scenario.rules import RequestView
from . import buyer, retention
from .calendar import Calendar
from .columns import concat_rows, take_rows
from .demand import Requests
from .disposition import receipt_actions
from .freight import asked_amount, freight_terms
from .ledger import ABANDON, ACTION, PAYER, RECEIPT, buyer_pays, flows, return_label
from .plan import RETURNLESS, Plan, amazon_terms, destination_view
from .world import FAULT, HOURS_PER_DAY, HOURS_PER_WEEK, OFFER, OUTCOME, World, pick

__all__ = ["Resolved", "DeskTimes", "resolve"]

_NAN = float("nan")

_ACCEPTED_OUTCOME = np.full(len(OFFER) + 1, -1, dtype=np.int64)
"""The outcome of an accepted offer by ``OFFER`` code (the last entry, for -1, is never used)."""
for _kind, _outcome in (
    ("troubleshoot", "troubleshot"),
    ("partial_refund", "kept_partial_refund"),
    ("exchange", "exchanged"),
    ("replacement", "replaced"),
):
    _ACCEPTED_OUTCOME[OFFER[_kind]] = OUTCOME[_outcome]


@dataclass
class DeskTimes:
    """What the desk recorded for a batch of requests (hours from t = 0; NaN: did not happen)."""

    start: np.ndarray
    """An agent picked up the first touch."""
    answer: np.ndarray
    """The first touch was done (the first answer, or the review of an auto-authorised request)."""
    abandoned: np.ndarray
    """The buyer gave up waiting for a first answer and asked Amazon to step in."""
    follow_done: np.ndarray
    """An agent finished the second touch."""


@dataclass
class Resolved:
    """Decisions, times and money per request of a batch (same order as the batch)."""

    reason: np.ndarray
    investigated: np.ndarray
    disputed: np.ndarray
    rejected: np.ndarray
    offer: np.ndarray
    accepted: np.ndarray
    outcome: np.ndarray
    payer: np.ndarray
    fee_accepted: np.ndarray
    fee_share: np.ndarray
    """Restocking or loss fee deducted, as a share of the price (set at receipt)."""
    auto: np.ndarray
    """Auto-authorised by Amazon with a prepaid label."""
    at_desk: np.ndarray
    """The request reached the seller's desk (not FBA, not settled by a returnless rule, not
    authorised by Amazon without a message to send): what the desk's KPIs count."""
    returnless: np.ndarray
    """-1, or the returnless resolution (``plan.RETURNLESS``) that settled the request at once."""
    refund_at_first_scan: np.ndarray
    """Refunded when the carrier first scanned the parcel."""
    safet_claim: np.ndarray
    """The seller filed a SAFE-T claim for the unit received."""
    safet_granted: np.ndarray
    buyer_paid_label: np.ndarray
    buyer_label: np.ndarray
    """Return-label cost deducted from the buyer's refund (part of ``buyer_fees``)."""
    lapsed: np.ndarray
    """A question was still open at the deadline, so a rule set in advance authorised the return
    then and the offer lapsed."""
    fba: np.ndarray
    escalated: np.ndarray
    """The buyer gave up waiting for a first answer; Amazon stepped in (A-to-z claim)."""
    second_touch: np.ndarray
    """An agent acted on the buyer's answer (a second desk touch)."""
    action: np.ndarray
    address: np.ndarray
    receipt: np.ndarray
    """Second-stage action at the origin (``RECEIPT`` code; -1: none)."""
    t_start: np.ndarray
    """An agent (or a rule, for auto-authorised and FBA requests) took the request up."""
    t_review: np.ndarray
    """An agent picked up the review of an auto-authorised request (NaN for others)."""
    t_answer: np.ndarray
    t_message: np.ndarray
    """When a message went to an auto-authorised buyer (an offer), NaN otherwise."""
    t_drop_off: np.ndarray
    """When an auto-authorised buyer hands the parcel over (NaN for others): a message read
    later counts for nothing."""
    t_decision: np.ndarray
    t_follow: np.ndarray
    t_receive: np.ndarray
    t_refund: np.ndarray
    t_resolved: np.ndarray
    late: np.ndarray
    p_accept: np.ndarray
    """Probability the buyer accepted the offer (0 without one), before realisation."""
    p_fee: np.ndarray
    """Probability the buyer agreed to a negotiated fee (0 when none was asked)."""
    satisfaction: np.ndarray
    negative_feedback: np.ndarray
    """Negative *return* feedback (counts in the Return Dissatisfaction Rate)."""
    negative_seller_feedback: np.ndarray
    """Negative *seller* feedback (counts in the Order Defect Rate)."""
    az_claim: np.ndarray
    claim_not_denied: np.ndarray
    chargeback: np.ndarray
    rdr_defect: np.ndarray
    odr_defect: np.ndarray
    multiplier: np.ndarray
    labor_hours: np.ndarray
    flows: dict[str, np.ndarray] = field(repr=False)

    @staticmethod
    def concat(parts: list[Resolved]) -> Resolved:
        return concat_rows(parts)

    def take(self, idx: np.ndarray) -> Resolved:
        return take_rows(self, idx)


def resolve(
    world: World,
    policy: Policy,
    req: Requests,
    pl: Plan,
    desk: DeskTimes,
    calendar: Calendar,
) -> Resolved:
    """Settle a batch of requests whose desk work is done (see the module docstring)."""
    sc = world.scenario
    n = len(req)
    late_after = sc.desk.late_after_hours
    fba, auto = pl.fba, pl.auto
    settled = pl.returnless >= 0  # a returnless resolution, at the request
    instant = fba | auto | settled
    escalated = ~np.isnan(desk.abandoned) & ~instant
    deadline = req.request_time + late_after
    # An auto-authorised buyer has a label at once and hands the parcel over ship_h later; an
    # offer sent as a message counts only if the buyer has read it and replied by then.
    drop_off = req.request_time + req.ship_h

    # 1. The first answer: at once for FBA and auto-authorised requests (a rule, not a person);
    # when Amazon steps in for a buyer who gave up; else when the agent answered.
    t_answer = np.where(instant, req.request_time, np.where(escalated, desk.abandoned, desk.answer))
    response_h = t_answer - req.request_time
    # When the question (offer or fee) went out: with the answer, or as a message after the
    # auto-authorisation.
    t_asked = np.where(auto, desk.answer, t_answer)
    rejected = pl.rejected & ~escalated
    offer = np.where(escalated, -1, pl.offer)
    asked = pl.asked & ~escalated

    # 2. The buyer's answer, and the seller acting on it. A question still open at the deadline
    # (the reply comes later, or the first answer was already late) lets the rule set in advance
    # authorise the return then; a reply before it is a second touch, done when an agent acts.
    # The same test as the desk's (``Desk._advance``): a reply counts only if it lands by the
    # deadline, so a late first answer lapses even when the buyer replies at once (reply_h = 0).
    reply_at = t_asked + req.reply_h
    lapse_at = np.maximum(deadline, t_answer)
    lapsed = asked & ~(reply_at <= deadline) if policy.authorise_at_deadline else np.zeros(n, dtype=bool)
    lapsed = np.where(auto, asked & ~(reply_at <= drop_off), lapsed)
    p_accept = buyer.offer_acceptance(world, offer, pl.value_share, t_asked - req.request_time, req.true_reason)
    accepted = (offer >= 0) & (req.u_accept < p_accept) & ~lapsed
    second = asked & ~lapsed
    t_follow = np.where(second, desk.follow_done, _NAN)
    # An accepting buyer closes the request when they accept; an insisting one waits for the
    # seller's authorisation, which the deadline rule brings forward if the desk is slower.
    t_authorise = t_follow
    if policy.authorise_at_deadline:
        t_authorise = np.minimum(t_follow, lapse_at)
    t_decision = np.where(
        instant,
        np.where(auto & accepted, reply_at, req.request_time),
        np.where(
            escalated,
            desk.abandoned,
            np.where(lapsed, lapse_at, np.where(~second, t_answer, np.where(accepted, reply_at, t_authorise))),
        ),
    )

    # 3. The outcome, exactly one per request.
    act = pl.action
    in_place = (act == ACTION["abandon"]) & (pl.abandon_mode == ABANDON["in_place"])
    give = (act == ACTION["give_to_buyer"]) | in_place
    kept_replacement = pl.returnless == RETURNLESS["replacement"]  # a new unit, the old one kept
    reship = (accepted & ((offer == OFFER["exchange"]) | (offer == OFFER["replacement"]))) | kept_replacement
    outcome = np.where(give, OUTCOME["returnless_refund"], OUTCOME["returned_refund"])
    # An accepted offer (offer >= 0) sets the outcome by its kind: one lookup, not one pass per
    # kind.
    outcome = np.where(accepted, _ACCEPTED_OUTCOME[offer], outcome)
    outcome = np.where(kept_replacement, OUTCOME["replaced"], outcome)
    outcome = np.where(rejected, OUTCOME["rejected"], outcome)
    outcome = np.where(escalated, OUTCOME["claim_refund"], outcome)
    # (Masks used more than once are computed once: each pass is fixed cost on a batch.)
    returned = outcome == OUTCOME["returned_refund"]  # before a granted claim changes it (step 8)
    partial = outcome == OUTCOME["kept_partial_refund"]
    merchant = ~fba
    to_address = act == ACTION["return_to_address"]
    returns_item = (returned | reship) & ~give

    # 4. Freight terms and the buyer's answer to a negotiated fee.
    terms = pl.terms
    lane_addr = np.where(to_address, pl.address, -1)
    label = return_label(world, market=req.market, item_class=req.item_class, action=act, address=lane_addr, abandon_mode=pl.abandon_mode)
    # An auto-authorised return is not asked: the rule set in advance deducts the fee.
    asking = returns_item & (terms.payer == PAYER["negotiate"]) & merchant
    p_fee = buyer.fee_acceptance(world, asked_amount(terms, req.price, label), req.price)
    p_fee = np.where(auto, 1.0, p_fee)
    fee_accepted = asking & (req.u_fee < p_fee) & ~lapsed
    # A restocking fee is set at receipt, on the condition the inspection finds, and never above
    # what the marketplace lets the seller deduct for it [A13]; refunds at first scan carry none.
    # (dataclasses.replace inspects the fields on every call; a view is a plain dataclass.)
    true_view = RequestView(**{**vars(pl.view), "condition": req.condition})
    at_receipt = amazon_terms(freight_terms(world, policy, destination_view(world, true_view, lane_addr)), pl.rfs, pl.label_waived)
    fee_share = np.where(
        terms.payer == PAYER["buyer"],
        np.where(at_receipt.payer == PAYER["buyer"], at_receipt.fee_share, 0.0),
        terms.fee_share,
    )
    fee_share = np.where(fba, 0.0, np.minimum(fee_share, pick(world.restocking_cap, req.condition, req.in_window.astype(np.int64))))

    # 5. The unit's journey and the refund. The buyer ships after the authorisation (or the
    # acceptance of an exchange); FBA units go to a fulfilment centre on the market's lane.
    transit_h = world.lane_days(req.market, np.where(fba, -1, lane_addr), req.u_transit) * HOURS_PER_DAY
    t_receive = np.where(returns_item, t_decision + req.ship_h + transit_h, _NAN)
    restock_h = np.where(
        fba, req.grading_h, world.restock_days(lane_addr, req.u_restock) * HOURS_PER_DAY
    )
    refunded = returned | (outcome == OUTCOME["returnless_refund"])
    # (Receipt times are finite or NaN; np.where is several times cheaper than nan_to_num.)
    received = np.where(np.isnan(t_receive), 0.0, t_receive)
    business = calendar.add_business_days(received, req.refund_h / HOURS_PER_DAY)
    fba_refund = received + sc.fba.refund_days.mean * HOURS_PER_DAY
    t_refund = np.where(returns_item, np.where(fba, fba_refund, business), t_decision)
    # Refund at first scan: when the carrier scans the parcel, unless Amazon excludes the return
    # (by value or the buyer's history: a share, drawn with the fee uniform, which an
    # auto-authorised return never uses for a fee answer).
    rfs = (
        pl.rfs
        & returns_item
        & returned
        & ~(req.u_fee < sc.amazon.rfs_excluded_share)
    )
    t_refund = np.where(rfs, t_decision + req.ship_h, t_refund)
    t_refund = np.where(partial, t_follow, t_refund)
    t_refund = np.where(refunded | partial, t_refund, _NAN)
    weeks = np.where(returns_item, t_receive + restock_h - req.order_time, 0.0) / HOURS_PER_WEEK

    # 6. Second stage at receipt, on the true condition (FBA: Amazon's grade).
    at_origin = returns_item & merchant & (act == ACTION["return_to_origin"])
    receipt = np.where(at_origin, receipt_actions(world, policy, true_view), -1)
    # SAFE-T: a unit refunded at first scan that comes back in a condition worth a claim is
    # claimed (agent time, not queued: claims are filed in batches); Amazon grants a share of the
    # claims (drawn with the investigation uniform, which an auto-authorised request never uses).
    safet = rfs & at_origin & world.safet_condition[req.condition]
    st = sc.amazon.safet
    safet_granted = safet & (req.u_detect < st.approval_probability)
    safet_money = np.where(safet_granted, st.reimbursed_share * req.price, 0.0)

    # 7. Labour: every touch an agent did (an auto-authorised request only when a message goes
    # out).
    at_desk = ~pl.at_once
    first_touch = at_desk & ~escalated
    labor = (
        np.where(first_touch, req.handling_h + req.investigate_h * pl.investigated, 0.0)
        + np.where(second, req.follow_up_h, 0.0)
        + np.where(safet, st.file_minutes / 60.0, 0.0)
    )

    # 8. The buyer's experience, feedback, claims and account-health defects.
    decision_h = t_decision - req.request_time
    late = ((decision_h > late_after + 1e-9) | escalated) & ~instant
    # Auto-authorised: late when a buyer who took an offer waited beyond the target for the
    # seller to act on it.
    late = late | (auto & accepted & (t_follow - req.request_time > late_after + 1e-9))
    refunded_return = returns_item & returned & merchant
    pays_label, pays_fee = buyer_pays(terms.payer, terms.ask, terms.label_payer, fee_accepted)
    label_paid = refunded_return & pays_label
    fee_paid = refunded_return & pays_fee & (fee_share > 0)
    # FBA: Amazon deducts the label from a buyer-fault refund under its own policy [A10], except
    # for free fashion returns [A20].
    fba_free = world.class_free_returns[req.item_class] & req.in_window
    label_paid = label_paid | (
        fba & returned & (pl.view.fault == FAULT["buyer"]) & ~fba_free
    )
    s = retention.satisfaction(
        world,
        response_h=response_h,
        decision_h=decision_h,
        buyer_paid_label=label_paid,
        fee_share_paid=np.where(fee_paid, fee_share, 0.0),
        refund_delay_h=t_refund - req.request_time,
        outcome=outcome,
        disputed=pl.revealed,
    )
    p_negative, p_seller_negative, multiplier = retention.feedback_and_multiplier(world, s)
    negative = req.u_feedback < p_negative
    seller_negative = req.u_seller_feedback < p_seller_negative
    claim = (req.u_claim < retention.claim_probability(world, s, negative, late, rejected)) | escalated
    invalid = rejected & req.in_window
    not_denied = claim & (invalid | late | escalated)
    granted = claim & invalid
    outcome = np.where(granted, OUTCOME["claim_refund"], outcome)
    claim_refund = outcome == OUTCOME["claim_refund"]
    t_refund = np.where(
        claim_refund, t_decision + sc.retention.az_claim.refund_after_days * HOURS_PER_DAY, t_refund
    )
    t_resolved = np.where(np.isnan(t_refund), t_decision, t_refund)
    t_resolved = np.fmax(t_resolved, np.where(second, t_follow, t_resolved))
    chargeback = req.u_chargeback < sc.health.chargeback_rate

    money = flows(
        world,
        item_class=req.item_class,
        market=req.market,
        price=req.price,
        condition=req.condition,
        grade=req.grade,
        outcome=outcome,
        offer_value=pl.value_share,
        # Fulfilled by Amazon: Amazon's rules, not the seller's freight table (no carrier claim).
        payer=np.where(fba, PAYER["seller"], terms.payer),
        ask=terms.ask,
        fee_share=fee_share,
        fee_accepted=fee_accepted.astype(float),
        label_payer=terms.label_payer,
        action=act,
        address=pl.address,
        abandon_mode=pl.abandon_mode,
        receipt=np.where(receipt >= 0, receipt, RECEIPT["resell"]),
        fba=fba,
        labor_hours=labor,
        weeks_to_resale=weeks,
        safet_reimbursement=safet_money,
        # The label computed above: the ledger's own would be the same (return_label routes
        # by the action, whatever address the plan carries).
        label=label,
        # buyer_pays of the payer above: as the seller's terms, except that the seller pays
        # (nothing falls to the buyer) for FBA.
        pays=(pays_label & merchant, pays_fee & merchant),
    )
    # The label share of what the buyer paid back (for net freight reporting).
    buyer_label = np.where(label_paid & merchant, np.minimum(label, money["buyer_fees"]), 0.0)
    goods = ~rejected & ~claim_refund & (refunded | reship)
    messaged = auto & pl.asked

    return Resolved(
        reason=pl.view.reason,
        investigated=pl.investigated & ~escalated,
        disputed=pl.revealed & ~escalated,
        rejected=rejected,
        offer=offer,
        accepted=accepted,
        outcome=outcome,
        payer=np.where(fba, -1, terms.payer),
        fee_accepted=fee_accepted,
        fee_share=np.where(fee_paid, fee_share, 0.0),
        auto=auto,
        at_desk=at_desk,
        returnless=pl.returnless,
        refund_at_first_scan=rfs,
        safet_claim=safet,
        safet_granted=safet_granted,
        buyer_paid_label=label_paid,
        buyer_label=buyer_label,
        lapsed=lapsed,
        fba=fba,
        escalated=escalated,
        second_touch=second,
        action=np.where(goods, act, -1),
        address=np.where(goods & to_address, pl.address, -1),
        receipt=np.where(goods, receipt, -1),
        t_start=np.where(escalated, _NAN, np.where(auto, req.request_time, desk.start)),
        t_review=np.where(messaged, desk.start, _NAN),
        t_answer=t_answer,
        t_message=np.where(messaged, desk.answer, _NAN),
        t_drop_off=np.where(auto, drop_off, _NAN),
        t_decision=t_decision,
        t_follow=t_follow,
        t_receive=t_receive,
        t_refund=t_refund,
        t_resolved=t_resolved,
        late=late,
        p_accept=p_accept,
        p_fee=np.where(asking, p_fee, 0.0),
        satisfaction=s,
        negative_feedback=negative,
        negative_seller_feedback=seller_negative,
        az_claim=claim,
        claim_not_denied=not_denied,
        chargeback=chargeback,
        rdr_defect=negative | late | invalid,
        odr_defect=seller_negative | not_denied | chargeback,
        multiplier=multiplier,
        labor_hours=labor,
        flows=money,
    )
