"""A seller's own orders and return requests as the demand of a run (replay).

:class:`~.stream.RequestStream` draws the scenario's orders and requests; a
:class:`ReplaySource` releases requests that happened, with the same interface (``total``,
``orders``, ``first_customer``, ``released``, ``next_part``, ``followon_rows``), so the run
around it is unchanged. The source is data: a :class:`ReplayDemand` of plain arrays (one entry a
request, a count a day), built outside the model from the seller's reports
(:mod:`returnsim.replay`).

What is taken as it happened: order time, item class, price, market, request time and stated
reason (a request whose report gives no readable reason has it drawn from the scenario's mix).
Everything the reports cannot say is drawn from the scenario's distributions: the true reason
(from the stated one, undoing misreports as the scenario's misreport rate and mix say), the
item's condition, the buyer's patience and reply time, the desk's handling time, and the
uniforms every later decision reads. Those draws come from uniforms *hashed from the request's
identity* (a 64-bit key of its order line and occurrence) and the run's seed, never from the
request's position in a stream: every policy, and every replication's chunking, sees the same
buyer for the same request (common random numbers), and a request left out of the input
changes no other request's draws.

Requests are released in request-time order a chunk at a time; only the compact input columns
(seven numbers a request) are held for the whole run, the full request rows only for the chunk
being handed to the desk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .demand import (
    CUSTOMER_UNIFORMS,
    UNIFORMS,
    Orders,
    build_requests,
    conditions,
    customers,
    pick_rows,
    window_days,
)
from .stream import CHUNK_REQUESTS, Part
from .world import HOURS_PER_DAY, World

__all__ = ["ReplayDemand", "ReplaySource", "hashed_uniforms", "mix64", "true_reason_cdf", "customer_rows"]

_TIME_IN_DAY = len(UNIFORMS)
"""Extra uniform column: where in its day a request dated to the day only was made."""
_WIDTH = len(UNIFORMS) + 1
_TIME_COLUMNS = np.array([_TIME_IN_DAY, UNIFORMS.index("ship"), UNIFORMS.index("transit")])
"""The uniform columns a request's time needs (:meth:`ReplaySource._time_of`)."""
_FOLLOWON_WIDTH = len(UNIFORMS) + 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S27, _S30, _S31 = np.uint64(27), np.uint64(30), np.uint64(31)


@dataclass
class ReplayDemand:
    """A seller's orders and return requests as arrays (hours from the scenario's start).

    One entry per request in the ``request_*`` columns; ``orders_per_day`` counts every order
    line placed each day of the horizon, returned or not.
    """

    orders_per_day: np.ndarray
    """Order lines placed each day of the horizon (int)."""
    key: np.ndarray
    """Identity of each request (uint64, from its order line and occurrence): seeds its hidden
    draws, so every policy sees the same buyer."""
    order_time: np.ndarray
    """Hours from t = 0 the order was placed."""
    request_time: np.ndarray
    """Hours from t = 0 the return was requested (see ``day_only``)."""
    day_only: np.ndarray
    """The request is dated to the day only: ``request_time`` is that day's start and the hour
    is drawn (bool)."""
    arrival: np.ndarray
    """The date is the unit's arrival at a fulfilment centre (FBA report), not the request: the
    request is dated back by the buyer's shipping and the transit time (bool)."""
    item_class: np.ndarray
    """Index into the scenario's catalog."""
    market: np.ndarray
    """0 domestic, 1 international."""
    price: np.ndarray
    """Unit price paid, in the scenario's currency."""
    stated_reason: np.ndarray
    """Index into the scenario's reasons; -1: not in the report (drawn from the mix)."""
    in_policy: np.ndarray
    """1 within the return window, 0 outside, -1 not in the report (from the dates)."""
    digest: str = ""
    """What the arrays were read from (a hash of the input files): part of the identity of a
    replay's results in a results store."""

    def __len__(self) -> int:
        return len(self.key)

    def nbytes(self) -> int:
        """Bytes held by the columns."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection of 64-bit integers that scrambles every bit (a new
    array; its steps work in place, so a wide array costs one copy and one scratch array, not
    one per step)."""
    z = np.add(np.asarray(x, dtype=np.uint64), _GOLDEN)
    t = np.right_shift(z, _S30)
    z ^= t
    z *= _M1
    np.right_shift(z, _S27, out=t)
    z ^= t
    z *= _M2
    np.right_shift(z, _S31, out=t)
    z ^= t
    return z


