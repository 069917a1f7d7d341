"""Closed-form expectations the simulation must agree with.

* :func:`erlang_c`: the M/M/c queue — the desk open 24/7 with Poisson requests and exponential
  handling — gives the probability a request waits and its mean wait ``Wq``.
* :func:`erlang_a`: the M/M/n+M queue (Erlang A) — the same desk with buyers who give up after
  an exponential patience — gives the probability of waiting, of abandoning, the mean queue and
  the agents' utilisation.
* :func:`giveaway_breakeven`: the price below which a returnless refund beats shipping the item
  back to the origin, from the money rules alone.
* :func:`expected_cost_per_return`: a policy's mean net cost per return when the desk is never
  congested (24/7 and ample staff, so a request's response time is its handling time). It is
  computed without sampling: the model's own decision chain is applied to a grid that
  enumerates every discrete branch (item class, market, reason, misreport, condition, window,
  investigation result, accept/insist, fee accepted/refused) with its probability, and
  integrates price and handling time over quantile bins whose values are the bins' conditional
  means. The result is exact for everything linear in price and time within a bin (most of the
  money) and converges with ``n_price``/``n_handling`` where rules put kinks (price thresholds,
  the refund-fee cap, ``cost_optimal``). Durations other than handling enter only through
  value decay, which is linear, so their means are used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .model.calendar import Calendar
from .model.demand import Requests
from .model.ledger import net_cost_per_request
from .model.plan import fba_mask, plan
from .model.resolution import DeskTimes, resolve
from .model.world import HOURS_PER_DAY, MARKET, World
from .scenario import Scenario
from .scenario.distributions import Fixed

__all__ = [
    "erlang_c",
    "erlang_a",
    "ErlangA",
    "giveaway_breakeven",
    "restock_credit_share",
    "expected_cost_per_return",
    "quantile_bins",
]


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float]:
    """Probability of waiting and mean wait ``Wq`` of an M/M/c queue.

    Args:
        arrival_rate: requests per hour (lambda).
        service_rate: requests one agent answers per hour (mu = 1 / mean handling hours).
        servers: agents (c).

    Returns:
        ``(P(wait > 0), Wq in hours)``. Raises ``ValueError`` if the queue is unstable.
    """
    a = arrival_rate / service_rate
    c = int(servers)
    if a >= c:
        raise ValueError(f"unstable queue: offered load {a:.3f} Erlangs >= {c} servers")
    # Erlang B by its stable recursion, then C from B.
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    p_wait = b / (1 - rho + rho * b)
    return p_wait, p_wait / (c * service_rate - arrival_rate)


@dataclass(frozen=True)
class ErlangA:
    """Steady state of an M/M/n+M queue (all rates per hour, times in hours)."""

    p_wait: float
    """Probability an arriving request waits (all agents busy)."""
    p_abandon: float
    """Probability an arriving request's buyer gives up before an agent picks it up."""
    mean_queue: float
    """Mean number of requests waiting (``Lq``)."""
    mean_wait: float
    """Mean time in the queue of all arrivals, abandoners until they leave (``Wq = Lq / lambda``)."""
    utilisation: float
    """Mean share of agents busy."""


def erlang_a(
    arrival_rate: float, service_rate: float, servers: int, abandon_rate: float, tol: float = 1e-12
) -> ErlangA:
    """Erlang A (M/M/n+M; Garnett, Mandelbaum & Reiman 2002, docs/sources.md [M2]).

    Requests arrive as a Poisson process (``lambda``), ``n`` agents answer in exponential times
    (rate ``mu``), and each waiting buyer gives up after an exponential patience (rate
    ``theta``). The number in the system is a birth-death chain with birth rate ``lambda`` and
    death rate ``min(k, n) mu + max(k - n, 0) theta`` in state ``k``; its stationary
    distribution, computed here by the product formula over states until their probability is
    negligible, gives every quantity (by PASTA, arrivals see the stationary distribution). The
    queue is stable for any load when ``theta > 0``.

    Args:
        arrival_rate: requests per hour (lambda).
        service_rate: requests one agent answers per hour (mu).
        servers: agents (n).
        abandon_rate: 1 / mean patience in hours (theta); 0 gives Erlang C.
        tol: stop adding states once their probability is below ``tol`` times the total.

    Returns:
        An :class:`ErlangA` with P(wait), P(abandon), Lq, Wq and the utilisation.
    """
    lam, mu, n, theta = float(arrival_rate), float(service_rate), int(servers), float(abandon_rate)
    if theta <= 0:
        p, wq = erlang_c(lam, mu, n)
        a = lam / mu
        return ErlangA(p_wait=p, p_abandon=0.0, mean_queue=lam * wq, mean_wait=wq, utilisation=a / n)
    # Unnormalised probabilities p_k, built by p_k = p_{k-1} * lambda / death(k), in log space
    # would be safer for huge n; here loads are small, and rescaling keeps the numbers finite.
    probs: list[float] = [1.0]
    k = 0
    total = 1.0
    while True:
        k += 1
        death = min(k, n) * mu + max(k - n, 0) * theta
        nxt = probs[-1] * lam / death
        probs.append(nxt)
        total += nxt
        if k > n and nxt < tol * total:
            break
        if total > 1e250:
            probs = [q / total for q in probs]
            total = 1.0
    dist = np.asarray(probs) / total
    states = np.arange(len(dist))
    waiting = np.maximum(states - n, 0)
    lq = float(np.dot(dist, waiting))
    busy = float(np.dot(dist, np.minimum(states, n)))
    return ErlangA(
        p_wait=float(dist[n:].sum()),
        p_abandon=theta * lq / lam,
        mean_queue=lq,
        mean_wait=lq / lam,
        utilisation=busy / n,
    )


