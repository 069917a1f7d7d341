"""Scenario files: one world, several named policies to compare.

A scenario is a TOML file validated by the pydantic models below. The *world* is what a seller
cannot change quickly (demand, catalog, markets, buyers' behaviour, fees and costs, the desk's
size); a *policy* is what they choose (offers, who pays return freight, what happens to the goods,
desk discipline). Every model forbids unknown keys, so ``staf = 2`` is an error, not a silent
default.

Defaults that come from a published figure say so in their description (the figures and their
sources are collected in ``reference/calibration.md``); defaults with no published figure say
"assumed". Descriptions show up in ``returnsim schema``.

Units: money in the scenario's currency (US dollars for the shipped scenarios), weights in
pounds, durations in the unit their name says (``_days``, ``_hours``, ``_minutes``), shares and
rates as fractions in [0, 1].
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from .distributions import Distribution, Fixed, Lognormal, Uniform, as_distribution
from .rules import CONDITIONS, Condition

__all__ = [
    "Scenario",
    "Policy",
    "ItemClass",
    "Reason",
    "Market",
    "Lane",
    "Address",
    "OfferRule",
    "FreightRule",
    "DispositionRule",
    "RejectRule",
    "OFFER_KINDS",
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


# --------------------------------------------------------------------------------------------
# World
# --------------------------------------------------------------------------------------------


class Demand(Strict):
    """Orders: a Poisson process with a monthly seasonal multiplier."""

    orders_per_day: float = Field(gt=0, description="mean orders per day before seasonality")
    seasonality: list[NonNeg] = Field(
        default_factory=lambda: [1.0] * 12,
        min_length=12,
        max_length=12,
        description="multiplier of orders_per_day for January..December (1 = none; assumed)",
    )


class Lane(Strict):
    """Cost of one shipping label on a lane: ``base + per_lb * weight``."""

    base: NonNeg = Field(description="fixed cost per label")
    per_lb: NonNeg = Field(default=0.0, description="cost per pound of item weight")

    def cost(self, weight_lb: Any) -> Any:
        return self.base + self.per_lb * weight_lb


class Market(Strict):
    """Where buyers live, as seen from the seller's warehouse."""

    share: Share = Field(description="share of orders from this market")
    return_label: Lane = Field(description="label from a buyer here back to the seller")
    outbound_label: Lane = Field(description="label for a replacement or exchange unit")
    transit_days: Dist = Field(description="return transit time, buyer to seller")


class Markets(Strict):
    domestic: Market
    international: Market

    @model_validator(mode="after")
    def _shares(self) -> Markets:
        _mix_sums_to_one(
            {"domestic": self.domestic.share, "international": self.international.share},
            "domestic.share + international.share",
        )
        return self


class ConditionMix(Strict):
    """A share per item condition."""

    unopened: Share = 0.0
    opened: Share = 0.0
    used: Share = 0.0
    damaged: Share = 0.0

    def as_list(self) -> list[float]:
        return [getattr(self, c) for c in CONDITIONS]


class ResaleShares(ConditionMix):
    """Net resale value of a returned unit as a share of its price, by condition (after
    selling fees). Defaults are assumed, guided by Amazon's Grade and Resell worked example
    (a $30 item nets $16.62 like new down to $11.52 acceptable: reference/calibration.md)."""

    unopened: Share = 0.80
    opened: Share = 0.55
    used: Share = 0.40
    damaged: Share = 0.05


class ItemClass(Strict):
    """A group of products with similar price, weight and return behaviour."""

    share: NonNeg = Field(description="weight of this class in the order mix (normalised)")
    price: Dist = Field(description="item price")
    unit_cost_share: Share = Field(
        default=0.45, description="cost of goods as a share of price (assumed)"
    )
    weight_lb: NonNeg = Field(default=1.0, description="shipping weight, pounds")
    return_rate: Share = Field(description="probability an order is returned")
    reasons: dict[str, Share] = Field(description="true reason mix of returns (sums to 1)")
    value_decay_per_week: Share = Field(
        default=0.0,
        description=(
            "share of resale value lost per week since the sale: ~1 %/week for fast-moving "
            "electronics, ~1 %/month for power tools (Blackburn et al. 2004 [S])"
        ),
    )
    resale_share: ResaleShares = Field(default_factory=ResaleShares)

    @model_validator(mode="after")
    def _mix(self) -> ItemClass:
        if not self.reasons:
            raise ValueError("reasons must name at least one reason")
        _mix_sums_to_one(self.reasons, "reasons")
        return self


