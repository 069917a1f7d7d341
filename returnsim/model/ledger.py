"""Every money flow of a return, by category, from the seller's point of view.

The categories (``docs/model.md``) are split into costs and credits. :func:`flows` computes them
per request from what was decided (a pure function, also used by ``cost_optimal`` to value each
possible disposition and by ``analytic`` to take expectations), and :class:`Ledger` sums them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..scenario import Scenario
from .world import HOURS_PER_WEEK, OUTCOME, World

__all__ = [
    "COSTS",
    "CREDITS",
    "CATEGORIES",
    "PAYER",
    "ASK",
    "ACTION",
    "Ledger",
    "flows",
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
CREDITS = ("recovered_value", "buyer_fees", "carrier_claims", "referral_fee_credits")
"""Money the seller gets back."""
CATEGORIES = COSTS + CREDITS

PAYER = {"seller": 0, "buyer": 1, "carrier_claim": 2, "negotiate": 3}
ASK = {"loss_fee": 0, "freight": 1}
ACTION = {"give_to_buyer": 0, "return_to_origin": 1, "return_to_address": 2, "abandon": 3}

_REFUNDED = (OUTCOME["returnless_refund"], OUTCOME["returned_refund"], OUTCOME["claim_refund"])
_RESHIP = (OUTCOME["exchanged"], OUTCOME["replaced"])


def net_return_cost(ledger: Mapping[str, float]) -> float:
    """``net_return_cost`` = costs − credits: what returns cost the seller compared with every
    order having been kept.

    Costs are ``refunds, partial_refunds, seller_freight, replacement_units, labor, inspection,
    processing_fees, disposal_fees, refund_admin_fees``; credits are ``recovered_value,
    buyer_fees, carrier_claims, referral_fee_credits``. A refunded sale counts its full price as
    a cost and the resale of the returned unit as a credit, so a kept order contributes zero.
    """
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
        for c in CATEGORIES:
            self[c] += float(per_request[c].sum())

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
    outcome: np.ndarray,
    offer_value: np.ndarray,
    payer: np.ndarray,
    ask: np.ndarray,
    fee_share: np.ndarray,
    fee_accepted: np.ndarray,
    action: np.ndarray,
    address: np.ndarray,
    liquidate: np.ndarray,
    labor_hours: np.ndarray,
    weeks_to_resale: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per-request money flows for decided returns.

    Args are per-request arrays: ``outcome`` (index into ``RESOLUTIONS``), ``payer``/``ask``
    (``PAYER``/``ASK`` codes) with the rule's ``fee_share`` and whether the buyer accepted a
    negotiated fee (``fee_accepted``, 0/1), the disposition ``action`` (``ACTION`` code) with
    its ``address`` (-1: none) and ``liquidate`` flag for ``abandon``, the agent time in hours,
    and the time from the sale to resale in weeks (value decays with it).

    Rules encoded here:
      * The seller buys every return label (Amazon's prepaid labels); a label the buyer pays is
        deducted from the refund (``buyer_fees``), never more than the refund itself.
      * Refunds are the full price; Amazon credits back the referral fee on the amount actually
        refunded and keeps a refund administration fee of ``min(cap, share * referral fee)``.
      * A granted A-to-z claim refunds the full price and nothing comes back.
      * Exchanges and replacements ship a new unit (its cost and outbound label) and refund
        nothing; the old unit follows the disposition.
      * A carrier claim recovers ``carrier_claim_share`` of the item's value and of the label.
    """
    sc: Scenario = world.scenario
    costs = sc.costs
    n = len(price)
    zero = np.zeros(n)
    weight = world.weight_lb[item_class]
    refunded = (outcome == _REFUNDED[0]) | (outcome == _REFUNDED[1]) | (outcome == _REFUNDED[2])
    reship = (outcome == _RESHIP[0]) | (outcome == _RESHIP[1])
    returns_item = ((outcome == OUTCOME["returned_refund"]) | reship) & (
        action != ACTION["give_to_buyer"]
    )

    label = np.where(returns_item, world.lane_label(market, weight, address), 0.0)
    outbound = np.where(
        reship, world.outbound_label[market, 0] + world.outbound_label[market, 1] * weight, 0.0
    )

    buyer_pays_label = (payer == PAYER["buyer"]) | (
        (payer == PAYER["negotiate"]) & (ask == ASK["freight"]) & (fee_accepted > 0)
    )
    fee_applies = (payer == PAYER["buyer"]) | (
        (payer == PAYER["negotiate"]) & (ask == ASK["loss_fee"]) & (fee_accepted > 0)
    )
    deduct = np.where(returns_item, label * buyer_pays_label + price * fee_share * fee_applies, 0.0)
    deduct = np.where(refunded, np.minimum(deduct, price), deduct)

    refund_net = np.where(refunded, price - deduct, 0.0)
    partial = np.where(outcome == OUTCOME["kept_partial_refund"], price * offer_value, 0.0)
    rate = costs.referral_rate
    admin = np.minimum(costs.refund_admin_fee_cap, costs.refund_admin_fee_share * rate * (refund_net + partial))
    admin = np.where(refunded | (partial > 0), admin, 0.0)

    lost_value = np.where(refunded | reship, price, 0.0)
    claims = np.where(payer == PAYER["carrier_claim"], costs.carrier_claim_share * (lost_value + label), 0.0)

    decay = np.clip(1.0 - world.decay_per_week[item_class] * weeks_to_resale, 0.0, 1.0)
    resale = price * world.resale_share[item_class, condition] * decay
    to_origin = returns_item & (action == ACTION["return_to_origin"])
    to_address = returns_item & (action == ACTION["return_to_address"])
    abandon = returns_item & (action == ACTION["abandon"])
    liq = abandon & liquidate.astype(bool)
    dispose = abandon & ~liquidate.astype(bool)
    a = np.maximum(address, 0)
    recovered = np.where(to_origin, resale, 0.0)
    if len(world.address_names):
        recovered = recovered + np.where(to_address, resale * world.address_recovery[a], 0.0)
        address_fee = np.where(to_address, world.address_handling[a], 0.0)
    else:
        address_fee = zero
    recovered = recovered + np.where(
        liq, price * costs.liquidation_recovery_share * (1 - rate), 0.0
    )

    return {
        "refunds": np.where(refunded, price, 0.0),
        "partial_refunds": partial,
        "seller_freight": label + outbound,
        "replacement_units": np.where(reship, price * world.unit_cost_share[item_class], 0.0),
        "labor": labor_hours * sc.desk.wage_per_hour,
        "inspection": np.where(to_origin, costs.inspection, 0.0),
        "processing_fees": np.where(to_origin, costs.grading_fee, 0.0)
        + address_fee
        + np.where(liq, costs.liquidation_item_fee, 0.0),
        "disposal_fees": np.where(dispose, costs.disposal_fee.fee(weight), 0.0),
        "refund_admin_fees": admin,
        "recovered_value": recovered,
        "buyer_fees": deduct,
        "carrier_claims": claims,
        "referral_fee_credits": rate * (refund_net + partial),
    }


def weeks_between(t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """Hours to weeks (for value decay)."""
    return (np.asarray(t1) - np.asarray(t0)) / HOURS_PER_WEEK