def hashed_uniforms(keys: np.ndarray, salt: int, width: int, columns: np.ndarray | None = None) -> np.ndarray:
    """``len(keys) x width`` uniforms on [0, 1), a function of each key, the salt and the
    column only (53-bit resolution); with ``columns`` (indices below ``width``), only those
    columns, the same numbers."""
    with np.errstate(over="ignore"):
        base = mix64(np.asarray(keys, dtype=np.uint64) ^ np.uint64(salt))
        which = np.arange(width) if columns is None else np.asarray(columns)
        cols = (which.astype(np.uint64) + np.uint64(1)) * _GOLDEN
        bits = mix64(base[:, None] + cols[None, :])
    bits >>= np.uint64(11)
    out = bits.astype(np.float64)
    out *= 2.0**-53
    return out


def customer_rows(demand: ReplayDemand) -> np.ndarray:
    """The demand row of each customer number: a replay numbers its customers (one a request)
    by order time, as a generated stream numbers them by their order's day."""
    return np.argsort(demand.order_time, kind="stable")


def true_reason_cdf(world: World) -> np.ndarray:
    """``[class, stated, true]`` cumulative shares of the true reason given the stated one: the
    scenario's true mix per class times the chance each true reason is stated as each reason
    (honestly, or misreported as the misreport rate and mix say), normalised over the true
    reason. A stated reason the class's mix never produces is taken as true."""
    q = world.scenario.returns.misreport_rate
    n_r = len(world.reason_names)
    mis = world.reason_misreports.astype(float) * q
    # state[t, s]: P(stated s | true t)
    state = np.diag(1.0 - mis) + mis[:, None] * world.reason_misreport_mix
    joint = world.reason_mix[:, :, None] * state[None, :, :]  # [class, true, stated]
    post = np.transpose(joint, (0, 2, 1))  # [class, stated, true]
    total = post.sum(axis=2, keepdims=True)
    honest = np.broadcast_to(np.eye(n_r)[None], post.shape)
    post = np.where(total > 0, post / np.where(total > 0, total, 1.0), honest)
    cdf = np.cumsum(post, axis=2)
    cdf[cdf > 1 - 1e-9] = 1.0
    return cdf


