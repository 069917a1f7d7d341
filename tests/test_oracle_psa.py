"""Probability best, expected loss, EVPI and EVPPI against closed forms with three policies.

The case: two independent inputs ``x, y ~ U(0, 1)`` and three policies worth

    keep = c,   bet_x = x - ½,   bet_y = y - ½        (c = 0.1, higher is better)

plus a term every policy shares (it cancels in every comparison, so it changes no answer, but a
procedure that forgets to take differences is caught by it). With ``a = x - ½`` and
``b = y - ½`` uniform on ``(-½, ½)`` and ``M = max(a, b)`` (so ``P(M ≤ m) = (m + ½)²``):

* ``P(keep best) = P(a < c) P(b < c) = 0.6² = 0.36``; ``P(bet_x best) = P(bet_y best) = 0.32``.
* ``E max = c + E (M − c)⁺ = c + ∫_c^½ (1 − (m + ½)²) dm = c + 0.4 − 0.784 / 3``, so
  ``EVPI = E max − max E = 0.4 − 0.784 / 3 = 0.138 67`` (``keep`` is chosen: ``E keep = c > 0``).
* Expected loss: ``EVPI`` for ``keep``; ``E max − 0 = c + EVPI`` for each bet.
* ``EVPPI(x) = E max(c, a, 0) − c = E (a − c)⁺ = (½ − c)² / 2 = 0.08``; ``EVPPI(y)`` the same;
  ``EVPPI(x, y) = EVPI``; an input no policy depends on has ``EVPPI = 0``.

Two policies are not enough: with two, the loss of one is the other's gain and some sign
errors cancel. The draws are a product grid of cell midpoints whose cell edges fall on the kinks
at ``x = 0.6`` and ``y = 0.6``, so the midpoint rule is exact except in the cells the diagonal
``a = b`` crosses; the tolerances below bound that error.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import minimal_raw
from oracles.surfaces import fake_run_design

import returnsim as rs
from returnsim.decide import psa as psa_fn
from returnsim.decide.psa import PSA

C = 0.1
NX, NY = 100, 75  # 0.6 * 100 and 0.6 * 75 are whole numbers: the kinks lie on cell edges
EVPI = 0.4 - 0.784 / 3
EVPPI_ONE = (0.5 - C) ** 2 / 2
# Cells crossed by the diagonal: at most NX + NY of the NX * NY; in each, max(a, b) moves by at
# most (1/NX + 1/NY) / 2 from its midpoint value, and P(best) can be off by the whole cell.
VALUE_TOL = (NX + NY) / (NX * NY) * (1 / NX + 1 / NY) / 2
SHARE_TOL = 1 / NY  # per x column, the count of y below x is off by at most one


def _fake_inputs(*paths: str, group: str | None = None) -> list:
    """Stand-ins for the study's inputs: what ``PSA.evppi`` reads (path, label, declared group)."""
    return [SimpleNamespace(path=p, label=p, spec=SimpleNamespace(group=group if p in "xy" else None)) for p in paths]


def _case(goal: str = "max") -> PSA:
    x = (np.arange(NX) + 0.5) / NX
    y = (np.arange(NY) + 0.5) / NY
    xx, yy = (g.ravel() for g in np.meshgrid(x, y, indexing="ij"))
    zz = np.random.default_rng(0).uniform(0, 1, len(xx))  # an input nothing depends on
    shared = 0.5 * xx + 0.2 * yy
    values = pd.DataFrame({"keep": C + shared, "bet_x": xx - 0.5 + shared, "bet_y": yy - 0.5 + shared})
    if goal == "min":
        values = -values
    inputs = pd.DataFrame({"x": xx, "y": yy, "z": zz})
    return PSA(values=values, inputs=inputs, specs=_fake_inputs("x", "y", "z", group="xy"),
               metric="policy_profit_per_order", goal=goal, policies=list(values.columns), replications=1,
               runs=pd.DataFrame(), confidence=0.95, seed=0)


@pytest.mark.parametrize("goal", ["max", "min"])
def test_probability_best_and_expected_loss_are_the_closed_form(goal):
    res = _case(goal)
    assert res.chosen == "keep"
    s = res.summary().set_index("policy")
    assert s.loc["keep", "p_best"] == pytest.approx(0.36, abs=1e-12)  # kinks on cell edges: exact
    for p in ("bet_x", "bet_y"):
        assert s.loc[p, "p_best"] == pytest.approx(0.32, abs=SHARE_TOL)
    assert s["p_best"].sum() == pytest.approx(1.0)
    assert s.loc["keep", "expected_loss"] == pytest.approx(EVPI, abs=VALUE_TOL)
    for p in ("bet_x", "bet_y"):
        assert s.loc[p, "expected_loss"] == pytest.approx(C + EVPI, abs=VALUE_TOL)
    assert res.evpi == pytest.approx(EVPI, abs=VALUE_TOL)
    assert s.loc["keep", "expected_loss"] == pytest.approx(res.evpi, abs=1e-12)
    lo, hi = res.evpi_ci()
    assert lo <= res.evpi <= hi


