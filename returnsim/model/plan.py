"""What the seller decides before the goods come back, from what the seller knows then.

When a request arrives, the seller sees the stated reason and condition, the price, the buyer's
market and the item class; not the buyer's true reason (unless an investigation reveals it) and
not the unit's true condition (found at receipt). :func:`plan` applies the policy's pre-receipt
tables to that view, in the order a seller works: investigate, reject or make an offer, decide
where the unit goes, then who pays the label for that destination. Its result says which
requests need a second desk touch (a question to the buyer whose answer the seller must act on),
which the desk must know before it answers.

Nothing here depends on when the desk answers, except the valuation of ``cost_optimal`` (value
decays with time since the sale), which uses the answer time the request would have without a
queue (request time plus handling); a few hours of queueing move a weekly decay negligibly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario import Policy
from ..scenario.rules import RequestView, first_match
from . import buyer
from .columns import take_rows
from .demand import Requests
from .disposition import Option, choose_disposition
from .freight import FreightTerms, asked_amount, freight_terms
from .ledger import (
    ABANDON,
    ACTION,
    PAYER,
    RECEIPT,
    flows,
    net_cost_per_request,
    return_label,
    return_lane,
)
from .world import FAULT, HOURS_PER_DAY, HOURS_PER_WEEK, OFFER, OUTCOME, World

__all__ = ["Plan", "plan", "fba_mask", "auto_mask", "investigated_mask", "amazon_terms", "returnless_resolution", "RETURNLESS"]

RETURNLESS = {"refund": 0, "replacement": 1}
"""Returnless resolutions (``policies.*.returnless``): the code of each, -1 for none."""

_NAN = float("nan")


@dataclass
class Plan:
    """Pre-receipt decisions per request (same order as the requests)."""

    fba: np.ndarray
    """Fulfilled by Amazon: Amazon's desk, labels and grading; no seller decision applies."""
    auto: np.ndarray
    """Auto-authorised: an in-policy merchant request Amazon authorises at once with a prepaid
    label (:func:`auto_mask`); offers then race the buyer's drop-off as messages."""
    rfs: np.ndarray
    """Auto-authorised in a marketplace that refunds prepaid-label returns at first scan
    (before Amazon's exclusions, drawn at settlement)."""
    returnless: np.ndarray
    """-1, or the returnless resolution (``RETURNLESS``) that settled the request at once."""
    label_waived: np.ndarray
    """The seller may not deduct the return label (free fashion returns: an in-policy return of
    a category the marketplace names, not crossing a border [A20])."""
    investigated: np.ndarray
    revealed: np.ndarray
    """The investigation revealed a misreported reason."""
    view: RequestView
    """What pre-receipt rules saw (reason on record, stated condition)."""
    rejected: np.ndarray
    offer: np.ndarray
    """``OFFER`` code, -1 for none."""
    value_share: np.ndarray
    action: np.ndarray
    address: np.ndarray
    abandon_mode: np.ndarray
    terms: FreightTerms
    """Who pays the label, for the chosen destination."""
    asked: np.ndarray
    """A question goes to the buyer (an offer, or a fee to negotiate on a unit that comes back),
    so the buyer's answer is a second desk touch."""

    @property
    def at_once(self) -> np.ndarray:
        """Settled without the seller's desk: FBA, a returnless resolution, or auto-authorised
        with no message to send."""
        return self.fba | (self.returnless >= 0) | (self.auto & ~self.asked)


def fba_mask(world: World, policy: Policy, item_class: np.ndarray) -> np.ndarray:
    """Requests of classes fulfilled by Amazon under ``policy``."""
    if policy.fba_classes is None:
        per_class = world.class_fba
    else:
        per_class = np.array([c in policy.fba_classes for c in world.class_names])
    return per_class[item_class]


def auto_mask(world: World, policy: Policy, req: Requests, fba: np.ndarray) -> np.ndarray:
    """Requests Amazon authorises at once with a prepaid label [A8, A18]: merchant-fulfilled,
    in the return window, of a class not exempt from prepaid labels, from a professional seller,
    where the marketplace makes auto-authorisation mandatory (or the policy opts in where it is
    optional, or in the rule-free world)."""
    rules = world.rules
    if rules.auto_authorisation == "mandatory":
        on = policy.auto_authorise is not False  # False is refused at validation
    else:
        on = bool(policy.auto_authorise)
    if not on or world.scenario.amazon.seller_plan == "individual":
        return np.zeros(len(req), dtype=bool)
    return ~fba & req.in_window & ~world.class_prepaid_exempt[req.item_class]


