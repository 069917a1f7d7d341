"""The world of a scenario: what a seller cannot change quickly.

Demand, markets and their shipping lanes, the catalog of item classes, return reasons, the
timing and honesty of return requests, fees and unit costs, and addresses returns may
be sent to. Each table is a strict pydantic model (unknown keys are errors); defaults say where
their value comes from (``docs/sources.md``) or that it is assumed.

Units: money in the scenario's currency, weights in pounds, durations in the unit their name
says (``_days``, ``_hours``, ``_minutes``), shares and rates as fractions in [0, 1].
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .. import amazon
from .distributions import Fixed, Lognormal, Uniform
from .fields import Dist, NonNeg, Share, Strict, _mix_sums_to_one
from .rules import CONDITIONS

__all__ = [
    "Demand",
    "Lane",
    "Market",
    "Markets",
    "ConditionMix",
    "ResaleShares",
    "ItemClass",
    "Reason",
    "Returns",
    "WeightTier",
    "WeightFee",
    "Costs",
    "SellerLiquidation",
    "Address",
    "GradeMix",
    "FbaTerms",
    "Fba",
    "Health",
    "GRADES",
]

GRADES = amazon.GRADES
"""Grades a fulfilment centre gives a returned unit (``returnsim.amazon.GRADES``)."""


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

    base: NonNeg = Field(description="fixed cost per label, in the scenario's currency")
    per_lb: NonNeg = Field(default=0.0, description="cost per pound of item weight, in the scenario's currency")

    def cost(self, weight_lb: Any) -> Any:
        return self.base + self.per_lb * weight_lb


class Market(Strict):
    """Where buyers live, as seen from the seller's warehouse."""

    share: Share = Field(description="share of orders from this market")
    return_label: Lane = Field(description="label from a buyer here back to the seller")
    outbound_label: Lane = Field(description="label for a replacement or exchange unit")
    transit_days: Dist = Field(description="return transit time from a buyer here to the seller, days")


class Markets(Strict):
    domestic: Market = Field(description="buyers in the seller's own country")
    international: Market = Field(description="buyers abroad (their returns cross a border unless sent to an address in their region)")

    @model_validator(mode="after")
    def _shares(self) -> Markets:
        _mix_sums_to_one(
            {"domestic": self.domestic.share, "international": self.international.share},
            "domestic.share + international.share",
        )
        return self


class ConditionMix(Strict):
    """A share per item condition."""

    unopened: Share = Field(default=0.0, description="share of items coming back unopened (0-1)")
    opened: Share = Field(default=0.0, description="share opened but unused (0-1)")
    used: Share = Field(default=0.0, description="share used (0-1)")
    damaged: Share = Field(default=0.0, description="share damaged (0-1)")

    def as_list(self) -> list[float]:
        return [getattr(self, c) for c in CONDITIONS]


class ResaleShares(ConditionMix):
    """Net resale value of a returned unit as a share of its price, by condition (after
    selling fees). Defaults are assumed, guided by Amazon's Grade and Resell worked example
    (a $30 item nets $16.62 like new down to $11.52 acceptable: docs/sources.md [F5])."""

    unopened: Share = Field(default=0.80, description="resale value of an unopened unit, share of price (assumed, guided by [F5])")
    opened: Share = Field(default=0.55, description="resale value of an opened unit, share of price (assumed, guided by [F5])")
    used: Share = Field(default=0.40, description="resale value of a used unit, share of price (assumed, guided by [F5])")
    damaged: Share = Field(default=0.05, description="resale value of a damaged unit, share of price (assumed)")


