"""The scenario's own orders and their return requests, drawn as the clock reaches them.

Think of the order book as a tape: each day's order count and returned count are known from
the start (a few numbers a day), but the returned orders' attributes — when in the day they were
placed, the request's uniforms, the customer's — are drawn a few days of orders at a time, just
before the desk needs them. A request comes after its order, so once every order placed before
time ``T`` has been drawn, every request before ``T`` is known and can go to the desk in time
order; later ones wait in a small pending table.

The numbers are those of drawing everything at once. Each random stream is read in the same
order as before: the orders stream gives the day counts, then one uniform per returned order
(its time in the day), then the kept orders' own defects; the requests stream gives one row of
``UNIFORMS`` per returned order, then one row of ``CUSTOMER_UNIFORMS`` per customer, then
``FOLLOWON_SLOTS`` rows for each customer's later returned purchases. A reader of each section
starts where the section starts (``BitGenerator.advance`` skips the draws before it), so chunks
drawn one after another give exactly the draws of one call; a customer's later-purchase rows are
read on demand at their place in the stream, only for the few customers who make such purchases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .columns import concat_rows, take_rows
from .demand import (
    CUSTOMER_UNIFORMS,
    FOLLOWON_SLOTS,
    UNIFORMS,
    Customers,
    Orders,
    Requests,
    build_requests,
    customers,
    daily_orders,
)
from .world import HOURS_PER_DAY, World

__all__ = ["RequestStream", "Part", "CHUNK_REQUESTS"]

CHUNK_REQUESTS = 4096
"""About how many returned orders are drawn at a time (whole days of orders, at least one):
small enough that a chunk is a few days of a large store, large enough that a small store draws
its year in one go, as fast as before."""

_FOLLOWON_WIDTH = len(UNIFORMS) + 1
"""Uniforms per later returned purchase: a request's, plus one placing the purchase in time."""


@dataclass
class Part:
    """Requests released to the desk: every request of the scenario's orders dated before the
    part's end and after the previous part's, in time order."""

    ids: np.ndarray
    """Request ids: ranks by request time among the scenario's own requests."""
    req: Requests
    cust: Customers
    """The customer each request starts (its ``customer`` index is the row's)."""

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class _Pending:
    """A chunk's requests not yet released, sorted by request time: views into the rows the
    chunk drew (``owned`` of them), copied once fewer than half are left, so a row is copied
    at most about once and a chunk keeps at most twice its pending rows alive."""

    req: Requests
    cust: Customers
    owned: int

    def after(self, cut: int) -> _Pending:
        """The requests after the first ``cut``."""
        rest = slice(cut, None)
        req, cust = take_rows(self.req, rest), take_rows(self.cust, rest)
        if 2 * len(req) >= self.owned:
            return _Pending(req, cust, self.owned)
        every = np.arange(len(req))
        return _Pending(req.take(every), take_rows(cust, every), len(req))


def _merge(tables: list[tuple[Requests, Customers]]) -> tuple[Requests, Customers]:
    """Sorted tables of earlier to later customers, merged in request-time order (ties keep
    the earlier customer first, as one stable sort of every request would)."""
    if len(tables) == 1:
        return tables[0]
    req = concat_rows([t[0] for t in tables])
    cust = concat_rows([t[1] for t in tables])
    order = np.argsort(req.request_time, kind="stable")
    return req.take(order), take_rows(cust, order)


def _reader(rng: np.random.Generator, skip: int) -> np.random.Generator:
    """An independent generator positioned ``skip`` draws after ``rng`` (which is untouched)."""
    bit = type(rng.bit_generator)()
    bit.state = rng.bit_generator.state
    _advance(bit, skip)
    return np.random.Generator(bit)


def _advance(bit: np.random.BitGenerator, skip: int) -> None:
    """Skip ``skip`` 64-bit draws (one per double) of a bit generator that can jump ahead."""
    if not skip:
        return
    advance = getattr(bit, "advance", None)
    if advance is None:
        raise TypeError(f"{type(bit).__name__} cannot skip draws; the run's streams are PCG64")
    advance(int(skip))