class Reason(Strict):
    """A return reason: who is at fault and what state the item comes back in."""

    fault: Literal["seller", "carrier", "buyer"]
    condition: ConditionMix = Field(description="condition mix of items returned for it")
    misreport_as: str | None = Field(
        default=None,
        description="seller-fault reason a misreporting buyer states instead (buyer fault only);"
        " defaults to returns.misreport_as",
    )
    label: str = Field(default="", description="buyer-visible wording")

    @model_validator(mode="after")
    def _mix(self) -> Reason:
        _mix_sums_to_one(self.condition.model_dump(), "condition")
        return self


class Returns(Strict):
    """Timing and honesty of return requests."""

    window_days: float = Field(
        default=30, gt=0, description="return window after delivery (Amazon: 30 days [V])"
    )
    delivery_days: Dist = Field(
        default=Uniform(low=2, high=5), description="order to delivery (assumed)"
    )
    request_delay_days: Dist = Field(
        default=Lognormal(mean=8, cv=0.8),
        description="delivery to return request, truncated to the window (assumed)",
    )
    out_of_window_rate: Share = Field(
        default=0.0, description="share of requests made after the window closed (assumed)"
    )
    late_request_days: Dist = Field(
        default=Uniform(low=0, high=14),
        description="how long after the window closes an out-of-window request comes (assumed)",
    )
    misreport_rate: Share = Field(
        default=0.2,
        description=(
            "share of buyer-fault returns whose stated reason blames the seller; 0.2 of the "
            "~65 % buyer-side returns gives ~13 %, inside the 10-14 % abuse share [V/S]"
        ),
    )
    misreport_as: str = Field(
        default="not_as_described", description="default seller-fault reason misreporters state"
    )
    ship_days: Dist = Field(
        default=Lognormal(mean=3, cv=0.7),
        description="authorisation to the buyer handing the parcel over (assumed)",
    )
    refund_processing_days: Dist = Field(
        default=Uniform(low=0, high=2),
        description="receipt to refund; Amazon requires 2 business days [V]",
    )
    restock_days: Dist = Field(default=Fixed(value=3), description="receipt to resale (assumed)")


class DayHours(Strict):
    open: float = Field(ge=0, le=24)
    close: float = Field(ge=0, le=24)

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)) and len(v) == 2:
            return {"open": v[0], "close": v[1]}
        return v

    @model_validator(mode="after")
    def _ordered(self) -> DayHours:
        if not self.close > self.open:
            raise ValueError(f"close ({self.close}) must be after open ({self.open})")
        return self


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WeekHours(Strict):
    """Opening hours per weekday as ``[open, close]`` in hours (e.g. ``mon = [9, 17]``);
    a day left out is closed."""

    mon: DayHours | None = None
    tue: DayHours | None = None
    wed: DayHours | None = None
    thu: DayHours | None = None
    fri: DayHours | None = None
    sat: DayHours | None = None
    sun: DayHours | None = None

    @model_validator(mode="after")
    def _some(self) -> WeekHours:
        if all(getattr(self, d) is None for d in WEEKDAYS):
            raise ValueError("the desk must be open at least one day a week")
        return self

    def intervals(self) -> list[tuple[float, float]]:
        """Open intervals within a week, in hours from Monday 00:00."""
        out = []
        for i, d in enumerate(WEEKDAYS):
            h = getattr(self, d)
            if h is not None:
                out.append((24.0 * i + h.open, 24.0 * i + h.close))
        return out


class Investigation(Strict):
    """Checking the buyer's real reason when the stated one blames the seller."""

    detect_probability: Share = Field(
        default=0.5, description="chance a misreported reason is revealed (assumed)"
    )
    minutes: Dist = Field(default=Fixed(value=10), description="extra agent time (assumed)")


