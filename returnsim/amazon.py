"""Amazon's rules as pure functions and constants, each with its source in ``docs/sources.md``.

Two kinds of rule live here, so the model, the terminal tables and the HTML report all judge
and charge by the same rule:

* **Account health**: the targets of the Return Dissatisfaction Rate and the Order Defect Rate,
  the late-response threshold, and :func:`target_breaches`, which words a breach plainly.
* **Fees**: Grade and Resell recovery, the refund administration fee, the FBA returns processing
  fee (high-return-rate products since June 2024, and apparel and shoes on every unit), and
  removal and disposal fees by weight. The ledger (``returnsim.model.ledger``) charges these.

Amounts are US-marketplace dollars at the dates of their sources. Functions that reproduce a
published example round as Amazon does: each fee is rounded half-up to the cent before it is
subtracted (:func:`cents`), which is how Amazon's Grade and Resell example comes out to the cent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import numpy as np

__all__ = [
    "RDR_TARGET",
    "ODR_TARGET",
    "LATE_AFTER_HOURS",
    "ODR_WINDOW_DAYS",
    "RDR_WINDOW_DAYS",
    "HealthWarning",
    "target_breaches",
    "cents",
    "SizeTier",
    "SIZE_TIERS",
    "SIZE_TIER_SOURCE",
    "DIMENSIONAL_WEIGHT_DIVISOR",
    "size_tier",
    "size_tier_conflict",
    "GRADES",
    "GRADE_AND_RESELL_PROCESSING_FEE",
    "GRADE_AND_RESELL_USED_PRICE_SHARE",
    "grade_and_resell_recovery",
    "refund_admin_fee",
    "refund_admin_fees",
    "returns_processing_units",
    "returns_processing_share",
    "apparel_returns_processing_fee",
    "removal_fee",
]

RDR_TARGET = 0.10
"""Return Dissatisfaction Rate target: below 10 % of return requests [A5]."""

ODR_TARGET = 0.01
"""Order Defect Rate target: below 1 % of orders [A6]."""

LATE_AFTER_HOURS = 48.0
"""A return request not authorised, refunded or closed within 48 hours is late [A1]."""

ODR_WINDOW_DAYS = 60.0
"""The Order Defect Rate is measured over 60 days [A6]."""

RDR_WINDOW_DAYS = 60.0
"""Window of the Return Dissatisfaction Rate. Amazon's help page does not state one; account
health shows its metrics over 60 days, so 60 is assumed (docs/sources.md [A17])."""


class HealthWarning(str):
    """A plain-words warning that a policy breaks one of Amazon's account-health targets."""


def target_breaches(policy: str, kpis: Mapping[str, float]) -> list[HealthWarning]:
    """Plain-words warnings for every account-health target ``kpis`` break.

    ``kpis`` maps KPI names to values (a run's ``kpis`` or a policy's means over replications).
    A rate is judged on its mean over the run (``rdr``, ``odr``); where the worst rolling window
    is given as well (``rdr_window_max``, ``odr_window_max``), a breach in some windows only is
    reported too, with the share of windows over the target. A KPI that is missing or NaN is not
    judged.

    Args:
        policy: the policy's name, used in the message.
        kpis: KPI values by name.

    Returns:
        One warning per breached target (empty when none is breached).
    """
    out: list[HealthWarning] = []
    checks = (
        ("rdr", RDR_TARGET, "return dissatisfaction rate", "return requests"),
        ("odr", ODR_TARGET, "order defect rate", "orders"),
    )
    for key, target, name, per in checks:
        value = kpis.get(key)
        worst = kpis.get(f"{key}_window_max")
        share = kpis.get(f"{key}_windows_over_target")
        if value is not None and value == value and value >= target:
            out.append(
                HealthWarning(
                    f"{policy}: {name} {_rate(value, target)} of {per} is at or above Amazon's target of "
                    f"{target:.0%}; Amazon may restrict a seller's account for this"
                )
            )
        elif value is not None and value == value and worst is not None and worst == worst and worst >= target:
            when = f" ({share:.0%} of 60-day windows)" if share is not None and share == share else ""
            out.append(
                HealthWarning(
                    f"{policy}: {name} averages {_rate(value, target)} of {per}, but reaches {_rate(worst, target)} in its "
                    f"worst 60-day window{when}, at or above Amazon's target of {target:.0%}"
                )
            )
    return out


