"""A scenario's tables as arrays, and a policy's rule tables applied by the documented rules
(docs/model.md sections 2 and 5): conditions (``price_min <= price < price_max``, every omitted
test matching), freight by destination, return lanes, receipt rules, the fee-acceptance logistic.

Written from the documentation for ``tests/oracles/cost.py``; nothing here calls the model's rule
matching or freight code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import dists
from .worlds import CONDITIONS, MARKETS

FAULTS = {"seller": 0, "carrier": 1, "buyer": 2}
OFFER_KINDS = ("troubleshoot", "partial_refund", "exchange", "replacement")

# Outcomes, actions, modes, second-stage actions, payers and asks (this file's own codes).
RETURNLESS, RETURNED, TROUBLESHOT, KEPT_PARTIAL, EXCHANGED, REPLACED = range(6)
GIVE, ORIGIN, ADDRESS, ABANDON = range(4)
LIQUIDATE, DISPOSE, IN_PLACE = range(3)
RESELL = 0  # receipt codes: RESELL, LIQUIDATE (1), DISPOSE (2)
SELLER, BUYER, CLAIM, NEGOTIATE = range(4)
LOSS_FEE, FREIGHT = range(2)

CATEGORIES = (
    "refunds",
    "partial_refunds",
    "seller_freight",
    "replacement_units",
    "labor",
    "inspection",
    "processing_fees",
    "disposal_fees",
    "refund_admin_fees",
    "recovered_value",
    "buyer_fees",
    "carrier_claims",
    "referral_fee_credits",
)
CREDITS = ("recovered_value", "buyer_fees", "carrier_claims", "referral_fee_credits")


class NotCovered(NotImplementedError):
    """The policy uses a rule this oracle does not model."""


def logistic(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def cents_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(x) * 100.0 + 0.5 + 1e-9) / 100.0


@dataclass
class Terms:
    payer: np.ndarray
    ask: np.ndarray
    fee_share: np.ndarray
    label_payer: np.ndarray

    def take(self, idx: np.ndarray) -> Terms:
        return Terms(self.payer[idx], self.ask[idx], self.fee_share[idx], self.label_payer[idx])


class ScenarioTables:
    """A scenario's tables as arrays, and its policy's rule tables applied as documented."""

    def __init__(self, scenario: Any, policy: str) -> None:
        sc = scenario
        pol = sc.policies[policy]
        if pol.reject:
            raise NotCovered("reject rules: a rejection's cost runs through satisfaction and claims")
        self.sc, self.pol = sc, pol
        self.classes = list(sc.catalog)
        self.reasons = list(sc.reasons)
        self.addresses = list(sc.addresses)
        self.codes = {
            "market": {m: i for i, m in enumerate(MARKETS)},
            "item_class": {c: i for i, c in enumerate(self.classes)},
            "fault": FAULTS,
            "reason": {r: i for i, r in enumerate(self.reasons)},
            "true_reason": {r: i for i, r in enumerate(self.reasons)},
            "condition": {c: i for i, c in enumerate(CONDITIONS)},
        }
        cat = [sc.catalog[c] for c in self.classes]
        self.ucs = np.array([c.unit_cost_share for c in cat])
        self.weight = np.array([c.weight_lb for c in cat])
        self.decay = np.array([c.value_decay_per_week for c in cat])
        self.resale = np.array([[getattr(c.resale_share, k) for k in CONDITIONS] for c in cat])
        if pol.fba_classes is None:
            self.fba_class = np.array([c.fulfilment == "fba" for c in cat])
        else:
            self.fba_class = np.array([c in pol.fba_classes for c in self.classes])
        self.fulfil_fee = np.array([c.fba.fulfilment_fee for c in cat])
        # The FBA returns processing fee on the share of returned units above the threshold [F7].
        self.fba_returns_fee = np.array(
            [
                c.fba.returns_processing_fee * max(0.0, 1.0 - c.fba.returns_fee_threshold / c.return_rate)
                if c.return_rate > 0
                else 0.0
                for c in cat
            ]
        )
        self.fault = np.array([FAULTS[sc.reasons[r].fault] for r in self.reasons])
        mk = [getattr(sc.markets, m) for m in MARKETS]
        self.label = np.array([[m.return_label.base, m.return_label.per_lb] for m in mk])
        self.outbound = np.array([[m.outbound_label.base, m.outbound_label.per_lb] for m in mk])
        self.transit_h = np.array([dists.mean(m.transit_days) * 24 for m in mk])
        ad = [sc.addresses[a] for a in self.addresses]
        self.addr_label = np.array(
            [
                [
                    [a.return_label[m].base, a.return_label[m].per_lb] if m in a.return_label else [np.nan, np.nan]
                    for m in MARKETS
                ]
                for a in ad
            ]
        ).reshape(len(ad), 2, 2)
        self.addr_region = np.array([MARKETS.index(a.region) for a in ad], dtype=int)
        self.addr_transit_h = np.array([dists.mean(a.transit_days) * 24 for a in ad])
        self.addr_restock_h = np.array([dists.mean(a.restock_days) * 24 for a in ad])
        self.addr_fee = np.array([a.handling_fee for a in ad])
        self.addr_recovery = np.array([a.recovery_factor for a in ad])
        ret = sc.returns
        self.ship_h = dists.mean(ret.ship_days) * 24
        self.restock_h = dists.mean(ret.restock_days) * 24
        self.grading_h = dists.mean(sc.fba.grading_days) * 24

    # -- rules ---------------------------------------------------------------------------------

    def _first(self, rules: list[Any], view: dict[str, np.ndarray]) -> np.ndarray:
        """Index of the first rule whose ``when`` matches each request (-1: none). Prices are
        half-open, ``price_min <= price < price_max``; an omitted test matches everything."""
        n = len(view["price"])
        hit = np.full(n, -1)
        for i, rule in enumerate(rules):
            w = rule.when
            ok = hit < 0
            if w.price_min is not None:
                ok &= view["price"] >= w.price_min
            if w.price_max is not None:
                ok &= view["price"] < w.price_max
            if w.in_window is not None:
                ok &= view["in_window"] == w.in_window
            if getattr(w, "returned_before", None) is not None:
                ok &= not w.returned_before  # every request here is a buyer's first return
            for key in ("market", "item_class", "fault", "reason", "true_reason", "condition"):
                names = getattr(w, key)
                if names is not None:
                    ok &= np.isin(view[key], [self.codes[key][x] for x in names])
            hit[ok] = i
        return hit

    def _terms(self, view: dict[str, np.ndarray], action: np.ndarray, address: np.ndarray) -> Terms:
        """Freight terms for the destination: a freight rule's ``market`` means whether the parcel
        crosses a border (the origin is domestic; an address is in its region)."""
        region = np.where(action == ADDRESS, self.addr_region[np.maximum(address, 0)] if len(self.addresses) else 0, 0)
        dest = dict(view, market=(view["market"] != region).astype(int))
        rules = self.pol.freight
        hit = self._first(rules, dest)
        pick = lambda attr, conv, default: np.array([conv(getattr(r, attr)) for r in rules] + [default])[hit]  # noqa: E731
        payer_code = {"seller": SELLER, "buyer": BUYER, "carrier_claim": CLAIM, "negotiate": NEGOTIATE}
        return Terms(
            payer=pick("payer", payer_code.get, SELLER),
            ask=pick("ask", {"loss_fee": LOSS_FEE, "freight": FREIGHT}.get, LOSS_FEE),
            fee_share=pick("fee_share", float, 0.0).astype(float),
            label_payer=pick("label_payer", payer_code.get, SELLER),
        )

    def _lane_label(self, market: np.ndarray, k: np.ndarray, action: np.ndarray, address: np.ndarray) -> np.ndarray:
        w = self.weight[k]
        own = self.label[market, 0] + self.label[market, 1] * w
        if not len(self.addresses):
            return own
        a = np.maximum(address, 0)
        via = self.addr_label[a, market, 0] + self.addr_label[a, market, 1] * w
        return np.where(action == ADDRESS, via, own)

    def _receipt(self, view: dict[str, np.ndarray], condition: np.ndarray) -> np.ndarray:
        rules = self.pol.receipt
        hit = self._first(rules, dict(view, condition=condition))
        code = {"resell": 0, "liquidate": 1, "dispose": 2}
        return np.array([code[r.action] for r in rules] + [RESELL])[hit]

    def _p_fee(self, terms: Terms, label: np.ndarray, price: np.ndarray) -> np.ndarray:
        f = self.sc.buyer.fee_acceptance
        amount = np.where(terms.ask == FREIGHT, label, terms.fee_share * price)
        return logistic(f.intercept + f.per_fee_share * amount / price)
