"""The expected money of a return when the desk is never congested, from docs/model.md alone.

This is an oracle for the simulation's decision and money code. It is written from the rules as
documented (docs/model.md sections 1-5 and 7), not from the code: it imports nothing from
``returnsim.model`` or ``returnsim.analytic``, matches rule conditions itself, enumerates every
branch a request can take with its probability, and books every money flow by its own reading of
the rules. A bug in the simulation's ``plan``, ``resolve`` or ``flows`` (or in this file) shows as
a disagreement between the two. What it does use: the validated ``Scenario`` (data), and
Amazon's fee functions (``returnsim.amazon``: Grade and Resell, the removal fee), which
``tests/test_amazon.py`` reproduces to the cent against Amazon's published examples.

Assumptions (the caller makes them true; the tests check them on the run):

* the desk answers every touch the moment it arrives (24/7, more agents than ever needed at once),
  so a first answer comes ``H`` (the handling time) after the request, a buyer's answer is acted
  on ``follow_up`` after it lands, and no buyer runs out of patience;
* post-return purchases do not feed back into demand (each request is one independent draw);
* no ``reject`` rules (a rejection's cost runs through the buyer's satisfaction and A-to-z claim,
  which is outside this oracle: :class:`NotCovered`).

Under these the randomness left once a request's world is drawn (class, market, price, true and
stated reason, true and stated condition, FBA grade, window, time from order to request) is: the
handling time ``H``, whether an investigation reveals a misreport (``detect_probability``), the
buyer's reply time ``R`` (the offer or fee question lapses at the 48 h deadline when
``H + R > 48``), whether the buyer accepts the offer (logistic in the value share, the days waited
``H / 24``, the service quality and the true reason) or a negotiated fee, and the durations of the
journey. Money is linear in the time to resale (value decays linearly, section 5), so each branch
needs only its probability and the conditional mean of that time; this file computes both exactly
(up to numerical integration over ``H`` and ``R``).

:func:`expected_flows` gives, per request world, the expected flow of every ledger category;
:func:`world_from_trace` reads request worlds from a simulated trace (a conditional check whose
noise is only the decisions'); :func:`enumerate_worlds` enumerates every world with its
probability (the unconditional expectation: a closed form up to quadrature over price).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from returnsim import amazon

from . import dists

CONDITIONS = ("unopened", "opened", "used", "damaged")
MARKETS = ("domestic", "international")
FAULTS = {"seller": 0, "carrier": 1, "buyer": 2}
GRADES = amazon.GRADES
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


@dataclass
class Worlds:
    """Request worlds: what demand draws before any policy applies (one entry per world)."""

    weight: np.ndarray
    item_class: np.ndarray
    market: np.ndarray
    price: np.ndarray
    true_reason: np.ndarray
    stated_reason: np.ndarray
    condition: np.ndarray
    stated_condition: np.ndarray
    grade: np.ndarray
    """FBA grade index into ``amazon.GRADES`` (-1: not an FBA unit)."""
    in_window: np.ndarray
    lead_h: np.ndarray
    """Hours from the order to the request."""

    def __len__(self) -> int:
        return len(self.price)

    def take(self, idx: np.ndarray) -> Worlds:
        return Worlds(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


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


class AmpleStaffOracle:
    """Expected money per request of ``policy`` in ``scenario`` with an uncongested desk."""

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
        ret, desk = sc.returns, sc.desk
        self.ship_h = dists.mean(ret.ship_days) * 24
        self.restock_h = dists.mean(ret.restock_days) * 24
        self.grading_h = dists.mean(sc.fba.grading_days) * 24
        self.handling_h = dists.mean(desk.handling_minutes) / 60
        self.h_bins = dists.bins(desk.handling_minutes, 24) / 60
        self.investigate_h = dists.mean(desk.investigation.minutes) / 60
        self.follow_h = dists.mean(desk.follow_up_minutes) / 60
        self.late = desk.late_after_hours
        self.reply = sc.buyer.reply_hours
        # Per handling-time bin: P(the reply lapses), E[R | in time], E[min(R, room - F) | in time].
        self.p_lapse, self.reply_in, self.reply_in_capped = [], [], []
        for h in self.h_bins:
            room = self.late - h
            if pol.auto_authorise or not pol.authorise_at_deadline:
                m = dists.mean(self.reply)
                self.p_lapse.append(0.0)
                self.reply_in.append(m)
                self.reply_in_capped.append(m)
            elif room <= 0:
                self.p_lapse.append(1.0)
                self.reply_in.append(0.0)
                self.reply_in_capped.append(0.0)
            else:
                self.p_lapse.append(1.0 - float(dists.frozen(self.reply).cdf(room)))
                self.reply_in.append(dists.mean_below(self.reply, room))
                self.reply_in_capped.append(dists.mean_min_below(self.reply, room, room - self.follow_h))
        self.p_lapse = np.array(self.p_lapse)
        self.reply_in = np.nan_to_num(np.array(self.reply_in))
        self.reply_in_capped = np.nan_to_num(np.array(self.reply_in_capped))

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

    # -- money -----------------------------------------------------------------------------------

    def money(
        self,
        x: Worlds,
        *,
        fba: np.ndarray,
        outcome: np.ndarray,
        action: np.ndarray,
        address: np.ndarray,
        mode: np.ndarray,
        receipt: np.ndarray,
        terms: Terms,
        fee_yes: np.ndarray,
        value_share: np.ndarray,
        labor_h: np.ndarray,
        offset_h: np.ndarray,
        condition: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Every ledger flow of one branch (docs/model.md section 5 and 7). ``offset_h``: hours
        from the request to the authorisation (or the acceptance of an exchange)."""
        sc, c = self.sc, self.sc.costs
        k, m, price = x.item_class, x.market, x.price
        merchant = ~fba
        refunded = (outcome == RETURNLESS) | (outcome == RETURNED)
        returned = outcome == RETURNED
        reship = (outcome == EXCHANGED) | (outcome == REPLACED)
        in_place = (action == ABANDON) & (mode == IN_PLACE)
        ships = (returned | reship) & (action != GIVE) & ~in_place
        w = self.weight[k]
        label = np.where(ships & merchant, self._lane_label(m, k, action, address), 0.0)
        outbound = np.where(reship, np.where(fba, self.fulfil_fee[k], self.outbound[m, 0] + self.outbound[m, 1] * w), 0.0)
        nego = terms.payer == NEGOTIATE
        buyer_label = (terms.payer == BUYER) | (nego & np.where(terms.ask == FREIGHT, fee_yes, terms.label_payer == BUYER))
        fee_applies = (terms.payer == BUYER) | (nego & (terms.ask == LOSS_FEE) & fee_yes)
        deduct = np.where(
            returned & ships & merchant,
            np.minimum(label * buyer_label + price * terms.fee_share * fee_applies, price),
            0.0,
        )
        refund_net = np.where(refunded, price - deduct, 0.0)
        partial = np.where(outcome == KEPT_PARTIAL, price * value_share, 0.0)
        rate = c.referral_rate
        admin = np.where(
            refunded | (partial > 0),
            cents_half_up(np.minimum(c.refund_admin_fee_cap, c.refund_admin_fee_share * rate * (refund_net + partial))),
            0.0,
        )
        # Time from the sale to resale, by where the unit goes.
        address_ = np.maximum(address, 0)
        to_address = action == ADDRESS
        transit = np.where(to_address & merchant, self.addr_transit_h[address_] if len(self.addresses) else 0.0, self.transit_h[m])
        restock = np.where(
            fba, self.grading_h, np.where(to_address, self.addr_restock_h[address_] if len(self.addresses) else 0.0, self.restock_h)
        )
        weeks = (x.lead_h + offset_h + self.ship_h + transit + restock) / 168.0
        decay = np.clip(1.0 - self.decay[k] * weeks, 0.0, 1.0)
        saved = price * self.ucs[k] * decay

        def credit(value: np.ndarray) -> np.ndarray:
            return np.minimum(value, saved) if c.restock_credit == "saved_cost" else value

        resale = credit(price * self.resale[k, condition] * decay)
        m_items = ships & merchant
        origin = m_items & (action == ORIGIN)
        at_address = m_items & to_address
        abandon = m_items & (action == ABANDON)
        resell = origin & (receipt == RESELL)
        liquidate = (abandon & (mode == LIQUIDATE)) | (origin & (receipt == 1))
        dispose = (abandon & (mode == DISPOSE)) | (origin & (receipt == 2))
        recovered = np.where(resell, resale, 0.0) + np.where(liquidate, price * c.liquidation_recovery_share * (1 - rate), 0.0)
        processing = np.where(liquidate, c.liquidation_item_fee, 0.0)
        if len(self.addresses):
            recovered = recovered + np.where(at_address, resale * self.addr_recovery[address_], 0.0)
            processing = processing + np.where(at_address, self.addr_fee[address_], 0.0)
        disposal = np.where(dispose, np.asarray(c.disposal_fee.fee(w), dtype=float), 0.0)
        # Fulfilled by Amazon: graded at the fulfilment centre (section 7).
        f_items = ships & fba
        if f_items.any():
            g = x.grade
            sellable = f_items & (g == GRADES.index("sellable"))
            used = f_items & (g > 0) & (g < GRADES.index("unsellable")) & sc.fba.grade_and_resell
            junk = f_items & ~sellable & ~used
            new_net = np.maximum(price * (1 - rate) - self.fulfil_fee[k], 0.0)
            recovered = recovered + np.where(sellable, credit(new_net * decay), 0.0)
            gr = np.zeros(len(price))
            for i in np.flatnonzero(used):
                gr[i] = amazon.grade_and_resell_recovery(
                    float(price[i]), GRADES[g[i]], sc.catalog[self.classes[k[i]]].fba.size_tier, rate, float(self.fulfil_fee[k[i]])
                )
            recovered = recovered + np.where(used, credit(np.maximum(gr, 0.0) * decay), 0.0)
            disposal = disposal + np.where(junk, [amazon.removal_fee(v) for v in w], 0.0)
            processing = processing + np.where(f_items, self.fba_returns_fee[k], 0.0)
        # A carrier claim: a share of the value made good to the buyer and the label, at most the
        # loss (that value and the label less what the unit recovers).
        lost = np.where(refunded | reship, price, 0.0)
        claim = np.where(
            (terms.payer == CLAIM) & merchant,
            np.minimum(c.carrier_claim_share * (lost + label), np.maximum(lost + label - recovered, 0.0)),
            0.0,
        )
        return {
            "refunds": np.where(refunded, price, 0.0),
            "partial_refunds": partial,
            "seller_freight": label + outbound,
            "replacement_units": np.where(reship, price * self.ucs[k], 0.0),
            "labor": labor_h * sc.desk.wage_per_hour,
            "inspection": np.where(origin, c.inspection, 0.0),
            "processing_fees": processing,
            "disposal_fees": disposal,
            "refund_admin_fees": admin,
            "recovered_value": recovered,
            "buyer_fees": deduct,
            "carrier_claims": claim,
            "referral_fee_credits": rate * (refund_net + partial),
        }

    @staticmethod
    def net(flows: dict[str, np.ndarray]) -> np.ndarray:
        return sum((flows[c] for c in CATEGORIES if c not in CREDITS), 0.0) - sum((flows[c] for c in CREDITS), 0.0)

    # -- the seller's plan ------------------------------------------------------------------------

    def _options(self, names: list[str] | None) -> list[tuple[int, int, int]]:
        if names is None:
            names = ["give_to_buyer", "return_to_origin", "return_to_address", "abandon"]
        out: list[tuple[int, int, int]] = []
        for name in names:
            base, _, arg = name.partition(":")
            if base == "give_to_buyer":
                out.append((GIVE, -1, LIQUIDATE))
            elif base == "return_to_origin":
                out.append((ORIGIN, -1, LIQUIDATE))
            elif base == "return_to_address":
                out += [(ADDRESS, self.addresses.index(a), LIQUIDATE) for a in ([arg] if arg else self.addresses)]
            elif base == "abandon":
                modes = {"liquidate": LIQUIDATE, "dispose": DISPOSE, "in_place": IN_PLACE}
                out += [(ABANDON, -1, modes[mm]) for mm in ([arg] if arg else ["liquidate", "dispose"])]
        return out

    def _cost_optimal(self, x: Worlds, view: dict[str, np.ndarray], offer: np.ndarray, names: list[str] | None) -> tuple:
        """The candidate of highest expected net value (section 2, step 4): valued by the money
        rules with the stated condition (the receipt rules read it too), expected times, each
        destination's own freight terms and the fee-acceptance probability; first listed wins
        ties; no candidate with a lane from the buyer's market: back to the origin."""
        n = len(x)
        auto = self.pol.auto_authorise
        best = np.full(n, -np.inf)
        pick = np.tile(np.array([ORIGIN, -1, LIQUIDATE]), (n, 1))
        for action, address, mode in self._options(names):
            a = np.full(n, action)
            ad = np.full(n, address)
            md = np.full(n, mode)
            terms = self._terms(view, a, ad)
            label = self._lane_label(x.market, x.item_class, a, ad)
            in_place = (a == ABANDON) & (md == IN_PLACE)
            outcome = np.where((a == GIVE) | in_place, RETURNLESS, RETURNED)
            asking = terms.payer == NEGOTIATE
            reply = 0.0 if auto else np.where(asking | (offer >= 0), dists.mean(self.reply), 0.0)
            offset = (0.0 if auto else self.handling_h) + reply
            common = dict(
                fba=np.zeros(n, dtype=bool),
                outcome=outcome,
                action=a,
                address=ad,
                mode=md,
                receipt=self._receipt(view, view["condition"]),
                terms=terms,
                value_share=np.zeros(n),
                labor_h=np.zeros(n),
                offset_h=offset,
                condition=view["condition"],
            )
            yes = self.net(self.money(x, fee_yes=np.ones(n, dtype=bool), **common))
            no = self.net(self.money(x, fee_yes=np.zeros(n, dtype=bool), **common))
            # Auto-authorised requests are not asked: the rule set in advance deducts the fee.
            p = 1.0 if auto else self._p_fee(terms, label, x.price)
            value = -np.where(asking, p * yes + (1 - p) * no, no)
            value = np.where(np.isnan(label), -np.inf, value)
            better = value > best
            best = np.where(better, value, best)
            pick[better] = (action, address, mode)
        return pick[:, 0], pick[:, 1], pick[:, 2]

    # -- expectation over the branches -----------------------------------------------------------

    def expected_flows(self, worlds: Worlds) -> dict[str, np.ndarray]:
        """Expected flow of every category per world (and ``"net"``), with the ample-staff
        desk: the probability-weighted sum over every branch of section 2-5."""
        sc, pol = self.sc, self.pol
        n = len(worlds)
        fba = self.fba_class[worlds.item_class]
        merchant = ~fba
        auto = merchant & pol.auto_authorise
        investigated = merchant & pol.investigate & (not pol.auto_authorise) & (self.fault[worlds.stated_reason] == FAULTS["seller"])
        revealable = investigated & (worlds.stated_reason != worlds.true_reason)
        p_d = sc.desk.investigation.detect_probability
        # Branch 1: the investigation reveals a misreport, or not.
        src = np.concatenate([np.arange(n), np.flatnonzero(revealable)])
        revealed = np.concatenate([np.zeros(n, dtype=bool), np.ones(int(revealable.sum()), dtype=bool)])
        w0 = np.concatenate([np.where(revealable, 1 - p_d, 1.0), np.full(int(revealable.sum()), p_d)])
        x = worlds.take(src)
        fba, merchant, auto, investigated = fba[src], merchant[src], auto[src], investigated[src]
        m = len(x)
        reason = np.where(revealed, x.true_reason, x.stated_reason)
        view = {
            "price": x.price,
            "market": x.market,
            "item_class": x.item_class,
            "reason": reason,
            "true_reason": x.true_reason,
            "fault": self.fault[reason],
            "condition": x.stated_condition,
            "in_window": x.in_window,
        }
        # Step 3: the offer (none for FBA or auto-authorised requests).
        offer = np.full(m, -1)
        value_share = np.zeros(m)
        if pol.offers and not pol.auto_authorise:
            hit = self._first(pol.offers, view)
            has = (hit >= 0) & merchant
            offer[has] = np.array([OFFER_KINDS.index(o.kind) for o in pol.offers])[hit[has]]
            value_share[has] = np.array([o.value_share for o in pol.offers])[hit[has]]
        # Step 4: where the unit goes (FBA: to Amazon's fulfilment centre, treated as the origin).
        action = np.full(m, ORIGIN)
        address = np.full(m, -1)
        mode = np.full(m, LIQUIDATE)
        hit = self._first(pol.disposition, view)
        for i, rule in enumerate(pol.disposition):
            sel = (hit == i) & merchant
            if not sel.any():
                continue
            if rule.action == "cost_optimal":
                sub = {key: v[sel] for key, v in view.items()}
                a, ad, md = self._cost_optimal(x.take(np.flatnonzero(sel)), sub, offer[sel], rule.candidates)
                action[sel], address[sel], mode[sel] = a, ad, md
            else:
                action[sel] = {"give_to_buyer": GIVE, "return_to_origin": ORIGIN, "return_to_address": ADDRESS, "abandon": ABANDON}[rule.action]
                if rule.address is not None:
                    address[sel] = self.addresses.index(rule.address)
                mode[sel] = {"liquidate": LIQUIDATE, "dispose": DISPOSE, "in_place": IN_PLACE}[rule.abandon_mode]
        # Step 5: who pays the label, for that destination; FBA requests skip the seller's rules.
        terms = self._terms(view, action, address)
        terms.payer = np.where(fba, SELLER, terms.payer)
        label = self._lane_label(x.market, x.item_class, action, address)
        ships = (action != GIVE) & ~((action == ABANDON) & (mode == IN_PLACE))
        negotiate = merchant & (terms.payer == NEGOTIATE) & ships
        asked = merchant & ~auto & ((offer >= 0) | negotiate)
        p_fee = self._p_fee(terms, label, x.price)
        receipt = self._receipt(view, x.condition)
        base = np.where(ships, RETURNED, RETURNLESS)
        accepted_outcome = np.array([TROUBLESHOT, KEPT_PARTIAL, EXCHANGED, REPLACED])[np.maximum(offer, 0)]

        # The desk: handling time H (bins), the buyer's reply R, the 48 h deadline.
        h = self.h_bins[None, :]
        wh = 1.0 / len(self.h_bins)
        o = sc.buyer.offers
        params = np.array([[o[k].intercept, o[k].per_value_share, o[k].per_day_delay, o[k].per_quality] for k in OFFER_KINDS])
        by_reason = np.zeros((len(OFFER_KINDS), len(self.reasons)))
        for j, k in enumerate(OFFER_KINDS):
            for r, v in o[k].by_reason.items():
                by_reason[j, self.reasons.index(r)] = v
        kk = np.maximum(offer, 0)
        xo = params[kk, 0] + params[kk, 1] * value_share + params[kk, 3] * sc.desk.service_quality + by_reason[kk, x.true_reason]
        p_acc = np.where((offer >= 0)[:, None], logistic(xo[:, None] + params[kk, 2][:, None] * h / 24.0), 0.0)
        lapse = np.where(asked[:, None], self.p_lapse[None, :], 0.0)
        w_l = lapse.sum(axis=1) * wh
        wa = (1 - lapse) * p_acc * asked[:, None]
        wi = (1 - lapse) * (1 - p_acc) * asked[:, None]
        w_a, w_i = wa.sum(axis=1) * wh, wi.sum(axis=1) * wh
        safe = lambda num, den: np.divide(num, den, out=np.zeros_like(num), where=den > 0)  # noqa: E731
        off_a = safe((wa * (h + self.reply_in[None, :])).sum(axis=1) * wh, w_a)
        off_i = safe((wi * (h + self.follow_h + self.reply_in_capped[None, :])).sum(axis=1) * wh, w_i)
        h_l = safe((lapse * h).sum(axis=1) * wh, w_l)
        h_a = safe((wa * h).sum(axis=1) * wh, w_a)
        h_i = safe((wi * h).sum(axis=1) * wh, w_i)
        extra = self.investigate_h * investigated

        out = {c: np.zeros(n) for c in CATEGORIES}

        def book(weight: np.ndarray, **branch: Any) -> None:
            sel = weight > 0
            if not sel.any():
                return
            idx = np.flatnonzero(sel)
            args = {
                key: (v.take(idx) if isinstance(v, Terms) else np.asarray(v)[idx] if np.ndim(v) else np.full(len(idx), v))
                for key, v in branch.items()
            }
            flows = self.money(x.take(idx), **args)
            for c in CATEGORIES:
                np.add.at(out[c], src[idx], (w0 * weight)[idx] * flows[c])

        common = dict(
            fba=fba, action=action, address=address, mode=mode, receipt=receipt, terms=terms,
            value_share=value_share, condition=x.condition,
        )
        yes, no = np.ones(m, dtype=bool), np.zeros(m, dtype=bool)
        # No question: decided at the first answer (at once for FBA and auto-authorised requests,
        # whose fee, a rule set in advance, is deducted without asking).
        offset_n = np.where(fba | auto, 0.0, self.handling_h)
        labor_n = np.where(fba, 0.0, self.handling_h + extra)
        fee_n = auto & negotiate
        book(np.where(asked, 0.0, 1.0), outcome=base, fee_yes=fee_n, labor_h=labor_n, offset_h=offset_n, **common)
        # The question lapses at the deadline: authorised then; no answer, no second touch.
        book(w_l, outcome=base, fee_yes=no, labor_h=h_l + extra, offset_h=np.full(m, self.late), **common)
        # The buyer accepts the offer (an exchange's old unit ships after the acceptance).
        book(w_a, outcome=accepted_outcome, fee_yes=no, labor_h=h_a + extra + self.follow_h, offset_h=off_a, **common)
        # The buyer insists, or answers the fee question: authorised when an agent acts on it.
        p_yes = np.where(negotiate, p_fee, 0.0)
        book(w_i * p_yes, outcome=base, fee_yes=yes, labor_h=h_i + extra + self.follow_h, offset_h=off_i, **common)
        book(w_i * (1 - p_yes), outcome=base, fee_yes=no, labor_h=h_i + extra + self.follow_h, offset_h=off_i, **common)
        out["net"] = self.net(out)
        return out