class FbaTerms(Strict):
    """Amazon's fees for one item class when it is fulfilled by Amazon (docs/sources.md [F4-F7])."""

    size_tier: amazon.SizeTier | None = Field(
        default=None,
        description="Amazon's product size tier; default: derived from the class's weight_lb and "
        "dimensions_in by Amazon's size-tier table [F8] (from the weight alone when dimensions_in is "
        "not given); a tier the weight and dimensions contradict is an error",
    )
    fulfilment_fee: NonNeg = Field(
        default=3.50,
        description="FBA fulfilment fee per unit shipped, in the scenario's currency, by size and weight (assumed: a small "
        "standard unit; Amazon's Grade and Resell example pays $5.80 for 3.35 lb [F6])",
    )
    inbound_per_unit: NonNeg = Field(default=0.75, description="the seller's cost to get a unit to Amazon and keep it there until sold (inbound shipping, placement, storage), in the scenario's currency, paid on every FBA order (assumed: a small standard unit stored a few months)")
    returns_fee_threshold: Share = Field(
        default=0.081,
        description="return rate above which returned units pay the returns processing fee "
        "(Home & Kitchen 8.1 %; 2.9-12.8 % by category [F7]); 0 for apparel and shoes, which pay "
        "on every unit",
    )
    returns_processing_fee: NonNeg = Field(
        default=2.96,
        description="returns processing fee per charged unit, in the scenario's currency (assumed: the 1-2 lb large-standard "
        "rate of Amazon's card, $2.96 [F7])",
    )


class ItemClass(Strict):
    """A group of products with similar price, weight and return behaviour."""

    share: NonNeg = Field(description="weight of this class in the order mix (normalised)")
    price: Dist = Field(description="item price, in the scenario's currency")
    unit_cost_share: Share = Field(
        default=0.45, description="cost of goods as a share of price (assumed)"
    )
    weight_lb: NonNeg = Field(default=1.0, description="shipping weight, pounds (the unit weight of the packaged item)")
    dimensions_in: list[Annotated[float, Field(gt=0)]] | None = Field(
        default=None,
        min_length=3,
        max_length=3,
        description="sides of the packaged item in inches [length, width, height], any order; with "
        "weight_lb they give the FBA size tier by Amazon's table [F8] (default: unknown, the tier "
        "then comes from the weight alone)",
    )
    return_rate: Share = Field(description="probability an order is returned (0-1)")
    reasons: dict[str, Share] = Field(
        description="reason mix of returns (sums to 1): the reasons buyers *state*, as sources and "
        "Amazon's reports give them, unless reasons_are = 'true'"
    )
    reasons_are: Literal["stated", "true"] = Field(
        default="stated",
        description="whether `reasons` is the stated mix (misreports included; the model derives "
        "the true mix from it and returns.misreport_rate) or the true mix",
    )
    value_decay_per_week: Share = Field(
        default=0.0,
        description=(
            "share of resale value lost per week since the sale: ~1 %/week for fast-moving "
            "electronics, ~1 %/month for power tools (Blackburn et al. 2004 [B8])"
        ),
    )
    resale_share: ResaleShares = Field(
        default_factory=ResaleShares,
        description="net resale value of a returned unit by condition, as a share of its price",
    )
    fulfilment: Literal["merchant", "fba"] = Field(
        default="merchant",
        description="merchant: the seller ships and handles returns (the default); fba: fulfilled "
        "by Amazon, whose desk, labels, grading and fees handle its returns",
    )
    fba: FbaTerms = Field(
        default_factory=lambda: FbaTerms(), description="Amazon's fees for this class under FBA"
    )
    merchant_handling: NonNeg = Field(default=1.0, description="the seller's own cost to pick and pack an outbound order of this class it fulfils (merchant), in the scenario's currency, beside the outbound label of the buyer's market (assumed: a minute of work and a mailer)")
    category: str = Field(
        default="other",
        description="Amazon category of the class, lower case (e.g. clothing, shoes, jewelry, "
        "watches, handbags): the marketplace's free fashion returns apply to the categories its "
        "profile names [A20]",
    )
    prepaid_exempt: bool = Field(default=False, description="the class is exempt from prepaid return labels (a category exemption, or SKUs the seller exempted [A8]), so its requests come to the seller for manual authorisation")

    @model_validator(mode="after")
    def _mix(self) -> ItemClass:
        if not self.reasons:
            raise ValueError("reasons must name at least one reason")
        _mix_sums_to_one(self.reasons, "reasons")
        return self

    @property
    def size_tier(self) -> str:
        """The FBA size tier: ``fba.size_tier`` if given, else Amazon's table on ``weight_lb``
        and ``dimensions_in`` [F8] (``returnsim.amazon.size_tier``)."""
        if self.fba.size_tier is not None:
            return self.fba.size_tier
        return amazon.size_tier(self.weight_lb, self.dimensions_in)


