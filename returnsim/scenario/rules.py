"""Structured rule conditions shared by every policy table.

A policy is an ordered table of rules (offers, freight, disposition, rejection); each rule has a
``when`` condition and the first rule whose condition matches a return request applies. A
condition is data, never an expression: a conjunction of optional tests on the request's
attributes. An omitted test matches everything, so ``when = {}`` is a catch-all.

Names (item classes, markets, reasons, conditions) are checked against the scenario when it is
loaded, so a misspelt reason is an error rather than a rule that silently never fires.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import ConfigDict, Field, field_validator, model_validator

from .fields import Strict
from .limits import error

T = TypeVar("T")

__all__ = ["Condition", "FAULTS", "MARKETS", "CONDITIONS", "first_match", "MatchCache", "by_identity", "RequestView"]

FAULTS = ("seller", "carrier", "buyer")
"""Who caused a return: the seller (defect, description, wrong item), the carrier, or the buyer."""
MARKETS = ("domestic", "international")
CONDITIONS = ("unopened", "opened", "used", "damaged")
"""Item condition as the buyer sends it back."""


@dataclass
class RequestView:
    """What a condition reads: per-request arrays, names as integer codes. ``reason`` and
    ``fault`` are those on record (stated, or corrected by an investigation)."""

    price: np.ndarray
    market: np.ndarray
    item_class: np.ndarray
    reason: np.ndarray
    true_reason: np.ndarray
    fault: np.ndarray
    condition: np.ndarray
    in_window: np.ndarray
    returned_before: np.ndarray
    """Whether the buyer has returned something to this seller before (the seller's own
    records)."""


def _listify(value: Any) -> Any:
    if isinstance(value, list) and not value:
        raise error(
            "empty_list",
            "an empty list matches no request, so the rule would never apply; leave the test "
            "out to match every request, or name at least one",
        )
    return [value] if isinstance(value, str) else value


class Condition(Strict):
    """A conjunction of tests on a return request; every omitted test matches.

    ``price_min`` / ``price_max`` bound the item price in the scenario's currency, half-open:
    ``price_min <= price < price_max``. ``reason`` is the reason on record (what the buyer stated,
    corrected if an investigation revealed the true one); ``true_reason`` is the buyer's real
    reason, which a seller cannot see: use it only for what-if analyses. ``fault`` follows the
    reason on record. Rules applied before the goods come back see the condition the buyer
    stated; receipt rules see the true one. ``returned_before`` is the seller's history with the
    buyer: whether they have returned something before.
    """

    model_config = ConfigDict(frozen=True)

    price_min: float | None = Field(
        default=None, ge=0, description="lowest item price matched, in the scenario's currency (inclusive)"
    )
    price_max: float | None = Field(
        default=None, gt=0, description="price at and above which the rule no longer matches, in the scenario's currency"
    )
    market: list[Literal["domestic", "international"]] | None = Field(
        default=None,
        description="the buyer's market; in freight rules, whether the parcel crosses a border on its way back",
    )
    item_class: list[str] | None = Field(default=None, description="catalog classes matched (names of [catalog.*])")
    fault: list[Literal["seller", "carrier", "buyer"]] | None = Field(
        default=None, description="who is at fault, by the reason on record"
    )
    reason: list[str] | None = Field(
        default=None, description="reasons on record (stated, or corrected by an investigation); names of [reasons.*]"
    )
    true_reason: list[str] | None = Field(
        default=None, description="the buyer's real reason, which a seller cannot see: for what-if analyses only"
    )
    condition: list[Literal["unopened", "opened", "used", "damaged"]] | None = Field(
        default=None, description="item condition: as stated by the buyer before receipt, as found at receipt"
    )
    in_window: bool | None = Field(default=None, description="requested inside the return window")
    returned_before: bool | None = Field(
        default=None, description="the buyer has returned something to this seller before (the seller's records)"
    )

    _lists = field_validator(
        "market", "item_class", "fault", "reason", "true_reason", "condition", mode="before"
    )(_listify)

    @model_validator(mode="after")
    def _range(self) -> Condition:
        if self.price_min is not None and self.price_max is not None:
            if self.price_max <= self.price_min:
                raise ValueError(
                    f"price_max ({self.price_max}) must exceed price_min ({self.price_min})"
                )
        return self

    def names(self) -> dict[str, list[str]]:
        """The scenario-defined names this condition refers to, by kind (for cross-checks)."""
        out: dict[str, list[str]] = {}
        if self.item_class:
            out["item_class"] = self.item_class
        for key in ("reason", "true_reason"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    def mask(self, req: RequestView, codes: dict[str, dict[str, int]]) -> np.ndarray:
        """Boolean array: which requests satisfy every test.

        ``codes`` maps a kind (``"item_class"``, ``"reason"``, ``"market"``, ``"fault"``,
        ``"condition"``) to its name -> integer code table.
        """
        return _apply(self.tests(codes), req)

    def tests(self, codes: dict[str, dict[str, int]]) -> tuple[tuple[str, str, Any], ...]:
        """The condition compiled against ``codes``: ``(op, attribute, operand)`` triples, names
        turned into boolean lookup tables by code (a lookup table beats np.isin)."""
        out: list[tuple[str, str, Any]] = []
        if self.price_min is not None:
            out.append(("ge", "price", self.price_min))
        if self.price_max is not None:
            out.append(("lt", "price", self.price_max))
        if self.in_window is not None:
            out.append(("eq", "in_window", self.in_window))
        if self.returned_before is not None:
            out.append(("eq", "returned_before", self.returned_before))
        for key, attr, kind in (
            ("market", "market", "market"),
            ("item_class", "item_class", "item_class"),
            ("fault", "fault", "fault"),
            ("reason", "reason", "reason"),
            ("true_reason", "true_reason", "reason"),
            ("condition", "condition", "condition"),
        ):
            names = getattr(self, key)
            if names is not None:
                table = codes[kind]
                wanted = np.zeros(len(table), dtype=bool)
                wanted[[table[n] for n in names]] = True
                out.append(("in", attr, wanted))
        return tuple(out)


def _apply(tests: tuple[tuple[str, str, Any], ...], req: RequestView) -> np.ndarray:
    """Evaluate compiled tests (:meth:`Condition.tests`) on a batch of requests."""
    m: np.ndarray | None = None
    for op, attr, arg in tests:
        col = getattr(req, attr)
        if op == "ge":
            t = col >= arg
        elif op == "lt":
            t = col < arg
        elif op == "eq":
            t = col == arg
        else:
            t = arg[col]
        # Each test makes a new array, so the first one can be the result.
        if m is None:
            m = t
        else:
            m &= t
    return np.ones(len(req.price), dtype=bool) if m is None else m


def by_identity(cache: dict[Hashable, tuple[Any, T]], key: Hashable, owner: object, build: Callable[[], T]) -> T:
    """``build()``, kept in ``cache`` under ``key`` (which names ``owner`` by its ``id``) and
    reused while the entry still holds ``owner`` itself: a copied or unpickled cache holds other
    objects, whose ids a new object may take."""
    got = cache.get(key)
    if got is None or got[0] is not owner:
        got = cache[key] = (owner, build())
    return got[1]


MatchCache = dict[Hashable, tuple[Any, Any]]
"""Compiled conditions by ``id`` (holding the condition, so the id stays its own), and rule
tables' first matches by code (:func:`first_match`), for one ``codes`` table: policies are
applied to many batches, so names are looked up once."""

TABULATE = 4096
"""The most combinations of codes a rule table's first matches are tabulated over."""