# -- worlds ---------------------------------------------------------------------------------------


def world_from_trace(scenario: Any, trace: Any) -> Worlds:
    """The request worlds of a simulated trace (the columns demand draws, no decision)."""
    classes, reasons = list(scenario.catalog), list(scenario.reasons)

    def codes(col: str, names: Any) -> np.ndarray:
        return np.array([names.index(v) for v in trace[col].astype(str)], dtype=int)

    grade = np.array([GRADES.index(g) if isinstance(g, str) else -1 for g in trace["grade"].astype(object)], dtype=int)
    return Worlds(
        weight=np.ones(len(trace)),
        item_class=codes("item_class", classes),
        market=codes("market", list(MARKETS)),
        price=trace["price"].to_numpy(dtype=float),
        true_reason=codes("true_reason", reasons),
        stated_reason=codes("stated_reason", reasons),
        condition=codes("condition", list(CONDITIONS)),
        stated_condition=codes("stated_condition", list(CONDITIONS)),
        grade=grade,
        in_window=trace["in_window"].to_numpy(dtype=bool),
        lead_h=(trace["request_time"] - trace["order_time"]).to_numpy(dtype=float),
    )


def true_mix(scenario: Any, cls: Any) -> dict[str, float]:
    """A class's true reason mix (section 1): from a stated mix, a buyer-fault reason's true share
    is its stated share / (1 - q) and its misreport target loses what the misreports add."""
    mix = {r: cls.reasons.get(r, 0.0) for r in scenario.reasons}
    q = scenario.returns.misreport_rate
    if cls.reasons_are == "stated" and q > 0:
        stated = dict(mix)
        for r, share in stated.items():
            target = misreport_target(scenario, r)
            if target is not None and share > 0:
                mix[r] = share / (1 - q)
                mix[target] -= q * mix[r]
    total = sum(max(v, 0.0) for v in mix.values())
    return {r: max(v, 0.0) / total for r, v in mix.items()}