def investigated_mask(world: World, policy: Policy, req: Requests, auto: np.ndarray | None = None) -> np.ndarray:
    """Requests whose stated reason the desk checks (seller-fault claims, when investigating;
    never an auto-authorised one, which the seller does not review)."""
    if not policy.investigate:
        return np.zeros(len(req), dtype=bool)
    fba = fba_mask(world, policy, req.item_class)
    if auto is None:
        auto = auto_mask(world, policy, req, fba)
    return (world.reason_fault[req.stated_reason] == FAULT["seller"]) & ~fba & ~auto


def returnless_resolution(world: World, policy: Policy, view: RequestView, merchant: np.ndarray) -> np.ndarray:
    """The returnless resolution (``RETURNLESS``; -1 for none) that settles each request at
    once, the buyer keeping the item: Amazon's own refund up to the marketplace's price for a
    seller without a return address in the country [A11], else the policy's first matching
    ``returnless`` rule [A12]. In-window seller-fulfilled requests only (what Amazon's settings
    cover); decided on the stated reason, before anyone reviews the request."""
    out = np.full(len(view.price), -1, dtype=np.int64)
    eligible = merchant & view.in_window
    if policy.returnless:
        hit = first_match([r.when for r in policy.returnless], view, world.codes, world.match_cache)
        kinds = world.per_policy(
            "returnless", policy, lambda: np.array([RETURNLESS[r.resolution] for r in policy.returnless])
        )
        has = eligible & (hit >= 0)
        out[has] = kinds[hit[has]]
    cap = world.rules.auto_returnless_max_price
    if cap is not None and not world.scenario.amazon.domestic_return_address:
        out[eligible & (view.price <= cap)] = RETURNLESS["refund"]
    return out


def amazon_terms(terms: FreightTerms, rfs: np.ndarray, waived: np.ndarray) -> FreightTerms:
    """The policy's freight terms within Amazon's rules.

    * Free fashion returns (``waived``): the seller pays the label and deducts no fee [A13, A20].
    * Refund at first scan (``rfs``): nothing is negotiated (Amazon authorised the return) and no
      restocking fee can be deducted, since the refund goes out before the unit is seen (the
      seller's route is a SAFE-T claim [A21]); a negotiate rule keeps only its label payer.
      (Auto-authorised returns in the rule-free world keep their terms: a rule set in advance
      deducts a negotiated fee without asking.)
    """
    negotiate = terms.payer == PAYER["negotiate"]
    payer = np.where(rfs & negotiate, terms.label_payer, terms.payer)
    free = waived & ((payer == PAYER["buyer"]) | (payer == PAYER["negotiate"]))
    payer = np.where(free, PAYER["seller"], payer)
    fee = np.where(rfs | waived, 0.0, terms.fee_share)
    label_payer = np.where(waived, PAYER["seller"], terms.label_payer)
    return FreightTerms(payer=payer, ask=terms.ask, fee_share=fee, label_payer=label_payer)


def destination_view(world: World, view: RequestView, lane: np.ndarray) -> RequestView:
    """``view`` with ``market`` replaced by whether the return crosses a border on its way to
    ``lane`` (:func:`return_lane`; freight follows the parcel)."""
    crosses = world.crosses_border(view.market, lane).astype(np.int64)
    # (dataclasses.replace inspects the fields on every call; a view is a plain dataclass.)
    return RequestView(**{**vars(view), "market": crosses})


def _view(world: World, req: Requests, reason: np.ndarray) -> RequestView:
    """What the seller's rules see of each request, with ``reason`` on record."""
    return RequestView(
        price=req.price,
        market=req.market,
        item_class=req.item_class,
        reason=reason,
        true_reason=req.true_reason,
        fault=world.reason_fault[reason],
        condition=req.stated_condition,
        in_window=req.in_window,
        returned_before=req.generation > 0,
    )


