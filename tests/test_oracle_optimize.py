"""The optimiser on surfaces whose optimum is known, at tolerances far tighter than its grid.

The model tests of tests/test_decide_analysis.py check that the analytic break-even lies in the
optimiser's interval, which spans at least one grid step by construction: an optimum off the
true vertex by most of a step still passes them. Here the response is an exact parabola (or
paraboloid), where the quadratic the optimiser fits around its best grid point *is* the
response, so its vertex must come out to rounding error wherever it lies between grid points;
plus the model's give-away threshold at several held prices, whose right side of the analytic
break-even price is known.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from conftest import minimal_raw
from oracles.surfaces import fake_run_design

import returnsim as rs
from returnsim.analytic import giveaway_breakeven
from returnsim.decide.optimize import _locate

OPT = importlib.import_module("returnsim.decide.optimize")


# --------------------------------------------------------------------------------------------
# the vertex of a quadratic through the grid


@pytest.mark.parametrize("vertex", [3.0, 3.37, 4.49, 5.5, 6.01])
def test_locate_finds_the_vertex_of_an_exact_parabola_between_grid_points(vertex):
    x = np.linspace(0.0, 10.0, 11)[:, None]  # step 1
    y = 5.0 - 2.0 * (x[:, 0] - vertex) ** 2
    got = _locate(x, y, [False], np.array([1.0]))
    assert got[0] == pytest.approx(vertex, abs=1e-9)


def test_locate_finds_the_vertex_of_an_exact_paraboloid_with_interaction():
    # f = -(u² + u v + 2 v²) in u = a - 2.3, v = b - 7.6: negative definite, vertex (2.3, 7.6).
    ax, bx = np.meshgrid(np.linspace(0, 5, 6), np.linspace(5, 10, 6), indexing="ij")
    x = np.column_stack([ax.ravel(), bx.ravel()])
    u, v = x[:, 0] - 2.3, x[:, 1] - 7.6
    y = -(u**2 + u * v + 2 * v**2)
    got = _locate(x, y, [False, False], np.array([1.0, 1.0]))
    assert got == pytest.approx([2.3, 7.6], abs=1e-9)


def test_locate_keeps_an_integer_lever_on_its_best_level():
    x = np.arange(1.0, 8.0)[:, None]
    y = -((x[:, 0] - 4.4) ** 2)
    assert _locate(x, y, [True], np.array([1.0]))[0] == 4.0


# --------------------------------------------------------------------------------------------
# optimize() end to end on a known surface


def _scenario() -> rs.Scenario:
    # Two numbers of the scenario stand in for the levers; the surface replaces the simulation.
    return rs.parse_scenario(minimal_raw())


LEVER_A = "costs.inspection"
LEVER_B = "markets.domestic.return_label.base"


@pytest.mark.parametrize(("vertex", "goal"), [(11.3, "max"), (4.72, "min"), (17.05, "max")])
def test_optimize_finds_the_vertex_of_a_parabola_tighter_than_its_grid(monkeypatch, vertex, goal):
    # f(T) = ±(3 - 0.05 (T - vertex)²) plus noise shared by every lever value of a replication
    # (common random numbers): the mean curve is the parabola shifted, its vertex unmoved.
    noise = np.random.default_rng(1).normal(0, 0.5, 100)
    sign = 1.0 if goal == "max" else -1.0
    calls: list = []

    def f(policy, row, rep):
        return sign * (3.0 - 0.05 * (row[LEVER_A] - vertex) ** 2) + noise[rep]

    monkeypatch.setattr(OPT, "run_design", fake_run_design("policy_profit_per_order", f, calls))
    opt = rs.optimize(_scenario(), "base", {LEVER_A: (2.0, 20.0)}, "policy_profit_per_order", goal=goal,
                      levels=7, refine=1, replications=6, progress=False, workers=1)
    step = 2 * 3.0 / 6  # the refined grid: best ± the first step (18 / 6 = 3), in 6 intervals
    assert np.diff(calls[1][LEVER_A].sort_values().to_numpy()).min() == pytest.approx(step)
    assert opt.value[LEVER_A] == pytest.approx(vertex, abs=1e-6)  # a millionth of the step
    lo, hi = opt.ci[LEVER_A]
    assert lo <= vertex <= hi
    # Every resample sees the same exact parabola: the interval is the grid's resolution only.
    assert hi - lo == pytest.approx(step, abs=1e-9)
    nearest = opt.curve.iloc[(opt.curve[LEVER_A] - vertex).abs().argmin()]
    assert opt.objective == pytest.approx(nearest["mean"])
    assert opt.goal == goal and opt.notes == []


def test_optimize_finds_the_vertex_of_a_paraboloid_in_two_levers(monkeypatch):
    va, vb = 8.3, 14.6

    def f(policy, row, rep):
        u, v = row[LEVER_A] - va, row[LEVER_B] - vb
        return -(u**2 + 0.5 * u * v + v**2) + 0.1 * rep

    monkeypatch.setattr(OPT, "run_design", fake_run_design("policy_profit_per_order", f))
    opt = rs.optimize(_scenario(), "base", {LEVER_A: (0.0, 20.0), LEVER_B: (5.0, 25.0)}, "policy_profit_per_order",
                      levels=5, refine=2, replications=3, progress=False, workers=1)
    assert opt.value[LEVER_A] == pytest.approx(va, abs=1e-6)
    assert opt.value[LEVER_B] == pytest.approx(vb, abs=1e-6)


def test_an_optimum_at_the_end_of_the_range_is_said_to_be(monkeypatch):
    monkeypatch.setattr(OPT, "run_design", fake_run_design("policy_profit_per_order", lambda p, row, r: row[LEVER_A]))
    opt = rs.optimize(_scenario(), "base", {LEVER_A: (2.0, 20.0)}, "policy_profit_per_order", levels=5,
                      replications=2, progress=False, workers=1)
    assert opt.value[LEVER_A] == 20.0
    assert opt.notes == [f"{LEVER_A} is at the high end of the range searched: the best value may lie beyond it"]


def test_the_curve_reports_each_value_with_its_t_interval(monkeypatch):
    # Replication r adds r: at every lever value the replications are 0, 1, 2, 3 above the
    # parabola, so sd = sqrt(5/3) and the 95 % half-width is t(0.975, 3) sd / 2.
    from scipy import stats

    monkeypatch.setattr(OPT, "run_design", fake_run_design(
        "policy_profit_per_order", lambda p, row, r: -((row[LEVER_A] - 5.0) ** 2) + r))
    opt = rs.optimize(_scenario(), "base", {LEVER_A: (0.0, 10.0)}, "policy_profit_per_order", levels=5, refine=0,
                      replications=4, progress=False, workers=1)
    half = stats.t.ppf(0.975, 3) * np.sqrt(5 / 3) / 2
    c = opt.curve
    assert list(c[LEVER_A]) == [0.0, 2.5, 5.0, 7.5, 10.0]
    assert np.allclose(c["mean"], -((c[LEVER_A] - 5.0) ** 2) + 1.5)
    assert np.allclose(c["ci_high"] - c["mean"], half) and np.allclose(c["mean"] - c["ci_low"], half)
    assert opt.objective_ci == pytest.approx((1.5 - half, 1.5 + half))


# --------------------------------------------------------------------------------------------
# the model: the give-away threshold at several held prices


@pytest.mark.parametrize("offset", [-6.0, -1.5, 1.5, 6.0])
def test_giveaway_threshold_is_on_the_right_side_of_the_breakeven_at_held_prices(offset):
    # One price P for every item, held at P* + offset. Giving away below the threshold T is
    # cheaper exactly when P < P* (analytic.giveaway_breakeven): the cost per order is lower for
    # every T > P than for every T <= P when P < P*, and the other way round when P > P*. Common
    # random numbers make the two levels exact, so the optimum must be on the cheaper side.
    probe = rs.parse_scenario(minimal_raw(catalog={"widget": {
        "share": 1.0, "price": 40.0, "weight_lb": 1.0, "return_rate": 0.5, "reasons": {"defective": 1.0}}}))
    p_star = giveaway_breakeven(probe, "widget", "opened", payer="seller")
    price = p_star + offset
    raw = minimal_raw(
        horizon_days=10,
        catalog={"widget": {"share": 1.0, "price": price, "weight_lb": 1.0, "return_rate": 0.5,
                            "reasons": {"defective": 1.0}}},
        policies={"threshold": {"disposition": [{"when": {"price_max": 20}, "action": "give_to_buyer"},
                                                {"action": "return_to_origin"}]}},
    )
    sc = rs.parse_scenario(raw)
    assert giveaway_breakeven(sc, "widget", "opened", payer="seller") == pytest.approx(p_star)
    lo, hi = price - 9.0, price + 9.0
    opt = rs.optimize(sc, "threshold", {"policies.threshold.disposition.0.when.price_max": (lo, hi)},
                      "net_return_cost_per_order", levels=7, refine=0, replications=2, progress=False, workers=1)
    t = opt.value["policies.threshold.disposition.0.when.price_max"]
    curve = opt.curve.set_index("policies.threshold.disposition.0.when.price_max")["mean"]
    # price_max is half-open (price < T gives away), so T = P itself still returns the item.
    give, keep = curve[curve.index > price], curve[curve.index <= price]
    assert len(give) >= 3 and len(keep) >= 3
    if offset < 0:  # P < P*: giving away is cheaper
        assert t > price and give.max() < keep.min()
    else:
        assert t <= price and keep.max() < give.min()
