"""Orders and return requests, sampled in vectorised batches.

Orders that are kept never become Python objects: each day's orders are a Poisson count and the
returned ones are thinned from it (``Binomial(orders, overall return rate)``), which is the same
process in distribution as marking every order. Only returned orders get attributes, as columns
of a :class:`Requests` table; :mod:`.stream` draws them as the clock reaches them.

Every random quantity of a request is drawn here, before any policy is applied, from one row of
pre-drawn uniforms per request. Two policies run with the same seed therefore see the same
orders, the same requests and the same buyer draws (common random numbers); a policy only
changes what those draws lead to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..scenario.distributions import _Dist, poisson_ppf
from .columns import take_rows
from .world import HOURS_PER_DAY, HOURS_PER_YEAR, World

__all__ = [
    "Requests",
    "Customers",
    "Orders",
    "daily_orders",
    "customers",
    "build_requests",
    "UNIFORMS",
    "CUSTOMER_UNIFORMS",
    "FOLLOWON_SLOTS",
    "earliest_request_h",
    "conditions",
    "window_days",
    "pick_rows",
    "pick",
    "ppf_below_each",
]

UNIFORMS = (
    "class_",
    "market",
    "price",
    "reason",
    "misreport",
    "condition",
    "delivery",
    "window",
    "request_delay",
    "handling",
    "investigate",
    "follow_up",
    "reply",
    "ship",
    "refund",
    "detect",
    "accept",
    "fee",
    "transit",
    "restock",
    "feedback",
    "claim",
    "understate",
    "grade",
    "patience",
    "seller_feedback",
    "chargeback",
    "grading",
)
"""Columns of the per-request uniform matrix, in draw order (append only: reordering would
change every stream)."""


@dataclass
class Requests:
    """Return requests as columns (one entry per request). Times are hours from t = 0."""

    customer: np.ndarray
    """Index into :class:`Customers` (the base request that started the customer's record)."""
    generation: np.ndarray
    """0 for returns of the scenario's orders, k for returns of purchases k returns later."""
    item_class: np.ndarray
    market: np.ndarray
    price: np.ndarray
    order_time: np.ndarray
    request_time: np.ndarray
    true_reason: np.ndarray
    stated_reason: np.ndarray
    condition: np.ndarray
    """True condition of the item (what an inspection at receipt finds)."""
    stated_condition: np.ndarray
    """Condition the buyer reports (what rules before receipt see)."""
    grade: np.ndarray
    """Grade a fulfilment centre would give the unit (index into ``GRADES``), from its true
    condition; used for fulfilled-by-Amazon items."""
    in_window: np.ndarray
    handling_h: np.ndarray
    """Agent time to answer, hours (before any investigation)."""
    investigate_h: np.ndarray
    follow_up_h: np.ndarray
    reply_h: np.ndarray
    """Buyer's time to reply to an offer or a fee request."""
    patience_h: np.ndarray
    """How long the buyer waits for a first answer before asking Amazon to step in."""
    grading_h: np.ndarray
    """Receipt to grade at an Amazon fulfilment centre (FBA)."""
    ship_h: np.ndarray
    """Authorisation to the buyer handing the parcel to the carrier."""
    refund_h: np.ndarray
    """Receipt to refund."""
    u_detect: np.ndarray
    u_accept: np.ndarray
    u_fee: np.ndarray
    u_transit: np.ndarray
    u_restock: np.ndarray
    u_feedback: np.ndarray
    u_claim: np.ndarray
    u_seller_feedback: np.ndarray
    u_chargeback: np.ndarray

    def __len__(self) -> int:
        return len(self.price)

    def take(self, idx: np.ndarray) -> Requests:
        """The requests at ``idx`` (an index array or boolean mask)."""
        return take_rows(self, idx)


CUSTOMER_UNIFORMS = 5
"""Uniforms drawn per customer (the columns of :func:`customers`'s input)."""


@dataclass
class Customers:
    """The buyers behind generation-0 requests, for retention accounting, with the uniforms
    their later purchases are drawn from (so two policies that leave a customer equally
    satisfied see the same later purchases: common random numbers beyond the first return).
    The uniforms of the requests of their first returned later purchases are drawn on demand
    (:meth:`.stream.RequestStream.followon_rows`)."""

    rate_pre: np.ndarray
    """Purchases per hour before the return."""
    pre_count: np.ndarray
    """Purchases in the follow-up window's length before the return (a measured quantity)."""
    u_post: np.ndarray
    """Uniform for the post-return purchases not simulated (those past the horizon)."""
    u_kept: np.ndarray
    """Uniform for the number of kept purchases inside the horizon."""
    u_returned: np.ndarray
    """Uniform for the number of returned purchases inside the horizon."""

    def __len__(self) -> int:
        return len(self.rate_pre)

    @staticmethod
    def none(n: int) -> Customers:
        """Placeholder rows for requests that do not start a customer's record (generation 1+)."""
        z = np.zeros(n)
        return Customers(rate_pre=z, pre_count=z, u_post=z, u_kept=z, u_returned=z)


FOLLOWON_SLOTS = 4
"""Returned post-return purchases per customer whose draws are pre-drawn (more are rare and
come from the run's follow-on stream)."""


@dataclass
class Orders:
    """Orders of the scenario's own demand, per day of the horizon (kept orders are counts)."""

    per_day: np.ndarray
    """Orders placed each day."""
    kept_defects: np.ndarray
    """Kept orders with a defect of their own each day (a chargeback or negative seller
    feedback, ``health``): the part of the Order Defect Rate returns do not produce."""

    @property
    def total(self) -> int:
        return int(self.per_day.sum())


def daily_orders(world: World, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orders per day over the horizon and the returned ones among them.

    Returns (orders per day, returned orders per day, the length of each day in days: 1 except
    a fractional last day).
    """
    sc = world.scenario
    n_days = int(np.ceil(sc.horizon_days))
    length = np.minimum(1.0, sc.horizon_days - np.arange(n_days))
    dates = np.datetime64(sc.start_date.isoformat(), "D") + np.arange(n_days)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    season = np.asarray(sc.demand.seasonality)[month]
    lam = sc.demand.orders_per_day * season * length
    orders = rng.poisson(lam)
    returned = rng.binomial(orders, world.overall_return_rate)
    return orders, returned, length


def customers(world: World, u: np.ndarray, item_class: np.ndarray | None = None) -> Customers:
    """Customers from their rows of ``CUSTOMER_UNIFORMS`` uniforms; ``item_class``, the class
    of each customer's first return, picks their base rate (``buyer.purchases_per_year_by_class``;
    None: the store-wide ``buyer.purchases_per_year``)."""
    sc = world.scenario
    per_year = sc.buyer.purchases_per_year.ppf(u[:, 0])
    if item_class is not None and sc.buyer.purchases_per_year_by_class:
        for k, dist in enumerate(world.purchase_rate_dists):
            if dist is not sc.buyer.purchases_per_year:
                mine = item_class == k
                per_year[mine] = dist.ppf(u[mine, 0])
    rate_pre = per_year / HOURS_PER_YEAR
    years = sc.retention.follow_up_days / 365.25
    pre_count = poisson_ppf(u[:, 1], rate_pre * HOURS_PER_YEAR * years)
    return Customers(rate_pre=rate_pre, pre_count=pre_count, u_post=u[:, 2], u_kept=u[:, 3], u_returned=u[:, 4])


def build_requests(
    world: World,
    U: np.ndarray,
    order_time: np.ndarray,
    customer: np.ndarray,
    generation: np.ndarray,
) -> Requests:
    """Return requests for orders placed at ``order_time`` by ``customer`` (generation
    ``generation``); every random quantity comes from the request's row of uniforms in ``U``
    (columns ``UNIFORMS``)."""
    sc = world.scenario
    ret = sc.returns
    desk = sc.desk
    n = len(order_time)
    u = {name: U[:, i] for i, name in enumerate(UNIFORMS)}

    item_class = np.searchsorted(np.cumsum(world.returned_mix), u["class_"], side="right")
    item_class = np.minimum(item_class, len(world.class_names) - 1)
    market = (u["market"] >= world.market_share[0]).astype(np.int64)
    price = np.empty(n)
    for k, dist in enumerate(world.price_dists):
        sel = item_class == k
        price[sel] = dist.ppf(u["price"][sel])
    true_reason = pick(world.reason_cdf, item_class, u["reason"])
    # A misreporter states one reason of the mix. The request's own misreport uniform decides
    # both: below the rate it misreports, and its position inside that band (uniform on [0, 1)
    # again) picks the stated reason, so no column is added and common random numbers hold.
    q = ret.misreport_rate
    misreported = world.reason_misreports[true_reason] & (u["misreport"] < q)
    within = np.where(misreported, u["misreport"] / q if q > 0 else 0.0, 0.0)
    mis_to = pick(world.reason_misreport_cdf, true_reason, within)
    stated = np.where(misreported, mis_to, true_reason)
    condition, stated_condition, grade = conditions(world, true_reason, u["condition"], u["understate"], u["grade"])

    delivered = order_time + ret.delivery_days.ppf(u["delivery"]) * HOURS_PER_DAY
    in_window = u["window"] >= ret.out_of_window_rate
    window = window_days(world, order_time, delivered)
    # Re-use the out-of-window draw's position within its own band so one uniform serves both.
    delay = ret.request_delay_days
    inside = ppf_below_each(delay, u["request_delay"], window, world.request_delay_cdf)
    late = window + ret.late_request_days.ppf(u["request_delay"])
    request_time = delivered + np.where(in_window, inside, late) * HOURS_PER_DAY

    return Requests(
        customer=np.asarray(customer, dtype=np.int64),
        generation=np.asarray(generation, dtype=np.int64),
        item_class=item_class.astype(np.int64),
        market=market,
        price=price,
        order_time=np.asarray(order_time, dtype=float),
        request_time=request_time,
        true_reason=true_reason,
        stated_reason=stated,
        condition=condition,
        stated_condition=stated_condition,
        grade=grade,
        in_window=in_window,
        handling_h=desk.handling_minutes.ppf(u["handling"]) / 60.0,
        investigate_h=desk.investigation.minutes.ppf(u["investigate"]) / 60.0,
        follow_up_h=desk.follow_up_minutes.ppf(u["follow_up"]) / 60.0,
        reply_h=sc.buyer.reply_hours.ppf(u["reply"]),
        patience_h=sc.buyer.patience_hours.ppf(u["patience"]),
        grading_h=sc.fba.grading_days.ppf(u["grading"]) * HOURS_PER_DAY,
        ship_h=ret.ship_days.ppf(u["ship"]) * HOURS_PER_DAY,
        refund_h=ret.refund_processing_days.ppf(u["refund"]) * HOURS_PER_DAY,
        u_detect=u["detect"],
        u_accept=u["accept"],
        u_fee=u["fee"],
        u_transit=u["transit"],
        u_restock=u["restock"],
        u_feedback=u["feedback"],
        u_claim=u["claim"],
        u_seller_feedback=u["seller_feedback"],
        u_chargeback=u["chargeback"],
    )


def earliest_request_h(world: World, U: np.ndarray) -> np.ndarray:
    """Per row of uniforms ``U`` (columns ``UNIFORMS``), hours from the order to its request
    at the earliest, whenever it is ordered: the delivery plus the shortest delay to request
    the row allows under the base return window (a holiday window only lengthens the delay,
    and an out-of-window request comes after the window). See :func:`build_requests`."""
    ret = world.scenario.returns
    u_delivery = U[:, UNIFORMS.index("delivery")]
    u_delay = U[:, UNIFORMS.index("request_delay")]
    return (ret.delivery_days.ppf(u_delivery) + ret.request_delay_days.ppf_below(u_delay, float(ret.window_days))) * HOURS_PER_DAY


def conditions(
    world: World, true_reason: np.ndarray, u_condition: np.ndarray, u_understate: np.ndarray, u_grade: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The item's true condition (from its true reason), the condition its buyer states and the
    grade a fulfilment centre would give it, from the request's uniforms."""
    condition = pick(world.reason_condition_cdf, true_reason, u_condition)
    # A buyer returning an opened or used item may state it one grade better.
    better = (condition == 1) | (condition == 2)
    rate = world.scenario.returns.condition_understate_rate
    stated_condition = np.where(better & (u_understate < rate), condition - 1, condition)
    grade = pick(world.fba_grade_cdf, condition, u_grade)
    return condition, stated_condition, grade


def window_days(world: World, order_time: np.ndarray, delivered: np.ndarray) -> np.ndarray:
    """Return window per request in whole days from delivery: ``returns.window_days``, or for
    orders placed 1 November to 31 December (with ``holiday_window``) until the end of 31
    January [A4], whichever is later."""
    ret = world.scenario.returns
    base = np.full(len(order_time), float(ret.window_days))
    if not ret.holiday_window or not len(order_time):
        return base
    day = np.floor(order_time / HOURS_PER_DAY).astype(np.int64)
    origin, holiday, feb1 = _holiday_days(world, int(day.min()), int(day.max()) + 1)
    holiday, feb1 = holiday[day - origin], feb1[day - origin]
    delivered_day = np.floor(delivered / HOURS_PER_DAY)
    extended = np.floor(feb1 - delivered_day)
    return np.where(holiday, np.maximum(base, extended), base)


def _holiday_days(world: World, first: int, end: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Per order day (days from t = 0, from the returned origin, covering ``first`` to ``end``
    excluded): placed in November or December, and the day of the 1 February after; built once
    per scenario, as batches of a few dozen requests would otherwise pay a dozen calendar
    conversions each."""
    table = world.holiday_days
    if not table or first < table["origin"] or end > table["end"]:
        origin = min(first, table.get("origin", 0), 0)
        end = max(end, 2 * table.get("end", 0), 800)
        start = np.datetime64(world.scenario.start_date.isoformat(), "D")
        ordered = start + np.arange(origin, end).astype("timedelta64[D]")
        month = ordered.astype("datetime64[M]").astype(np.int64) % 12
        year = ordered.astype("datetime64[Y]").astype(np.int64) + 1970
        next_year = (year - 1970 + 1).astype("datetime64[Y]").astype("datetime64[D]")
        table.update(origin=origin, end=end, holiday=month >= 10, feb1=(next_year + 31 - start).astype(np.int64))
    return table["origin"], table["holiday"], table["feb1"]


def ppf_below_each(dist: _Dist, u: np.ndarray, limit: np.ndarray, cdf: dict[float, float] | None = None) -> np.ndarray:
    """``dist.ppf_below(u, limit)`` per row, with a ``limit`` per row (a few distinct values):
    one ``ppf`` call for all rows where ``ppf_below`` is the generic ``ppf(u * cdf(limit))``
    (the same operations row by row, so the same numbers), else one call per limit. ``cdf``:
    ``dist.cdf`` of limits already seen (filled in), since a scalar cdf costs a few microseconds."""
    values, at = _distinct(limit)
    if type(dist).ppf_below is _Dist.ppf_below:
        cdf = {} if cdf is None else cdf
        for w in values.tolist():
            if w not in cdf:
                cdf[w] = dist.cdf(w)
        return dist.ppf(np.asarray(u, dtype=float) * np.array([cdf[w] for w in values.tolist()])[at])
    out = np.empty(len(limit))
    for k, w in enumerate(values):
        sel = at == k
        out[sel] = dist.ppf_below(u[sel], float(w))
    return out


def _distinct(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True)``: without its sort (a tenth of the time for
    thousands of rows) when ``x`` holds whole numbers a short span apart, as windows in days do."""
    if len(x):
        lo, hi = float(x.min()), float(x.max())
        if hi - lo < 4096 and lo == math.floor(lo) and bool((x == np.floor(x)).all()):
            offset = (x - lo).astype(np.int64)
            used = np.flatnonzero(np.bincount(offset))
            rank = np.zeros(int(hi - lo) + 1, dtype=np.int64)
            rank[used] = np.arange(len(used))
            return lo + used, rank[offset]
    return np.unique(x, return_inverse=True)


def pick(table: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``pick_rows(table[row], u)``: a categorical draw per entry of ``row`` from that row of
    cumulative shares, counted over a transposed copy of the (small) table, which is about
    three times faster than counting along the rows of ``table[row]`` for thousands of rows."""
    below = np.take(np.ascontiguousarray(table.T), row, axis=1) <= u
    idx = np.add.reduce(below, axis=0, dtype=np.int64)
    return np.minimum(idx, table.shape[1] - 1, out=idx)


def pick_rows(cdf_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical draw per row: first column whose cumulative share exceeds ``u``."""
    idx = (cdf_rows <= u[:, None]).sum(axis=1)
    return np.minimum(idx, cdf_rows.shape[1] - 1).astype(np.int64)