def _rate(x: float, target: float) -> str:
    """``x`` as a percentage with the decimals (1 to 3) it needs to read on its own side of
    ``target``: 0.996 % below a 1 % target, never "1.0 %" that seems to meet it."""
    for d in (1, 2, 3):
        if (round(x * 100, d) >= round(target * 100, d)) == (x >= target):
            break
    return f"{x:.{d}%}"


# Fees ------------------------------------------------------------------------------------------


def cents(amount: float | Decimal) -> float:
    """``amount`` rounded half-up to the cent, as Amazon rounds each fee (0.005 -> 0.01)."""
    return float(_cents(_dec(amount)))


def _dec(x: float | Decimal) -> Decimal:
    """A decimal of the number as written (``0.15`` is 0.15, not its binary neighbour)."""
    return x if isinstance(x, Decimal) else Decimal(repr(float(x)))


def _cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


SizeTier = Literal[
    "small_standard",
    "large_standard",
    "large_bulky",
    "extra_large_0_50",
    "extra_large_50_70",
    "extra_large_70_150",
    "extra_large_150_plus",
    "small_oversize",
    "medium_oversize",
    "large_oversize",
]
"""Amazon's product size tiers: today's table (:data:`SIZE_TIERS`, from 5 February 2024 [F8])
and the oversize tiers of the table before it, which Grade and Resell's fee card still names [F4]."""

SIZE_TIER_SOURCE = "F8"
"""``docs/sources.md`` id of :data:`SIZE_TIERS`."""

DIMENSIONAL_WEIGHT_DIVISOR = 139.0
"""Dimensional weight in lb is length x width x height in inches over 139 [F8]."""

# (tier, heaviest weight lb, longest side in, median side in, shortest side in, length + girth in);
# None: no limit. The first row a unit does not exceed is its tier [F8]. Small standard is judged
# on the unit weight; the others on the shipping weight, the greater of the unit weight and the
# dimensional weight (with width and height at least 2 in from large bulky up) [F8].
SIZE_TIERS: tuple[tuple[str, float | None, float | None, float | None, float | None, float | None], ...] = (
    ("small_standard", 1.0, 15.0, 12.0, 0.75, None),
    ("large_standard", 20.0, 18.0, 14.0, 8.0, None),
    ("large_bulky", 50.0, 59.0, 33.0, 33.0, 130.0),
    ("extra_large_0_50", 50.0, None, None, None, None),
    ("extra_large_50_70", 70.0, None, None, None, None),
    ("extra_large_70_150", 150.0, None, None, None, None),
    ("extra_large_150_plus", None, None, None, None, None),
)
"""Amazon's US product size-tier table from 5 February 2024, as data [F8]."""

_OLD_OVERSIZE = ("small_oversize", "medium_oversize", "large_oversize")


