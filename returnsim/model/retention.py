"""Satisfaction, account health and the customer's purchases after a return.

Each resolved request gets a satisfaction score ``s`` (0 = neutral), a sum of effects listed in
``retention.satisfaction``. From it:

* negative return feedback with ``logit p = a + b s``;
* an A-to-z claim with ``logit p = a + b s + c [negative feedback] + d [late] + e [rejected]``
  (Amazon: claims follow negative experiences and unanswered requests);
* the customer's purchase rate after the return, ``rate_pre * exp(a + b s)`` — the latest
  return's experience sets the rate relative to the customer's own pre-return rate.

:class:`CustomerBook` follows every generation-0 returner over a follow-up window (default two
years, as in Bower & Maxham 2012). Inside the horizon their purchases are simulated — kept ones
count as orders, returned ones become new requests that meet the same desk — and past the horizon
they are counted in expectation. See ``docs/model.md`` for the equations, each default's
source or the word "assumed", and what the model does not claim. The two parameters calibrated
to Bower & Maxham (``satisfaction.buyer_paid_freight`` and ``repeat_log_multiplier``) reproduce
post/pre spending of 0.145 for customers who paid their return and 2.87 for free returns
(published: 0-0.25 and 1.58-4.57) in ``scenarios/validation/bower_maxham.toml``.
"""

from __future__ import annotations

import numpy as np

from ..distributions import poisson_ppf
from ..scenario import RESOLUTIONS
from .buyer import logistic
from .world import HOURS_PER_DAY, World

__all__ = [
    "satisfaction",
    "negative_feedback_probability",
    "claim_probability",
    "purchase_multiplier",
    "CustomerBook",
]


def satisfaction(
    world: World,
    *,
    response_h: np.ndarray,
    decision_h: np.ndarray,
    buyer_paid_label: np.ndarray,
    fee_share_paid: np.ndarray,
    refund_delay_h: np.ndarray,
    outcome: np.ndarray,
    disputed: np.ndarray,
) -> np.ndarray:
    """Satisfaction score per request (dimensionless; weights in ``retention.satisfaction``).

    ``response_h`` is request -> first answer, ``decision_h`` request -> authorised or closed,
    ``refund_delay_h`` request -> refund (NaN when nothing was refunded).
    """
    w = world.scenario.retention.satisfaction
    by_outcome = np.array([w.resolution.get(r, 0.0) for r in RESOLUTIONS])
    refund_days = np.nan_to_num(refund_delay_h, nan=0.0) / HOURS_PER_DAY
    late = world.scenario.desk.late_after_hours
    return (
        w.per_response_day * response_h / HOURS_PER_DAY
        + w.over_24h * (response_h > 24.0)
        + w.over_48h * (decision_h > late)
        + w.buyer_paid_freight * buyer_paid_label
        + w.per_fee_share * fee_share_paid
        + w.per_refund_day * refund_days
        + w.disputed_reason * disputed
        + by_outcome[outcome]
    )


def negative_feedback_probability(world: World, s: np.ndarray) -> np.ndarray:
    m = world.scenario.retention.negative_feedback
    return logistic(m.intercept + m.per_satisfaction * s)


def claim_probability(
    world: World, s: np.ndarray, negative: np.ndarray, late: np.ndarray, rejected: np.ndarray
) -> np.ndarray:
    m = world.scenario.retention.az_claim
    x = (
        m.intercept
        + m.per_satisfaction * s
        + m.negative_feedback * negative
        + m.late_response * late
        + m.rejected * rejected
    )
    return logistic(x)


def purchase_multiplier(world: World, s: np.ndarray) -> np.ndarray:
    """Post-return purchase rate over the pre-return rate."""
    m = world.scenario.retention.repeat_log_multiplier
    return np.exp(m.intercept + m.per_satisfaction * s)


class CustomerBook:
    """Per-customer record of purchases after a return (customers = generation-0 returners).

    Times in hours, rates in purchases per hour.
    """

    def __init__(self, world: World, rate_pre: np.ndarray, horizon_h: float, feedback: bool) -> None:
        n = len(rate_pre)
        self.world = world
        self.rate_pre = rate_pre
        self.horizon_h = horizon_h
        self.feedback = feedback
        self.follow_up_h = world.scenario.retention.follow_up_days * HOURS_PER_DAY
        self.window_end = np.full(n, np.nan)
        """End of each customer's follow-up window (set when their first return resolves)."""
        self.rate = np.zeros(n)
        """Current purchase rate (after the latest resolved return)."""
        self.since = np.zeros(n)
        """When the current rate started."""
        self.expected_post = np.zeros(n)
        """Expected purchases in the follow-up window (conditional on rates)."""
        self.simulated_post = np.zeros(n, dtype=np.int64)
        """Purchases inside the horizon that the simulation placed as orders."""
        self.extra_orders = 0
        """Orders placed by returners inside the horizon (kept and returned)."""

    def resolve(
        self,
        rng: np.random.Generator,
        customer: np.ndarray,
        generation: np.ndarray,
        t_resolved: np.ndarray,
        multiplier: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Record resolved returns; return the (order time, customer, generation) of the next
        *returned* purchases inside the horizon, which the caller turns into requests."""
        first = generation == 0
        self.window_end[customer[first]] = t_resolved[first] + self.follow_up_h
        rate = self.rate_pre[customer] * multiplier
        self.rate[customer] = rate
        self.since[customer] = t_resolved
        if not self.feedback or len(customer) == 0:
            return np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)

        rho = self.world.overall_return_rate
        limit = np.minimum(self.horizon_h, self.window_end[customer])
        span = np.maximum(limit - t_resolved, 0.0)
        with np.errstate(divide="ignore"):
            gap = rng.exponential(1.0, len(customer)) / (rate * rho)
        returned = gap < span
        kept_span = np.where(returned, gap, span)
        kept = rng.poisson(rate * (1 - rho) * kept_span)
        self.expected_post[customer] += rate * kept_span
        self.simulated_post[customer] += kept + returned
        self.since[customer] = np.where(span > 0, t_resolved + kept_span, t_resolved)
        # A customer whose chain ended at the horizon keeps buying past it: counted in close().
        self.extra_orders += int(kept.sum() + returned.sum())
        order_time = t_resolved[returned] + gap[returned]
        return order_time, customer[returned], generation[returned] + 1

    def close(self, u_post: np.ndarray) -> dict[str, np.ndarray]:
        """Add the expected purchases past the horizon; return per-customer totals."""
        rest_from = np.maximum(self.since, self.horizon_h)
        if not self.feedback:
            rest_from = self.since
        rest = self.rate * np.maximum(self.window_end - rest_from, 0.0)
        rest = np.nan_to_num(rest)
        expected = self.expected_post + rest
        counted = self.simulated_post + poisson_ppf(u_post, rest)
        return {"expected_post": expected, "post_count": counted}
