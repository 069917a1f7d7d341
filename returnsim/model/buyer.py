"""Buyer decisions as pure functions of a request and what the seller did.

Each function returns a probability; the caller realises it with the request's pre-drawn
uniform (``u < p``), so the same buyer makes the same choice under two policies whenever the
probabilities agree (common random numbers), and ``analytic`` can weight both branches instead.
"""

from __future__ import annotations

import numpy as np

from ..scenario import OFFER_KINDS, Scenario
from .world import World

__all__ = ["logistic", "offer_acceptance", "fee_acceptance"]


def logistic(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), without overflow warnings for large |x|."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def offer_acceptance(
    world: World,
    offer: np.ndarray,
    value_share: np.ndarray,
    response_hours: np.ndarray,
    true_reason: np.ndarray,
) -> np.ndarray:
    """Probability a buyer accepts the seller's offer and cancels the return.

    ``logit p = intercept + per_value_share * value_share + per_day_delay * days waited
    + per_quality * desk.service_quality + by_reason[true reason]``, per offer kind
    (``buyer.offers``). The buyer's *true* reason counts: troubleshooting does not help a buyer
    who misreported a change of mind as a defect. ``offer`` is an index into ``OFFER_KINDS``
    (-1: no offer, probability 0).
    """
    sc: Scenario = world.scenario
    p = np.zeros(len(offer))
    q = sc.desk.service_quality
    days = np.asarray(response_hours) / 24.0
    for k, kind in enumerate(OFFER_KINDS):
        sel = offer == k
        if not sel.any():
            continue
        m = sc.buyer.offers[kind]  # type: ignore[index]  # kind is an OfferKind
        shift = world.offer_reason_shift[k]
        x = (
            m.intercept
            + m.per_value_share * value_share[sel]
            + m.per_day_delay * days[sel]
            + m.per_quality * q
            + shift[true_reason[sel]]
        )
        p[sel] = logistic(x)
    return p


def fee_acceptance(world: World, amount: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Probability a buyer agrees to pay ``amount`` (a loss fee or the return label) rather
    than refusing firmly: ``logit p = intercept + per_fee_share * amount / price``."""
    m = world.scenario.buyer.fee_acceptance
    share = np.divide(amount, price, out=np.ones_like(amount, dtype=float), where=price > 0)
    return logistic(m.intercept + m.per_fee_share * share)
