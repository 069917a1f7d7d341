"""The headline a seller acts on: what a policy changes against the current one, and the
decision with and without retention.

A returns policy changes three things a seller pays or earns, and only those are its headline
(``docs/kpis.md`` states the signs and the counterfactual):

* (a) the net cost of returns per order (``net_return_cost_per_order``);
* (b) the margin of the later purchases the return experience *causes*, the seller's share of it
  (``caused_margin_per_order``): purchases a buyer would have made anyway are not credited;
* (c) outbound fulfilment and per-order fees on every order a policy touches
  (``fulfilment_cost_per_order``): moving a class to FBA changes each of its orders.

``policy_profit_per_order`` is (b) − (a) − (c); :func:`changes` gives its paired difference from
the baseline policy and the three parts, each as its contribution to the change in profit, so the
parts add up to the change.

Two decisions follow from the same replications: the cost-only one (lowest ``cost_per_order`` =
(a) + (c)) and the one with retention (highest ``policy_profit_per_order``). When they differ,
:func:`break_even` says at what retention they swap. The caused margin is linear in the seller's
share and in the base rate of purchases with the seller (given the multiplier ``M``), so the
with-retention profit of policy A over policy B at a scale ``k`` of those inputs is
``k·ΔM − ΔC`` (ΔM: caused margin, ΔC: cost, both A − B per replication), zero at
``k* = mean ΔC / mean ΔM``; its interval is Fieller's, from the paired replications. The costs of
the returns of the extra purchases are held at the scenario's values (a second-order effect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .labels import fmt_money

__all__ = ["PARTS", "Change", "BreakEven", "changes", "break_even", "decision_text"]

PROFIT = "policy_profit_per_order"
COST = "cost_per_order"
CAUSED = "caused_margin_per_order"

PARTS: tuple[tuple[str, str, int], ...] = (
    ("return cost", "net_return_cost_per_order", -1),
    ("caused margin", CAUSED, +1),
    ("fulfilment and fees", "fulfilment_cost_per_order", -1),
)
"""The parts of a change in profit per order: (words, KPI, sign of its contribution to profit)."""

Interval = tuple[float, float, float]
"""A mean and its 95 % interval."""


@dataclass
class Change:
    """One policy against the baseline, per order of the store's own demand (money)."""

    policy: str
    baseline: str
    profit: Interval
    """Paired difference policy − baseline of ``policy_profit_per_order``."""
    parts: dict[str, Interval]
    """Per part of :data:`PARTS`, its contribution to ``profit`` (a cost that falls is +)."""
    n: int

    def cells(self, decimals: int = 3) -> list[str]:
        """The change and its parts as ``"+0.345 ± 0.003"`` (money; a part the same in every
        replication, such as a fixed fee, without an interval)."""
        from .labels import fmt_diff

        def one(m: float, lo: float, hi: float) -> str:
            return fmt_diff(PROFIT, m, *((lo, hi) if hi > lo else (math.nan, math.nan)), decimals=decimals)

        return [one(*self.profit), *(one(*self.parts[w]) for w, _, _ in PARTS)]


def changes(result: Any, baseline: str, confidence: float = 0.95) -> list[Change]:
    """Every other policy's change in profit per order against ``baseline``, in three parts.

    Args:
        result: an ``ExperimentResult`` or its runs frame (with the KPIs of :data:`PARTS`).
        baseline: the seller's current policy.
        confidence: of the paired intervals.
    """
    from ..experiment.statistics import paired_differences

    runs = getattr(result, "runs", result)
    metrics = [PROFIT, *(k for _, k, _ in PARTS)]
    d = paired_differences(runs, baseline, metrics, confidence).set_index(["policy", "metric"])
    out = []
    for p in dict.fromkeys(runs["policy"].tolist()):
        if p == baseline:
            continue

        def iv(m: str, sign: int = 1, p: str = p) -> Interval:
            r = d.loc[(p, m)]
            lo, hi = sign * float(r.ci_low), sign * float(r.ci_high)
            return (sign * float(r.mean_diff), min(lo, hi), max(lo, hi))

        out.append(
            Change(p, baseline, iv(PROFIT), {w: iv(k, s) for w, k, s in PARTS}, int(d.loc[(p, PROFIT), "n"]))
        )
    return out


@dataclass
class BreakEven:
    """Where the decision with retention (``retention``) and the cost-only one (``cost``) swap:
    at ``factor`` times the scenario's retention (its seller share, or its base rates of
    purchases with the seller), with a ``confidence`` interval (NaN: unbounded, not resolved)."""

    retention: str
    cost: str
    factor: float
    low: float
    high: float
    confidence: float
    n: int