def size_tier(weight_lb: float, dimensions_in: tuple[float, float, float] | list[float] | None = None) -> str:
    """The product size tier Amazon's table gives a packaged unit [F8].

    Args:
        weight_lb: the unit weight of the packaged item, pounds.
        dimensions_in: its three sides in inches, any order; ``None`` when unknown: the sides
            are then taken to fit the smallest tier, so the tier is the one the weight alone
            allows (a lower bound: real sides can only raise it).

    Returns:
        A tier name of :data:`SIZE_TIERS` (``small_standard`` ... ``extra_large_150_plus``).
    """
    w = float(weight_lb)
    if dimensions_in is None:
        sides = None
    else:
        sides = sorted((float(x) for x in dimensions_in), reverse=True)
    for name, heaviest, longest, median, shortest, girth in SIZE_TIERS:
        if sides is None:
            weight = w
        else:
            long_, mid, short = sides
            if name not in ("small_standard", "large_standard"):
                mid, short = max(mid, 2.0), max(short, 2.0)
            dim_weight = long_ * mid * short / DIMENSIONAL_WEIGHT_DIVISOR
            weight = w if name in ("small_standard", "extra_large_150_plus") else max(w, dim_weight)
            limits = ((sides[0], longest), (sides[1], median), (sides[2], shortest), (long_ + 2 * (mid + short), girth))
            if any(lim is not None and x > lim + 1e-9 for x, lim in limits):
                continue
        if heaviest is None or weight <= heaviest + 1e-9:
            return name
    return SIZE_TIERS[-1][0]


def size_tier_conflict(
    given: str, weight_lb: float, dimensions_in: tuple[float, float, float] | list[float] | None = None
) -> str | None:
    """Why a stated size tier contradicts the unit's weight and sides, or ``None`` if it does not.

    With sides, the stated tier must be the table's [F8]; without them, it must not be smaller
    than the tier the weight alone allows. A tier of the older table (``small_oversize``,
    ``medium_oversize``, ``large_oversize``) is accepted for any unit the current table puts
    above large standard, since the two tables draw their oversize lines differently.
    """
    derived = size_tier(weight_lb, dimensions_in)
    order = [t[0] for t in SIZE_TIERS]
    if given in _OLD_OVERSIZE:
        ok = order.index(derived) >= order.index("large_bulky") or dimensions_in is None
    elif dimensions_in is None:
        ok = order.index(given) >= order.index(derived)
    else:
        ok = given == derived
    if ok:
        return None
    what = f"{weight_lb:g} lb" + ("" if dimensions_in is None else " and " + " x ".join(f"{x:g}" for x in dimensions_in) + " in")
    floor = "" if dimensions_in is not None else "at least "
    return f"Amazon's size-tier table [{SIZE_TIER_SOURCE}] gives {floor}{derived} for {what}"

GRADES = ("sellable", "like_new", "very_good", "good", "acceptable", "unsellable")
"""Grades Amazon gives a returned FBA unit: ``sellable`` goes back to stock as new; the four used
grades are Grade and Resell's; ``unsellable`` is removed or disposed of."""

GRADE_AND_RESELL_PROCESSING_FEE: dict[str, float] = {
    "small_standard": 1.50,
    "large_standard": 1.80,
    "small_oversize": 2.65,
    "medium_oversize": 2.65,
    "large_oversize": 4.10,
    # Today's tiers: Amazon's card [F4] still names the older oversize tiers; assumed: large bulky
    # pays the small/medium oversize fee, the extra-large tiers the large oversize fee.
    "large_bulky": 2.65,
    "extra_large_0_50": 4.10,
    "extra_large_50_70": 4.10,
    "extra_large_70_150": 4.10,
    "extra_large_150_plus": 4.10,
}
"""Grade and Resell processing fee per unit by size tier [F4] (today's bulky and extra-large
tiers assumed at the older oversize fees)."""

GRADE_AND_RESELL_USED_PRICE_SHARE: dict[str, float] = {
    "like_new": 0.95,
    "very_good": 0.85,
    "good": 0.80,
    "acceptable": 0.75,
}
"""Used price as a share of the new price, by grade, in Amazon's worked example [F6]."""


