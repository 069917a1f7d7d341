"""Amazon's marketplace rules for seller-fulfilled returns, and the scenario's ``[amazon]`` table.

A *marketplace profile* (``marketplaces.toml``, shipped with the package) holds what Amazon sets
for a store: the return window, whether in-policy requests are authorised automatically with a
prepaid label, the manual-authorisation response target, refund at first scan, the categories
whose return labels may not be deducted (free fashion returns), the caps on restocking fees, and
the SAFE-T claim period. Each figure carries its source id (``docs/sources.md``).

A scenario names its marketplace in ``[amazon]`` together with what Amazon's rules depend on about
the seller (selling plan, a domestic return address) and the inputs of the rules that no public
figure fixes (how often Amazon excludes a return from refund at first scan; how SAFE-T claims
fare), which are assumed until calibrated. ``marketplace = "none"`` (the default) is a world with
no prepaid-label programme: the seller authorises every request, as returnsim did before.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .fields import NonNeg, Share, Strict

__all__ = [
    "MARKETPLACES",
    "MarketplaceRules",
    "Safet",
    "AmazonSettings",
    "marketplace_rules",
    "FEE_CONDITIONS",
]

MARKETPLACES = ("US", "UK", "DE", "none")
"""Marketplace profiles shipped with returnsim."""

FEE_CONDITIONS = ("unopened", "unopened_late", "opened", "used", "damaged")
"""Keys of a profile's ``restocking_caps``: the inspected condition, and ``unopened_late`` for an
unopened unit returned after the window."""


class MarketplaceRules(BaseModel):
    """One marketplace's rules (units: days, hours, business days, shares of the price)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    currency: str
    return_window_days: float = Field(gt=0)
    holiday_window: bool
    auto_authorisation: Literal["mandatory", "optional", "none"] = Field(
        description="mandatory: Amazon authorises professional sellers' in-policy requests itself "
        "with a prepaid label; optional: the seller chooses (Return Settings); none: the seller "
        "authorises every request"
    )
    manual_response_hours: float = Field(gt=0, description="target for answering a request sent for manual authorisation")
    refund_deadline_business_days: float = Field(ge=0)
    refund_at_first_scan: bool = Field(description="prepaid-label returns are refunded at the carrier's first scan")
    free_returns_categories: tuple[str, ...] = Field(
        default=(), description="categories whose in-policy return labels the seller may not deduct"
    )
    free_returns_since: dt.date | None = None
    auto_returnless_max_price: float | None = Field(
        default=None,
        description="Amazon grants a returnless refund automatically at or below this price to "
        "sellers without a domestic return address",
    )
    message_response_hours: float = Field(gt=0)
    safet_claim_days: float = Field(gt=0)
    restocking_caps: dict[str, float] = Field(
        description="the largest restocking fee the seller may deduct, by inspected condition, as a "
        "share of the price (0 or absent: none)"
    )
    sources: dict[str, str] = Field(default_factory=dict, description="source id or 'assumed' per field")

    def restocking_cap(self, condition: str, in_window: bool = True) -> float:
        """The largest fee share Amazon lets the seller deduct for a unit found in ``condition``."""
        if condition == "unopened" and not in_window:
            return self.restocking_caps.get("unopened_late", 0.0)
        return self.restocking_caps.get(condition, 0.0)


@cache
def _profiles() -> dict[str, MarketplaceRules]:
    text = resources.files(__package__).joinpath("marketplaces.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    return {code: MarketplaceRules(**fields) for code, fields in raw.items()}


def marketplace_rules(code: str) -> MarketplaceRules:
    """The shipped profile of marketplace ``code`` (one of ``MARKETPLACES``)."""
    profiles = _profiles()
    if code not in profiles:
        raise KeyError(f"no marketplace profile '{code}'; choose one of {', '.join(profiles)}")
    return profiles[code]


ClaimCondition = Literal["opened", "used", "damaged"]


class Safet(Strict):
    """SAFE-T claims for returns refunded at first scan that come back damaged, used or
    incomplete (Amazon reimburses at its discretion [A21])."""

    file: bool = Field(default=True, description="the seller files a claim for every eligible unit")
    conditions: list[ClaimCondition] = Field(
        default_factory=lambda: list[ClaimCondition](["used", "damaged"]),
        description="inspected conditions worth a claim (assumed: used and damaged units)",
    )
    approval_probability: Share = Field(
        default=0.5, description="share of claims Amazon grants (assumed: no published figure; calibrate from the SAFE-T report)"
    )
    reimbursed_share: Share = Field(
        default=0.5,
        description="a granted claim's reimbursement as a share of the price (assumed: Amazon "
        "reimburses the loss in value, at its discretion)",
    )
    file_minutes: NonNeg = Field(default=10.0, description="agent time to file one claim, minutes (assumed)")


class AmazonSettings(Strict):
    """Which Amazon store the seller sells in, and what its rules depend on about the seller."""

    marketplace: Literal["US", "UK", "DE", "none"] = Field(
        default="none",
        description='Amazon store whose returns rules apply ("US", "UK", "DE"); "none": no '
        "prepaid-label programme, the seller authorises every request (returnsim's teaching world)",
    )
    seller_plan: Literal["professional", "individual"] = Field(
        default="professional",
        description="individual sellers are not enrolled in prepaid return labels [A8]: their requests are manual",
    )
    domestic_return_address: bool = Field(
        default=True,
        description="the seller has a return address in the store's country; without one Amazon "
        "grants returnless refunds automatically up to the profile's price [A11]",
    )
    rfs_excluded_share: Share = Field(
        default=0.05,
        description="share of auto-authorised returns Amazon excludes from refund at first scan "
        "(by item value or the buyer's history [A19]); assumed",
    )
    safet: Safet = Field(default_factory=Safet, description="SAFE-T claims for returns refunded at first scan")

    @property
    def rules(self) -> MarketplaceRules:
        return marketplace_rules(self.marketplace)
