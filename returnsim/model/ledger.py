"""Every money flow of a return, by category, from the seller's point of view.

The categories (``docs/model.md``) are split into costs and credits. :func:`flows` computes them
per request from what was decided (a pure function, also used by ``cost_optimal`` to value each
possible disposition and by ``analytic`` to take expectations), and :class:`Ledger` sums them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import amazon
from ..scenario import Scenario
from .world import HOURS_PER_WEEK, OUTCOME, World, pick

__all__ = [
    "COSTS",
    "CREDITS",
    "CATEGORIES",
    "PAYER",
    "ASK",
    "ACTION",
    "ABANDON",
    "RECEIPT",
    "GRADE",
    "Ledger",
    "flows",
    "liquidation_terms",
    "return_label",
    "return_lane",
    "net_return_cost",
    "net_cost_per_request",
]

COSTS = (
    "refunds",
    "partial_refunds",
    "seller_freight",
    "replacement_units",
    "labor",
    "inspection",
    "processing_fees",
    "disposal_fees",
    "refund_admin_fees",
)
"""Money the seller pays out because of returns."""
CREDITS = ("recovered_value", "buyer_fees", "carrier_claims", "referral_fee_credits", "safet_reimbursements")
"""Money the seller gets back."""
CATEGORIES = COSTS + CREDITS

PAYER = {"seller": 0, "buyer": 1, "carrier_claim": 2, "negotiate": 3}
ASK = {"loss_fee": 0, "freight": 1}
ACTION = {"give_to_buyer": 0, "return_to_origin": 1, "return_to_address": 2, "abandon": 3}
ABANDON = {"liquidate": 0, "dispose": 1, "in_place": 2}
RECEIPT = {"resell": 0, "liquidate": 1, "dispose": 2}
GRADE = {g: i for i, g in enumerate(amazon.GRADES)}


def buyer_pays(payer: np.ndarray, ask: np.ndarray, label_payer: np.ndarray, accepted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether the buyer pays the return label, and whether a fee applies, by the freight terms
    (``PAYER``/``ASK`` codes) and the buyer's answer to a negotiated ask (``accepted``).

    A buyer-pays rule charges both; a negotiated freight ask charges the label if accepted; a
    negotiated loss fee charges the fee if accepted and the label as ``label_payer`` says.
    """
    negotiated = payer == PAYER["negotiate"]
    buyer = payer == PAYER["buyer"]
    label = buyer | (negotiated & np.where(ask == ASK["freight"], accepted, label_payer == PAYER["buyer"]))
    fee = buyer | (negotiated & (ask == ASK["loss_fee"]) & accepted)
    return label, fee