def grade_and_resell_recovery(
    price: float,
    grade: str,
    size_tier: str,
    referral_rate: float,
    fulfilment_fee: float,
    used_price_share: Mapping[str, float] | None = None,
) -> float:
    """Net recovery of a returned FBA unit sold through Grade and Resell [F6].

    The unit is listed used at ``used_price_share[grade] * price``; Amazon deducts the
    processing fee of the size tier [F4], the FBA fulfilment fee of the sale and the referral fee
    on the used price, each rounded half-up to the cent. Amazon's example ($30, 3.35 lb large
    standard, fulfilment fee $5.80, referral 15 %) nets $16.62 like new, $14.07 very good, $12.80
    good and $11.52 acceptable [F5]; ``tests/test_amazon.py`` reproduces them.

    Args:
        price: the new price of the item, dollars.
        grade: one of ``like_new``, ``very_good``, ``good``, ``acceptable``.
        size_tier: a key of :data:`GRADE_AND_RESELL_PROCESSING_FEE`.
        referral_rate: the category's referral fee as a share of the sale price (0.15 [A15]).
        fulfilment_fee: the FBA fulfilment fee of one unit, dollars (by size and weight).
        used_price_share: used price over new price by grade (default: Amazon's example).

    Returns:
        Dollars to the cent; negative when the fees exceed the used price.
    """
    shares = GRADE_AND_RESELL_USED_PRICE_SHARE if used_price_share is None else used_price_share
    if grade not in shares:
        raise ValueError(f"grade {grade!r} is not resold; expected one of: {', '.join(shares)}")
    if size_tier not in GRADE_AND_RESELL_PROCESSING_FEE:
        raise ValueError(
            f"size tier {size_tier!r}; expected one of: {', '.join(GRADE_AND_RESELL_PROCESSING_FEE)}"
        )
    # In decimal arithmetic, so that 15 % of $28.50 is $4.275 and rounds up, as Amazon's does.
    used = _cents(_dec(shares[grade]) * _dec(price))
    fees = (
        _cents(_dec(GRADE_AND_RESELL_PROCESSING_FEE[size_tier]))
        + _cents(_dec(fulfilment_fee))
        + _cents(_dec(referral_rate) * used)
    )
    return float(used - fees)


def refund_admin_fee(
    item_charges: float, referral_rate: float, cap: float = 5.0, share: float = 0.20
) -> float:
    """Refund administration fee Amazon keeps on one refunded line item [A14].

    The smaller of ``cap`` and ``share`` of the referral fee on the line's item charges (item
    price plus shipping and gift wrap, not tax). Amazon's example: a $300 item with $40 shipping
    and $5 gift wrap at 15 % pays 20 % x 15 % x $345 = $10.35, capped at $5; a $50 item with $5
    and $2 pays $1.71 [A14].

    Args:
        item_charges: price + shipping + gift wrap of the refunded line, dollars.
        referral_rate: the category's referral fee share (0.15 [A15]).
        cap: the most Amazon keeps per line item, dollars.
        share: the share of the referral fee kept.

    Returns:
        Dollars, rounded half-up to the cent.
    """
    fee = _dec(share) * _dec(referral_rate) * _dec(item_charges)
    return float(_cents(min(_dec(cap), fee)))


def refund_admin_fees(
    item_charges: np.ndarray, referral_rate: float, cap: float = 5.0, share: float = 0.20
) -> np.ndarray:
    """:func:`refund_admin_fee` for an array of refunded lines (the ledger's form): the same
    rule, rounded half-up to the cent in floating point (``tests/test_amazon.py`` checks the two
    agree to the cent)."""
    fee = np.minimum(cap, share * referral_rate * np.asarray(item_charges, dtype=float))
    return np.floor(fee * 100.0 + 0.5 + 1e-9) / 100.0


def returns_processing_units(
    shipped: int, returned: int, threshold: float, *, new_selection_waiver: int = 0
) -> int:
    """Returned units that pay the FBA returns processing fee for one product's month [F7].

    Since June 2024, a product's return rate is the share of the units shipped in a month that
    are returned in that month and the next two; the fee is charged on every returned unit above
    the category's threshold. Products that shipped fewer than 25 units in the month are exempt;
    only physically returned units count (pass those as ``returned``); the FBA New Selection
    programme waives up to 20 units per parent ASIN (``new_selection_waiver``). Sellers' guides'
    example: 1,000 shipped, 120 returned, threshold 10 % -> 20 units [F7].

    Args:
        shipped: units shipped in the month.
        returned: of those, units physically returned in the month and the next two.
        threshold: the category's return-rate threshold (e.g. 0.081 for Home & Kitchen).
        new_selection_waiver: units waived under FBA New Selection (at most 20).

    Returns:
        The number of units charged.
    """
    if shipped < 25:
        return 0
    allowed = math.floor(threshold * shipped + 1e-9)
    return max(0, returned - allowed - min(new_selection_waiver, 20))


