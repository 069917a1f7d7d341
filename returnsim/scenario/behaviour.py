"""How buyers behave: accepting offers and fees, replying, buying again after a return, and
what a return does to their satisfaction, feedback and claims (see ``docs/model.md``)."""

from __future__ import annotations

from pydantic import Field

from .distributions import Lognormal, Uniform
from .fields import Dist, OfferKind, Resolution, Strict

__all__ = [
    "OfferResponse",
    "FeeResponse",
    "Buyer",
    "Satisfaction",
    "Logit",
    "ClaimLogit",
    "RepeatMultiplier",
    "Retention",
]


class OfferResponse(Strict):
    """Logistic model of a buyer accepting an offer instead of returning:
    ``logit p = intercept + per_value_share*v + per_day_delay*days + per_quality*q
    + by_reason[true reason]``."""

    intercept: float = Field(description="log-odds of accepting a prompt offer of no value from a desk of quality 0 (assumed [B22])")
    per_value_share: float = Field(default=0.0, description="change in log-odds per unit of the offer's value as a share of price (assumed)")
    per_day_delay: float = Field(default=-0.5, description="change in log-odds per day the buyer waited for the offer (assumed)")
    per_quality: float = Field(default=1.0, description="change in log-odds per unit of desk.service_quality (assumed)")
    by_reason: dict[str, float] = Field(
        default_factory=dict, description="shift by the buyer's true reason"
    )


def _default_offer_responses() -> dict[OfferKind, OfferResponse]:
    # No published figure exists for talking buyers out of returns (docs/sources.md [B22]): assumed,
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

    intercept: float = Field(default=1.0, description="log-odds of agreeing to pay a fee of nothing (assumed)")
    per_fee_share: float = Field(default=-6.0, description="change in log-odds per unit of the amount asked as a share of price (assumed)")


class Buyer(Strict):
    """How buyers respond to the seller."""

    offers: dict[OfferKind, OfferResponse] = Field(
        default_factory=_default_offer_responses,
        description="how buyers answer each kind of offer (logistic models; assumed [B22])",
    )
    fee_acceptance: FeeResponse = Field(
        default_factory=FeeResponse, description="how buyers answer a request to pay a loss fee or the label (assumed)"
    )
    reply_hours: Dist = Field(
        default=Lognormal(mean_=12, cv=1.0), description="time to reply to an offer (assumed)"
    )
    patience_hours: Dist = Field(
        default=Uniform(low=48, high=168),
        description="how long a buyer waits for a first answer before asking Amazon to step in "
        "(an A-to-z claim); Amazon lets buyers claim 48 h after contacting the seller [A7], so "
        "the default starts there (the spread to 7 days is assumed)",
    )
    purchases_per_year: Dist = Field(
        default=Lognormal(mean_=0.2, cv=1.5),
        description="a returning customer's base rate of purchases *with this seller* per year, "
        "before the return; the return experience multiplies it (retention.repeat_multiplier). "
        "No published figure exists for a third-party marketplace seller's repeat buyers [B21]: "
        "assumed low, 0.2 (plausibly 0.1-0.3 for unbranded goods; a retailer's own customers buy "
        "more often: bower_maxham.toml uses 2). Classes in purchases_per_year_by_class use their own",
    )
    purchases_per_year_by_class: dict[str, Dist] = Field(
        default_factory=dict,
        description="the base rate of purchases with this seller per year for the returners of an "
        "item class (a class not named here uses purchases_per_year; assumed [B21])",
    )


def _default_resolution_scores() -> dict[Resolution, float]:
    return {
        "troubleshot": 1.0,
        "kept_partial_refund": 0.5,
        "exchanged": 0.8,
        "replaced": 0.8,
        "returnless_refund": 0.8,
        "returned_refund": 0.0,
        "rejected": -3.0,
        "claim_refund": -3.0,
    }


class Satisfaction(Strict):
    """Additive satisfaction score of a resolved request (0 = neutral; one point is roughly
    the effect of paying for one's own return label, halved). See ``docs/model.md``."""

    per_response_day: float = Field(default=-0.3, description="per day to first answer (assumed)")
    over_24h: float = Field(
        default=-0.3, description="satisfaction points when the first answer comes after Amazon's recommended 24 h [A2] (size assumed)"
    )
    over_48h: float = Field(
        default=-0.7,
        description="satisfaction points when late: not authorised/closed within Amazon's 48 h [A1] (size assumed)",
    )
    buyer_paid_freight: float = Field(
        default=-2.0,
        description="the buyer paid the return label; calibrated with repeat_multiplier to "
        "Bower & Maxham (2012): paid 0-25 % / free 158-457 % of pre-return spending [B1, B2]",
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
        default=-1.0, description="satisfaction points when an investigation reassigned the fault to the buyer (assumed)"
    )
    resolution: dict[Resolution, float] = Field(
        default_factory=_default_resolution_scores,
        description="by how the request ended (assumed; ordered as the complaint-handling "
        "ladder: solved > refunded > unresolved, docs/sources.md [B5])",
    )