@pytest.mark.parametrize("goal", ["max", "min"])
def test_evppi_is_the_closed_form_per_input_and_for_the_group(goal):
    res = _case(goal)
    table = res.evppi().set_index("name")
    assert table.loc["x", "evppi"] == pytest.approx(EVPPI_ONE, abs=1e-9)  # linear pieces: exact
    assert table.loc["y", "evppi"] == pytest.approx(EVPPI_ONE, abs=1e-9)
    assert table.loc["z", "evppi"] == pytest.approx(0.0, abs=1e-9)
    # Knowing both inputs is knowing everything: the group's EVPPI is the EVPI of the sample.
    assert table.loc["xy", "evppi"] == pytest.approx(res.evpi, abs=1e-9)
    assert table.loc["xy", "kind"] == "group" and table.loc["xy", "inputs"] == "x, y"
    assert table.loc["x", "share_of_evpi"] == pytest.approx(EVPPI_ONE / res.evpi, rel=1e-9)
    assert list(table.index) == ["x", "y", "z", "xy"] or list(table.index) == ["y", "x", "z", "xy"]
    for name in ("x", "y", "z", "xy"):
        assert table.loc[name, "ci_low"] <= table.loc[name, "evppi"] + 1e-12 <= table.loc[name, "ci_high"] + 2e-12


def _random_case(seed: int) -> PSA:
    """k policies linear in x and quadratic in y on a product grid (random sizes and
    coefficients): the regression can fit every conditional mean exactly, so the sample obeys
    Jensen's inequality exactly and EVPPI <= EVPI must hold draw for draw."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 6))
    x = np.sort(rng.uniform(0, 1, int(rng.integers(15, 40))))
    y = np.sort(rng.uniform(0, 1, int(rng.integers(15, 40))))
    xx, yy = (g.ravel() for g in np.meshgrid(x, y, indexing="ij"))
    coef = rng.normal(0, 1, (k, 4))
    values = pd.DataFrame({f"p{j}": coef[j, 0] * 0.3 + coef[j, 1] * xx + coef[j, 2] * yy + coef[j, 3] * yy**2
                           for j in range(k)})
    return PSA(values=values, inputs=pd.DataFrame({"x": xx, "y": yy}), specs=_fake_inputs("x", "y", group="g"),
               metric="policy_profit_per_order", goal=str(rng.choice(["max", "min"])), policies=list(values.columns),
               replications=1, runs=pd.DataFrame(), confidence=0.95, seed=seed)


@pytest.mark.parametrize("seed", range(25))
def test_evppi_never_exceeds_evpi(seed):
    res = _random_case(seed)
    table = res.evppi().set_index("name")
    evpi = res.evpi
    assert evpi >= 0
    for name in ("x", "y"):
        assert 0.0 <= table.loc[name, "evppi"] <= evpi + 1e-9, (name, table.loc[name, "evppi"], evpi)
    # Both inputs together are perfect information here; and learning more is never worth less.
    assert table.loc["g", "evppi"] == pytest.approx(evpi, abs=1e-9)
    assert max(table.loc["x", "evppi"], table.loc["y", "evppi"]) <= table.loc["g", "evppi"] + 1e-9


# --------------------------------------------------------------------------------------------
# the whole psa() call, on the known surface instead of the model


def test_psa_on_a_known_surface_recovers_the_closed_form_within_its_own_intervals(monkeypatch):
    # The declared inputs are x and y on (0, 1) (two numbers of the scenario standing in for
    # them); the "simulation" returns the three policies' values plus replication noise shared
    # by the policies of a draw, so the closed form must lie in the study's own intervals.
    raw = minimal_raw(
        policies={"keep": {}, "bet_x": {}, "bet_y": {}},
        uncertainty={"costs.inspection": {"low": 0, "high": 1, "source": "test"},
                     "markets.domestic.return_label.base": {"low": 0, "high": 1, "source": "test"}},
    )
    sc = rs.parse_scenario(raw)
    noise = np.random.default_rng(5).normal(0, 0.05, 10_000)

    def value(policy, row, rep):
        x, y = row["costs.inspection"], row["markets.domestic.return_label.base"]
        own = {"keep": C, "bet_x": x - 0.5, "bet_y": y - 0.5}[policy]
        return own + 0.5 * x + noise[rep]

    psa_module = importlib.import_module("returnsim.decide.psa")  # the module, not the function
    monkeypatch.setattr(psa_module, "run_design", fake_run_design("policy_profit_per_order", value))
    res = psa_fn(sc, 400, None, "policy_profit_per_order", replications=2, progress=False, workers=1)
    # Independent replications per draw (a PSA averages over the simulation's noise too).
    assert sorted(res.runs["replication"].unique()) == list(range(800))
    assert res.chosen == "keep"
    s = res.summary().set_index("policy")
    truth = {"keep": 0.36, "bet_x": 0.32, "bet_y": 0.32}
    for p, share in truth.items():
        assert s.loc[p, "p_best_low"] <= share <= s.loc[p, "p_best_high"], (p, s.loc[p, "p_best"])
    lo, hi = res.evpi_ci()
    assert lo <= EVPI <= hi, (res.evpi, lo, hi)
    voi = res.evppi(by_group=False).set_index("inputs")
    for path in ("costs.inspection", "markets.domestic.return_label.base"):
        assert voi.loc[path, "ci_low"] <= EVPPI_ONE <= voi.loc[path, "ci_high"], voi.loc[path]


def test_the_value_of_information_of_a_dominant_policy_is_zero_not_a_rounding_below_it():
    # One policy best in every draw: knowing the draw changes no choice. The sums of the two ways
    # of averaging round differently (here by -1.8e-15), which once showed as "-$0.00".
    from returnsim.decide.psa_result import _value_of_information

    rng = np.random.default_rng(0)
    v = np.c_[rng.random(50) * 10, np.full(50, -1.0)]
    assert v.max(axis=1).mean() - v.mean(axis=0).max() < 0
    assert _value_of_information(v) == 0.0