def break_even(result: Any, retention: str, cost: str, confidence: float = 0.95) -> BreakEven | None:
    """The retention scale at which ``retention`` (the better policy with retention) and
    ``cost`` (the cheaper one) swap, from their paired replications (None: ``retention`` causes
    no more margin than ``cost``, so no retention makes it pay)."""
    from scipy import stats

    runs = getattr(result, "runs", result)
    wide = runs.pivot_table(index="replication", columns="policy", values=[COST, CAUSED])
    dc = (wide[COST][retention] - wide[COST][cost]).to_numpy(dtype=float)
    dm = (wide[CAUSED][retention] - wide[CAUSED][cost]).to_numpy(dtype=float)
    ok = ~(np.isnan(dc) | np.isnan(dm))
    dc, dm = dc[ok], dm[ok]
    n = len(dc)
    if n < 2 or dm.mean() <= 0:
        return None
    mc, mm = dc.mean(), dm.mean()
    k = mc / mm
    # Fieller: the k where the paired t test of dc - k dm does not reject a zero mean.
    t2 = stats.t.ppf(0.5 + confidence / 2, n - 1) ** 2 / n
    scc, smm, scm = np.var(dc, ddof=1), np.var(dm, ddof=1), np.cov(dc, dm, ddof=1)[0, 1]
    a = mm**2 - t2 * smm
    b = mc * mm - t2 * scm
    c = mc**2 - t2 * scc
    disc = b * b - a * c
    lo = hi = math.nan
    if a > 0 and disc >= 0:
        lo, hi = (b - math.sqrt(disc)) / a, (b + math.sqrt(disc)) / a
    return BreakEven(retention, cost, float(k), lo, hi, confidence, n)


def _num(x: float) -> str:
    return f"{x:.2g}" if abs(x) < 1 else f"{x:.2f}"


def _declared(scenario: Any, path: str) -> tuple[float, float] | None:
    """The range the scenario's ``[uncertainty]`` table declares for ``path``, if any."""
    u = getattr(scenario, "uncertainty", {}).get(path)
    if u is None or u.low is None or u.high is None:
        return None
    return u.low, u.high


def _range(scenario: Any, path: str, fmt: Any = None) -> str:
    span = _declared(scenario, path)
    if span is None:
        return ""
    f = fmt or _num
    return f", declared range {f(span[0])} to {f(span[1])}"


def _pct(x: float) -> str:
    return f"{x:.0%}"


def describe_break_even(be: BreakEven, scenario: Any, names: dict[str, str] | None = None) -> str:
    """The break-even in plain words: the base rate of purchases with the seller and the seller's
    share of the goodwill at which the two decisions swap, each with its 95 % interval
    (``names``: how to call the policies, ``{id: label}``; default their ids)."""
    buyer, share = scenario.buyer, scenario.retention.seller_share
    call = (names or {}).get
    bounded = math.isfinite(be.low)

    def ci(scale: float, f: Any = _num) -> str:
        return f", 95 % CI {f(be.low * scale)} to {f(be.high * scale)}" if bounded else ""

    if buyer.purchases_per_year_by_class:
        rate = (
            f"if your returners buy from you at least {_num(be.factor)} times as often as the scenario "
            f"assumes{ci(1.0)}."
        )
    else:
        r = buyer.purchases_per_year.mean
        rate = (
            f"if your returners buy from you at least {_num(be.factor * r)} times a year{ci(r)}. "
            f"The scenario assumes {_num(r)}{_range(scenario, 'buyer.purchases_per_year.mean')}."
        )
        span = _declared(scenario, "buyer.purchases_per_year.mean")
        if span is not None and not span[0] <= be.factor * r <= span[1]:
            # The closed form holds the returns of the extra purchases at the scenario's cost
            # (docs/kpis.md): second-order near the scenario, not far outside what it declares.
            rate += (" That is outside the declared range, where this estimate, which leaves out the cost of "
                     "the extra purchases' own returns, is less sure.")
    verb = "pays for itself against" if be.factor <= 1 else "would overtake"
    out = [f"{call(be.retention, be.retention)} {verb} {call(be.cost, be.cost)} {rate}"]
    if not bounded:
        out.append("The replications do not bound this value: more replications would.")
    s = be.factor * share
    if s <= 1:
        out.append(
            f"Or, at the assumed rate, if at least {_pct(s)} of the goodwill is credited to you rather "
            f"than the marketplace{ci(share, _pct)}. The scenario assumes "
            f"{_pct(share)}{_range(scenario, 'retention.seller_share', _pct)}."
        )
    else:
        out.append("At the assumed rate no share of the goodwill is enough.")
    return " ".join(out)


def tuning_gain(opt: Any) -> tuple[float, str]:
    """What an optimisation of a policy's levers (an ``Optimum``) gains over the policy as the
    scenario sets it, both from the optimisation's own replications: its best mean less the mean
    at the lever values tried nearest to the scenario's (and, when those differ, which)."""
    curve = opt.curve
    current = {i.path: float(i.target.value) for i in opt.levers}
    dist = sum(((curve[p] - v) / (abs(v) or 1.0)) ** 2 for p, v in current.items())
    row = curve.loc[dist.idxmin()]
    sign = 1.0 if opt.goal == "max" else -1.0
    gain = sign * (float(opt.objective) - float(row["mean"]))
    exact = all(math.isclose(float(row[p]), v) for p, v in current.items())
    at = "" if exact else " (nearest value tried: " + ", ".join(f"{float(row[p]):.4g}" for p in current) + ")"
    return gain, at