class ReplaySource:
    """The requests of a :class:`ReplayDemand`, released in time order like a
    :class:`~.stream.RequestStream` (see the module docstring).

    Args:
        world: the compiled scenario (its start date and horizon match the demand's days).
        demand: the seller's orders and requests.
        rng_orders, rng_requests: the run's ``orders`` and ``requests`` streams: the first draws
            the kept orders' own defects, the second the salts of the hashed uniforms.
        chunk: requests released at a time (default ``CHUNK_REQUESTS``).
    """

    def __init__(
        self,
        world: World,
        demand: ReplayDemand,
        rng_orders: np.random.Generator,
        rng_requests: np.random.Generator,
        chunk: int | None = None,
    ) -> None:
        self.world = world
        self.demand = demand
        self.chunk = max(int(CHUNK_REQUESTS if chunk is None else chunk), 1)
        n_days = int(np.ceil(world.scenario.horizon_days))
        per_day = np.zeros(n_days, dtype=np.int64)
        given = np.asarray(demand.orders_per_day, dtype=np.int64)[:n_days]
        per_day[: len(given)] = given
        self.total = len(demand)
        # Customers are numbered by order time: the warm-up's customers come first.
        by_order = customer_rows(demand)
        self._customer = np.empty(self.total, dtype=np.int64)
        self._customer[by_order] = np.arange(self.total)
        self._order_day = np.floor(demand.order_time[by_order] / HOURS_PER_DAY)
        self._customer_key = np.asarray(demand.key, dtype=np.uint64)[by_order]
        returned = np.bincount(
            np.clip(self._order_day, 0, max(n_days - 1, 0)).astype(np.int64), minlength=n_days
        )[:n_days]
        p_defect = world.scenario.health.kept_order_defect_rate
        kept_defects = rng_orders.binomial(np.maximum(per_day - returned, 0), p_defect)
        self.orders = Orders(per_day=per_day, kept_defects=kept_defects)
        salts = rng_requests.integers(0, 2**63, size=3, dtype=np.int64)
        self._salt, self._customer_salt, self._followon_salt = (int(s) for s in salts)
        self._reason_cdf = true_reason_cdf(world)
        # The release order needs the request times, which need the hidden draws of requests
        # dated to the day or by their arrival: computed once, a column at a time.
        self._time = self._request_times(np.arange(self.total))
        self._order = np.argsort(self._time, kind="stable")
        self._released = 0

    def first_customer(self, day: int) -> int:
        """Index of the first customer whose order was placed on ``day`` or later."""
        return int(np.searchsorted(self._order_day, day, side="left"))

    @property
    def released(self) -> int:
        """Requests released so far."""
        return self._released

    def _uniforms(self, rows: np.ndarray) -> np.ndarray:
        return hashed_uniforms(self.demand.key[rows], self._salt, _WIDTH)

    def _request_times(self, rows: np.ndarray) -> np.ndarray:
        """When each request reached the seller (hours), a chunk of rows at a time (only the
        three uniform columns a time needs are hashed here; a chunk's requests hash them all
        when released, the same numbers)."""
        out = np.empty(len(rows))
        for a in range(0, len(rows), 65536):
            r = rows[a : a + 65536]
            out[a : a + len(r)] = self._time_of(r, hashed_uniforms(self.demand.key[r], self._salt, _WIDTH, _TIME_COLUMNS))
        return out

    def _time_of(self, rows: np.ndarray, U: np.ndarray) -> np.ndarray:
        """Request times of ``rows`` from their uniforms ``U``: the columns of ``_TIME_COLUMNS``,
        in its order (the time in the day, the buyer's shipping, the transit)."""
        d, sc = self.demand, self.world.scenario
        t = d.request_time[rows] + np.where(d.day_only[rows], U[:, 0] * HOURS_PER_DAY, 0.0)
        arrival = d.arrival[rows]
        if arrival.any():
            ship_h = sc.returns.ship_days.ppf(U[:, 1]) * HOURS_PER_DAY
            transit_h = self.world.lane_days(
                d.market[rows], np.full(len(rows), -1), U[:, 2]
            ) * HOURS_PER_DAY
            t = np.where(arrival, t - ship_h - transit_h, t)
        # A request comes after its order (a day-dated request on the order's day, or an
        # arrival dated back too far, is put just after the order).
        return np.maximum(t, d.order_time[rows] + 1.0)

    def next_part(self) -> Part | None:
        """The next requests in time order, or None once every request has been released."""
        if self._released >= self.total:
            return None
        a = self._released
        rows = self._order[a : a + self.chunk]
        self._released += len(rows)
        req, cust = self._requests(rows)
        return Part(ids=np.arange(a, a + len(rows)), req=req, cust=cust)

    def _requests(self, rows: np.ndarray):
        d, world = self.demand, self.world
        U = self._uniforms(rows)
        customer = self._customer[rows]
        req = build_requests(world, U[:, : len(UNIFORMS)], d.order_time[rows], customer, np.zeros(len(rows), dtype=np.int64))
        col = {n: i for i, n in enumerate(UNIFORMS)}
        # As it happened: the item, its price and market, when it was asked for and why.
        req.item_class = d.item_class[rows].astype(np.int64)
        req.market = d.market[rows].astype(np.int64)
        req.price = d.price[rows].astype(float)
        req.request_time = self._time[rows]
        stated = d.stated_reason[rows].astype(np.int64)
        known = stated >= 0
        # The true reason behind a stated one, and what follows from it.
        true = pick_rows(self._reason_cdf[req.item_class, np.maximum(stated, 0)], U[:, col["reason"]])
        req.true_reason = np.where(known, true, req.true_reason)
        req.stated_reason = np.where(known, stated, req.stated_reason)
        req.condition, req.stated_condition, req.grade = conditions(
            world, req.true_reason, U[:, col["condition"]], U[:, col["understate"]], U[:, col["grade"]]
        )
        # Inside the window: as the report says, else from the dates (delivery drawn, never
        # after the request).
        delivered = np.minimum(
            req.order_time + world.scenario.returns.delivery_days.ppf(U[:, col["delivery"]]) * HOURS_PER_DAY,
            req.request_time,
        )
        window = window_days(world, req.order_time, delivered)
        dated = (req.request_time - delivered) <= window * HOURS_PER_DAY
        pol = d.in_policy[rows]
        req.in_window = np.where(pol >= 0, pol == 1, dated)
        cust = customers(world, hashed_uniforms(self._customer_key[customer], self._customer_salt, CUSTOMER_UNIFORMS))
        return req, cust

    def followon_rows(self, customer: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """The uniforms of later returned purchase ``slot`` of each ``customer``: hashed from the
        customer's request identity and the slot, like every other replay draw."""
        if not len(customer):
            return np.empty((0, _FOLLOWON_WIDTH))
        with np.errstate(over="ignore"):
            keys = mix64(self._customer_key[np.asarray(customer, dtype=np.int64)] + np.asarray(slot, dtype=np.uint64))
        return hashed_uniforms(keys, self._followon_salt, _FOLLOWON_WIDTH)