def misreport_target(scenario: Any, reason: str) -> str | None:
    """The seller-fault reason a misreporting buyer states (None: the reason cannot be
    misreported): the reason's ``misreport_as``, else the scenario's default target."""
    spec = scenario.reasons[reason]
    if spec.fault != "buyer":
        return None
    return spec.misreport_as or scenario.misreport_target()


def lead_hours(scenario: Any) -> tuple[float, float]:
    """Mean hours from order to request, for requests inside the window and after it closed.

    Orders arrive in proportion to ``orders_per_day * seasonality[month]``; delivery takes
    ``delivery_days``; an in-window request comes ``request_delay_days`` after delivery,
    conditioned on the window, a late one ``late_request_days`` after the window. The window is
    ``window_days``, or for orders placed in November or December (``holiday_window``) until the
    end of 31 January, counted in whole days from the day of delivery."""
    sc = scenario
    ret = sc.returns
    n_days = math.ceil(sc.horizon_days)
    days = np.arange(n_days)
    length = np.minimum(1.0, sc.horizon_days - days)
    dates = [sc.start_date + dt.timedelta(days=int(d)) for d in days]
    lam = np.array([sc.demand.seasonality[d.month - 1] for d in dates]) * length
    delivery = dists.bins(ret.delivery_days, 64)
    late_mean = dists.mean(ret.late_request_days)
    cache: dict[float, float] = {}

    def inside(window: float) -> float:
        if window not in cache:
            cache[window] = dists.mean_below(ret.request_delay_days, window)
        return cache[window]

    e_in = np.empty(n_days)
    e_out = np.empty(n_days)
    frac = (np.arange(8) + 0.5) / 8
    for i, date in enumerate(dates):
        w = float(ret.window_days)
        if not (ret.holiday_window and date.month in (11, 12)):
            e_in[i] = inside(w)
            e_out[i] = w + late_mean
            continue
        feb1 = (dt.date(date.year + 1, 2, 1) - sc.start_date).days
        windows = [max(w, float(feb1 - math.floor(days[i] + f + dd))) for f in frac for dd in delivery]
        e_in[i] = float(np.mean([inside(v) for v in windows]))
        e_out[i] = float(np.mean(windows)) + late_mean
    d_mean = dists.mean(ret.delivery_days)
    p = lam / lam.sum()
    return 24 * (d_mean + float(p @ e_in)), 24 * (d_mean + float(p @ e_out))


