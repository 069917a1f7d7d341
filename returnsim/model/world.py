"""A scenario compiled for fast vectorised use: names become integer codes, per-class and
per-reason parameters become arrays.

The simulation works on arrays of return requests; every name in a scenario (item class,
reason, market, condition) is an integer code here. ``World`` is policy-independent and built
once per scenario; a policy is applied to it by the decision modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..scenario import OFFER_KINDS, RESOLUTIONS, Scenario
from ..scenario.distributions import Fixed
from ..scenario.rules import CONDITIONS, FAULTS, MARKETS

__all__ = [
    "World",
    "HOURS_PER_DAY",
    "HOURS_PER_WEEK",
    "HOURS_PER_YEAR",
    "FAULT",
    "MARKET",
    "CONDITION",
    "OFFER",
    "OUTCOME",
]

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 168.0
HOURS_PER_YEAR = 365.25 * 24.0

FAULT = {f: i for i, f in enumerate(FAULTS)}
MARKET = {m: i for i, m in enumerate(MARKETS)}
CONDITION = {c: i for i, c in enumerate(CONDITIONS)}
OFFER = {k: i for i, k in enumerate(OFFER_KINDS)}
OUTCOME = {r: i for i, r in enumerate(RESOLUTIONS)}


@dataclass(eq=False)
class World:
    """Policy-independent arrays derived from a :class:`Scenario`."""

    scenario: Scenario
    codes: dict[str, dict[str, int]] = field(init=False)

    def __post_init__(self) -> None:
        sc = self.scenario
        self.reason_names = list(sc.reasons)
        self.class_names = list(sc.catalog)
        self.address_names = list(sc.addresses)
        self.codes = {
            "market": MARKET,
            "fault": FAULT,
            "condition": CONDITION,
            "reason": {r: i for i, r in enumerate(self.reason_names)},
            "item_class": {c: i for i, c in enumerate(self.class_names)},
        }
        rc = self.codes["reason"]
        reasons = list(sc.reasons.values())
        self.reason_fault = np.array([FAULT[r.fault] for r in reasons])
        """Fault code per reason."""
        self.reason_misreport_as = np.array(
            [
                rc[r.misreport_as or sc.returns.misreport_as] if r.fault == "buyer" else -1
                for r in reasons
            ]
        )
        """Seller-fault reason a misreporting buyer states instead, per reason (-1: none)."""
        self.reason_condition_cdf = np.cumsum(
            np.array([r.condition.as_list() for r in reasons]), axis=1
        )

        classes = list(sc.catalog.values())
        share = np.array([c.share for c in classes], dtype=float)
        self.class_share = share / share.sum()
        self.return_rate = np.array([c.return_rate for c in classes])
        self.unit_cost_share = np.array([c.unit_cost_share for c in classes])
        self.weight_lb = np.array([c.weight_lb for c in classes])
        self.decay_per_week = np.array([c.value_decay_per_week for c in classes])
        self.resale_share = np.array([c.resale_share.as_list() for c in classes])
        self.price_dists = [c.price for c in classes]
        mix = np.zeros((len(classes), len(reasons)))
        for k, c in enumerate(classes):
            for r, w in c.reasons.items():
                mix[k, rc[r]] = w
        self.reason_cdf = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
        self.reason_mix = mix / mix.sum(axis=1, keepdims=True)

        markets = [sc.markets.domestic, sc.markets.international]
        self.market_share = np.array([m.share for m in markets])
        self.return_label = np.array([[m.return_label.base, m.return_label.per_lb] for m in markets])
        self.outbound_label = np.array(
            [[m.outbound_label.base, m.outbound_label.per_lb] for m in markets]
        )
        self.market_transit = [m.transit_days for m in markets]

        addrs = list(sc.addresses.values())
        self.address_label = np.array(
            [
                [
                    [a.return_label[m].base, a.return_label[m].per_lb]
                    if m in a.return_label
                    else [np.nan, np.nan]
                    for m in MARKETS
                ]
                for a in addrs
            ]
        ).reshape(len(addrs), 2, 2)
        self.address_transit = [a.transit_days for a in addrs]
        self.address_restock = [a.restock_days for a in addrs]
        self.address_handling = np.array([a.handling_fee for a in addrs])
        self.address_recovery = np.array([a.recovery_factor for a in addrs])

    # Derived quantities used by demand and retention ---------------------------------------

    @cached_property
    def returned_mix(self) -> np.ndarray:
        """Item-class mix of *returned* orders: share_k * return_rate_k, normalised."""
        w = self.class_share * self.return_rate
        total = w.sum()
        return w / total if total > 0 else self.class_share

    @cached_property
    def overall_return_rate(self) -> float:
        """Probability that an order (of the catalog mix) is returned."""
        return float(self.class_share @ self.return_rate)

    @cached_property
    def margin_per_kept_order(self) -> float:
        """Expected contribution of one order that is kept: price less cost of goods and
        referral fee, averaged over the catalog mix and weighted by the chance it is kept."""
        rate = self.scenario.costs.referral_rate
        mean_price = np.array([d.mean for d in self.price_dists])
        per_class = (1 - self.return_rate) * mean_price * (1 - self.unit_cost_share - rate)
        return float(self.class_share @ per_class)

    def lane_label(self, market: np.ndarray, weight: np.ndarray, address: np.ndarray) -> np.ndarray:
        """Return-label cost to the origin (``address == -1``) or to a named address."""
        cost = self.return_label[market, 0] + self.return_label[market, 1] * weight
        if len(self.address_names):
            a = np.maximum(address, 0)
            via = self.address_label[a, market, 0] + self.address_label[a, market, 1] * weight
            cost = np.where(address >= 0, via, cost)
        return cost

    def lane_days(self, market: np.ndarray, address: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Return transit time in days on the lane; a NaN uniform stands for the mean."""
        out = np.empty(len(u))
        for m, dist in enumerate(self.market_transit):
            sel = (address < 0) & (market == m)
            out[sel] = _ppf_or_mean(dist, u[sel])
        for a, dist in enumerate(self.address_transit):
            sel = address == a
            out[sel] = _ppf_or_mean(dist, u[sel])
        return out

    def restock_days(self, address: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Receipt-to-resale time in days at the origin or an address."""
        out = _ppf_or_mean(self.scenario.returns.restock_days, u)
        for a, dist in enumerate(self.address_restock):
            sel = address == a
            out[sel] = _ppf_or_mean(dist, u[sel])
        return out


def _ppf_or_mean(dist, u: np.ndarray) -> np.ndarray:
    if isinstance(dist, Fixed):
        return np.full(len(u), dist.value)
    nan = np.isnan(u)
    out = dist.ppf(np.where(nan, 0.5, u))
    if nan.any():
        out = np.where(nan, dist.mean, out)
    return np.asarray(out, dtype=float)