class Desk(Strict):
    """The seller's response desk."""

    staff: int = Field(default=2, ge=1, strict=True, description="agents answering return requests")
    hours: Literal["24/7"] | WeekHours = Field(
        default="24/7", description='"24/7" or opening hours per weekday'
    )
    handling_minutes: Dist = Field(
        default=Lognormal(mean=12, cv=0.5), description="agent time per request (assumed)"
    )
    follow_up_minutes: Dist = Field(
        default=Fixed(value=3),
        description="agent time to act on a buyer's reply to an offer (assumed; not queued)",
    )
    investigation: Investigation = Field(default_factory=Investigation)
    wage_per_hour: NonNeg = Field(default=20.0, description="loaded cost of an agent hour (assumed)")
    late_after_hours: float = Field(
        default=48,
        gt=0,
        description="no authorise/close within this many hours is a late response (Amazon [V])",
    )
    service_quality: Share = Field(
        default=0.5, description="ability and attitude of the desk, 0..1 (assumed)"
    )


class OfferResponse(Strict):
    """Logistic model of a buyer accepting an offer instead of returning:
    ``logit p = intercept + per_value_share*v + per_day_delay*days + per_quality*q
    + by_reason[true reason]``."""

    intercept: float
    per_value_share: float = 0.0
    per_day_delay: float = Field(default=-0.5, description="effect of each day of waiting")
    per_quality: float = 1.0
    by_reason: dict[str, float] = Field(
        default_factory=dict, description="shift by the buyer's true reason"
    )


def _default_offer_responses() -> dict[str, OfferResponse]:
    # No published figure exists for talking buyers out of returns (calibration.md): assumed,
    # so that acceptance at a prompt answer is ~20-35 %, inside the "at most ~37 % choose other
    # than a refund" bound.
    return {
        "troubleshoot": OfferResponse(intercept=-1.2),
        "partial_refund": OfferResponse(intercept=-2.5, per_value_share=6.0),
        "exchange": OfferResponse(intercept=-1.0),
        "replacement": OfferResponse(intercept=-0.5),
    }


class FeeResponse(Strict):
    """Logistic model of a buyer accepting a loss fee or paying the freight when asked:
    ``logit p = intercept + per_fee_share * (amount / price)``."""

    intercept: float = Field(default=1.0, description="assumed")
    per_fee_share: float = Field(default=-6.0, description="assumed")


class Buyer(Strict):
    """How buyers respond to the seller."""

    offers: dict[OfferKind, OfferResponse] = Field(default_factory=_default_offer_responses)
    fee_acceptance: FeeResponse = Field(default_factory=FeeResponse)
    reply_hours: Dist = Field(
        default=Lognormal(mean=12, cv=1.0), description="time to reply to an offer (assumed)"
    )
    purchases_per_year: Dist = Field(
        default=Lognormal(mean=2.0, cv=1.0),
        description="a returning customer's purchase rate before the return (assumed)",
    )


class Satisfaction(Strict):
    """Additive satisfaction score of a resolved request (0 = neutral; one point is roughly
    the effect of paying for one's own return label, halved). See ``docs/model.md``."""

    per_response_day: float = Field(default=-0.3, description="per day to first answer (assumed)")
    over_24h: float = Field(
        default=-0.3, description="first answer after Amazon's recommended 24 h [V] (assumed size)"
    )
    over_48h: float = Field(
        default=-0.7,
        description="late: not authorised/closed within Amazon's 48 h [V] (assumed size)",
    )
    buyer_paid_freight: float = Field(
        default=-2.0,
        description="the buyer paid the return label; calibrated with repeat_multiplier to "
        "Bower & Maxham (2012): paid 0-25 % / free 158-457 % of pre-return spending [V]",
    )
    per_fee_share: float = Field(
        default=-3.0,
        description="loss or restocking fee as a share of price (assumed: a 20 % fee weighs "
        "about a third of a paid label)",
    )
    per_refund_day: float = Field(
        default=-0.05, description="per day from request to refund (assumed)"
    )
    disputed_reason: float = Field(
        default=-1.0, description="an investigation reassigned the fault to the buyer (assumed)"
    )
    resolution: dict[
        Resolution,
        float,
    ] = Field(
        default_factory=lambda: {
            "troubleshot": 1.0,
            "kept_partial_refund": 0.5,
            "exchanged": 0.8,
            "replaced": 0.8,
            "returnless_refund": 0.8,
            "returned_refund": 0.0,
            "rejected": -3.0,
            "claim_refund": -3.0,
        },
        description="by how the request ended (assumed; ordered as the complaint-handling "
        "ladder: solved > refunded > unresolved, calibration.md [S])",
    )


