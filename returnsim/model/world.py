"""A scenario compiled for fast vectorised use: names become integer codes, per-class and
per-reason parameters become arrays.

The simulation works on arrays of return requests; every name in a scenario (item class,
reason, market, condition) is an integer code here. ``World`` is policy-independent and built
once per scenario; a policy is applied to it by the decision modules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
from scipy import special

from .. import amazon
from ..scenario import OFFER_KINDS, RESOLUTIONS, Scenario
from ..scenario.distributions import Fixed, Lognormal
from ..scenario.rules import CONDITIONS, FAULTS, MARKETS, MatchCache, by_identity

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
    "pick",
]

T = TypeVar("T")

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 168.0
HOURS_PER_YEAR = 365.25 * 24.0

FAULT = {f: i for i, f in enumerate(FAULTS)}
MARKET = {m: i for i, m in enumerate(MARKETS)}
CONDITION = {c: i for i, c in enumerate(CONDITIONS)}
OFFER = {k: i for i, k in enumerate(OFFER_KINDS)}
OUTCOME = {r: i for i, r in enumerate(RESOLUTIONS)}


def pick(table: np.ndarray, *codes: np.ndarray) -> np.ndarray:
    """``table[codes]`` for one integer code array per axis (codes in range, not negative), as
    one lookup in the flattened table: numpy's indexing by several arrays costs several times
    more per batch, for the same elements."""
    flat = codes[0]
    for axis, code in enumerate(codes[1:], start=1):
        flat = flat * table.shape[axis] + code
    return table.reshape(-1)[flat]


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
        self.match_cache: MatchCache = {}
        """Rule conditions compiled against ``codes`` (``rules.first_match``), kept across
        batches so names are looked up once per scenario, not once per batch."""
        self.policy_cache: dict[Hashable, tuple[Any, Any]] = {}
        """Per-policy lookup tables by (table, ``id(policy)``), each with its policy (so the id
        stays its own): built on the first batch instead of on every one."""
        self.request_delay_cdf: dict[float, float] = {}
        """The request delay's cdf at each return-window length met so far (``demand``: a
        scalar cdf costs a few microseconds, and batches meet the same few lengths)."""
        self.holiday_days: dict[str, Any] = {}
        """Per order day, whether it is a holiday order and its 1 February after
        (``demand._holiday_days``), grown as batches reach further."""
        rc = self.codes["reason"]
        reasons = list(sc.reasons.values())
        self.reason_fault = np.array([FAULT[r.fault] for r in reasons])
        """Fault code per reason."""
        self.reason_misreport_mix = np.zeros((len(reasons), len(reasons)))
        """Share of a reason's misreports (row) stated as each seller-fault reason (column);
        a row of zeros: the reason is not misreported."""
        for i, name in enumerate(sc.reasons):
            for t, part in sc.misreport_mix(name).items():
                self.reason_misreport_mix[i, rc[t]] = part
        # Normalised, so the cumulative shares end at exactly 1 for the draw.
        total = self.reason_misreport_mix.sum(axis=1, keepdims=True)
        self.reason_misreport_mix = np.divide(
            self.reason_misreport_mix, total, out=np.zeros_like(self.reason_misreport_mix), where=total > 0
        )
        self.reason_misreports = total[:, 0] > 0
        """Whether each reason can be misreported (a buyer-fault reason with a target)."""
        self.reason_misreport_cdf = np.cumsum(self.reason_misreport_mix, axis=1)
        # Rounding must not leave the last target's cumulative share a hair below 1, where a
        # uniform could step past it onto a reason outside the mix.
        self.reason_misreport_cdf[self.reason_misreport_cdf > 1 - 1e-9] = 1.0
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
            if c.reasons_are == "stated":
                mix[k] = self._true_mix(mix[k], sc.returns.misreport_rate)
        self.reason_mix = mix / mix.sum(axis=1, keepdims=True)
        """True reason mix per class (derived from a stated mix by undoing misreports)."""
        self.reason_cdf = np.cumsum(self.reason_mix, axis=1)
        self.class_fba = np.array([c.fulfilment == "fba" for c in classes])
        # Amazon's marketplace rules (scenario.amazon): which classes Amazon auto-authorises and
        # which return labels the seller may not deduct (free fashion returns [A20]).
        self.rules = sc.amazon.rules
        self.class_prepaid_exempt = np.array([c.prepaid_exempt for c in classes])
        free = set(self.rules.free_returns_categories)
        self.class_free_returns = np.array([c.category in free for c in classes])
        safet_conditions = set(sc.amazon.safet.conditions) if sc.amazon.safet.file else set()
        self.safet_condition = np.array([c in safet_conditions for c in CONDITIONS])
        self.restocking_cap = np.array(
            [[self.rules.restocking_cap(c, in_window=False), self.rules.restocking_cap(c)] for c in CONDITIONS]
        )
        """Largest fee share the seller may deduct, by inspected condition and in_window (0/1)."""
        """Whether each class is fulfilled by Amazon in the scenario (a policy may move more)."""
        self.fba_size_tier = [c.size_tier for c in classes]
        self.fba_fulfilment_fee = np.array([c.fba.fulfilment_fee for c in classes])
        self.fba_inbound = np.array([c.fba.inbound_per_unit for c in classes])
        self.merchant_handling = np.array([c.merchant_handling for c in classes])
        """The seller's own pick-and-pack cost of an outbound order, per class (merchant)."""
        by_class = sc.buyer.purchases_per_year_by_class
        self.purchase_rate_dists = [by_class.get(name, sc.buyer.purchases_per_year) for name in sc.catalog]
        """Per class, the base rate of purchases a year with the seller of its returners."""
        self.fba_removal_fee = np.array([amazon.removal_fee(c.weight_lb) for c in classes])
        """Amazon's removal/disposal fee of one unit of each class (it depends on weight only)."""
        self.fba_returns_fee = np.array(
            [
                c.fba.returns_processing_fee
                * amazon.returns_processing_share(c.return_rate, c.fba.returns_fee_threshold)
                for c in classes
            ]
        )
        """Expected returns processing fee per physically returned FBA unit: the fee times the
        share of returned units above the class's threshold (the monthly rule of [F7] applied
        in expectation at the class's return rate)."""
        self.fba_grade_cdf = np.cumsum(
            np.array([sc.fba.grades[c].as_list() if c in sc.fba.grades else [0, 0, 0, 0, 0, 1.0] for c in CONDITIONS]),
            axis=1,
        )

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
        self.address_region = np.array([MARKET[a.region] for a in addrs], dtype=np.int64)
        self.address_recovery = np.array([a.recovery_factor for a in addrs])

    def _true_mix(self, stated: np.ndarray, q: float) -> np.ndarray:
        """Undo misreports: a buyer-fault reason keeps ``1 - q`` of its true share, and its
        misreport targets gain the other ``q``, each its share of the reason's misreport mix
        (the inverse of what ``demand`` does)."""
        true = stated.astype(float).copy()
        if q <= 0:
            return true
        for r in np.flatnonzero(self.reason_misreports):
            if stated[r] > 0:
                true[r] = stated[r] / (1 - q)
                true -= q * true[r] * self.reason_misreport_mix[r]
        return np.maximum(true, 0.0)

    # Derived quantities used by demand and retention ---------------------------------------

    @cached_property
    def returned_mix(self) -> np.ndarray:
        """Item-class mix of *returned* orders: share_k * return_rate_k, normalised."""
        w = self.class_share * self.return_rate
        total = w.sum()
        return w / total if total > 0 else self.class_share

    def per_policy(self, table: str, policy: Any, build: Callable[[], T]) -> T:
        """``build()``, made once per policy and ``table`` name and then reused: per-policy
        lookup tables that every batch would otherwise rebuild (``policy_cache``)."""
        return by_identity(self.policy_cache, (table, id(policy)), policy, build)

    @cached_property
    def satisfaction_by_outcome(self) -> np.ndarray:
        """Satisfaction score of each outcome (``OUTCOME``; ``retention.satisfaction.resolution``,
        0 where none is given)."""
        scores: dict[str, float] = {str(k): v for k, v in self.scenario.retention.satisfaction.resolution.items()}
        return np.array([scores.get(r, 0.0) for r in RESOLUTIONS])

    @cached_property
    def offer_reason_shift(self) -> np.ndarray:
        """Logit shift of a buyer's acceptance by offer kind (row, ``OFFER``) and true reason
        (column): ``buyer.offers.*.by_reason``, 0 where none is given."""
        shift = np.zeros((len(OFFER_KINDS), len(self.reason_names)))
        offers = self.scenario.buyer.offers
        for k, kind in enumerate(OFFER_KINDS):
            if kind in offers:
                for r, v in offers[kind].by_reason.items():
                    shift[k, self.codes["reason"][r]] = v
        return shift

    @cached_property
    def offer_models(self) -> tuple[np.ndarray, ...]:
        """Each offer kind's (intercept, per_value_share, per_day_delay, per_quality), indexed by
        ``OFFER_KINDS`` (NaN for a kind the scenario gives no model for: no policy can make it)."""
        offers = self.scenario.buyer.offers
        models = [offers.get(kind) for kind in OFFER_KINDS]  # type: ignore[call-overload]
        return tuple(
            np.array([math.nan if m is None else getattr(m, name) for m in models])
            for name in ("intercept", "per_value_share", "per_day_delay", "per_quality")
        )

    @cached_property
    def retention_logit_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """The intercepts and slopes (columns of shape (3, 1)) of the three logits of
        ``retention.feedback_and_multiplier``: negative feedback, negative seller feedback and
        the purchase multiplier."""
        r = self.scenario.retention
        models = (r.negative_feedback, r.negative_seller_feedback, r.repeat_multiplier)
        return (
            np.array([[m.intercept] for m in models], dtype=float),
            np.array([[m.per_satisfaction] for m in models], dtype=float),
        )

    @cached_property
    def overall_return_rate(self) -> float:
        """Probability that an order (of the catalog mix) is returned."""
        return float(self.class_share @ self.return_rate)

    def fulfilment_per_order(self, fba: np.ndarray | None = None) -> np.ndarray:
        """Expected outbound cost of one order of each class (money): Amazon's fulfilment fee
        and the unit's inbound and storage cost for an FBA class; for a merchant class, the outbound label on the buyer's lane (averaged
        over the markets) and the seller's handling.

        Args:
            fba: per class, whether it is fulfilled by Amazon (default: the scenario's catalog).
        """
        fba = self.class_fba if fba is None else fba
        outbound = self.market_share @ (
            self.outbound_label[:, :1] + self.outbound_label[:, 1:] * self.weight_lb[None, :]
        )
        return np.where(fba, self.fba_fulfilment_fee + self.fba_inbound, outbound + self.merchant_handling)

    def fulfilment_cost_per_order(self, fba: np.ndarray | None = None) -> float:
        """Expected outbound cost of an order of the catalog mix, returned or kept (money; see
        :meth:`fulfilment_per_order`)."""
        return float(self.class_share @ self.fulfilment_per_order(fba))

    def margin_per_kept_order(self, fba: np.ndarray | None = None) -> float:
        """Expected contribution of one order, counting it only if kept: price less cost of
        goods, referral fee and fulfilment (:meth:`fulfilment_per_order`), averaged over the
        catalog mix and weighted by the chance the order is kept.

        Args:
            fba: per class, whether it is fulfilled by Amazon (default: the scenario's catalog).
        """
        rate = self.scenario.costs.referral_rate
        mean_price = np.array([d.mean for d in self.price_dists])
        fulfil = self.fulfilment_per_order(fba)
        per_class = (1 - self.return_rate) * (mean_price * (1 - self.unit_cost_share - rate) - fulfil)
        return float(self.class_share @ per_class)

    def crosses_border(self, market: np.ndarray, address: np.ndarray) -> np.ndarray:
        """Whether a return from a buyer in ``market`` to the origin (``address == -1``) or to a
        named address crosses a border: the buyer's market differs from the destination's region
        (the origin is domestic)."""
        region = np.zeros(len(market), dtype=np.int64)
        if len(self.address_names):
            region = np.where(address >= 0, self.address_region[np.maximum(address, 0)], 0)
        return np.asarray(market) != region

    def lane_label(self, market: np.ndarray, item_class: np.ndarray, address: np.ndarray) -> np.ndarray:
        """Return-label cost (money) of an item of ``item_class`` to the origin
        (``address == -1``) or to a named address."""
        cost = pick(self._origin_label, market, item_class)
        if len(self.address_names):
            via = pick(self._address_label, np.maximum(address, 0), market, item_class)
            cost = np.where(address >= 0, via, cost)
        return cost

    @cached_property
    def _origin_label(self) -> np.ndarray:
        """Return label to the origin by market and item class (base plus per-pound rate times
        the class's weight: one table lookup a batch instead of the same sum per request)."""
        return self.return_label[:, :1] + self.return_label[:, 1:] * self.weight_lb[None, :]

    @cached_property
    def _address_label(self) -> np.ndarray:
        """Return label to each named address by address, market and item class (NaN: no lane)."""
        return self.address_label[:, :, :1] + self.address_label[:, :, 1:] * self.weight_lb[None, None, :]

    @cached_property
    def class_outbound_label(self) -> np.ndarray:
        """Outbound label of a new unit by market and item class (money)."""
        return self.outbound_label[:, :1] + self.outbound_label[:, 1:] * self.weight_lb[None, :]

    def lane_days(self, market: np.ndarray, address: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Return transit time in days on the lane; a NaN uniform stands for the mean."""
        # One code per lane (markets, then addresses).
        n_markets = len(self.market_transit)
        lane = np.where(address < 0, market, n_markets + address)
        if self._lognormal_lanes is not None:
            # Every lane lognormal: one pass with each row's parameters, the same operations as
            # each lane's own quantile function (Lognormal.ppf, then the mean for NaN).
            mu, sigma, mean = self._lognormal_lanes
            nan = np.isnan(u)
            out = np.exp(mu[lane] + sigma[lane] * special.ndtri(np.where(nan, 0.5, u)))
            return np.where(nan, mean[lane], out) if nan.any() else out
        out = np.empty(len(u))
        # Lanes no request takes are skipped, as a quantile function costs far more to call
        # than to apply to a batch.
        used = np.bincount(lane, minlength=n_markets + len(self.address_transit))
        for code, dist in enumerate(self.market_transit + self.address_transit):
            if used[code]:
                sel = lane == code
                out[sel] = _ppf_or_mean(dist, u[sel])
        return out

    @cached_property
    def _lognormal_lanes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Each lane's lognormal parameters and mean (markets, then addresses), when every
        lane's transit time is lognormal (else None)."""
        lanes = [d for d in self.market_transit + self.address_transit if isinstance(d, Lognormal)]
        if len(lanes) < len(self.market_transit) + len(self.address_transit):
            return None
        mu, sigma = zip(*(d._mu_sigma() for d in lanes), strict=True)
        return np.array(mu), np.array(sigma), np.array([d.mean for d in lanes])

    def restock_days(self, address: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Receipt-to-resale time in days at the origin or an address."""
        out = _ppf_or_mean(self.scenario.returns.restock_days, u)
        if self.address_restock:
            used = np.bincount(np.maximum(address, 0), weights=address >= 0, minlength=len(self.address_restock))
            for a, dist in enumerate(self.address_restock):
                if used[a]:  # (addresses no request goes to are skipped: see lane_days)
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

