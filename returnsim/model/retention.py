"""Satisfaction, account health and the customer's purchases after a return.

Each resolved request gets a satisfaction score ``s`` (0 = neutral), a sum of effects listed in
``retention.satisfaction``. From it:

* negative return feedback with ``logit p = a + b s``;
* an A-to-z claim with ``logit p = a + b s + c [negative feedback] + d [late] + e [rejected]``
  (Amazon: claims follow negative experiences and unanswered requests);
* the customer's purchase rate after the return, ``rate_pre * M`` with
  ``M = maximum * logistic(a + b s)``, relative to the customer's own pre-return rate.

:class:`CustomerBook` follows every returner of the scenario's orders (generation 0) over a
follow-up window (default two years, as in Bower & Maxham 2012) at the rate their return set.
Inside the horizon their purchases are simulated — kept ones count as orders, returned ones
become requests that meet the same desk and cost what any return costs — and past the horizon
they are counted. Later returns in the window do not reset the rate: the study measured the
window after one return, and a rate that later returns re-drew inside the horizon but not past
it would make results depend on the horizon. See ``docs/model.md`` for the equations, each default's
source or the word "assumed", and what the model does not claim. The two parameters calibrated
to Bower & Maxham (``satisfaction.buyer_paid_freight`` and ``repeat_multiplier``) reproduce
post/pre spending of about 0.125 for customers who paid their return and 2.69 for free returns
(published: 0-0.25 and 1.58-4.57) in ``scenarios/validation/bower_maxham.toml``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..scenario.distributions import poisson_ppf
from .buyer import logistic
from .columns import copy_index, take_rows
from .demand import FOLLOWON_SLOTS, UNIFORMS, Customers, earliest_request_h
from .world import HOURS_PER_DAY, World

__all__ = [
    "satisfaction",
    "claim_probability",
    "feedback_and_multiplier",
    "CustomerBook",
    "FollowOns",
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
    by_outcome = world.satisfaction_by_outcome
    # Refund delays are finite or NaN (nothing refunded): np.where is several times cheaper
    # than nan_to_num on batch-sized arrays.
    refund_days = np.where(np.isnan(refund_delay_h), 0.0, refund_delay_h) / HOURS_PER_DAY
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


def feedback_and_multiplier(world: World, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of satisfaction ``s``: the probability of negative product feedback, of negative
    *seller* feedback (an Order Defect Rate defect), and the post-return purchase rate over the
    pre-return rate (``repeat_multiplier.maximum`` times a logistic), each a logistic of
    ``intercept + per_satisfaction * s``; the three in one pass of each step over a (3, n) array
    (each batch pays a numpy call's fixed cost)."""
    r = world.scenario.retention
    a, b = world.retention_logit_lines
    p = logistic(a + b * s)
    return p[0], p[1], r.repeat_multiplier.maximum * p[2]


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




@dataclass
class FollowOns:
    """Returned purchases to turn into requests: order time, customer, generation and the row
    of ``UNIFORMS`` of each."""

    order_time: np.ndarray
    customer: np.ndarray
    generation: np.ndarray
    uniforms: np.ndarray

    def __len__(self) -> int:
        return len(self.order_time)


BUFFER = 4096
"""Customers whose purchases past the horizon are drawn together (see :class:`CustomerBook`)."""

_TOTALS = ("customers", "repeat_buyers", "pre", "post", "expected", "base", "simulated")


