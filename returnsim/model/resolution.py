"""From a first answer to a settled return: the decision chain for a batch of requests.

Given when each request was picked up and answered, :func:`resolve` applies the policy in the
order a seller works: investigate the stated reason, reject or make an offer, let the buyer
accept or insist, decide who pays the label (negotiating where the rule says so), decide what
happens to the goods, then time the shipment and refund, book the money and score the buyer's
experience. Every step is a pure function of arrays; randomness comes only from the request's
pre-drawn uniforms, realised as ``u < p``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..scenario import Policy
from ..scenario.rules import RequestView, first_match
from . import buyer, retention
from .demand import Requests
from .disposition import Option, choose_disposition
from .freight import asked_amount, freight_terms
from .ledger import ACTION, ASK, PAYER, flows, net_cost_per_request
from .world import FAULT, HOURS_PER_DAY, HOURS_PER_WEEK, OFFER, OUTCOME, World

__all__ = ["Resolved", "resolve", "investigated_mask"]

_NAN = float("nan")


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
    buyer_paid_label: np.ndarray
    buyer_label: np.ndarray
    """Return-label cost deducted from the buyer's refund (part of ``buyer_fees``)."""
    lapsed: np.ndarray
    """The buyer had not answered by the deadline, so the seller authorised the return."""
    action: np.ndarray
    address: np.ndarray
    t_start: np.ndarray
    t_answer: np.ndarray
    t_decision: np.ndarray
    t_refund: np.ndarray
    t_resolved: np.ndarray
    late: np.ndarray
    p_accept: np.ndarray
    """Probability the buyer accepted the offer (0 without one), before realisation."""
    p_fee: np.ndarray
    """Probability the buyer agreed to a negotiated fee (0 when none was asked)."""
    satisfaction: np.ndarray
    negative_feedback: np.ndarray
    az_claim: np.ndarray
    multiplier: np.ndarray
    flows: dict[str, np.ndarray] = field(repr=False)

    @staticmethod
    def concat(parts: list[Resolved]) -> Resolved:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(Resolved):
            if f.name == "flows":
                keys = parts[0].flows.keys()
                out["flows"] = {k: np.concatenate([p.flows[k] for p in parts]) for k in keys}
            else:
                out[f.name] = np.concatenate([getattr(p, f.name) for p in parts])
        return Resolved(**out)

    def take(self, idx: np.ndarray) -> Resolved:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(Resolved):
            v = getattr(self, f.name)
            out[f.name] = {k: a[idx] for k, a in v.items()} if f.name == "flows" else v[idx]
        return Resolved(**out)


def investigated_mask(world: World, policy: Policy, req: Requests) -> np.ndarray:
    """Requests whose stated reason the desk checks (seller-fault claims, when investigating)."""
    if not policy.investigate or policy.auto_authorise:
        return np.zeros(len(req), dtype=bool)
    return world.reason_fault[req.stated_reason] == FAULT["seller"]