_DOMAIN = {"market": "market", "item_class": "item_class", "fault": "fault", "reason": "reason", "true_reason": "reason", "condition": "condition"}
"""The ``codes`` table of each attribute a condition can test by name (the others are flags)."""


@dataclass(frozen=True)
class _Tabulated:
    """A rule table's first match for every combination of the codes its conditions test."""

    attributes: tuple[str, ...]
    sizes: tuple[int, ...]
    first: np.ndarray
    """By combination (the first attribute's code varies slowest)."""

    def __call__(self, req: RequestView) -> np.ndarray:
        if not self.attributes:
            return np.full(len(req.price), self.first[0], dtype=np.int64)
        flat = getattr(req, self.attributes[0]).astype(np.int64)
        for attr, size in zip(self.attributes[1:], self.sizes[1:], strict=True):
            flat = flat * size + getattr(req, attr)
        return self.first[flat]


def _tabulate(compiled: list[tuple[tuple[str, str, Any], ...]], codes: dict[str, dict[str, int]]) -> _Tabulated | None:
    """The first matches of compiled conditions over every combination of the codes they test,
    found by :func:`_first` itself (so the same by construction); None when a condition tests
    the price or the combinations exceed ``TABULATE``."""
    attributes = sorted({attr for tests in compiled for _, attr, _ in tests})
    if "price" in attributes:
        return None
    sizes = [len(codes[_DOMAIN[a]]) if a in _DOMAIN else 2 for a in attributes]
    if math.prod(sizes) > TABULATE:
        return None
    grid = np.indices(sizes).reshape(len(sizes), math.prod(sizes))
    columns = {a: (g.astype(bool) if a not in _DOMAIN else g) for a, g in zip(attributes, grid, strict=True)}
    view = _Grid(price=np.zeros(math.prod(sizes)), **columns)
    return _Tabulated(tuple(attributes), tuple(sizes), _first(compiled, view))


class _Grid:
    """The columns of a RequestView that a rule table tests, one row per combination of codes."""

    def __init__(self, **columns: np.ndarray) -> None:
        self.__dict__.update(columns)


def first_match(
    conditions: list[Condition],
    req: RequestView,
    codes: dict[str, dict[str, int]],
    cache: MatchCache | None = None,
) -> np.ndarray:
    """Index of the first matching rule per request, or -1 where none matches.

    ``cache`` (optional, one per ``codes`` table) keeps each condition compiled across calls,
    and a table whose conditions test only names and flags tabulated: its first match for every
    combination of the codes it tests (at most ``TABULATE``), looked up per request in one
    step instead of a few numpy passes per rule. The request's codes must be in range (as
    ``RequestView``'s are).
    """
    if cache is None:
        return _first([cond.tests(codes) for cond in conditions], req)
    key = ("first_match", *map(id, conditions))
    got = cache.get(key)
    if got is None or any(a is not b for a, b in zip(got[0], conditions, strict=True)):  # (the key has one id per condition)
        compiled = [by_identity(cache, id(cond), cond, partial(cond.tests, codes)) for cond in conditions]
        got = cache[key] = (tuple(conditions), _tabulate(compiled, codes) or partial(_first, compiled))
    return got[1](req)


def _first(compiled: list[tuple[tuple[str, str, Any], ...]], req: Any) -> np.ndarray:
    """:func:`first_match` of compiled conditions, rule by rule."""
    n = len(req.price)
    out = np.full(n, -1, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)
    for i, tests in enumerate(compiled):
        hit = open_ & _apply(tests, req)
        out[hit] = i
        open_ &= ~hit
        if not open_.any():
            break
    return out
