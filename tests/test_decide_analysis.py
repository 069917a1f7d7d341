"""Tornado, Sobol' indices, break-even values, PSA and value of information, optimisation and
Pareto frontiers, on cases whose answers are known in closed form.

The case: every item costs $40 and comes back opened for a seller-fault reason (the seller pays
the label). Returning it to the origin rather than giving it to the buyer costs the label and
inspection and recovers what the resold unit is credited at, a share ``g`` of its price (the
smaller of its resale share and its cost share, as ``costs.restock_credit = "saved_cost"`` says),
so per authorised return

    cost(return) - cost(give away) = L + I - g P = I - I*,   I* = g P - L,

linear in the inspection cost I, with the same returns under both policies (common random
numbers). ``analytic.giveaway_breakeven`` gives the break-even price; I* follows from it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import minimal_raw

import returnsim as rs
from returnsim.analytic import giveaway_breakeven
from returnsim.decide import DecideError, breakeven, pareto, psa, sobol_indices, tornado

PRICE = 40.0


def _case(price: object = PRICE, **uncertainty: dict) -> rs.Scenario:
    raw = minimal_raw(
        horizon_days=20,
        catalog={"widget": {"share": 1.0, "price": price, "weight_lb": 2.0, "return_rate": 0.5,
                            "reasons": {"defective": 1.0}}},
        policies={
            "give": {"disposition": [{"action": "give_to_buyer"}]},
            "ret": {"disposition": [{"action": "return_to_origin"}]},
        },
        uncertainty={
            "costs.inspection": {"low": 6, "high": 15, "source": "test"},
            "retention.satisfaction.per_fee_share": {"low": -5, "high": -1, "source": "test: no fees here"},
            **uncertainty,
        },
    )
    return rs.parse_scenario(raw)


def _inspection_breakeven(sc: rs.Scenario) -> float:
    """I* from the analytic break-even price: P*(I) = (I + G + L) / g is linear in I."""
    p_star = giveaway_breakeven(sc, "widget", "opened", payer="seller")
    item = sc.catalog["widget"]
    g = item.resale_share.opened
    if sc.costs.restock_credit == "saved_cost":
        g = min(g, item.unit_cost_share)
    return sc.costs.inspection + (PRICE - p_star) * g


def _returns_per_order(runs: pd.DataFrame) -> pd.Series:
    one = runs[runs.policy == "ret"]
    return one["return_requests"] / one["demand_orders"]


def test_tornado_swings_by_the_known_slope_and_ignores_an_input_with_no_effect():
    sc = _case()
    t = tornado(sc, "net_return_cost_per_order", ["ret", "give"], replications=3, progress=False, workers=1)
    by = t.table.set_index("input")
    u = _returns_per_order(t.runs[t.runs.point == 0]).mean()
    ins = by.loc["costs.inspection"]
    assert ins.at_high - ins.at_low == pytest.approx(9.0 * u, rel=1e-9)
    assert ins.flips  # I* lies inside 6..15: the cheaper policy changes
    fee = by.loc["retention.satisfaction.per_fee_share"]
    assert fee.swing == 0.0 and not fee.flips
    assert t.table["input"].iloc[0] == "costs.inspection" and t.flipping() == ["costs.inspection"]


def test_breakeven_is_the_analytic_value():
    sc = _case()
    be = breakeven(sc, "costs.inspection", ["ret", "give"], "net_return_cost_per_order", levels=7,
                   replications=3, progress=False, workers=1)
    assert be.value == pytest.approx(_inspection_breakeven(sc), abs=1e-9)
    assert be.interval is not None and be.interval[0] <= be.value <= be.interval[1]
    assert f"costs.inspection = {be.value:.3g}" in be.describe()
    none = breakeven(sc, "costs.inspection", ["ret", "give"], "net_return_cost_per_order", low=1, high=5,
                     levels=3, replications=2, progress=False, workers=1)
    assert none.value is None and "does not change" in none.describe()


def test_sobol_indices_match_the_variance_shares_of_a_linear_response():
    import SALib  # noqa: F401  (a test dependency: a missing one fails, never skips)
    # cost(ret) is linear in the inspection cost and the label: S = var share of each term;
    # an input that does nothing has indices of zero.
    sc = _case(**{"markets.domestic.return_label.base": {"low": 8, "high": 11, "source": "test"}})
    si = sobol_indices(sc, "net_return_cost_per_order", "ret", base_samples=64, progress=False, workers=1)
    by = si.table.set_index("input")
    var_i, var_l = 9**2 / 12, 3**2 / 12
    truth = {"costs.inspection": var_i / (var_i + var_l), "markets.domestic.return_label.base": var_l / (var_i + var_l),
             "retention.satisfaction.per_fee_share": 0.0}
    for path, s in truth.items():
        row = by.loc[path]
        assert row.S1_low <= s <= row.S1_high, (path, row.S1, s)
        assert row.ST_low <= s <= row.ST_high, (path, row.ST, s)
    assert si.evaluations == 64 * (3 + 2)


def test_sobol_without_salib_says_how_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_salib(name, *a, **k):
        if name.startswith("SALib"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_salib)
    with pytest.raises(DecideError, match=r"returnsim\[sensitivity\]"):
        sobol_indices(_case(), "net_return_cost_per_order", "ret", progress=False)


def test_psa_probability_best_evpi_and_evppi_match_the_closed_form():
    sc = _case()
    res = psa(sc, 100, ["ret", "give"], "net_return_cost_per_order", progress=False, workers=1)
    assert res.goal == "min"
    s = res.summary().set_index("policy")
    # I ~ U(6, 15) and giving away is cheaper when I > I*: P(best) = (15 - I*) / 9.
    i_star = _inspection_breakeven(sc)
    p_give = (15 - i_star) / 9
    assert s.loc["give", "p_best_low"] <= p_give <= s.loc["give", "p_best_high"]
    # EVPI = u E[(I - I*)+] - u max(0, E[I - I*]) with u returns per order.
    u = _returns_per_order(res.runs).mean()
    evpi = u * ((15 - i_star) ** 2 / 2 / 9 - max(0.0, 10.5 - i_star))  # E[I] = 10.5
    lo, hi = res.evpi_ci()
    assert lo <= evpi <= hi, (res.evpi, evpi, lo, hi)
    voi = res.evppi(by_group=False).set_index("inputs")
    key = voi.loc["costs.inspection"]
    assert key.ci_low <= res.evpi <= key.ci_high  # one input decides it all
    assert voi.loc["retention.satisfaction.per_fee_share", "evppi"] == 0.0
    # Expected loss of the chosen policy is the EVPI; the other's is larger.
    assert s.loc[res.chosen, "expected_loss"] == pytest.approx(res.evpi)
    curve = res.acceptability([0.0, 1.0, 2.0])
    assert np.allclose(curve.sum(axis=1), 1.0)


def test_psa_needs_two_policies_and_no_grid():
    sc = _case()
    with pytest.raises(DecideError, match="at least two policies"):
        psa(sc, 4, ["ret"], progress=False)
    with pytest.raises(DecideError, match="not grid"):
        psa(sc, 4, ["ret", "give"], design="grid", progress=False)


def test_optimised_giveaway_threshold_is_the_analytic_breakeven():
    # One lever: give away below a price threshold T, return above. The cost per order is
    # smallest at T = P*, the analytic break-even price.
    raw = minimal_raw(
        horizon_days=30,
        demand={"orders_per_day": 100},
        catalog={"widget": {"share": 1.0, "price": {"dist": "uniform", "low": 5, "high": 60}, "weight_lb": 1.0,
                            "return_rate": 0.5, "reasons": {"defective": 1.0}}},
        policies={"threshold": {"disposition": [{"when": {"price_max": 20}, "action": "give_to_buyer"},
                                                {"action": "return_to_origin"}]}},
    )
    sc = rs.parse_scenario(raw)
    p_star = giveaway_breakeven(sc, "widget", "opened", payer="seller")
    opt = rs.optimize(sc, "threshold", {"policies.threshold.disposition.0.when.price_max": (6, 58)},
                      "net_return_cost_per_order", replications=8, progress=False, workers=1)
    lo, hi = opt.ci["policies.threshold.disposition.0.when.price_max"]
    assert lo <= p_star <= hi, (opt.describe(), p_star)
    assert opt.goal == "min" and len(opt.curve) >= 9
    # That interval spans at least a grid step by construction, so it cannot show an optimum off
    # the vertex by most of a step. The expected cost is an exact parabola in T here (uniform
    # prices, a per-return difference linear in price), so the fit has no model error: the
    # replications' own bootstrap interval of the located vertex, without that floor, must hold
    # P* and be narrower than the final grid step.
    est, grid_lo, grid_hi = _bootstrap_vertex(opt, "policies.threshold.disposition.0.when.price_max")
    assert est == pytest.approx(opt.value["policies.threshold.disposition.0.when.price_max"], abs=1e-9)
    step = float(np.diff(np.sort(opt.curve["policies.threshold.disposition.0.when.price_max"])).min())
    assert grid_lo <= p_star <= grid_hi, (grid_lo, grid_hi, p_star)
    assert grid_hi - grid_lo < step


def _bootstrap_vertex(opt, path: str, resamples: int = 400) -> tuple[float, float, float]:
    """The optimiser's estimate and a bootstrap interval over replications (resampled together
    across lever values, as the optimiser does) without its grid-step floor."""
    from returnsim.decide.optimize import _locate

    runs = opt.runs.pivot_table(index="replication", columns=path, values=opt.metric, aggfunc="first")
    x = runs.columns.to_numpy(dtype=float)[:, None]
    m = runs.to_numpy(dtype=float) * (1.0 if opt.goal == "max" else -1.0)
    step = np.array([np.diff(np.sort(x[:, 0])).min()])
    rng = np.random.default_rng(0)
    n = len(m)
    boots = [_locate(x, m[rng.integers(0, n, n)].mean(axis=0), [False], step)[0] for _ in range(resamples)]
    lo, hi = np.quantile(boots, [(1 - opt.confidence) / 2, (1 + opt.confidence) / 2])
    return float(_locate(x, m.mean(axis=0), [False], step)[0]), float(lo), float(hi)


def test_integer_lever_takes_its_best_level():
    raw = minimal_raw(horizon_days=10, demand={"orders_per_day": 60}, desk={"staff": 1, "hours": "24/7", "handling_minutes": 100})
    sc = rs.parse_scenario(raw)
    opt = rs.optimize(sc, "base", ["desk.staff=1:4"], "desk_wait_hours_mean", replications=3, progress=False, workers=1)
    assert opt.value == {"desk.staff": 4.0} and opt.ci["desk.staff"] == (4.0, 4.0)
    assert list(opt.curve["desk.staff"]) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("levers", "match"),
    [
        (["desk.staf=1:3"], "did you mean 'staff'"),
        (["desk.staff=0:3"], "outside what the field allows"),
        (["policies.base.disposition.0.when.price_max=5:30"], "policies.base.disposition is a list of 0"),
        (["desk.staff=1:2", "costs.inspection=1:2", "desk.wage_per_hour=1:2"], "one or two levers"),
        (["desk.staff"], "PATH=LOW:HIGH"),
    ],
)
def test_optimize_errors(levers, match):
    with pytest.raises(DecideError, match=match):
        rs.optimize(rs.parse_scenario(minimal_raw()), "base", levers, "net_return_cost_per_order", progress=False)


def test_a_lever_range_that_makes_the_scenario_invalid_is_an_error():
    raw = minimal_raw(policies={"base": {"offers": [{"when": {"price_min": 30}, "kind": "partial_refund", "value_share": 0.1}]}})
    sc = rs.parse_scenario(raw)
    # price_max must exceed the rule's price_min: a range reaching below it cannot be simulated.
    sc2 = rs.parse_scenario({**raw, "policies": {"base": {"offers": [{"when": {"price_min": 30, "price_max": 50},
                                                                     "kind": "partial_refund", "value_share": 0.1}]}}})
    with pytest.raises(DecideError, match="price_max.*must exceed price_min"):
        rs.optimize(sc2, "base", ["policies.base.offers.0.when.price_max=10:60"], "net_return_cost_per_order", progress=False)
    assert sc.policies["base"].offers[0].when.price_min == 30


def test_pareto_frontier_of_known_points():
    rng = np.random.default_rng(0)
    rows = []
    truth = {"cheap_bad": (1.0, 0.09), "dear_good": (2.0, 0.03), "middle": (1.5, 0.05), "dominated": (2.2, 0.08),
             "close_call": (1.55, 0.052)}
    for name, (cost, rdr) in truth.items():
        for r in range(20):
            rows.append({"policy": name, "replication": r, "net_return_cost_per_order": cost + rng.normal(0, 0.01),
                         "rdr": rdr + rng.normal(0, 0.001)})
    front = pareto(pd.DataFrame(rows), {"net_return_cost_per_order": "min", "rdr": "min"}).set_index("policy")
    assert front["pareto"].to_dict() == {"cheap_bad": True, "dear_good": True, "middle": True, "dominated": False,
                                         "close_call": False}
    assert "middle" in front.loc["dominated", "dominated_by"] and not front.loc["dominated", "uncertain"]
    assert front.loc["close_call", "dominated_by"] == "middle"
    with pytest.raises(DecideError, match="at least two objectives"):
        pareto(pd.DataFrame(rows), ["rdr"])
    assert math.isfinite(front.loc["middle", "rdr_low"])


def test_two_levers_find_both_analytic_breakevens():
    # Two item classes of different weights, so different labels and break-even prices, each
    # with its own give-away threshold: the optimum of the pair is the pair of break-evens.
    widget = {"share": 0.5, "price": {"dist": "uniform", "low": 5, "high": 60}, "return_rate": 0.5,
              "reasons": {"defective": 1.0}}
    raw = minimal_raw(
        horizon_days=30,
        demand={"orders_per_day": 120},
        catalog={"light": {**widget, "weight_lb": 0.5}, "heavy": {**widget, "weight_lb": 6.0}},
        policies={"two": {"disposition": [
            {"when": {"item_class": "light", "price_max": 20}, "action": "give_to_buyer"},
            {"when": {"item_class": "heavy", "price_max": 20}, "action": "give_to_buyer"},
            {"action": "return_to_origin"}]}},
    )
    sc = rs.parse_scenario(raw)
    truth = {f"policies.two.disposition.{i}.when.price_max": giveaway_breakeven(sc, c, "opened", payer="seller")
             for i, c in enumerate(("light", "heavy"))}
    assert abs(truth["policies.two.disposition.0.when.price_max"] - truth["policies.two.disposition.1.when.price_max"]) > 5
    opt = rs.optimize(sc, "two", {p: (8, 56) for p in truth}, "net_return_cost_per_order", levels=5,
                      replications=4, progress=False, workers=1)
    for path, p_star in truth.items():
        lo, hi = opt.ci[path]
        assert lo <= p_star <= hi, (path, opt.value[path], (lo, hi), p_star)
        assert hi - lo < 0.25 * (56 - 8)