class Logit(Strict):
    """``logit p = intercept + per_satisfaction * s``."""

    intercept: float
    per_satisfaction: float


class ClaimLogit(Logit):
    """A-to-z claim: more likely after negative feedback or a late response (Amazon [V],
    sizes assumed)."""

    negative_feedback: float = 1.5
    late_response: float = 1.0
    rejected: float = 2.0
    refund_after_days: float = Field(
        default=7.0, ge=0, description="claim on an invalid rejection to Amazon's refund (assumed)"
    )


class RepeatMultiplier(Strict):
    """Post-return purchase rate over the pre-return rate:
    ``M = maximum * logistic(intercept + per_satisfaction * s)``. Saturating, so a delighted
    customer buys at most ``maximum`` times as often as before."""

    maximum: float = Field(
        default=5.0,
        gt=0,
        description="ceiling of the multiplier (assumed: just above the highest published ratio, "
        "4.57, Bower & Maxham 2012)",
    )
    intercept: float = Field(
        default=0.93,
        description="calibrated with per_satisfaction and satisfaction.buyer_paid_freight to "
        "Bower & Maxham (2012): paid returns 0-25 %, free 158-457 % of pre-return spending "
        "(targets 0.125 and 2.69, the ranges' middles; scenarios/validation/bower_maxham.toml)",
    )
    per_satisfaction: float = Field(default=1.92, description="calibrated, as intercept")


class Retention(Strict):
    """Satisfaction -> feedback, claims and post-return purchases (see ``docs/model.md``)."""

    satisfaction: Satisfaction = Field(default_factory=Satisfaction)
    negative_feedback: Logit = Field(
        default_factory=lambda: Logit(intercept=-3.5, per_satisfaction=-0.6),
        description="negative return feedback (assumed: a few per cent for a prompt, fair "
        "desk, so RDR stays under Amazon's 10 % target [V])",
    )
    az_claim: ClaimLogit = Field(
        default_factory=lambda: ClaimLogit(intercept=-5.5, per_satisfaction=-0.5),
        description="A-to-z claim (assumed: well under 1 % of requests for a prompt desk)",
    )
    repeat_multiplier: RepeatMultiplier = Field(default_factory=lambda: RepeatMultiplier())
    follow_up_days: float = Field(
        default=730, gt=0, description="post-return window: 2 years, as Bower & Maxham [V]"
    )
    feedback_into_demand: bool = Field(
        default=True, description="post-return purchases inside the horizon become orders"
    )


class WeightTier(Strict):
    max_lb: float = Field(gt=0)
    fee: NonNeg


class WeightFee(Strict):
    """A per-unit fee by shipping weight: the first tier whose ``max_lb`` covers the weight,
    else ``over_base + over_per_lb * (weight - last max_lb)``."""

    tiers: list[WeightTier] = Field(default_factory=list)
    over_base: NonNeg = 0.0
    over_per_lb: NonNeg = 0.0

    def fee(self, weight_lb: Any) -> Any:
        import numpy as np

        w = np.asarray(weight_lb, dtype=float)
        top = self.tiers[-1].max_lb if self.tiers else 0.0
        out = self.over_base + self.over_per_lb * np.maximum(w - top, 0.0)
        for tier in reversed(self.tiers):
            out = np.where(w <= tier.max_lb, tier.fee, out)
        return out


def _fba_disposal() -> WeightFee:
    # FBA removal/disposal fee per standard-size unit from Jan 2026 (calibration.md [S]).
    return WeightFee(
        tiers=[
            WeightTier(max_lb=0.5, fee=0.84),
            WeightTier(max_lb=1.0, fee=1.53),
            WeightTier(max_lb=2.0, fee=2.27),
        ],
        over_base=2.89,
        over_per_lb=1.06,
    )