def tuning_text(opt: Any, with_r: Any, currency: str = "$", names: dict[str, str] | None = None) -> str:
    """Whether tuning a policy's levers (``opt``, an ``Optimum`` on profit per order) beats
    switching policy (``with_r``, the answer with retention): its gain over the policy as set,
    from the optimisation's own replications, against the gap between policies, from the
    experiment's."""
    p, best = ((names or {}).get(x, x) for x in (opt.policy, with_r.best))
    gain, at = tuning_gain(opt)
    levers = ", ".join(f"{i.path} = {opt.value[i.path]:.4g}" for i in opt.levers)
    head = f"Tuning {p}'s lever to {levers} adds {fmt_money(gain, currency, 2)} per order over its value as set{at}."
    if opt.policy == with_r.best:
        lead = abs(with_r.versus[with_r.ranked[1]][0])
        verdict = "more" if gain > lead else "less"
        return f"{head} That is {verdict} than the {fmt_money(lead, currency, 2)} it leads the runner-up by."
    behind = abs(with_r.versus[opt.policy][0])
    if gain > behind:
        return f"{head} That is more than the {fmt_money(behind, currency, 2)} {best} leads it by: compare {p} tuned before switching."
    return f"{head} That is less than the {fmt_money(behind, currency, 2)} {best} leads it by: switching still pays more."


def decision_text(
    result: Any,
    scenario: Any,
    baseline: str | None = None,
    currency: str = "$",
    selection: Any = None,
    psa: Any = None,
    tuning: Any = None,
    names: dict[str, str] | None = None,
) -> str:
    """One paragraph, from one set of replications: the cost-only decision, the decision with
    retention, the break-even when they differ, how often the decision holds over the declared
    uncertainty (``psa``, a PSA on ``policy_profit_per_order``) and whether tuning its lever
    (``tuning``, an ``Optimum`` of that policy) would beat switching policy. ``names`` calls
    the policies (``{id: label}``; default: the scenario's labels, :mod:`.policy_labels`)."""
    from .answer import answer

    runs = getattr(result, "runs", result)
    policies = list(dict.fromkeys(runs["policy"].tolist()))
    baseline = baseline or policies[0]
    if len(policies) < 2 or PROFIT not in runs.columns:
        return ""
    if names is None:  # a seller reads policies by their labels, as the report's charts do
        from .policy_labels import policy_label_map

        names = policy_label_map(scenario, policies)
    with_r = answer(runs, PROFIT, baseline=baseline, selection=selection)
    cost = answer(runs, COST, baseline=baseline)

    def money(x: float) -> str:
        return fmt_money(x, currency, 2, sign=True)

    def call(p: str) -> str:
        return (names or {}).get(p, p)

    def verdict(ans: Any, what: str, words: str) -> str:
        b, why = ans.best, ans.support(currency)
        if not ans.resolved:
            tied = [call(p) for p in (b, *ans.tied)]
            listed = ", ".join(tied[:-1]) + f" and {tied[-1]}"
            return f"{what}: no clear winner; {listed} are tied. {why}."
        why = why[:1].upper() + why[1:]
        if b == baseline:
            return f"{what}: keep {call(baseline)}. {why}."
        d, lo, hi = ans.versus[baseline]
        d, lo, hi = (d, lo, hi) if ans.higher_is_better else (-d, -hi, -lo)
        return f"{what}: {call(b)}, {money(d)} {words} against {call(baseline)}, 95 % CI {money(lo)} to {money(hi)}. {why}."

    out = []
    if with_r.best == cost.best and with_r.resolved == cost.resolved:
        out.append(verdict(with_r, "Answer, on cost alone and with retention alike", "profit per order"))
        # What more retention than assumed would change: the first policy to overtake.
        ahead = [be for p in with_r.ranked[1:] if (be := break_even(runs, p, with_r.best)) is not None]
        if ahead:
            out.append(describe_break_even(min(ahead, key=lambda be: be.factor), scenario, names))
    else:
        out.append(verdict(with_r, "Answer with retention", "profit per order"))
        out.append(verdict(cost, "Cost only", "saved per order"))
        if with_r.best != cost.best:
            be = break_even(runs, with_r.best, cost.best)
            if be is not None:
                out.append(describe_break_even(be, scenario, names))
    # Amazon's account-health targets constrain both decisions (returnsim.decide.health).
    health = getattr(with_r, "health", None)
    if health is not None and (constraint := health.text(with_r.best)):
        out.append(constraint)
    if psa is not None:
        s = psa.summary().set_index("policy")
        if with_r.best in s.index:
            r = s.loc[with_r.best]
            out.append(
                f"Over the declared uncertainty {call(with_r.best)} is best in {r.p_best:.0%} of {psa.draws} draws, "
                f"95 % CI {r.p_best_low:.0%} to {r.p_best_high:.0%}."
            )
    tuned = tuning is not None and getattr(tuning, "metric", None) == PROFIT
    if tuned and tuning.policy in with_r.means and len(with_r.ranked) > 1:
        out.append(tuning_text(tuning, with_r, currency, names))
    return " ".join(out)