class Reason(Strict):
    """A return reason: who is at fault and what state the item comes back in."""

    fault: Literal["seller", "carrier", "buyer"] = Field(
        description="who is at fault: the seller (defects, description, wrong item), the carrier, or the buyer [A16]"
    )
    condition: ConditionMix = Field(description="condition mix of items returned for it")
    misreport_as: str | dict[str, Share] | None = Field(
        default=None,
        description="seller-fault reason a misreporting buyer states instead (buyer fault only), or "
        "a mix of seller-fault reasons with shares summing to 1; defaults to returns.misreport_as",
    )
    label: str = Field(default="", description="buyer-visible wording")

    @model_validator(mode="after")
    def _mix(self) -> Reason:
        _mix_sums_to_one(self.condition.model_dump(), "condition")
        return self


class Returns(Strict):
    """Timing and honesty of return requests."""

    window_days: float = Field(
        default=30, gt=0, description="return window after delivery (Amazon: 30 days [A4])"
    )
    delivery_days: Dist = Field(
        default=Uniform(low=2, high=5), description="order to delivery (assumed)"
    )
    request_delay_days: Dist = Field(
        default=Lognormal(mean_=8, cv=0.8),
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
        default=0.0,
        description=(
            "share of buyer-fault returns whose stated reason blames the seller (default none; "
            "the seed scenario assumes 0.1, under the 10-14 % abuse share of returns [B18])"
        ),
    )
    misreport_as: str | dict[str, Share] | None = Field(
        default=None,
        description="seller-fault reason misreporters state, or a mix of seller-fault reasons with "
        "shares summing to 1 (e.g. { not_as_described = 0.7, defective = 0.3 }, the seed's, from [B15-B17]: "
        "each misreport states one, drawn by its share); default: not_as_described if the scenario "
        "defines it, else its first seller-fault reason (no misreports without one)",
    )
    condition_understate_rate: Share = Field(
        default=0.2,
        description="share of buyers returning an opened or used item who state it one grade "
        "better (used as opened, opened as unopened); rules before receipt see the stated "
        "condition, the seller learns the true one at receipt (assumed)",
    )
    holiday_window: bool = Field(
        default=True,
        description="Amazon's holiday return window: items ordered 1 November to 31 December may "
        "be returned until 31 January [A4]",
    )
    ship_days: Dist = Field(
        default=Lognormal(mean_=3, cv=0.7),
        description="authorisation to the buyer handing the parcel over (assumed)",
    )
    refund_processing_days: Dist = Field(
        default=Uniform(low=0, high=2),
        description="receipt to refund, in business days (weekdays that are not desk.holidays); "
        "Amazon requires 2 business days [A3]",
    )
    restock_days: Dist = Field(default=Fixed(value=3), description="receipt to resale (assumed)")


class WeightTier(Strict):
    max_lb: float = Field(gt=0, description="heaviest unit this tier covers, pounds")
    fee: NonNeg = Field(description="fee per unit, in the scenario's currency")


class WeightFee(Strict):
    """A per-unit fee by shipping weight: the first tier whose ``max_lb`` covers the weight,
    else ``over_base + over_per_lb * (weight - last max_lb)``."""

    tiers: list[WeightTier] = Field(default_factory=list, description="fee tiers by weight, lightest first")
    over_base: NonNeg = Field(default=0.0, description="fee per unit heavier than the last tier, in the scenario's currency")
    over_per_lb: NonNeg = Field(default=0.0, description="plus this per pound above the last tier, in the scenario's currency")

    def fee(self, weight_lb: Any) -> Any:
        import numpy as np

        w = np.asarray(weight_lb, dtype=float)
        top = self.tiers[-1].max_lb if self.tiers else 0.0
        out = self.over_base + self.over_per_lb * np.maximum(w - top, 0.0)
        for tier in reversed(self.tiers):
            out = np.where(w <= tier.max_lb, tier.fee, out)
        return out