class Logit(Strict):
    """``logit p = intercept + per_satisfaction * s``."""

    intercept: float = Field(description="log-odds at satisfaction 0 (neutral)")
    per_satisfaction: float = Field(description="change in log-odds per point of satisfaction")


class ClaimLogit(Logit):
    """A-to-z claim: more likely after negative feedback or a late response (Amazon [A7],
    sizes assumed). A claim is *not denied* (and counts in the Order Defect Rate [A6]) when the
    seller broke Amazon's rules: an invalid rejection, a late response, or no answer before the
    buyer's patience ran out; Amazon denies the others (assumed)."""

    negative_feedback: float = Field(default=1.5, description="change in log-odds after negative return feedback (assumed)")
    late_response: float = Field(default=1.0, description="change in log-odds after a late response (assumed)")
    rejected: float = Field(default=2.0, description="change in log-odds after a rejection (assumed)")
    refund_after_days: float = Field(
        default=7.0, ge=0, description="claim on an invalid rejection to Amazon's refund (assumed)"
    )


class RepeatMultiplier(Strict):
    """Post-return purchase rate over the pre-return rate:
    ``M = maximum * logistic(intercept + per_satisfaction * s)``. Saturating, so a delighted
    customer buys at most ``maximum`` times as often as before."""

    maximum: float = Field(
        default=4.57,
        gt=0,
        description="ceiling of the multiplier: the highest post/pre spending ratio Bower & "
        "Maxham (2012) observed [B2]; the base rate (buyer.purchases_per_year) sets the scale",
    )
    intercept: float = Field(
        default=1.22,
        description="calibrated with per_satisfaction and satisfaction.buyer_paid_freight to "
        "Bower & Maxham (2012) [B1, B2]: paid returns 0-25 %, free 158-457 % of pre-return spending "
        "(targets 0.125 and 2.69, the ranges' middles; scenarios/validation/bower_maxham.toml)",
    )
    per_satisfaction: float = Field(default=1.98, description="change in log-odds of the multiplier per satisfaction point; calibrated, as intercept [B1, B2]")


class Retention(Strict):
    """Satisfaction -> feedback, claims and post-return purchases (see ``docs/model.md``)."""

    satisfaction: Satisfaction = Field(
        default_factory=Satisfaction, description="what makes up a resolved request's satisfaction score (points)"
    )
    negative_feedback: Logit = Field(
        default_factory=lambda: Logit(intercept=-3.5, per_satisfaction=-0.6),
        description="negative return feedback (assumed: a few per cent for a prompt, fair "
        "desk, so RDR stays under Amazon's 10 % target [A5])",
    )
    negative_seller_feedback: Logit = Field(
        default_factory=lambda: Logit(intercept=-4.5, per_satisfaction=-0.6),
        description="negative *seller* feedback after a return, which counts in the Order Defect "
        "Rate [A6] (assumed: rarer than negative return feedback)",
    )
    az_claim: ClaimLogit = Field(
        default_factory=lambda: ClaimLogit(intercept=-5.5, per_satisfaction=-0.5),
        description="A-to-z claim (assumed: well under 1 % of requests for a prompt desk)",
    )
    repeat_multiplier: RepeatMultiplier = Field(
        default_factory=lambda: RepeatMultiplier(),
        description="post-return purchase rate over the base rate, by satisfaction (calibrated [B1, B2])",
    )
    follow_up_days: float = Field(
        default=730,
        gt=0,
        le=3652.5,
        description="post-return window: 2 years, as Bower & Maxham [B1]; at most 10 years, "
        "beyond which no study measures post-return purchases",
    )
    seller_share: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="share of the return experience's effect on later purchases credited to the "
        "seller rather than the marketplace (caused_margin); assumed 0.3 [B24]: Bower & Maxham "
        "measured a retailer's own customers (share 1), on a marketplace much of a good return "
        "experience is credited to Amazon",
    )
    feedback_into_demand: bool = Field(
        default=True, description="post-return purchases inside the horizon become orders"
    )