def liquidation_terms(
    world: World,
    *,
    fba: np.ndarray,
    abandoned: np.ndarray,
    market: np.ndarray,
    item_class: np.ndarray,
    price: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What liquidating each unit brings and costs: (recovery, fee per unit, return label), money.

    The one place the terms are decided, so ``cost_optimal``'s valuation and the realised money
    (both through :func:`flows`) agree (``docs/model.md`` section 7b):

    * fulfilled by Amazon (``fba``): Amazon's liquidation programme, the gross recovery
      ``costs.liquidation_recovery_share`` of the price less the referral fee, and
      ``costs.liquidation_item_fee`` per unit [F3]; Amazon moves the unit, no label.
    * seller-fulfilled: the seller's own channel, ``costs.seller_liquidation``: its
      ``recovery_share`` of the price (no referral fee: it is not sold on Amazon) and its
      ``item_fee``. A unit abandoned on its way back (``abandoned``) goes to the address
      ``seller_liquidation.address`` names, on that address's label, or is sold where it lies
      with no label; a unit liquidated at receipt is already at the origin (no label).
    """
    fba = np.asarray(fba, dtype=bool)
    recovery, fee = _liquidation_money(world, fba, price)
    return recovery, fee, _liquidation_label(world, ~fba & np.asarray(abandoned, dtype=bool), market, item_class)


def _liquidation_money(world: World, fba: np.ndarray, price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The recovery and fee per unit of :func:`liquidation_terms` (money)."""
    costs = world.scenario.costs
    own = costs.seller_liquidation
    rate = costs.referral_rate
    recovery = np.where(fba, price * costs.liquidation_recovery_share * (1 - rate), price * own.recovery_share)
    return recovery, np.where(fba, costs.liquidation_item_fee, own.item_fee)


def _liquidation_label(world: World, travels: np.ndarray, market: np.ndarray, item_class: np.ndarray) -> np.ndarray:
    """The label of :func:`liquidation_terms` (money): units that ``travels`` (seller-fulfilled
    and abandoned) go to the address ``seller_liquidation.address`` names, if any."""
    own = world.scenario.costs.seller_liquidation
    if own.address is not None and own.address in world.address_names:
        to = np.full(len(travels), world.address_names.index(own.address), dtype=np.int64)
        return np.where(travels, world.lane_label(market, item_class, to), 0.0)
    return np.zeros(len(travels))


def return_lane(action: np.ndarray, address: np.ndarray) -> np.ndarray:
    """The address a return travels to: ``address`` for ``return_to_address``, else -1 (the
    origin)."""
    return np.where(action == ACTION["return_to_address"], address, -1)


def return_label(
    world: World,
    *,
    market: np.ndarray,
    item_class: np.ndarray,
    action: np.ndarray,
    address: np.ndarray,
    abandon_mode: np.ndarray,
) -> np.ndarray:
    """The return label a seller-fulfilled unit travels on, money: the lane to the named
    address of a ``return_to_address`` unit, to the origin for any other (:func:`return_lane`:
    an address the plan carries for another action, e.g. an FBA unit's, does not route it),
    except a unit abandoned to be liquidated, which rides the liquidation's own label
    (:func:`liquidation_terms`; none when sold where it lies). What the buyer is asked to pay,
    what the seller buys and what ``cost_optimal`` values all come from here."""
    abandon_liq = (action == ACTION["abandon"]) & (abandon_mode == ABANDON["liquidate"])
    lane = world.lane_label(market, item_class, return_lane(action, address))
    if not abandon_liq.any():
        return lane
    # (Only the label of liquidation_terms, for seller-fulfilled units: its recovery and fee
    # would be passes for nothing on every batch.)
    return np.where(abandon_liq, _liquidation_label(world, abandon_liq, market, item_class), lane)


def _outcome_flag(*names: str) -> np.ndarray:
    """True for the named outcomes, by ``OUTCOME`` code: one lookup a batch instead of a
    comparison per outcome and an or per extra one."""
    flag = np.zeros(max(OUTCOME.values()) + 1, dtype=bool)
    flag[[OUTCOME[n] for n in names]] = True
    return flag


_REFUNDED = _outcome_flag("returnless_refund", "returned_refund", "claim_refund")
_RESHIP = _outcome_flag("exchanged", "replaced")


def net_return_cost(ledger: Mapping[str, float]) -> float:
    """``net_return_cost`` = costs − credits: what returns cost the seller compared with every
    order having been kept.

    Costs are ``refunds, partial_refunds, seller_freight, replacement_units, labor, inspection,
    processing_fees, disposal_fees, refund_admin_fees``; credits are ``recovered_value,
    buyer_fees, carrier_claims, referral_fee_credits, safet_reimbursements``. A refunded sale counts its full price as
    a cost and the resale of the returned unit as a credit, so a kept order contributes zero.
    """
    if not isinstance(ledger, Mapping):
        raise TypeError(
            f"net_return_cost(ledger=...): expected a mapping of money by category (RunResult.ledger), "
            f"got {type(ledger).__name__}"
        )
    missing = [c for c in (*COSTS, *CREDITS) if c not in ledger]
    if missing:
        raise KeyError(f"net_return_cost(ledger=...): the ledger has no {', '.join(missing)}")
    return sum(ledger[c] for c in COSTS) - sum(ledger[c] for c in CREDITS)


def net_cost_per_request(f: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-request net return cost (the same definition, applied to per-request flows)."""
    costs: np.ndarray = sum((f[c] for c in COSTS), np.zeros(len(f[COSTS[0]])))
    credits: np.ndarray = sum((f[c] for c in CREDITS), np.zeros(len(f[COSTS[0]])))
    return costs - credits


class Ledger(dict):
    """Money by category (floats), summed over batches of requests."""

    def __init__(self) -> None:
        super().__init__({c: 0.0 for c in CATEGORIES})

    def add(self, per_request: Mapping[str, np.ndarray]) -> None:
        # (np.add.reduce is what ndarray.sum calls, without its Python wrapper: the same sums.)
        add = np.add.reduce
        for c in CATEGORIES:
            self[c] += float(add(per_request[c]))

    @property
    def net_return_cost(self) -> float:
        return net_return_cost(self)


def flows(
    world: World,
    *,
    item_class: np.ndarray,
    market: np.ndarray,
    price: np.ndarray,
    condition: np.ndarray,
    grade: np.ndarray,
    outcome: np.ndarray,
    offer_value: np.ndarray,
    payer: np.ndarray,
    ask: np.ndarray,
    fee_share: np.ndarray,
    fee_accepted: np.ndarray,
    label_payer: np.ndarray,
    action: np.ndarray,
    address: np.ndarray,
    abandon_mode: np.ndarray,
    receipt: np.ndarray,
    fba: np.ndarray,
    labor_hours: np.ndarray,
    weeks_to_resale: np.ndarray,
    safet_reimbursement: np.ndarray | None = None,
    label: np.ndarray | None = None,
    pays: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Per-request money flows for decided returns.

    Args are per-request arrays: ``outcome`` (index into ``RESOLUTIONS``); the freight terms
    ``payer``/``ask`` (``PAYER``/``ASK`` codes) with the rule's ``fee_share``, whether the buyer
    accepted a negotiated fee (``fee_accepted``, 0/1) and who pays the label of a loss-fee
    negotiation whatever the answer (``label_payer``, ``PAYER`` code); the first-stage
    disposition ``action`` (``ACTION``) with its ``address`` (-1: none) and ``abandon_mode``
    (``ABANDON``); the second-stage ``receipt`` action at the origin on the true ``condition``
    (``RECEIPT``); the FBA ``grade`` (``GRADE``) for fulfilled-by-Amazon requests (``fba``); the
    agent time in hours; the time from the sale to resale in weeks (value decays with it);
    and what Amazon reimbursed on a SAFE-T claim (``safet_reimbursement``, money). ``label``,
    if given, is :func:`return_label` of these rows, and ``pays``, if given, :func:`buyer_pays` of
    them (a caller that has them saves computing them).

    Rules encoded here (``docs/model.md`` section 4):
      * The seller buys every return label of a merchant-fulfilled return (Amazon's prepaid
        labels); a label or fee the buyer pays is deducted from the refund (``buyer_fees``), so
        only a refunded return can carry one, and never more than the refund itself.
      * Refunds are the full price; Amazon credits back the referral fee on the amount refunded
        and keeps a refund administration fee per line (``amazon.refund_admin_fee``).
      * A granted A-to-z claim refunds the full price and nothing comes back.
      * Exchanges and replacements ship a new unit (its cost and outbound label) and refund
        nothing; the old unit follows the disposition.
      * A carrier claim pays ``carrier_claim_share`` of the item's value and label, never more
        than the loss (refund and label less what the unit recovers).
      * A resold unit is credited at what it saves (``costs.restock_credit``): by default the cost
        of goods of the unit it replaces, never more than its net resale value.
      * Liquidation on the terms of :func:`liquidation_terms`: Amazon's for FBA units, the
        seller's own channel for seller-fulfilled ones, with no label beyond what it needs.
      * FBA: no seller label, labour or inspection; Amazon grades the unit: sellable units are
        restocked, used grades go through Grade and Resell, unsellable ones are disposed of; the
        returns processing fee applies above the class's threshold, in expectation.
    """
    sc: Scenario = world.scenario
    costs = sc.costs
    n = len(price)
    zero = np.zeros(n)
    fba = np.asarray(fba, dtype=bool)
    merchant = ~fba
    refunded = _REFUNDED[outcome]
    returned = outcome == OUTCOME["returned_refund"]
    reship = _RESHIP[outcome]
    in_place = (action == ACTION["abandon"]) & (abandon_mode == ABANDON["in_place"])
    returns_item = (returned | reship) & (action != ACTION["give_to_buyer"]) & ~in_place

    # A unit abandoned to be liquidated travels on the liquidation's own label (none when it is
    # sold where it lies), not on a full return label to the origin.
    if label is None:
        label = return_label(world, market=market, item_class=item_class, action=action, address=address, abandon_mode=abandon_mode)
    label = np.where(returns_item & merchant, label, 0.0)
    outbound = np.where(
        reship,
        np.where(
            fba,
            world.fba_fulfilment_fee[item_class],
            pick(world.class_outbound_label, market, item_class),
        ),
        0.0,
    )

    if pays is None:
        pays = buyer_pays(payer, ask, label_payer, fee_accepted > 0)
    buyer_pays_label, fee_applies = pays
    deductible = returned & returns_item & merchant
    deduct = np.where(deductible, label * buyer_pays_label + price * fee_share * fee_applies, 0.0)
    deduct = np.minimum(deduct, price)

    refund_net = np.where(refunded, price - deduct, 0.0)
    partial = np.where(outcome == OUTCOME["kept_partial_refund"], price * offer_value, 0.0)
    rate = costs.referral_rate
    admin = amazon.refund_admin_fees(
        refund_net + partial, rate, costs.refund_admin_fee_cap, costs.refund_admin_fee_share
    )
    admin = np.where(refunded | (partial > 0), admin, 0.0)

    # What the unit brings back.
    # (minimum of maximum is np.clip without its Python wrapper: the same numbers, NaN too.)
    decay = np.minimum(np.maximum(1.0 - world.decay_per_week[item_class] * weeks_to_resale, 0.0), 1.0)
    saved = price * world.unit_cost_share[item_class] * decay

    def credit(net: np.ndarray) -> np.ndarray:
        return np.minimum(net, saved) if costs.restock_credit == "saved_cost" else net

    resale = credit(price * pick(world.resale_share, item_class, condition) * decay)
    m_items = returns_item & merchant
    to_origin = m_items & (action == ACTION["return_to_origin"])
    to_address = m_items & (action == ACTION["return_to_address"])
    abandon = m_items & (action == ACTION["abandon"])
    resell = to_origin & (receipt == RECEIPT["resell"])
    liq = (abandon & (abandon_mode == ABANDON["liquidate"])) | (to_origin & (receipt == RECEIPT["liquidate"]))
    dispose = (abandon & (abandon_mode == ABANDON["dispose"])) | (to_origin & (receipt == RECEIPT["dispose"]))
    a = np.maximum(address, 0)
    # (Liquidation terms and disposal fees only for a batch that has such units: each costs a
    # few numpy calls whatever the batch's size; adding zeros gives the same sums.)
    if liq.any():
        # (Nothing abandoned travels on a liquidation label here: only the money terms.)
        liq_recovery, liq_fee = _liquidation_money(world, fba, price)
        liq_recovered, liq_fees = np.where(liq, liq_recovery, 0.0), np.where(liq, liq_fee, 0.0)
    else:
        liq_recovered = liq_fees = zero
    recovered = np.where(resell, resale, 0.0) + liq_recovered
    if len(world.address_names):
        recovered = recovered + np.where(to_address, resale * world.address_recovery[a], 0.0)
        address_fee = np.where(to_address, world.address_handling[a], 0.0)
    else:
        address_fee = zero
    disposal = np.where(dispose, costs.disposal_fee.fee(world.weight_lb[item_class]), 0.0) if dispose.any() else np.zeros(n)

    # Fulfilled by Amazon: graded at the fulfilment centre.
    f_items = returns_item & fba
    processing = address_fee + liq_fees
    if f_items.any():
        sellable = f_items & (grade == GRADE["sellable"])
        used = f_items & (grade > GRADE["sellable"]) & (grade < GRADE["unsellable"])
        if not sc.fba.grade_and_resell:
            used = used & False
        junk = f_items & ~sellable & ~used
        new_net = price * (1 - rate) - world.fba_fulfilment_fee[item_class]
        recovered = recovered + np.where(sellable, credit(np.maximum(new_net, 0.0) * decay), 0.0)
        if used.any():
            gr = np.zeros(n)
            for i in np.flatnonzero(used):
                k = item_class[i]
                gr[i] = amazon.grade_and_resell_recovery(
                    float(price[i]),
                    amazon.GRADES[grade[i]],
                    world.fba_size_tier[k],
                    rate,
                    float(world.fba_fulfilment_fee[k]),
                )
            recovered = recovered + np.where(used, credit(np.maximum(gr, 0.0) * decay), 0.0)
        disposal = disposal + np.where(junk, world.fba_removal_fee[item_class], 0.0)
        processing = processing + np.where(f_items, world.fba_returns_fee[item_class], 0.0)

    lost = np.where(refunded | reship, price, 0.0)
    claims = np.where(
        payer == PAYER["carrier_claim"],
        np.minimum(
            costs.carrier_claim_share * (lost + label),
            np.maximum(lost + label - recovered, 0.0),
        ),
        0.0,
    )

    return {
        "refunds": np.where(refunded, price, 0.0),
        "partial_refunds": partial,
        "seller_freight": label + outbound,
        "replacement_units": np.where(reship, price * world.unit_cost_share[item_class], 0.0),
        "labor": labor_hours * sc.desk.wage_per_hour,
        "inspection": np.where(to_origin, costs.inspection, 0.0),
        "processing_fees": processing,
        "disposal_fees": disposal,
        "refund_admin_fees": admin,
        "recovered_value": recovered,
        "buyer_fees": deduct,
        "carrier_claims": claims,
        "referral_fee_credits": rate * (refund_net + partial),
        "safet_reimbursements": zero if safet_reimbursement is None else np.asarray(safet_reimbursement, dtype=float),
    }


def weeks_between(t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """Hours to weeks (for value decay)."""
    return (np.asarray(t1) - np.asarray(t0)) / HOURS_PER_WEEK
