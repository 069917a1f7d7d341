"""Building blocks of scenario tables: strict models, typed fields, and the names of offers
and outcomes that several tables share."""

from __future__ import annotations

import difflib
import math
import typing
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import InitErrorDetails, PydanticCustomError

from .distributions import Distribution, as_distribution

__all__ = [
    "Strict",
    "Dist",
    "Share",
    "NonNeg",
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


Dist = Annotated[Distribution, BeforeValidator(as_distribution), AfterValidator(_non_negative)]
Share = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]

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
    """Base of every scenario table: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _mix_sums_to_one(mix: dict[str, float], what: str) -> None:
    total = sum(mix.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"{what} must sum to 1, got {total:g}")



def _err(loc: tuple[Any, ...], value: Any, message: str, kind: str = "scenario") -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError(kind, message.replace("{", "{{").replace("}", "}}")),
        loc=loc,
        input=value,
    )


def _choices(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}expected one of: {', '.join(options)}"