class RequestStream:
    """Return requests of the scenario's own orders, released in time order (see the module
    docstring).

    Args:
        world: the compiled scenario.
        rng_orders, rng_requests: the run's ``orders`` and ``requests`` streams.
        chunk: about how many returned orders to draw at a time (default ``CHUNK_REQUESTS``).
    """

    def __init__(
        self,
        world: World,
        rng_orders: np.random.Generator,
        rng_requests: np.random.Generator,
        chunk: int | None = None,
    ) -> None:
        self.world = world
        self.chunk = max(int(CHUNK_REQUESTS if chunk is None else chunk), 1)
        per_day, returned, self._length = daily_orders(world, rng_orders)
        self.total = int(returned.sum())
        """Requests of the scenario's own orders (known before any is drawn)."""
        self._first = np.concatenate([[0], np.cumsum(returned)])
        """Index of the first returned order (customer) of each day, and the total."""
        p_defect = world.scenario.health.kept_order_defect_rate
        kept_defects = _reader(rng_orders, self.total).binomial(per_day - returned, p_defect)
        self.orders = Orders(per_day=per_day, kept_defects=kept_defects)
        self._times = rng_orders
        n, width = self.total, len(UNIFORMS)
        self._uniforms = _reader(rng_requests, 0)
        self._customer_uniforms = _reader(rng_requests, n * width)
        self._followon = _reader(rng_requests, n * (width + CUSTOMER_UNIFORMS))
        self._followon_state = self._followon.bit_generator.state
        self._day = 0
        """The next day whose orders are to be drawn."""
        self._pending: list[_Pending] = []
        """Drawn requests not yet released: one table per chunk, each sorted by request time."""
        self._released = 0

    def first_customer(self, day: int) -> int:
        """Index of the first customer (returned order) of ``day``: customers are numbered in
        order of their order's day."""
        return int(self._first[min(max(day, 0), len(self._first) - 1)])

    @property
    def released(self) -> int:
        """Requests released so far."""
        return self._released

    def next_part(self) -> Part | None:
        """The next requests in time order, or None once every request has been released."""
        n_days = len(self._length)
        while self._released < self.total:
            if self._day >= n_days and not self._pending:
                raise RuntimeError(f"released {self._released} of {self.total} requests, and none is left to draw")
            if self._day < n_days:
                d0 = self._day
                # Whole days, at least one, up to about `chunk` returned orders.
                d1 = int(np.searchsorted(self._first, self._first[d0] + self.chunk, side="right")) - 1
                d1 = min(max(d1, d0 + 1), n_days)
                self._draw(d0, d1)
                self._day = d1
            # Once every order is drawn, any split of the pending requests is safe: release them
            # a chunk at a time too.
            until = self._day * HOURS_PER_DAY if self._day < n_days else math.inf
            part = self._release(until, self.chunk)
            if part is not None:
                return part
        return None

    def _draw(self, d0: int, d1: int) -> None:
        """Draw the returned orders of days ``[d0, d1)`` into the pending tables."""
        c0, c1 = int(self._first[d0]), int(self._first[d1])
        k = c1 - c0
        if not k:
            return
        day = np.repeat(np.arange(d0, d1), np.diff(self._first[d0 : d1 + 1]))
        order_time = (day + self._times.random(k) * self._length[day]) * HOURS_PER_DAY
        U = self._uniforms.random((k, len(UNIFORMS)))
        req = build_requests(self.world, U, order_time, np.arange(c0, c1), np.zeros(k, dtype=np.int64))
        cust = customers(self.world, self._customer_uniforms.random((k, CUSTOMER_UNIFORMS)), req.item_class)
        order = np.argsort(req.request_time, kind="stable")
        self._pending.append(_Pending(req.take(order), take_rows(cust, order), k))

    def _release(self, until: float, most: int) -> Part | None:
        """Release the pending requests dated before ``until``, the earliest ``most`` of them if
        ``until`` is infinite (no order is left to draw)."""
        if math.isinf(until) and len(self._pending) > 1:
            merged = _merge([(p.req, p.cust) for p in self._pending])
            self._pending = [_Pending(*merged, len(merged[0]))]
        heads, rest = [], []
        for p in self._pending:
            cut = int(np.searchsorted(p.req.request_time, until, side="left"))
            if math.isinf(until):
                cut = min(cut, most)
            if cut:
                heads.append((take_rows(p.req, slice(0, cut)), take_rows(p.cust, slice(0, cut))))
            if cut < len(p.req):
                rest.append(p.after(cut))
        self._pending = rest
        if not heads:
            return None
        req, cust = _merge(heads)
        ids = np.arange(self._released, self._released + len(req))
        self._released += len(req)
        return Part(ids=ids, req=req, cust=cust)

    def followon_rows(self, customer: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """The pre-drawn uniforms of later returned purchase ``slot`` (< ``FOLLOWON_SLOTS``) of
        each ``customer``: one row of ``len(UNIFORMS) + 1`` per pair, read at its place in the
        requests stream."""
        out = np.empty((len(customer), _FOLLOWON_WIDTH))
        if not len(customer):
            return out
        offset = (np.asarray(customer, dtype=np.int64) * FOLLOWON_SLOTS + np.asarray(slot)) * _FOLLOWON_WIDTH
        gen = self._followon
        bit = gen.bit_generator
        bit.state = self._followon_state
        at = 0
        for i in np.argsort(offset, kind="stable"):
            skip = int(offset[i]) - at
            if skip < 0:  # the same row asked for twice
                bit.state = self._followon_state
                skip = int(offset[i])
            _advance(bit, skip)
            gen.random(out=out[i])
            at = int(offset[i]) + _FOLLOWON_WIDTH
        return out