class Costs(Strict):
    """Fees and unit costs the seller pays or recovers."""

    referral_rate: Share = Field(default=0.15, description="Amazon referral fee, most categories [S]")
    refund_admin_fee_cap: NonNeg = Field(
        default=5.0, description="refund administration fee: the smaller of $5 ... [S]"
    )
    refund_admin_fee_share: Share = Field(
        default=0.20, description="... and 20 % of the referral fee on the refund [S]"
    )
    inspection: NonNeg = Field(
        default=6.0, description="receive and inspect a returned unit; $6-18 per item [S]"
    )
    grading_fee: NonNeg = Field(
        default=1.50, description="grade-and-resell processing fee, small standard [V]"
    )
    disposal_fee: WeightFee = Field(default_factory=_fba_disposal)
    liquidation_recovery_share: Share = Field(
        default=0.075, description="liquidation gross recovery, 5-10 % of value [V]"
    )
    liquidation_item_fee: NonNeg = Field(default=0.50, description="per unit (assumed)")
    carrier_claim_share: Share = Field(
        default=0.5, description="share of item value and label a carrier claim recovers (assumed)"
    )


class Address(Strict):
    """A place other than the origin warehouse a seller may send returns to."""

    return_label: dict[Literal["domestic", "international"], Lane] = Field(
        description="label cost from a buyer in each market to this address"
    )
    transit_days: Dist
    handling_fee: NonNeg = Field(default=0.0, description="per unit received")
    recovery_factor: NonNeg = Field(
        default=1.0, description="resale value here relative to the origin's"
    )
    restock_days: Dist = Field(default=Fixed(value=7))


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------


class OfferRule(Strict):
    """Make ``kind`` to requests matching ``when``; ``value_share`` is a partial refund's share
    of the price."""

    when: Condition = Field(default_factory=Condition)
    kind: OfferKind
    value_share: Share = 0.0

    @model_validator(mode="after")
    def _value(self) -> OfferRule:
        if self.kind == "partial_refund" and self.value_share <= 0:
            raise ValueError("a partial_refund offer needs value_share > 0")
        return self


class FreightRule(Strict):
    """Who pays the return label for requests matching ``when``.

    ``seller``: the seller. ``buyer``: deducted from the refund (with a restocking fee of
    ``fee_share`` of the price if set). ``carrier_claim``: the seller, who recovers
    ``costs.carrier_claim_share`` from the carrier. ``negotiate``: the seller asks the buyer
    for ``ask`` (a loss fee of ``fee_share`` of the price, or the freight); if the buyer refuses,
    the seller pays.
    """

    when: Condition = Field(default_factory=Condition)
    payer: Literal["seller", "buyer", "carrier_claim", "negotiate"]
    ask: Literal["loss_fee", "freight"] = "loss_fee"
    fee_share: Share = 0.0


class DispositionRule(Strict):
    """What happens to the goods of returns matching ``when``."""

    when: Condition = Field(default_factory=Condition)
    action: Literal[
        "give_to_buyer", "return_to_origin", "return_to_address", "abandon", "cost_optimal"
    ]
    address: str | None = Field(default=None, description="for return_to_address")
    abandon_mode: Literal["dispose", "liquidate"] = "liquidate"
    candidates: list[str] | None = Field(
        default=None,
        description="cost_optimal: actions to choose from (default: all, every address)",
    )

    @model_validator(mode="after")
    def _address(self) -> DispositionRule:
        if self.action == "return_to_address" and not self.address:
            raise ValueError("return_to_address needs an address")
        return self


class RejectRule(Strict):
    """Reject requests matching ``when`` (e.g. ``{in_window = false}``). Rejecting an
    in-window request is an invalid rejection (Amazon RDR)."""

    when: Condition = Field(default_factory=Condition)