def resolve(
    world: World, policy: Policy, req: Requests, t_start: np.ndarray, t_answer: np.ndarray
) -> Resolved:
    """Apply ``policy`` to answered requests. Times in hours from t = 0."""
    sc = world.scenario
    n = len(req)
    auto = policy.auto_authorise

    # 1. The real reason: an investigation may reveal a misreport.
    investigated = investigated_mask(world, policy, req)
    revealed = (
        investigated
        & (req.stated_reason != req.true_reason)
        & (req.u_detect < sc.desk.investigation.detect_probability)
    )
    reason = np.where(revealed, req.true_reason, req.stated_reason)
    view = RequestView(
        price=req.price,
        market=req.market,
        item_class=req.item_class,
        reason=reason,
        true_reason=req.true_reason,
        fault=world.reason_fault[reason],
        condition=req.condition,
        in_window=req.in_window,
    )

    # 2. Reject, or make the targeted offer; the buyer accepts or insists.
    rejected = first_match([r.when for r in policy.reject], view, world.codes) >= 0
    offer = np.full(n, -1, dtype=np.int64)
    value_share = np.zeros(n)
    if not auto and policy.offers:
        hit = first_match([o.when for o in policy.offers], view, world.codes)
        kinds = np.array([OFFER[o.kind] for o in policy.offers])
        values = np.array([o.value_share for o in policy.offers])
        has = (hit >= 0) & ~rejected
        offer[has] = kinds[hit[has]]
        value_share[has] = values[hit[has]]
    response_h = t_answer - req.request_time
    p_accept = buyer.offer_acceptance(world, offer, value_share, response_h, req.true_reason)
    accepted = (offer >= 0) & (req.u_accept < p_accept)

    # 3. Who pays the label, and 4. what happens to the goods.
    terms = freight_terms(world, policy, view)
    mean_reply_h = 0.0 if auto else sc.buyer.reply_hours.mean
    mean_ship_h = sc.returns.ship_days.mean * HOURS_PER_DAY

    def value(sel: np.ndarray, options: list[Option]) -> np.ndarray:
        """Expected net value (options x selected requests) of handling the selected
        authorised returns with each option. One stacked ``flows`` call: row blocks are
        (fee accepted, option) pairs, because a negotiated fee is accepted with probability
        ``p_fee`` and the expectation weights both answers."""
        idx = np.flatnonzero(sel)
        m, k = len(idx), len(options)
        rows = np.tile(idx, 2 * k)
        opt = np.tile(np.repeat(np.arange(k), m), 2)
        fee_yes = np.repeat([1.0, 0.0], k * m)
        action = np.array([o.action for o in options])[opt]
        address = np.array([o.address for o in options])[opt]
        liquidate = np.array([o.liquidate for o in options])[opt]
        outcome = np.where(
            action == ACTION["give_to_buyer"], OUTCOME["returnless_refund"], OUTCOME["returned_refund"]
        )
        lane_addr = np.where(action == ACTION["return_to_address"], address, -1)
        market, item_class, price = req.market[rows], req.item_class[rows], req.price[rows]
        label = world.lane_label(market, world.weight_lb[item_class], lane_addr)
        sub = terms.take(rows)
        asking = sub.payer == PAYER["negotiate"]
        p_fee = buyer.fee_acceptance(world, asked_amount(sub, price, label), price)
        reply = np.where(asking | (offer[rows] >= 0), mean_reply_h, 0.0)
        transit = world.lane_days(market, lane_addr, np.full(len(rows), _NAN))
        restock = world.restock_days(lane_addr, np.full(len(rows), _NAN))
        weeks = (
            t_answer[rows] + reply + mean_ship_h + (transit + restock) * HOURS_PER_DAY - req.order_time[rows]
        ) / HOURS_PER_WEEK
        cost = net_cost_per_request(
            flows(
                world,
                item_class=item_class,
                market=market,
                price=price,
                condition=req.condition[rows],
                outcome=outcome,
                offer_value=np.zeros(len(rows)),
                payer=sub.payer,
                ask=sub.ask,
                fee_share=sub.fee_share,
                fee_accepted=fee_yes,
                action=action,
                address=address,
                liquidate=liquidate,
                labor_hours=np.zeros(len(rows)),
                weeks_to_resale=weeks,
            )
        )
        cost = np.where(np.isnan(label), np.nan, cost)  # an address with no lane from here
        yes, no = cost[: k * m].reshape(k, m), cost[k * m :].reshape(k, m)
        p = p_fee[: k * m].reshape(k, m)
        expected = np.where(asking[: k * m].reshape(k, m), p * yes + (1 - p) * no, no)
        return -expected

    disp = choose_disposition(world, policy, view, value)

    # 5. The buyer's answer. A question (an offer, or a fee to negotiate on a return that would
    # come back) waits for the buyer's reply; a seller who authorises at the deadline lets an
    # unanswered offer lapse rather than answer late (Amazon's clock stops at authorisation).
    give = disp.action == ACTION["give_to_buyer"]
    negotiable = (terms.payer == PAYER["negotiate"]) & ~give
    asked = ~rejected & ((offer >= 0) | negotiable)
    if auto:
        asked[:] = False  # prepaid labels: authorised at once, fees deducted without asking
    deadline = req.request_time + sc.desk.late_after_hours
    reply_at = t_answer + req.reply_h
    lapsed = asked & (t_answer <= deadline) & (reply_at > deadline)
    if not policy.authorise_at_deadline:
        lapsed[:] = False
    accepted &= ~lapsed
    t_decision = np.where(lapsed, deadline, np.where(asked, reply_at, t_answer))

    # 6. The outcome, exactly one per request.
    reship = accepted & ((offer == OFFER["exchange"]) | (offer == OFFER["replacement"]))
    outcome = np.where(give, OUTCOME["returnless_refund"], OUTCOME["returned_refund"])
    outcome = np.where(accepted & (offer == OFFER["troubleshoot"]), OUTCOME["troubleshot"], outcome)
    outcome = np.where(accepted & (offer == OFFER["partial_refund"]), OUTCOME["kept_partial_refund"], outcome)
    outcome = np.where(accepted & (offer == OFFER["exchange"]), OUTCOME["exchanged"], outcome)
    outcome = np.where(accepted & (offer == OFFER["replacement"]), OUTCOME["replaced"], outcome)
    outcome = np.where(rejected, OUTCOME["rejected"], outcome)
    returns_item = ((outcome == OUTCOME["returned_refund"]) | reship) & ~give

    lane_addr = np.where(disp.action == ACTION["return_to_address"], disp.address, -1)
    label = world.lane_label(req.market, world.weight_lb[req.item_class], lane_addr)
    asking = returns_item & (terms.payer == PAYER["negotiate"])
    p_fee = buyer.fee_acceptance(world, asked_amount(terms, req.price, label), req.price)
    fee_accepted = asking & (req.u_fee < p_fee) & ~lapsed
    transit_h = world.lane_days(req.market, lane_addr, req.u_transit) * HOURS_PER_DAY
    restock_h = world.restock_days(lane_addr, req.u_restock) * HOURS_PER_DAY
    t_receive = np.where(returns_item, t_decision + req.ship_h + transit_h, _NAN)
    refunded = (outcome == OUTCOME["returned_refund"]) | (outcome == OUTCOME["returnless_refund"])
    t_refund = np.where(returns_item, t_receive + req.refund_h, t_decision)
    t_refund = np.where(refunded | (outcome == OUTCOME["kept_partial_refund"]), t_refund, _NAN)
    weeks = np.where(returns_item, t_receive + restock_h - req.order_time, 0.0) / HOURS_PER_WEEK
    if auto:
        labor = np.zeros(n)
    else:
        labor = req.handling_h + req.investigate_h * investigated + req.follow_up_h * asked

    # 7. The buyer's experience, then A-to-z claims: a claim on a request rejected inside the
    # window (an invalid rejection) is granted, and Amazon refunds the buyer at the seller's cost.
    decision_h = t_decision - req.request_time
    late = (decision_h > sc.desk.late_after_hours) & ~lapsed  # (a lapse is exactly on time)
    buyer_payer = terms.payer == PAYER["buyer"]
    label_paid = returns_item & (buyer_payer | (fee_accepted & (terms.ask == ASK["freight"])))
    fee_paid = returns_item & (buyer_payer | (fee_accepted & (terms.ask == ASK["loss_fee"])))
    s = retention.satisfaction(
        world,
        response_h=response_h,
        decision_h=decision_h,
        buyer_paid_label=label_paid,
        fee_share_paid=np.where(fee_paid, terms.fee_share, 0.0),
        refund_delay_h=t_refund - req.request_time,
        outcome=outcome,
        disputed=revealed,
    )
    negative = req.u_feedback < retention.negative_feedback_probability(world, s)
    claim = req.u_claim < retention.claim_probability(world, s, negative, late, rejected)
    granted = claim & rejected & req.in_window
    outcome = np.where(granted, OUTCOME["claim_refund"], outcome)
    t_refund = np.where(granted, t_decision + sc.retention.az_claim.refund_after_days * HOURS_PER_DAY, t_refund)
    t_resolved = np.where(np.isnan(t_refund), t_decision, t_refund)

    money = flows(
        world,
        item_class=req.item_class,
        market=req.market,
        price=req.price,
        condition=req.condition,
        outcome=outcome,
        offer_value=value_share,
        payer=terms.payer,
        ask=terms.ask,
        fee_share=terms.fee_share,
        fee_accepted=fee_accepted.astype(float),
        action=disp.action,
        address=disp.address,
        liquidate=disp.liquidate,
        labor_hours=labor,
        weeks_to_resale=weeks,
    )
    # The label share of what the buyer paid back (for net freight reporting).
    buyer_label = np.where(label_paid, np.minimum(label, money["buyer_fees"]), 0.0)

    return Resolved(
        reason=reason,
        investigated=investigated,
        disputed=revealed,
        rejected=rejected,
        offer=offer,
        accepted=accepted,
        outcome=outcome,
        payer=terms.payer,
        fee_accepted=fee_accepted,
        buyer_paid_label=label_paid,
        buyer_label=buyer_label,
        lapsed=lapsed,
        action=np.where(~rejected & (refunded | reship), disp.action, -1),
        address=np.where(disp.action == ACTION["return_to_address"], disp.address, -1),
        t_start=t_start,
        t_answer=t_answer,
        t_decision=t_decision,
        t_refund=t_refund,
        t_resolved=t_resolved,
        late=late,
        p_accept=p_accept,
        p_fee=np.where(asking, p_fee, 0.0),
        satisfaction=s,
        negative_feedback=negative,
        az_claim=claim,
        multiplier=retention.purchase_multiplier(world, s),
        flows=money,
    )