def enumerate_worlds(scenario: Any, policy: str, n_price: int = 400) -> Worlds:
    """Every request world with its probability (section 1): item class by its share of returned
    orders, market, price (``n_price`` equal-probability bins at their conditional means), true
    reason (undoing misreports of a stated mix), misreport, true condition, stated condition
    (opened and used items stated one grade better with ``condition_understate_rate``), FBA grade
    (for classes fulfilled by Amazon under the policy), window; the time from order to request
    at its conditional mean (money is linear in it)."""
    sc = scenario
    ret = sc.returns
    classes, reasons = list(sc.catalog), list(sc.reasons)
    pol = sc.policies[policy]
    fba_classes = (
        [c for c in classes if sc.catalog[c].fulfilment == "fba"] if pol.fba_classes is None else pol.fba_classes
    )
    share = np.array([sc.catalog[c].share for c in classes], dtype=float)
    rr = np.array([sc.catalog[c].return_rate for c in classes])
    returned = share / share.sum() * rr
    returned = returned / returned.sum()
    lead_in, lead_out = lead_hours(sc)
    q, und = ret.misreport_rate, ret.condition_understate_rate
    rows: list[tuple] = []
    for k, cname in enumerate(classes):
        if returned[k] == 0:
            continue
        cls = sc.catalog[cname]
        mix = true_mix(sc, cls)
        for mkt, mname in enumerate(MARKETS):
            wm = getattr(sc.markets, mname).share
            if wm == 0:
                continue
            for t, tname in enumerate(reasons):
                if mix[tname] == 0:
                    continue
                target = misreport_target(sc, tname)
                stated_opts = [(t, 1 - q), (reasons.index(target), q)] if target is not None and q > 0 else [(t, 1.0)]
                spec = sc.reasons[tname]
                for s, ws in stated_opts:
                    for c, cond in enumerate(CONDITIONS):
                        wc = getattr(spec.condition, cond)
                        if wc == 0:
                            continue
                        told = [(c, 1 - und), (c - 1, und)] if cond in ("opened", "used") and und > 0 else [(c, 1.0)]
                        if cname in fba_classes:
                            gm = sc.fba.grades.get(cond)
                            grades = [(g, getattr(gm, gn)) for g, gn in enumerate(GRADES)] if gm is not None else [(len(GRADES) - 1, 1.0)]
                        else:
                            grades = [(-1, 1.0)]
                        for sc_, wsc in told:
                            for g, wg in grades:
                                for inside, wi, lead in ((True, 1 - ret.out_of_window_rate, lead_in), (False, ret.out_of_window_rate, lead_out)):
                                    w = returned[k] * wm * mix[tname] * ws * wc * wsc * wg * wi
                                    if w > 0:
                                        rows.append((w, k, mkt, t, s, c, sc_, g, inside, lead))
    arr = np.array(rows, dtype=float)
    prices = {k: dists.bins(sc.catalog[c].price, n_price) for k, c in enumerate(classes)}
    reps = np.repeat(np.arange(len(arr)), n_price)
    price = np.concatenate([prices[int(k)] for k in arr[:, 1]])
    ints = lambda col: arr[reps, col].astype(int)  # noqa: E731
    return Worlds(
        weight=arr[reps, 0] / n_price,
        item_class=ints(1),
        market=ints(2),
        price=price,
        true_reason=ints(3),
        stated_reason=ints(4),
        condition=ints(5),
        stated_condition=ints(6),
        grade=ints(7),
        in_window=arr[reps, 8].astype(bool),
        lead_h=arr[reps, 9],
    )


def expected_per_return(scenario: Any, policy: str, n_price: int = 400) -> dict[str, float]:
    """The unconditional expectation per return request of every category and ``"net"``."""
    worlds = enumerate_worlds(scenario, policy, n_price)
    flows = AmpleStaffOracle(scenario, policy).expected_flows(worlds)
    return {c: float(worlds.weight @ v) for c, v in flows.items()}