def plan(world: World, policy: Policy, req: Requests) -> Plan:
    """Apply the policy's pre-receipt tables (see the module docstring)."""
    sc = world.scenario
    n = len(req)
    fba = fba_mask(world, policy, req.item_class)
    merchant = ~fba
    auto = auto_mask(world, policy, req, fba)
    rfs = auto & world.rules.refund_at_first_scan

    # 0. A returnless resolution settles the request at once, on what the buyer stated.
    stated = _view(world, req, req.stated_reason)
    returnless = returnless_resolution(world, policy, stated, merchant)
    settled = returnless >= 0

    # 1. The real reason: an investigation may reveal a misreport.
    investigated = investigated_mask(world, policy, req, auto) & ~settled
    revealed = (
        investigated
        & (req.stated_reason != req.true_reason)
        & (req.u_detect < sc.desk.investigation.detect_probability)
    )
    view = _view(world, req, np.where(revealed, req.true_reason, req.stated_reason)) if revealed.any() else stated

    # 2. Reject, or make the targeted offer.
    # Amazon authorised auto requests already: nothing to reject; offers go out as messages.
    rejected = (first_match([r.when for r in policy.reject], view, world.codes, world.match_cache) >= 0) & merchant & ~auto & ~settled
    offer = np.full(n, -1, dtype=np.int64)
    value_share = np.zeros(n)
    if policy.offers:
        hit = first_match([o.when for o in policy.offers], view, world.codes, world.match_cache)
        kinds, values = world.per_policy(
            "offers",
            policy,
            lambda: (np.array([OFFER[o.kind] for o in policy.offers]), np.array([o.value_share for o in policy.offers])),
        )
        has = (hit >= 0) & ~rejected & merchant & ~settled
        offer[has] = kinds[hit[has]]
        value_share[has] = values[hit[has]]

    # 3. Where the unit goes, valued with the freight terms of each destination.
    # An auto-authorised buyer ships from the request on; a manual one after the answer (and
    # the reply to a question).
    t_answer = req.request_time + np.where(auto, 0.0, req.handling_h)
    mean_reply_h = np.where(auto, 0.0, sc.buyer.reply_hours.mean)
    mean_ship_h = sc.returns.ship_days.mean * HOURS_PER_DAY

    free_class = world.class_free_returns[req.item_class] & req.in_window & merchant

    def waived_for(dest: RequestView, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Free fashion returns: in-policy, of a free-returns category, not crossing a border."""
        return free_class[rows] & (dest.market == 0)

    def value(sel: np.ndarray, options: list[Option]) -> np.ndarray:
        """Expected net value (options x selected requests) of handling the selected authorised
        returns with each option. One stacked ``flows`` call: row blocks are (fee accepted,
        option) pairs, because a negotiated fee is accepted with probability ``p_fee`` and the
        expectation weights both answers."""
        idx = np.flatnonzero(sel)
        m, k = len(idx), len(options)
        rows = np.tile(idx, 2 * k)
        opt = np.tile(np.repeat(np.arange(k), m), 2)
        fee_yes = np.repeat([1.0, 0.0], k * m)
        action = np.array([o.action for o in options])[opt]
        address = np.array([o.address for o in options])[opt]
        mode = np.array([o.abandon_mode for o in options])[opt]
        in_place = (action == ACTION["abandon"]) & (mode == ABANDON["in_place"])
        outcome = np.where(
            (action == ACTION["give_to_buyer"]) | in_place,
            OUTCOME["returnless_refund"],
            OUTCOME["returned_refund"],
        )
        lane_addr = return_lane(action, address)
        market, item_class, price = req.market[rows], req.item_class[rows], req.price[rows]
        label = return_label(world, market=market, item_class=item_class, action=action, address=lane_addr, abandon_mode=mode)
        sub_view = take_rows(view, rows)
        dest = destination_view(world, sub_view, lane_addr)
        terms = amazon_terms(freight_terms(world, policy, dest), rfs[rows], waived_for(dest, rows))
        asking = terms.payer == PAYER["negotiate"]
        p_fee = buyer.fee_acceptance(world, asked_amount(terms, price, label), price)
        p_fee = np.where(auto[rows], 1.0, p_fee)  # not asked: a rule set in advance deducts it
        reply = np.where(asking | (offer[rows] >= 0), mean_reply_h[rows], 0.0)
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
                # The seller values what it expects: the stated condition.
                condition=req.stated_condition[rows],
                grade=np.full(len(rows), -1),
                outcome=outcome,
                offer_value=np.zeros(len(rows)),
                payer=terms.payer,
                ask=terms.ask,
                fee_share=terms.fee_share,
                fee_accepted=fee_yes,
                label_payer=terms.label_payer,
                action=action,
                address=address,
                abandon_mode=mode,
                receipt=np.full(len(rows), RECEIPT["resell"]),
                fba=np.zeros(len(rows), dtype=bool),
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
    action = np.where(fba, ACTION["return_to_origin"], np.where(settled, ACTION["give_to_buyer"], disp.action))
    dest = destination_view(world, view, return_lane(action, disp.address))
    waived = waived_for(dest)
    terms = amazon_terms(freight_terms(world, policy, dest), rfs, waived)

    # 4. A question to the buyer makes a second touch.
    ships = (action != ACTION["give_to_buyer"]) & ~(
        (action == ACTION["abandon"]) & (disp.abandon_mode == ABANDON["in_place"])
    )
    negotiable = (terms.payer == PAYER["negotiate"]) & ships
    asked = merchant & ~rejected & ((offer >= 0) | (negotiable & ~auto))
    return Plan(
        fba=fba,
        auto=auto,
        rfs=rfs,
        returnless=returnless,
        label_waived=waived,
        investigated=investigated,
        revealed=revealed,
        view=view,
        rejected=rejected,
        offer=offer,
        value_share=value_share,
        action=action,
        address=disp.address,
        abandon_mode=disp.abandon_mode,
        terms=terms,
        asked=asked,
    )
