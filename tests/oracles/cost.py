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

:meth:`AmpleStaffOracle.expected_flows` gives, per request world, the expected flow of every ledger
category; ``worlds.world_from_trace`` reads request worlds from a simulated trace (a conditional
check whose noise is only the decisions'); ``worlds.enumerate_worlds`` enumerates every world with
its probability (:func:`expected_per_return`: a closed form up to quadrature over price). The
scenario's tables and the rule matching are in ``terms.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from returnsim import amazon

from . import dists
from .terms import (
    ABANDON,
    ADDRESS,
    BUYER,
    CATEGORIES,
    CLAIM,
    CREDITS,
    DISPOSE,
    EXCHANGED,
    FAULTS,
    FREIGHT,
    GIVE,
    IN_PLACE,
    KEPT_PARTIAL,
    LIQUIDATE,
    LOSS_FEE,
    NEGOTIATE,
    OFFER_KINDS,
    ORIGIN,
    REPLACED,
    RESELL,
    RETURNED,
    RETURNLESS,
    SELLER,
    TROUBLESHOT,
    NotCovered,
    ScenarioTables,
    Terms,
    cents_half_up,
    logistic,
)
from .worlds import CONDITIONS, GRADES, Worlds, enumerate_worlds, world_from_trace

__all__ = ["AmpleStaffOracle", "NotCovered", "CATEGORIES", "expected_per_return", "world_from_trace", "Worlds"]


class AmpleStaffOracle(ScenarioTables):
    """Expected money per request of ``policy`` in ``scenario`` with an uncongested desk."""

    def __init__(self, scenario: Any, policy: str) -> None:
        super().__init__(scenario, policy)
        sc, pol = self.sc, self.pol
        rules = sc.amazon.rules
        if rules.refund_at_first_scan or rules.free_returns_categories:
            raise NotCovered("refund at first scan, SAFE-T and free fashion returns (marketplace = 'none' only)")
        desk = sc.desk
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
            if not pol.authorise_at_deadline:
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

    # -- money -----------------------------------------------------------------------------------

    def _travel_label(self, market: np.ndarray, k: np.ndarray, action: np.ndarray, address: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """The label a seller-fulfilled unit rides (section 7b): its lane, except a unit abandoned to
        be liquidated, which goes through the seller's own channel, on the label of the address
        ``costs.seller_liquidation.address`` names, or none when sold where it lies."""
        own = self.sc.costs.seller_liquidation
        if own.address is None:
            liq = np.zeros(len(market))
        else:
            i = self.addresses.index(own.address)
            liq = self.addr_label[i, market, 0] + self.addr_label[i, market, 1] * self.weight[k]
        return np.where((action == ABANDON) & (mode == LIQUIDATE), liq, self._lane_label(market, k, action, address))

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
        fee_share: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Every ledger flow of one branch (docs/model.md section 5 and 7). ``offset_h``: hours
        from the request to the authorisation (or the acceptance of an exchange). ``fee_share``:
        the fee set at receipt (section 7b; default: the terms' own, as valued before receipt)."""
        sc, c = self.sc, self.sc.costs
        k, m, price = x.item_class, x.market, x.price
        merchant = ~fba
        refunded = (outcome == RETURNLESS) | (outcome == RETURNED)
        returned = outcome == RETURNED
        reship = (outcome == EXCHANGED) | (outcome == REPLACED)
        in_place = (action == ABANDON) & (mode == IN_PLACE)
        ships = (returned | reship) & (action != GIVE) & ~in_place
        w = self.weight[k]
        own = c.seller_liquidation
        label = np.where(ships & merchant, self._travel_label(m, k, action, address, mode), 0.0)
        outbound = np.where(reship, np.where(fba, self.fulfil_fee[k], self.outbound[m, 0] + self.outbound[m, 1] * w), 0.0)
        nego = terms.payer == NEGOTIATE
        buyer_label = (terms.payer == BUYER) | (nego & np.where(terms.ask == FREIGHT, fee_yes, terms.label_payer == BUYER))
        fee_applies = (terms.payer == BUYER) | (nego & (terms.ask == LOSS_FEE) & fee_yes)
        deduct = np.where(
            returned & ships & merchant,
            np.minimum(label * buyer_label + price * (terms.fee_share if fee_share is None else fee_share) * fee_applies, price),
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
        # Only seller-fulfilled units are liquidated here: on the seller's terms, no referral fee.
        recovered = np.where(resell, resale, 0.0) + np.where(liquidate, price * own.recovery_share, 0.0)
        processing = np.where(liquidate, own.item_fee, 0.0)
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
                    float(price[i]), GRADES[g[i]], sc.catalog[self.classes[k[i]]].size_tier, rate, float(self.fulfil_fee[k[i]])
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

    def _cost_optimal(
        self, x: Worlds, view: dict[str, np.ndarray], offer: np.ndarray, names: list[str] | None, auto: np.ndarray
    ) -> tuple:
        """The candidate of highest expected net value (section 2, step 4): valued by the money
        rules with the stated condition (the receipt rules read it too), expected times, each
        destination's own freight terms and the fee-acceptance probability; first listed wins
        ties; no candidate with a lane from the buyer's market: back to the origin."""
        n = len(x)
        best = np.full(n, -np.inf)
        pick = np.tile(np.array([ORIGIN, -1, LIQUIDATE]), (n, 1))
        for action, address, mode in self._options(names):
            a = np.full(n, action)
            ad = np.full(n, address)
            md = np.full(n, mode)
            terms = self._terms(view, a, ad)
            label = self._travel_label(x.market, x.item_class, a, ad, md)
            in_place = (a == ABANDON) & (md == IN_PLACE)
            outcome = np.where((a == GIVE) | in_place, RETURNLESS, RETURNED)
            asking = terms.payer == NEGOTIATE
            reply = np.where(auto, 0.0, np.where(asking | (offer >= 0), dists.mean(self.reply), 0.0))
            offset = np.where(auto, 0.0, self.handling_h) + reply
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
            p = np.where(auto, 1.0, self._p_fee(terms, label, x.price))
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
        # Authorised at once by the rule (section 7b): in the window, of a class not exempt from
        # prepaid labels, where the policy opts in (the oracle covers the rule-free world only).
        exempt = np.array([c.prepaid_exempt for c in sc.catalog.values()])
        auto = merchant & (pol.auto_authorise is True) & worlds.in_window & ~exempt[worlds.item_class]
        # Returnless resolutions (section 7b): the first matching rule, on the stated reason, for
        # in-window seller-fulfilled requests; settled at the request, the item kept.
        stated = {
            "price": worlds.price, "market": worlds.market, "item_class": worlds.item_class,
            "reason": worlds.stated_reason, "true_reason": worlds.true_reason,
            "fault": self.fault[worlds.stated_reason], "condition": worlds.stated_condition,
            "in_window": worlds.in_window,
        }
        hit = self._first(pol.returnless, stated) if pol.returnless else np.full(n, -1)
        kind = np.array([r.resolution for r in pol.returnless] + ["none"])[hit]
        settled_all = merchant & worlds.in_window & (hit >= 0)
        replace_all = settled_all & (kind == "replacement")
        if not sc.amazon.domestic_return_address:
            raise NotCovered("Amazon's own returnless refunds without a domestic return address")
        investigated = merchant & pol.investigate & ~auto & ~settled_all & (self.fault[worlds.stated_reason] == FAULTS["seller"])
        revealable = investigated & (worlds.stated_reason != worlds.true_reason)
        p_d = sc.desk.investigation.detect_probability
        # Branch 1: the investigation reveals a misreport, or not.
        src = np.concatenate([np.arange(n), np.flatnonzero(revealable)])
        revealed = np.concatenate([np.zeros(n, dtype=bool), np.ones(int(revealable.sum()), dtype=bool)])
        w0 = np.concatenate([np.where(revealable, 1 - p_d, 1.0), np.full(int(revealable.sum()), p_d)])
        x = worlds.take(src)
        fba, merchant, auto, investigated = fba[src], merchant[src], auto[src], investigated[src]
        settled, replace = settled_all[src], replace_all[src]
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
        # Step 3: the offer (none for FBA; the oracle has no message race for auto-authorised ones).
        offer = np.full(m, -1)
        value_share = np.zeros(m)
        if pol.offers:
            hit = self._first(pol.offers, view)
            has = (hit >= 0) & merchant & ~settled
            if (has & auto).any():
                raise NotCovered("offers to auto-authorised buyers (the message race of section 7b)")
            offer[has] = np.array([OFFER_KINDS.index(o.kind) for o in pol.offers])[hit[has]]
            value_share[has] = np.array([o.value_share for o in pol.offers])[hit[has]]
        # Step 4: where the unit goes (FBA: to Amazon's fulfilment centre, treated as the origin).
        action = np.full(m, ORIGIN)
        address = np.full(m, -1)
        mode = np.full(m, LIQUIDATE)
        hit = self._first(pol.disposition, view)
        for i, rule in enumerate(pol.disposition):
            sel = (hit == i) & merchant & ~settled  # a returnless resolution gives the item away
            if not sel.any():
                continue
            if rule.action == "cost_optimal":
                sub = {key: v[sel] for key, v in view.items()}
                a, ad, md = self._cost_optimal(x.take(np.flatnonzero(sel)), sub, offer[sel], rule.candidates, auto[sel])
                action[sel], address[sel], mode[sel] = a, ad, md
            else:
                action[sel] = {"give_to_buyer": GIVE, "return_to_origin": ORIGIN, "return_to_address": ADDRESS, "abandon": ABANDON}[rule.action]
                if rule.address is not None:
                    address[sel] = self.addresses.index(rule.address)
                mode[sel] = {"liquidate": LIQUIDATE, "dispose": DISPOSE, "in_place": IN_PLACE}[rule.abandon_mode]
        action[settled] = GIVE
        # Step 5: who pays the label, for that destination; FBA requests skip the seller's rules.
        terms = self._terms(view, action, address)
        terms.payer = np.where(fba, SELLER, terms.payer)
        label = self._travel_label(x.market, x.item_class, action, address, mode)
        ships = (action != GIVE) & ~((action == ABANDON) & (mode == IN_PLACE))
        negotiate = merchant & (terms.payer == NEGOTIATE) & ships
        asked = merchant & ((offer >= 0) | (negotiate & ~auto))
        p_fee = self._p_fee(terms, label, x.price)
        # The fee is set at receipt on the true condition (section 7b): a buyer-pays rule read
        # again on it, a negotiated fee as agreed; never above the marketplace's cap.
        at_receipt = self._terms({**view, "condition": x.condition}, action, address)
        fee_share = np.where(
            terms.payer == BUYER, np.where(at_receipt.payer == BUYER, at_receipt.fee_share, 0.0), terms.fee_share
        )
        rules = sc.amazon.rules
        cap = np.array([[rules.restocking_cap(cond, bool(w)) for w in (0, 1)] for cond in CONDITIONS])
        fee_share = np.where(fba, 0.0, np.minimum(fee_share, cap[x.condition, x.in_window.astype(int)]))
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
            value_share=value_share, condition=x.condition, fee_share=fee_share,
        )
        yes, no = np.ones(m, dtype=bool), np.zeros(m, dtype=bool)
        # No question: decided at the first answer (at once for FBA and auto-authorised requests,
        # whose fee, a rule set in advance, is deducted without asking).
        offset_n = np.where(fba | auto | settled, 0.0, self.handling_h)
        labor_n = np.where(fba | auto | settled, 0.0, self.handling_h + extra)  # no touch: Amazon's
        base = np.where(replace, REPLACED, base)  # a new unit sent, the old one kept
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


def expected_per_return(scenario: Any, policy: str, n_price: int = 400) -> dict[str, float]:
    """The unconditional expectation per return request of every category and ``"net"``."""
    worlds = enumerate_worlds(scenario, policy, n_price)
    flows = AmpleStaffOracle(scenario, policy).expected_flows(worlds)
    return {c: float(worlds.weight @ v) for c, v in flows.items()}
