"""Buyer decisions as pure functions of a request and what the seller did.

Each function returns a probability; the caller realises it with the request's pre-drawn
uniform (``u < p``), so the same buyer makes the same choice under two policies whenever the
probabilities agree (common random numbers), and ``analytic`` can weight both branches instead.
"""

from __future__ import annotations

import numpy as np

from ..scenario import OFFER_KINDS
from .world import World, pick

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
    intercept, per_value_share, per_day_delay, per_quality = world.offer_models
    # Every row at once (a row without an offer, -1, reads the last kind's model and is then
    # set to 0): selecting the rows with an offer first costs more passes than it saves on a
    # batch, and each row's value is the same. The terms in the order of the formula.
    days = np.asarray(response_hours) / 24.0
    x = (
        intercept[offer]
        + per_value_share[offer] * value_share
        + per_day_delay[offer] * days
        + per_quality[offer] * world.scenario.desk.service_quality
        + pick(world.offer_reason_shift, offer % len(OFFER_KINDS), true_reason)
    )
    return np.where(offer >= 0, logistic(x), 0.0)


def fee_acceptance(world: World, amount: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Probability a buyer agrees to pay ``amount`` (a loss fee or the return label) rather
    than refusing firmly: ``logit p = intercept + per_fee_share * amount / price``."""
    m = world.scenario.buyer.fee_acceptance
    share = np.divide(amount, price, out=np.ones_like(amount, dtype=float), where=price > 0)
    return logistic(m.intercept + m.per_fee_share * share)
