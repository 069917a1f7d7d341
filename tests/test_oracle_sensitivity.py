"""Sobol' indices on the Ishigami function, tornado and break-even on a linear model.

The studies run on known functions in place of the simulation (tests/oracles/surfaces.py), so
the expected answers come from outside the code: the Ishigami function's first-order and total
indices in closed form (Sobol' & Levitan 1999; Saltelli et al. 2008, §4.4), and a linear
model's swings and crossing by arithmetic.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
from conftest import minimal_raw
from oracles.surfaces import fake_run_design, ishigami, ishigami_indices
from scipy import stats

import returnsim as rs
from returnsim.decide import breakeven, sobol_indices, tornado
from returnsim.scenario.uncertainty import resolve_path

SENS = importlib.import_module("returnsim.decide.sensitivity")

# Three numbers of the scenario stand in for the inputs (each allows 0 .. 2π).
X1, X2, X3 = "costs.inspection", "markets.domestic.return_label.base", "markets.domestic.return_label.per_lb"


def _scenario(**ranges: tuple[float, float]) -> rs.Scenario:
    table = {p: {"low": lo, "high": hi, "source": "test"} for p, (lo, hi) in ranges.items()}
    return rs.parse_scenario(minimal_raw(uncertainty=table, policies={"a": {}, "b": {}}))


def test_sobol_indices_of_the_ishigami_function(monkeypatch):
    import SALib  # noqa: F401  (a test dependency: a missing one fails, never skips)

    two_pi = 2 * math.pi
    sc = _scenario(**{X1: (0.0, two_pi), X2: (0.0, two_pi), X3: (0.0, two_pi)})

    def f(policy, row, rep):
        return ishigami(row[X1] - math.pi, row[X2] - math.pi, row[X3] - math.pi)

    monkeypatch.setattr(SENS, "run_design", fake_run_design("policy_profit_per_order", f))
    si = sobol_indices(sc, "policy_profit_per_order", "a", base_samples=2048, bootstrap=300, progress=False, workers=1)
    s1, st = ishigami_indices()
    assert s1 == pytest.approx([0.3139, 0.4424, 0.0], abs=5e-5)  # the published values
    assert st == pytest.approx([0.5576, 0.4424, 0.2437], abs=5e-5)
    by = si.table.set_index("input")
    for path, a, t in zip((X1, X2, X3), s1, st, strict=True):
        row = by.loc[path]
        assert row.S1_low <= a <= row.S1_high, (path, row.S1, a)
        assert row.ST_low <= t <= row.ST_high, (path, row.ST, t)
    assert list(si.table["input"]) == [X1, X2, X3]  # by total index: 0.56, 0.44, 0.24
    assert si.evaluations == 2048 * (3 + 2)


def test_tornado_of_a_linear_model_swings_by_slope_times_range(monkeypatch):
    # y = 2 x1 - 3 x2 + 0 x3 + noise shared by every point of a replication (common random
    # numbers); the base point holds every input at the scenario's own value.
    sc = _scenario(**{X1: (1.0, 5.0), X2: (2.0, 3.0), X3: (0.0, 4.0)})
    base = {p: resolve_path(sc, p).value for p in (X1, X2, X3)}
    noise = np.array([0.3, -0.1, 0.4, -0.6])

    def f(policy, row, rep):
        x = {**base, **row}
        return 2 * x[X1] - 3 * x[X2] + noise[rep]

    monkeypatch.setattr(SENS, "run_design", fake_run_design("policy_profit_per_order", f))
    t = tornado(sc, "policy_profit_per_order", "a", replications=4, progress=False, workers=1)
    by = t.table.set_index("input")
    assert list(t.table["input"]) == [X1, X2, X3]  # swings 8, 3, 0
    assert by.loc[X1, "swing"] == pytest.approx(2 * 4.0) and by.loc[X2, "swing"] == pytest.approx(3 * 1.0)
    assert by.loc[X3, "swing"] == 0.0
    assert by.loc[X1, "change_low"] == pytest.approx(2 * (1.0 - base[X1]))
    assert by.loc[X1, "change_high"] == pytest.approx(2 * (5.0 - base[X1]))
    assert by.loc[X2, "change_high"] == pytest.approx(-3 * (3.0 - base[X2]))
    assert t.base == pytest.approx(2 * base[X1] - 3 * base[X2] + noise.mean())
    # The shared noise is the same at every point: changes have no spread, the response has
    # the noise's, pooled over 7 points x 3 degrees of freedom.
    assert by.loc[X1, "change_ci"] == pytest.approx(0.0, abs=1e-12)
    assert t.base_half_width == pytest.approx(stats.t.ppf(0.975, 7 * 3) * noise.std(ddof=1) / 2)
    assert t.flipping() == []  # one policy: nothing to flip


def test_tornado_of_a_difference_flips_where_the_sign_changes(monkeypatch):
    # a - b = x1 - 4 with x1 in 1..5: -3 at the low end, +1 at the high end; the scenario's own
    # value x0 gives the base's sign, and the ranking flips at the end of the other sign.
    sc = _scenario(**{X1: (1.0, 5.0), X2: (2.0, 3.0)})
    x0 = resolve_path(sc, X1).value

    def f(policy, row, rep):
        x1 = row.get(X1, x0)
        return (x1 - 4.0 if policy == "a" else 0.0) + 0.01 * rep

    monkeypatch.setattr(SENS, "run_design", fake_run_design("policy_profit_per_order", f))
    t = tornado(sc, "policy_profit_per_order", ["a", "b"], replications=3, progress=False, workers=1)
    by = t.table.set_index("input")
    assert by.loc[X1, "at_low"] == pytest.approx(-3.0) and by.loc[X1, "at_high"] == pytest.approx(1.0)
    assert t.base == pytest.approx(x0 - 4.0)
    assert t.flipping() == [X1] and not by.loc[X2, "flips"]


@pytest.mark.parametrize("crossing", [3.3, 7.77, 11.0])
def test_breakeven_of_a_linear_difference_is_its_root(monkeypatch, crossing):
    # a - b = 0.5 (x - crossing) + noise (replication r: r - 1, so sd 1 over 3 replications):
    # the root is where linear interpolation puts it, exactly; the replications cannot order
    # the policies within half / 0.5 of it, half = t(0.975, levels·2) · 1 / √3.
    sc = _scenario(**{X1: (2.0, 14.0), X2: (2.0, 3.0)})

    def f(policy, row, rep):
        return 0.5 * (row[X1] - crossing) + (rep - 1.0) if policy == "a" else 0.0

    monkeypatch.setattr(SENS, "run_design", fake_run_design("policy_profit_per_order", f))
    be = breakeven(sc, X1, ["a", "b"], "policy_profit_per_order", levels=7, replications=3, progress=False, workers=1)
    assert be.value == pytest.approx(crossing, abs=1e-9)
    half = stats.t.ppf(0.975, 7 * 2) * 1.0 / math.sqrt(3)
    assert np.allclose(be.curve["ci_high"] - be.curve["mean"], half)
    fine = (14.0 - 2.0) / 2000  # the interval is found on a 2001-point grid
    assert be.interval is not None
    assert be.interval[0] == pytest.approx(max(2.0, crossing - half / 0.5), abs=fine)
    assert be.interval[1] == pytest.approx(min(14.0, crossing + half / 0.5), abs=fine)
    assert be.describe().startswith(f"{X1} = {crossing:.3g} (now ")
    assert "a is ahead above it" in be.describe()
