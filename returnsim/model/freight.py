"""Who pays the return label: the policy's ordered freight rule table.

The first rule whose condition matches a request decides; a request no rule matches is the
seller's to pay (Amazon's default for anything not clearly the buyer's fault). Freight follows
the parcel: in a freight rule, ``market = "international"`` means the return crosses a border
(an international buyer's return to the origin, or to an address in another region), so an
international buyer's return to an address in their own region is a domestic return. The seed's
practice, written as such a table, is::

    crosses a border           -> seller        (Amazon: international returns are the seller's)
    seller fault               -> seller
    carrier fault              -> carrier_claim (seller pays, recovers a share)
    buyer fault, used, window  -> negotiate     (buyer pays the label; a loss fee is asked)
    buyer fault                -> buyer         (deducted from the refund)

Rules decided before receipt see the stated condition, not the true one (``plan``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario import Policy
from ..scenario.rules import RequestView, first_match
from .ledger import ASK, PAYER
from .world import World

__all__ = ["FreightTerms", "freight_terms", "asked_amount"]


@dataclass
class FreightTerms:
    """Per-request result of the freight table."""

    payer: np.ndarray
    """``PAYER`` code."""
    ask: np.ndarray
    """``ASK`` code (what a ``negotiate`` rule asks for)."""
    fee_share: np.ndarray
    """Loss or restocking fee as a share of price."""
    label_payer: np.ndarray
    """``PAYER`` code of who pays the label of a loss-fee negotiation, whatever the answer."""


def freight_terms(world: World, policy: Policy, req: RequestView) -> FreightTerms:
    """Apply the freight table to each request (using the fault and reason on record, and in
    ``req.market`` whether the return crosses a border: see the module docstring)."""
    hit = first_match([r.when for r in policy.freight], req, world.codes, world.match_cache)
    payer_of, ask_of, fee_of, label_of = _tables(world, policy)
    # The tables end with the no-match entry, which index -1 (no rule matched) picks.
    return FreightTerms(payer=payer_of[hit], ask=ask_of[hit], fee_share=fee_of[hit], label_payer=label_of[hit])


def _tables(world: World, policy: Policy) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Payer, ask, fee share and label payer by rule, then for no match (once per policy)."""
    rules = policy.freight
    return world.per_policy(
        "freight",
        policy,
        lambda: (
            np.array([PAYER[r.payer] for r in rules] + [PAYER["seller"]]),
            np.array([ASK[r.ask] for r in rules] + [ASK["loss_fee"]]),
            np.array([r.fee_share for r in rules] + [0.0]),
            np.array([PAYER[r.label_payer] for r in rules] + [PAYER["seller"]]),
        ),
    )


def asked_amount(terms: FreightTerms, price: np.ndarray, label: np.ndarray) -> np.ndarray:
    """What a ``negotiate`` rule asks the buyer to pay (0 for other payers)."""
    amount = np.where(terms.ask == ASK["freight"], label, terms.fee_share * price)
    return np.where(terms.payer == PAYER["negotiate"], amount, 0.0)