class CustomerBook:
    """Purchases after a return, per customer (customers = generation-0 returners).

    A customer's record is complete when their first return settles: the rate it sets, the
    purchases placed inside the horizon and those counted past it are all known then, so the
    book keeps totals, not customers (the purchases past the horizon of up to ``BUFFER``
    customers are drawn together, one vectorised Poisson quantile for many customers).
    Times in hours, rates in purchases per hour.

    Args:
        world: the compiled scenario.
        horizon_h: end of the horizon (hours).
        feedback: whether purchases inside the horizon are simulated as orders and requests.
        followon_rows: ``(customer, slot) -> rows``: the pre-drawn uniforms of a customer's
            first ``FOLLOWON_SLOTS`` returned purchases.
    """

    def __init__(
        self,
        world: World,
        horizon_h: float,
        feedback: bool,
        followon_rows: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ) -> None:
        self.world = world
        self.horizon_h = horizon_h
        self.feedback = feedback
        self.follow_up_h = world.scenario.retention.follow_up_days * HOURS_PER_DAY
        self.followon_rows = followon_rows
        self.totals: dict[str, float] = dict.fromkeys(_TOTALS, 0.0)
        """Over the measured customers: how many, how many bought again, their purchases before
        (``pre``) and after (``post``, counted; ``expected``) the return, the purchases they
        would have made in the window at their base rate whatever the return (``base``, expected,
        ``M = 1``), and the purchases placed as orders inside the horizon (``simulated``)."""
        self.simulated_all = 0.0
        """Purchases placed as orders inside the horizon by every customer, warm-up included."""
        self._buffer: list[tuple[np.ndarray, ...]] = []
        self._buffered = 0
        self._read: dict[int, np.ndarray] = {}
        """Pre-drawn rows :meth:`earliest_order` read, by customer, until the customer settles."""

    def resolve(
        self,
        rng: np.random.Generator,
        customers: Customers,
        customer: np.ndarray,
        generation: np.ndarray,
        t_resolved: np.ndarray,
        multiplier: np.ndarray,
        measured: np.ndarray | None = None,
        read: np.ndarray | None = None,
    ) -> FollowOns:
        """Record a batch of settled requests (``customers`` holds the customer of each
        generation-0 row; ``measured``, per request, whether it counts in the totals, default
        all; ``read``, per request, whether :meth:`earliest_order` read its customer's pre-drawn
        rows, which are then taken from there instead of read again: a finite bound). Returns the
        returned purchases the customers of first returns make inside the horizon, for the
        caller to turn into requests.

        Counts and times come from the customer's own pre-drawn uniforms (Poisson quantiles,
        monotone in the rate), so policies that set similar rates see the same purchases; only
        returned purchases beyond ``FOLLOWON_SLOTS`` per customer draw from ``rng``.
        """
        # The rows earliest_order read for these customers (and no longer kept: memory follows
        # the requests in progress).
        kept_rows = {} if read is None else {k: self._read.pop(k) for k in customer[read].tolist() if k in self._read}
        first = np.flatnonzero(generation == 0)
        cu = take_rows(customers, first)
        c, t0 = customer[first], t_resolved[first]
        rate = cu.rate_pre * multiplier[first]
        end = t0 + self.follow_up_h
        inside = np.maximum(np.minimum(end, self.horizon_h) - t0, 0.0)
        if not self.feedback:
            inside = np.zeros_like(inside)
        if not (self.feedback and len(c)):
            simulated = np.zeros(len(c))
            none = np.empty(0)
            followons = FollowOns(none, none.astype(np.int64), none.astype(np.int64), np.empty((0, len(UNIFORMS))))
        else:
            rho = self.world.overall_return_rate
            # Kept and returned purchases in one call (elementwise: the same quantiles as two).
            both = poisson_ppf(np.concatenate([cu.u_kept, cu.u_returned]), np.concatenate([rate * (1 - rho) * inside, rate * rho * inside]))
            kept, returned = both[: len(c)], both[len(c) :].astype(np.int64)
            simulated = kept + returned  # (counts: the same as adding them to zeros)
            owner = np.repeat(np.arange(len(c)), returned)
            slot = copy_index(returned)
            rows = np.empty((len(owner), len(UNIFORMS) + 1))
            pre = slot < FOLLOWON_SLOTS
            rows[pre] = self._pre_drawn(c, np.minimum(returned, FOLLOWON_SLOTS), kept_rows, owner[pre], slot[pre])
            rows[~pre] = rng.random((int((~pre).sum()), len(UNIFORMS) + 1))
            order_time = t0[owner] + rows[:, -1] * inside[owner]
            followons = FollowOns(order_time, c[owner], np.ones(len(owner), dtype=np.int64), rows[:, :-1])
        self.simulated_all += float(simulated.sum())
        keep = np.ones(len(c), dtype=bool) if measured is None else measured[first]
        past_horizon = self.follow_up_h - inside
        self._buffer.append(
            (keep, rate * self.follow_up_h, cu.rate_pre * self.follow_up_h, simulated, cu.u_post, rate * past_horizon, cu.pre_count)
        )
        self._buffered += len(c)
        if self._buffered >= BUFFER:
            self._fold()
        return followons

    def _pre_drawn(
        self, c: np.ndarray, count: np.ndarray, kept_rows: dict[int, np.ndarray], owner: np.ndarray, slot: np.ndarray
    ) -> np.ndarray:
        """The pre-drawn rows of the first ``count`` later purchases of each customer ``c``
        (rows for ``owner`` and ``slot``, in that order): those :meth:`earliest_order` read, or
        read again when it read fewer (the same rows: they depend only on customer and slot)."""
        some = np.flatnonzero(count)
        blocks = [kept_rows.get(k) for k in c[some].tolist()]
        if all(b is not None and len(b) >= n for b, n in zip(blocks, count[some].tolist(), strict=True)):
            parts = [b[:n] for b, n in zip(blocks, count[some].tolist(), strict=True) if b is not None]
            return np.concatenate(parts) if parts else np.empty((0, len(UNIFORMS) + 1))
        return self.followon_rows(c[owner], slot)

    def earliest_order(
        self, customers: Customers, customer: np.ndarray, generation: np.ndarray, request_time: np.ndarray
    ) -> np.ndarray:
        """Per request, a time (hours) no later than the return request of any purchase
        :meth:`resolve` can place for it, known before it is settled: ``inf`` when it can place
        none, ``-inf`` when it might draw purchases beyond the pre-drawn slots (from the run's
        stream, whose order of use must not change). A returned purchase enters the simulation
        as its request (kept ones are only counted), so the run can settle a request late as
        long as it does so by then (:mod:`.simulation`).

        Why it bounds: a request settles after it is made (``t_resolved >= request_time``); the
        rate is ``rate_pre * multiplier`` with ``multiplier <= repeat_multiplier.maximum``;
        the window inside the horizon shrinks as the settlement moves later; Poisson quantiles
        grow with the rate; a purchase's time ``t0 + u * inside(t0)`` never decreases with
        ``t0`` (``u <= 1``); and its request comes at least ``earliest_request_h`` after it. So
        the count is at most that of the highest rate from the request time, and each request
        comes no earlier than its time from there.
        """
        due = np.full(len(customer), np.inf)
        first = np.flatnonzero(generation == 0)
        if not self.feedback or not len(first):
            return due
        cu = take_rows(customers, first)
        t0 = request_time[first]
        inside = np.maximum(np.minimum(t0 + self.follow_up_h, self.horizon_h) - t0, 0.0)
        # A relative hair above the bound's rate: `inside` rounds differently at another t0.
        top = self.world.scenario.retention.repeat_multiplier.maximum * (1 + 1e-9)
        most = poisson_ppf(cu.u_returned, cu.rate_pre * top * self.world.overall_return_rate * inside).astype(np.int64)
        due[first[most > FOLLOWON_SLOTS]] = -np.inf
        some = np.flatnonzero((most > 0) & (most <= FOLLOWON_SLOTS))
        if len(some):
            n = most[some]
            owner = np.repeat(some, n)
            slot = copy_index(n)
            rows = self.followon_rows(customer[first[owner]], slot)
            at = t0[owner] + rows[:, -1] * inside[owner] + earliest_request_h(self.world, rows[:, :-1])
            starts = np.cumsum(n) - n
            earliest = np.minimum.reduceat(at, starts)
            # Kept for resolve, which reads some of the same rows when the request settles.
            for k, i, m in zip(customer[first[some]].tolist(), starts.tolist(), n.tolist(), strict=True):
                self._read[k] = rows[i : i + m]
            due[first[some]] = earliest - 1e-9 * (1.0 + np.abs(earliest))
        return due

    def _fold(self) -> None:
        """Count the buffered customers' purchases past the horizon and add them to the totals."""
        if not self._buffer:
            return
        keep, expected, base, simulated, u_post, past, pre = (np.concatenate(col) for col in zip(*self._buffer, strict=True))
        self._buffer, self._buffered = [], 0
        counted = (simulated + poisson_ppf(u_post, past))[keep]
        t = self.totals
        t["customers"] += len(counted)
        t["repeat_buyers"] += int(np.count_nonzero(counted > 0))
        t["pre"] += float(pre[keep].sum())
        t["post"] += float(counted.sum())
        t["expected"] += float(expected[keep].sum())
        t["base"] += float(base[keep].sum())
        t["simulated"] += float(simulated[keep].sum())

    def summary(self) -> dict[str, float]:
        """The totals (``totals``) once every buffered customer is counted."""
        self._fold()
        return self.totals