def returns_processing_share(return_rate: float, threshold: float) -> float:
    """Share of a product's physically returned units that pay the FBA returns processing fee
    when it is returned at ``return_rate`` month after month: the units above the threshold,
    ``max(0, 1 - threshold / return_rate)`` — :func:`returns_processing_units` in expectation,
    without the small-volume and New Selection exemptions [F7]. A threshold of 0 (apparel and
    shoes) charges every returned unit."""
    if return_rate <= 0:
        return 0.0
    return max(0.0, 1.0 - threshold / return_rate)


_APPAREL_RATES = {
    # (size tier, heaviest shipping weight in lb) -> fee; from Amazon's rate card [F7].
    "small_standard": ((6 / 16, 2.12), (12 / 16, 2.23), (1.0, 2.32)),
    "large_standard": ((6 / 16, 2.40), (12 / 16, 2.76), (1.0, 2.85), (2.0, 2.96), (3.0, 3.41)),
}


def apparel_returns_processing_fee(size_tier: str, shipping_weight_lb: float) -> float:
    """FBA returns processing fee per returned unit of apparel and shoes, which pay it on every
    unit [F7]: small standard $2.12-2.32, large standard $2.40-3.41 by shipping weight, and
    $3.41 + $0.20 per lb above the first 3 lb up to 20 lb.

    Args:
        size_tier: ``small_standard`` or ``large_standard``.
        shipping_weight_lb: the unit's shipping weight in pounds.

    Returns:
        Dollars per unit, to the cent.
    """
    if size_tier not in _APPAREL_RATES:
        raise ValueError(f"size tier {size_tier!r}; expected one of: {', '.join(_APPAREL_RATES)}")
    for heaviest, fee in _APPAREL_RATES[size_tier]:
        if shipping_weight_lb <= heaviest + 1e-12:
            return fee
    if size_tier == "small_standard":
        raise ValueError(f"a small-standard unit weighs at most 1 lb, got {shipping_weight_lb:g}")
    return float(_cents(Decimal("3.41") + Decimal("0.20") * (_dec(shipping_weight_lb) - 3)))


REMOVAL_FEE_TIERS = ((0.5, 0.84), (1.0, 1.53), (2.0, 2.27))
"""Removal and disposal fee per standard-size unit by shipping weight from January 2026 [F1]:
(heaviest weight in lb, fee); heavier units pay :data:`REMOVAL_OVER_BASE` plus
:data:`REMOVAL_OVER_PER_LB` per lb above the last tier."""
REMOVAL_OVER_BASE = 2.89
"""Removal fee of a unit heavier than the last tier, before its weight above it [F1]."""
REMOVAL_OVER_PER_LB = 1.06
"""Removal fee per lb above the last tier [F1]."""


def removal_fee(shipping_weight_lb: float) -> float:
    """FBA removal or disposal fee of one standard-size unit [F1], dollars to the cent.

    Args:
        shipping_weight_lb: the unit's shipping weight in pounds.

    Returns:
        $0.84 up to 0.5 lb, $1.53 to 1 lb, $2.27 to 2 lb, then $2.89 + $1.06 per lb above 2 lb.
    """
    for heaviest, fee in REMOVAL_FEE_TIERS:
        if shipping_weight_lb <= heaviest + 1e-12:
            return fee
    last = REMOVAL_FEE_TIERS[-1][0]
    return float(_cents(_dec(REMOVAL_OVER_BASE) + _dec(REMOVAL_OVER_PER_LB) * (_dec(shipping_weight_lb) - _dec(last))))