def _fba_disposal() -> WeightFee:
    # FBA removal/disposal fee per standard-size unit from Jan 2026 (docs/sources.md [F1]).
    return WeightFee(
        tiers=[WeightTier(max_lb=lb, fee=fee) for lb, fee in amazon.REMOVAL_FEE_TIERS],
        over_base=amazon.REMOVAL_OVER_BASE,
        over_per_lb=amazon.REMOVAL_OVER_PER_LB,
    )


class SellerLiquidation(Strict):
    """How a seller-fulfilled seller liquidates a unit through their own channel (a liquidator
    or a pallet buyer), not Amazon's FBA liquidation programme [F3]: what it brings, what it
    costs per unit, and where an abandoned unit goes."""

    recovery_share: Share = Field(
        default=0.075,
        description="what a liquidator pays for a unit, as a share of its price, with no Amazon "
        "referral fee (assumed: the midpoint of the 5-10 % gross recovery of FBA liquidation [F3], "
        "the nearest published figure)",
    )
    item_fee: NonNeg = Field(
        default=0.0,
        description="cost per liquidated unit, in the scenario's currency (assumed: a lot buyer "
        "pays for the lot and charges no per-unit fee)",
    )
    address: str | None = Field(
        default=None,
        description="where an abandoned unit to be liquidated goes: the name of an entry of "
        "[addresses] (a liquidator or the seller's own address), whose return label the seller "
        "buys; default: sold where it lies, no label (assumed). Units liquidated at receipt are "
        "already at the origin and need no further label",
    )


class Costs(Strict):
    """Fees and unit costs the seller pays or recovers."""

    referral_rate: Share = Field(default=0.15, description="Amazon referral fee, most categories [A15]")
    refund_admin_fee_cap: NonNeg = Field(
        default=5.0, description="refund administration fee: the smaller of $5 ... [A14]"
    )
    refund_admin_fee_share: Share = Field(
        default=0.20, description="... and 20 % of the referral fee on the refund [A14]"
    )
    inspection: NonNeg = Field(
        default=6.0, description="receiving and inspecting a returned unit, in the scenario's currency per unit; $6-18 per item [B12]"
    )
    restock_credit: Literal["saved_cost", "resale"] = Field(
        default="saved_cost",
        description="value of a resold returned unit: saved_cost (default) credits what it saves, "
        "the cost of goods of a unit the seller need not buy (never more than its net resale "
        "value), because a resold unit replaces a sale the seller would have made anyway; resale "
        "credits the net resale value (a seller who sells everything it can stock)",
    )
    disposal_fee: WeightFee = Field(
        default_factory=_fba_disposal, description="disposal fee per unit by shipping weight (Amazon's from January 2026 [F1])"
    )
    liquidation_recovery_share: Share = Field(
        default=0.075,
        description="Amazon's FBA liquidation gross recovery, 5-10 % of value, less the referral fee "
        "[F3]; applies to fulfilled-by-Amazon units (seller-fulfilled ones: seller_liquidation)",
    )
    liquidation_item_fee: NonNeg = Field(
        default=0.50,
        description="Amazon's FBA liquidation fee per unit, in the scenario's currency (assumed); "
        "fulfilled-by-Amazon units only",
    )
    seller_liquidation: SellerLiquidation = Field(
        default_factory=lambda: SellerLiquidation(),
        description="liquidation of seller-fulfilled units through the seller's own channel: "
        "recovery share, fee per unit, and where an abandoned unit goes (docs/model.md section 7b)",
    )
    carrier_claim_share: Share = Field(
        default=0.5,
        description="share of item value and label a carrier claim pays (assumed); a claim never "
        "pays more than the loss, the refund and label less what the unit recovers",
    )


