"""Request worlds: what demand draws for a request before any policy applies (docs/model.md
section 1), read from a simulated trace or enumerated with their probabilities.

Written from the documentation, like the rest of ``tests/oracles``: nothing here calls the
model's demand code.
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
GRADES = amazon.GRADES


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
            targets = misreport_targets(scenario, r)
            if targets and share > 0:
                mix[r] = share / (1 - q)
                for target, part in targets.items():
                    mix[target] -= q * mix[r] * part
    total = sum(max(v, 0.0) for v in mix.values())
    return {r: max(v, 0.0) / total for r, v in mix.items()}


def misreport_targets(scenario: Any, reason: str) -> dict[str, float]:
    """The seller-fault reasons a misreporting buyer states, with each one's share of the
    misreports (empty: the reason cannot be misreported): the reason's ``misreport_as``, else the
    scenario's ``returns.misreport_as``, else its default target; a name is a mix of one."""
    spec = scenario.reasons[reason]
    if spec.fault != "buyer":
        return {}
    chosen = spec.misreport_as or scenario.returns.misreport_as
    if chosen is None:
        default = scenario.misreport_target()
        return {default: 1.0} if default is not None else {}
    if isinstance(chosen, str):
        return {chosen: 1.0}
    total = sum(chosen.values())
    return {r: v / total for r, v in chosen.items() if v > 0}


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
                targets = misreport_targets(sc, tname)
                stated_opts = (
                    [(t, 1 - q)] + [(reasons.index(r), q * part) for r, part in targets.items()]
                    if targets and q > 0
                    else [(t, 1.0)]
                )
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
