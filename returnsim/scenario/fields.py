"""Building blocks of scenario tables: strict models, typed fields, and the names of offers
and outcomes that several tables share.

Every table derives from :class:`Strict`: unknown keys are errors, numbers must be numbers
(``true`` and ``"365"`` are not) and finite, and every value obeys :mod:`.limits`.
"""

from __future__ import annotations

import datetime as dt
import math
import typing
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WrapValidator, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from .distributions import Distribution, parse_distribution
from .kinds import choices
from .limits import check_field, error

__all__ = [
    "Strict",
    "Dist",
    "Share",
    "NonNeg",
    "Date",
    "OfferKind",
    "OFFER_KINDS",
    "Resolution",
    "RESOLUTIONS",
    "ACTIONS",
]


def _non_negative(dist: Any) -> Any:
    # Every random quantity in a scenario is a price, a duration or a rate.
    if dist.minimum < 0:
        raise ValueError(f"must not take negative values (its minimum is {dist.minimum:g})")
    return dist


Dist = Annotated[Distribution, WrapValidator(parse_distribution), AfterValidator(_non_negative)]
"""A random quantity: a bare number (fixed) or a distribution table, never negative."""
Share = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]
Date = Annotated[dt.date, Field(strict=False)]
"""A calendar date: a TOML date, or its ISO text ``"2024-01-01"`` (scenarios travel to worker
processes and design points as JSON, where dates are text)."""

OfferKind = Literal["troubleshoot", "partial_refund", "exchange", "replacement"]
"""Targeted offers a seller can make instead of a refund."""
OFFER_KINDS: tuple[str, ...] = typing.get_args(OfferKind)

Resolution = Literal[
    "troubleshot",
    "kept_partial_refund",
    "exchanged",
    "replaced",
    "returnless_refund",
    "returned_refund",
    "rejected",
    "claim_refund",
]
"""Terminal states of a return request: exactly one per request. ``claim_refund``: rejected,
then refunded by Amazon at the seller's cost after an A-to-z claim (invalid rejections)."""
RESOLUTIONS: tuple[str, ...] = typing.get_args(Resolution)

ACTIONS = ("give_to_buyer", "return_to_origin", "return_to_address", "abandon")
"""Disposition actions (``cost_optimal`` picks one of these per return)."""


class Strict(BaseModel):
    """Base of every scenario table: unknown keys are errors; numbers are finite numbers of
    their declared type (``strict``: no booleans, no quoted numbers, no ``2.5`` for a count)
    and at most :data:`~returnsim.scenario.limits.LIMIT` in size; durations are at most ten
    years; text is printable (:mod:`.limits`)."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, strict=True, allow_inf_nan=False
    )

    _plain = field_validator("*")(check_field)


def _mix_sums_to_one(mix: dict[str, float], what: str) -> None:
    """Raise unless the shares of ``mix`` sum to 1; ``what`` names them (a key of the table
    being checked, if it is one, so the problem points there)."""
    total = sum(mix.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        where = {"field": what} if what.isidentifier() else {}
        raise error("shares_sum", f"{what} must sum to 1, got {total:g}", **where)



def _err(loc: tuple[Any, ...], value: Any, message: str, kind: str = "scenario") -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError(kind, message.replace("{", "{{").replace("}", "}}")),
        loc=loc,
        input=value,
    )


def _choices(name: str, options: list[str]) -> str:
    return choices(name, options)


def split_annotated(tp: Any) -> tuple[Any, list[Any]]:
    """``Annotated[T, *meta]`` -> ``(T, meta)`` (nested ``Annotated`` flattened)."""
    meta: list[Any] = []
    while typing.get_origin(tp) is typing.Annotated:
        meta.extend(tp.__metadata__)
        tp = typing.get_args(tp)[0]
    return tp, meta