class Address(Strict):
    """A place other than the origin warehouse a seller may send returns to."""

    return_label: dict[Literal["domestic", "international"], Lane] = Field(
        description="label cost from a buyer in each market to this address"
    )
    transit_days: Dist = Field(description="transit time from a buyer to this address, days")
    region: Literal["domestic", "international"] = Field(
        default="domestic",
        description="where the address is: in the seller's country (domestic) or in the "
        "international buyers' region; a return crosses a border when the buyer's market differs",
    )
    handling_fee: NonNeg = Field(default=0.0, description="handling fee per unit received, in the scenario's currency")
    recovery_factor: NonNeg = Field(
        default=1.0, description="resale value here as a multiple of the origin's (1 = the same)"
    )
    restock_days: Dist = Field(default=Fixed(value=7), description="receipt to resale here, days (assumed)")


class GradeMix(Strict):
    """A share per grade (sums to 1)."""

    sellable: Share = Field(default=0.0, description="share graded sellable as new (back to stock)")
    like_new: Share = Field(default=0.0, description="share graded Like New (Grade and Resell)")
    very_good: Share = Field(default=0.0, description="share graded Very Good (Grade and Resell)")
    good: Share = Field(default=0.0, description="share graded Good (Grade and Resell)")
    acceptable: Share = Field(default=0.0, description="share graded Acceptable (Grade and Resell)")
    unsellable: Share = Field(default=0.0, description="share unsellable (disposed of)")

    @model_validator(mode="after")
    def _mix(self) -> GradeMix:
        _mix_sums_to_one(self.model_dump(), "grade shares")
        return self

    def as_list(self) -> list[float]:
        return [getattr(self, g) for g in GRADES]


ReturnedCondition = Literal["unopened", "opened", "used", "damaged"]


def _default_grades() -> dict[ReturnedCondition, GradeMix]:
    # Assumed: no published split of FBA grades by the condition a unit comes back in.
    return {
        "unopened": GradeMix(sellable=0.9, like_new=0.1),
        "opened": GradeMix(like_new=0.5, very_good=0.3, good=0.1, unsellable=0.1),
        "used": GradeMix(very_good=0.2, good=0.4, acceptable=0.3, unsellable=0.1),
        "damaged": GradeMix(acceptable=0.1, unsellable=0.9),
    }


class Fba(Strict):
    """Fulfilment by Amazon: how Amazon grades and handles returned units of FBA classes.

    Amazon's desk answers FBA returns at once, around the clock, with prepaid labels and
    automatic authorisation; no seller labour, label or inspection. A received unit is graded:
    ``sellable`` goes back to stock, the used grades are sold through Grade and Resell
    (``returnsim.amazon.grade_and_resell_recovery``), ``unsellable`` is disposed of at the
    disposal fee by weight [F1].
    """

    grades: dict[ReturnedCondition, GradeMix] = Field(
        default_factory=_default_grades,
        description="grade mix of received units by the condition they come back in (assumed)",
    )
    grading_days: Dist = Field(
        default=Fixed(value=2), description="receipt to grade at the fulfilment centre (assumed)"
    )
    grade_and_resell: bool = Field(
        default=True,
        description="enrolled in Grade and Resell; if not, used grades are disposed of like "
        "unsellable units",
    )
    refund_days: Dist = Field(
        default=Fixed(value=0), description="receipt to Amazon's refund of the buyer (assumed)"
    )


class Health(Strict):
    """Account-health inputs not produced by returns: defects of orders that are kept, and the
    windows Amazon measures over (docs/sources.md [A5, A6])."""

    chargeback_rate: Share = Field(
        default=0.0005, description="share of orders with a chargeback (assumed: 0.05 %)"
    )
    negative_seller_feedback_rate: Share = Field(
        default=0.003,
        description="share of kept orders with negative seller feedback (assumed: 0.3 %)",
    )
    odr_window_days: float = Field(
        default=60, gt=0, description="Order Defect Rate window: 60 days [A6]"
    )
    rdr_window_days: float = Field(
        default=60,
        gt=0,
        description="Return Dissatisfaction Rate window (assumed 60 days, as account health's "
        "other metrics [A17])",
    )

    @property
    def kept_order_defect_rate(self) -> float:
        """Probability that an order the buyer keeps is a defect in Amazon's ODR: a chargeback
        or negative seller feedback (independent; one defect per order)."""
        return 1 - (1 - self.chargeback_rate) * (1 - self.negative_seller_feedback_rate)