class Policy(Strict):
    """How the seller handles returns. Tables are ordered: the first matching rule applies."""

    extends: str | None = Field(default=None, description="start from this policy's fields")
    description: str = ""
    auto_authorise: bool = Field(
        default=False, description="authorise every request at once, no persuasion"
    )
    authorise_at_deadline: bool = Field(
        default=True,
        description="if the buyer has not answered an offer or fee request by the late "
        "threshold, authorise the return then (the offer lapses) instead of answering late",
    )
    discipline: Literal["fifo", "deadline"] = Field(
        default="fifo",
        description="fifo, or deadline: oldest request still answerable in time first",
    )
    investigate: bool = Field(
        default=False, description="check the real reason of seller-fault claims"
    )
    offers: list[OfferRule] = Field(default_factory=list)
    freight: list[FreightRule] = Field(
        default_factory=list, description="no matching rule: the seller pays"
    )
    disposition: list[DispositionRule] = Field(
        default_factory=list, description="no matching rule: return_to_origin"
    )
    reject: list[RejectRule] = Field(default_factory=list)


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Deep merge for ``extends``: tables merge key by key, anything else is replaced."""
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "when":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _err(loc: tuple[Any, ...], value: Any, message: str, kind: str = "scenario") -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError(kind, message.replace("{", "{{").replace("}", "}}")),
        loc=loc,
        input=value,
    )


def resolve_extends(policies: Any) -> Any:
    """Expand ``extends`` chains in a raw ``policies`` table (before validation)."""
    if not isinstance(policies, dict):
        return policies
    errors: list[InitErrorDetails] = []
    done: dict[str, Any] = {}

    def expand(name: str, chain: tuple[str, ...]) -> Any:
        if name in done:
            return done[name]
        raw = policies[name]
        if not isinstance(raw, dict) or raw.get("extends") is None:
            done[name] = raw
            return raw
        base = raw["extends"]
        if base not in policies:
            errors.append(
                _err(
                    ("policies", name, "extends"),
                    base,
                    f"no policy named '{base}'; {_choices(base, [p for p in policies if p != name])}",
                )
            )
            done[name] = raw
            return raw
        if base in chain:
            errors.append(
                _err(
                    ("policies", name, "extends"),
                    base,
                    "extends chain loops: " + " -> ".join((*chain, name, base)),
                )
            )
            done[name] = raw
            return raw
        parent = expand(base, (*chain, name))
        merged = _merge(parent, raw) if isinstance(parent, dict) else raw
        done[name] = merged
        return merged

    for name in policies:
        expand(name, ())
    if errors:
        raise ValidationError.from_exception_data("Scenario", errors)
    return done


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------


class Scenario(Strict):
    """A world and the policies to compare in it. See the module docstring for units."""

    name: str = "scenario"
    description: str = ""
    start_date: dt.date = Field(
        default=dt.date(2024, 1, 1),
        description="calendar date of t = 0; must be a Monday (the desk's week starts there)",
    )
    horizon_days: float = Field(
        gt=0,
        description="orders are placed in [0, horizon); every return from them is followed "
        "to its end (cohort accounting)",
    )
    demand: Demand
    markets: Markets
    catalog: dict[str, ItemClass] = Field(min_length=1)
    reasons: dict[str, Reason] = Field(min_length=1)
    returns: Returns = Field(default_factory=Returns)
    desk: Desk = Field(default_factory=Desk)
    buyer: Buyer = Field(default_factory=Buyer)
    retention: Retention = Field(default_factory=Retention)
    costs: Costs = Field(default_factory=Costs)
    addresses: dict[str, Address] = Field(default_factory=dict)
    policies: dict[str, Policy] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _extends(cls, data: Any) -> Any:
        if isinstance(data, dict) and "policies" in data:
            data = dict(data)
            data["policies"] = resolve_extends(data["policies"])
        return data

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        errors = list(_cross_errors(self))
        if errors:
            raise ValidationError.from_exception_data("Scenario", errors)
        return self

    # Convenience -------------------------------------------------------------------------

    def policy(self, name: str) -> Policy:
        """The named policy, with a clear error listing the choices."""
        try:
            return self.policies[name]
        except KeyError:
            raise KeyError(
                f"no policy named '{name}'; this scenario has: {', '.join(self.policies)}"
            ) from None


def _choices(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}expected one of: {', '.join(options)}"


def _cross_errors(sc: Scenario) -> Iterator[InitErrorDetails]:
    reasons = list(sc.reasons)
    classes = list(sc.catalog)
    addresses = list(sc.addresses)

    if sc.start_date.weekday() != 0:
        yield _err(
            ("start_date",),
            sc.start_date.isoformat(),
            f"must be a Monday (t = 0 is Monday 00:00); {sc.start_date} is a "
            f"{sc.start_date.strftime('%A')}",
        )
    if sum(c.share for c in sc.catalog.values()) <= 0:
        yield _err(("catalog",), None, "at least one item class needs share > 0")
    for cname, cls in sc.catalog.items():
        for r in cls.reasons:
            if r not in sc.reasons:
                yield _err(("catalog", cname, "reasons", r), r, f"unknown reason; {_choices(r, reasons)}")

    def seller_reason(loc: tuple[Any, ...], name: str) -> Iterator[InitErrorDetails]:
        if name not in sc.reasons:
            yield _err(loc, name, f"unknown reason; {_choices(name, reasons)}")
        elif sc.reasons[name].fault != "seller":
            yield _err(loc, name, "a misreported reason must be a seller-fault reason")

    yield from seller_reason(("returns", "misreport_as"), sc.returns.misreport_as)
    for rname, reason in sc.reasons.items():
        if reason.misreport_as is not None:
            yield from seller_reason(("reasons", rname, "misreport_as"), reason.misreport_as)
    for kind, resp in sc.buyer.offers.items():
        for r in resp.by_reason:
            if r not in sc.reasons:
                yield _err(("buyer", "offers", kind, "by_reason", r), r, f"unknown reason; {_choices(r, reasons)}")

    def check_when(loc: tuple[Any, ...], cond: Condition) -> Iterator[InitErrorDetails]:
        for key, names in cond.names().items():
            options = classes if key == "item_class" else reasons
            for i, n in enumerate(names):
                if n not in options:
                    yield _err((*loc, "when", key, i), n, f"unknown {key.replace('_', ' ')}; {_choices(n, options)}")

    actions = [
        "give_to_buyer",
        "return_to_origin",
        "return_to_address",
        *(f"return_to_address:{a}" for a in addresses),
        "abandon",
        "abandon:dispose",
        "abandon:liquidate",
    ]
    for pname, pol in sc.policies.items():
        base = ("policies", pname)
        for table in ("offers", "freight", "disposition", "reject"):
            for i, rule in enumerate(getattr(pol, table)):
                yield from check_when((*base, table, i), rule.when)
        for i, offer in enumerate(pol.offers):
            if offer.kind not in sc.buyer.offers:
                yield _err(
                    (*base, "offers", i, "kind"),
                    offer.kind,
                    f"buyer.offers has no response model for '{offer.kind}'",
                )
        for i, rule in enumerate(pol.disposition):
            if rule.address in sc.addresses and rule.action == "return_to_address":
                lanes = sc.addresses[rule.address].return_label
                markets = rule.when.market or [m for m in ("domestic", "international") if getattr(sc.markets, m).share > 0]
                missing = [m for m in markets if m not in lanes]
                if missing:
                    yield _err(
                        (*base, "disposition", i, "address"),
                        rule.address,
                        f"address has no return_label for {', '.join(missing)} buyers, but this "
                        f"rule can send their returns there; add the lane or restrict when.market",
                    )
            if "return_to_address" in (rule.candidates or []) and not sc.addresses:
                yield _err(
                    (*base, "disposition", i, "candidates"),
                    "return_to_address",
                    "the scenario defines no [addresses] to return to",
                )
            if rule.address is not None and rule.address not in sc.addresses:
                yield _err(
                    (*base, "disposition", i, "address"),
                    rule.address,
                    f"unknown address; {_choices(rule.address, addresses)}"
                    if addresses
                    else "unknown address; the scenario defines no [addresses]",
                )
            for j, cand in enumerate(rule.candidates or []):
                if cand not in actions:
                    yield _err(
                        (*base, "disposition", i, "candidates", j),
                        cand,
                        f"unknown action; {_choices(cand, actions)}",
                    )