def restock_credit_share(
    scenario: Scenario, item_class: str, condition: str, weeks_to_resale: float = 0.0
) -> float:
    """What a unit returned to the origin and resold is worth to the seller, as a share of its
    price, ``weeks_to_resale`` weeks after the sale.

    With ``costs.restock_credit = "saved_cost"`` (the default) the smaller of the condition's
    resale share and the class's unit cost share: the resale replaces the sale of a new unit, so
    it saves the seller the unit's cost, and never more than it sells for. Otherwise the resale
    share. Either way less value decay, ``1 - d w`` (never below zero).
    """
    cls = scenario.catalog[item_class]
    share = float(getattr(cls.resale_share, condition))
    if scenario.costs.restock_credit == "saved_cost":
        share = min(share, cls.unit_cost_share)
    return share * max(0.0, 1 - cls.value_decay_per_week * weeks_to_resale)


def giveaway_breakeven(
    scenario: Scenario,
    item_class: str,
    condition: str,
    market: Literal["domestic", "international"] = "domestic",
    payer: Literal["seller", "buyer", "carrier_claim"] = "seller",
    weeks_to_resale: float = 0.0,
) -> float:
    """Price at which giving the item to the buyer and returning it to the origin cost the same.

    Below it a returnless refund is cheaper. Both refund the full price, so only what differs
    counts: returning costs the label ``L`` (less what the buyer or a carrier claim bears) and
    inspection ``I``, and recovers ``P * g * (1 - d * w)`` (decay ``d`` per week, ``w`` weeks to
    resale) where ``g`` is what a resold unit is credited as a share of price: with
    ``costs.restock_credit = "saved_cost"`` the smaller of the condition's resale share and the
    unit cost share (a resold unit replaces a unit the seller would have bought), else the resale
    share. With the label deducted from the buyer's refund, the seller still loses the referral
    fee credit on the deduction net of the admin fee, ``r (1 - s) L``. Hence

        P* = (I + L_eff) / (g (1 - d w)),
        L_eff = L (seller pays), L (1 - c) (carrier claim share c), r (1 - s) L (buyer pays).

    Valid while the refund administration fee is below its cap at ``P*`` (checked), when the
    buyer pays while ``P* >= L``, and for a carrier claim while the claim is below the loss.
    """
    world = World(scenario)
    k = world.class_names.index(item_class)
    m = MARKET[market]
    costs = scenario.costs
    label = float(world.return_label[m, 0] + world.return_label[m, 1] * world.weight_lb[k])
    r, s = costs.referral_rate, costs.refund_admin_fee_share
    effective = {
        "seller": label,
        "carrier_claim": label * (1 - costs.carrier_claim_share),
        "buyer": r * (1 - s) * label,
    }[payer]
    g = restock_credit_share(scenario, item_class, condition, weeks_to_resale)
    if g <= 0:
        return math.inf
    p = (costs.inspection + effective) / g
    if s * r * p > costs.refund_admin_fee_cap:
        raise ValueError(f"break-even {p:.2f} lies where the refund admin fee is capped")
    if payer == "buyer" and p < label:
        raise ValueError(f"break-even {p:.2f} is below the label {label:.2f} deducted from it")
    return p


def quantile_bins(dist, n: int, fine: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``n`` equal-probability bins of ``dist``: (conditional mean of each bin, weights).

    Bin means come from ``fine`` midpoints per bin; the top bin is then corrected so the
    weighted values reproduce the analytic mean exactly (the tail is where midpoints miss).
    """
    if isinstance(dist, Fixed) or n <= 1:
        return np.array([dist.mean]), np.array([1.0])
    u = (np.arange(n * fine) + 0.5) / (n * fine)
    values = dist.ppf(u).reshape(n, fine).mean(axis=1)
    values[-1] = n * dist.mean - values[:-1].sum()
    return values, np.full(n, 1.0 / n)


def _in_window_delay_mean(scenario: Scenario) -> tuple[float, float]:
    ret = scenario.returns
    u = (np.arange(4096) + 0.5) / 4096
    inside = float(ret.request_delay_days.ppf_below(u, ret.window_days).mean())
    return inside, ret.window_days + ret.late_request_days.mean


def expected_cost_per_return(
    scenario: Scenario, policy: str, n_price: int = 32, n_handling: int = 8
) -> float:
    """Mean net return cost per request without desk congestion (see the module docstring).

    Requires a 24/7 desk (or an auto-authorising policy): with opening hours the response time
    depends on the hour of the week, which this closed form does not integrate.
    """
    pol = scenario.policy(policy)
    rules = scenario.amazon.rules
    if rules.refund_at_first_scan and rules.auto_authorisation != "none":
        raise ValueError(
            "expected_cost_per_return covers amazon.marketplace = 'none' only (refund at first "
            "scan and SAFE-T are not integrated in closed form)"
        )
    if scenario.desk.hours != "24/7":
        raise ValueError("expected_cost_per_return needs desk.hours = '24/7'")
    world = World(scenario)
    if fba_mask(world, pol, np.arange(len(world.class_names))).any():
        raise ValueError("expected_cost_per_return covers merchant-fulfilled classes only")
    sc = scenario
    ret = sc.returns
    delay_in, delay_out = _in_window_delay_mean(sc)
    h_vals, h_w = quantile_bins(sc.desk.handling_minutes, n_handling if pol.offers else 1)

    total = 0.0
    for k in range(len(world.class_names)):
        w_k = world.returned_mix[k]
        if w_k == 0:
            continue
        p_vals, p_w = quantile_bins(world.price_dists[k], n_price)
        for m in (0, 1):
            w_m = world.market_share[m]
            if w_m == 0:
                continue
            branches = []  # (weight, true reason, stated reason, condition, stated condition, in_window)
            for t, w_t in enumerate(world.reason_mix[k]):
                if w_t == 0:
                    continue
                p_mis = ret.misreport_rate if world.reason_misreports[t] else 0.0
                told_as = [(t, 1 - p_mis)] + [
                    (int(s), p_mis * world.reason_misreport_mix[t, s]) for s in np.flatnonzero(world.reason_misreport_mix[t])
                ]
                for stated, w_s in told_as:
                    if w_s == 0:
                        continue
                    cond_mix = np.diff(world.reason_condition_cdf[t], prepend=0.0)
                    q = ret.condition_understate_rate
                    for c, w_c in enumerate(cond_mix):
                        # Opened and used items may be stated one grade better.
                        told = ((c, 1 - q), (c - 1, q)) if c in (1, 2) else ((c, 1.0),)
                        for sc_, w_sc in told:
                            for inside, w_in in ((True, 1 - ret.out_of_window_rate), (False, ret.out_of_window_rate)):
                                w = w_t * w_s * w_c * w_sc * w_in
                                if w > 0:
                                    branches.append((w, t, stated, c, sc_, inside))
            total += w_k * w_m * _branch_cost(world, pol, k, m, branches, p_vals, p_w, h_vals, h_w, delay_in, delay_out)
    return total


def _branch_cost(world, pol, k, m, branches, p_vals, p_w, h_vals, h_w, delay_in, delay_out) -> float:
    """Expected net cost over branches x price bins x handling bins x 8 binary outcomes."""
    sc = world.scenario
    # A question to the buyer lapses when the reply would come after the late threshold
    # (``authorise_at_deadline``): a branch of its own, with the reply's conditional mean
    # otherwise, since the reply time enters the decision nonlinearly.
    lapse_manual = _lapse_table(sc, pol, h_vals, auto=False)
    lapse_auto = _lapse_table(sc, pol, h_vals, auto=True)
    # Auto-authorised requests (in the window, class not exempt, the policy opting in): an offer
    # races the drop-off instead of the late threshold.
    auto_on = bool(pol.auto_authorise) and sc.amazon.seller_plan == "professional"
    auto_class = auto_on and not world.class_prepaid_exempt[k]
    lapse = {h: max(lapse_manual[h], lapse_auto[h]) for h in h_vals}
    grid = np.array(
        [
            (b_w * pw * hw, t, st, c, sc_, inside, price, h, d, a, f, lap)
            for (b_w, t, st, c, sc_, inside) in branches
            for price, pw in zip(p_vals, p_w, strict=True)
            for h, hw in zip(h_vals, h_w, strict=True)
            for d in (0, 1)
            for a in (0, 1)
            for f in (0, 1)
            for lap in ((0, 1) if lapse[h][0] > 0 else (0,))
        ],
        dtype=float,
    )
    n = len(grid)
    weight, true_r, stated, cond, told, inside, price, handling_min, d, a, f, lap = grid.T
    inside = inside.astype(bool)
    auto_row = inside & auto_class

    def col(i: int) -> np.ndarray:
        return np.where(
            auto_row, [lapse_auto[h][i] for h in handling_min], [lapse_manual[h][i] for h in handling_min]
        )

    p_lapse = col(0)
    reply = np.where(lap == 1, col(2), col(1))
    delivery = sc.returns.delivery_days.mean
    request_time = (delivery + np.where(inside, delay_in, delay_out)) * HOURS_PER_DAY
    ints = lambda x: x.astype(np.int64)  # noqa: E731
    req = Requests(
        customer=np.zeros(n, dtype=np.int64),
        generation=np.zeros(n, dtype=np.int64),
        item_class=np.full(n, k, dtype=np.int64),
        market=np.full(n, m, dtype=np.int64),
        price=price,
        order_time=np.zeros(n),
        request_time=request_time,
        true_reason=ints(true_r),
        stated_reason=ints(stated),
        condition=ints(cond),
        stated_condition=ints(told),
        grade=np.zeros(n, dtype=np.int64),
        in_window=inside,
        handling_h=handling_min / 60.0,
        investigate_h=np.full(n, sc.desk.investigation.minutes.mean / 60.0),
        follow_up_h=np.full(n, sc.desk.follow_up_minutes.mean / 60.0),
        reply_h=reply,
        patience_h=np.full(n, np.inf),
        grading_h=np.zeros(n),
        ship_h=np.full(n, sc.returns.ship_days.mean * HOURS_PER_DAY),
        refund_h=np.full(n, sc.returns.refund_processing_days.mean * HOURS_PER_DAY),
        # Binary branches as extreme uniforms: 0 realises "yes" whenever p > 0, 1 never does.
        u_detect=1.0 - d,
        u_accept=1.0 - a,
        u_fee=1.0 - f,
        u_transit=np.full(n, np.nan),  # NaN: the lane's mean transit time
        u_restock=np.full(n, np.nan),
        u_feedback=np.ones(n),
        u_claim=np.ones(n),
        u_seller_feedback=np.ones(n),
        u_chargeback=np.ones(n),
    )
    # Ample staff: every touch is picked up the moment it arrives.
    answer = request_time + req.handling_h
    times = DeskTimes(
        start=request_time,
        answer=answer,
        abandoned=np.full(n, np.nan),
        follow_done=answer + req.reply_h + req.follow_up_h,
    )
    calendar = Calendar(sc.start_date, sc.desk.holidays)
    res = resolve(world, pol, req, plan(world, pol, req), times, calendar)
    p_detect = sc.desk.investigation.detect_probability
    w = weight
    w = w * np.where(d == 1, p_detect, 1 - p_detect)
    w = w * np.where(a == 1, res.p_accept, 1 - res.p_accept)
    w = w * np.where(f == 1, res.p_fee, 1 - res.p_fee)
    w = w * np.where(lap == 1, p_lapse, 1 - p_lapse)
    return float(np.dot(w, net_cost_per_request(res.flows)))


def _lapse_table(
    sc: Scenario, pol, handling_minutes: np.ndarray, auto: bool
) -> dict[float, tuple[float, float, float]]:
    """Per handling time: (P(reply lapses), E[reply | in time], a reply that lapses), hours.

    A manual request's question lapses at the late threshold (``authorise_at_deadline``); an
    auto-authorised buyer's message at the drop-off, ``returns.ship_days`` after the request
    (at its mean, as the rest of this closed form takes it)."""
    dist = sc.buyer.reply_hours
    out = {}
    for h in handling_minutes:
        if auto:
            room = sc.returns.ship_days.mean * HOURS_PER_DAY - h / 60.0
            applies = room > 0
        else:
            room = sc.desk.late_after_hours - h / 60.0
            applies = pol.authorise_at_deadline and room > 0
        if not applies:
            if auto:  # the desk answers after the drop-off: every message lapses
                out[h] = (1.0, dist.mean, 1.0)
                continue
            out[h] = (0.0, dist.mean, dist.mean)
            continue
        p_in = dist.cdf(room)
        u = (np.arange(4096) + 0.5) / 4096
        in_time = float(dist.ppf_below(u, room).mean()) if p_in > 0 else 0.0
        out[h] = (1.0 - p_in, in_time, room + 1.0)
    return out
