""""How sure" simulates only what it needs (issue 24): PSA screening, metamodels, emulator.

* Screening: a screened PSA gives the policies still in exactly the values of an unscreened one
  on the same seed; the one-sided bound of P(best) covers the truth at its stated level.
* The linear metamodel's leave-one-out R² is the brute-force one; the tornado and break-evens
  read off it are the linear model's own swings and root; ``assess`` says which way it went.
* Sobol' indices on a Gaussian-process emulator recover the Ishigami function's known indices
  within the method's own intervals; the emulator's closed-form leave-one-out is the brute-force
  one.
"""

from __future__ import annotations

import importlib
import inspect
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import minimal_raw
from oracles.surfaces import fake_run_design, ishigami, ishigami_indices
from scipy import stats

import returnsim as rs
from returnsim.decide import psa, sobol_indices
from returnsim.decide.assess import assess
from returnsim.decide.emulator_draws import breakeven_from_emulator, pair_emulator
from returnsim.decide.errors import goal_of
from returnsim.decide.from_draws import breakeven_from_draws, tornado_from_draws
from returnsim.decide.inputs import Variants, study_inputs
from returnsim.decide.metamodel import fit_linear
from returnsim.decide.runner import StudyRunner
from returnsim.decide.screening import p_best_bound, screen_out
from returnsim.decide.sweep import run_design
from returnsim.scenario.uncertainty import resolve_path

PSA_MOD = importlib.import_module("returnsim.decide.psa")
SENS = importlib.import_module("returnsim.decide.sensitivity")
# The metric ranked: the studies' own default (whatever it is named), a larger-is-better one.
METRIC = inspect.signature(psa).parameters["metric"].default
X1, X2, X3 = "costs.inspection", "markets.domestic.return_label.base", "markets.domestic.return_label.per_lb"


def _scenario(policies: tuple[str, ...] = ("a", "b"), **ranges: tuple[float, float]) -> rs.Scenario:
    table = {p: {"low": lo, "high": hi, "source": "test"} for p, (lo, hi) in ranges.items()}
    return rs.parse_scenario(minimal_raw(uncertainty=table, policies={p: {} for p in policies}))


# --------------------------------------------------------------------------------------------
# screening


def _four(policy, row, rep):
    # Two close contenders (each best for about half the draws: y above or below 0.5) and two far behind (by 3 and 5 units, spread 0.3): the latter are
    # never best, and their P(best) bound falls below 1 % within a stage of 8 draws.
    x, y = row[X1], row[X2]
    noise = 0.1 * math.sin(rep)
    return {"lead": x + y, "close": x + 0.9 * y + 0.05, "far": x - 3, "farther": y - 5}[policy] + noise


def test_screened_psa_keeps_the_full_psas_values_for_the_survivors(monkeypatch):
    sc = _scenario(("lead", "close", "far", "farther"), **{X1: (0.0, 1.0), X2: (0.0, 1.0)})
    monkeypatch.setattr(PSA_MOD, "run_design", fake_run_design(METRIC, _four))
    full = psa(sc, 40, None, METRIC, progress=False, workers=1)
    cut = psa(sc, 40, None, METRIC, screen=0.01, stage=8, progress=False, workers=1)
    assert cut.screened == {"far": 8, "farther": 8}
    assert cut.survivors == ["lead", "close"]
    pd.testing.assert_frame_equal(cut.values[cut.survivors], full.values[cut.survivors])
    # The screened ones ran the first stage, the same draws as in the full PSA, and no more.
    for p in ("far", "farther"):
        assert np.array_equal(cut.values[p].iloc[:8], full.values[p].iloc[:8])
        assert cut.values[p].iloc[8:].isna().all()
    assert len(cut.runs) == 40 * 2 + 8 * 2 < len(full.runs)
    s = cut.summary().set_index("policy")
    assert s.loc["far", "draws"] == 8 and s.loc["lead", "draws"] == 40
    assert s.loc["far", "p_best"] == 0
    # Every statistic of the survivors is the unscreened one here (the screened never won).
    f = full.summary().set_index("policy")
    for col in ("mean", "p_best", "expected_loss"):
        assert s.loc[["lead", "close"], col].tolist() == pytest.approx(f.loc[["lead", "close"], col].tolist())
    assert cut.evpi == pytest.approx(full.evpi)
    assert cut.chosen == full.chosen


def test_staged_run_design_uses_the_replications_of_one_call():
    # The real runner: rows 3..5 run on their own with first=3 give the same runs as in the
    # whole design (independent replications follow the point, not the call).
    table = {X1: {"low": 0.5, "high": 2.0, "source": "test"}, X2: {"low": 2.0, "high": 3.0, "source": "test"}}
    sc = rs.parse_scenario(minimal_raw(uncertainty=table, policies={"a": {}, "b": {}}))
    ins = study_inputs(sc)
    variants = Variants(sc)
    design = pd.DataFrame({X1: np.linspace(0.5, 2.0, 6), X2: np.linspace(2.0, 3.0, 6)})
    design.index.name = "point"
    with StudyRunner(desc="t", progress=False, workers=1, seed=3) as runner:
        whole = run_design(runner, variants, design, ["a", "b"], 1, crn="independent")
    with StudyRunner(desc="t", progress=False, workers=1, seed=3) as runner:
        part = run_design(runner, variants, design.iloc[3:], ["a", "b"], 1, crn="independent", first=3)
    assert len(ins) == 2
    tail = whole[whole["point"] >= 3].reset_index(drop=True)
    assert part["replication"].tolist() == tail["replication"].tolist() == [3, 3, 4, 4, 5, 5]
    assert part[METRIC].tolist() == tail[METRIC].tolist()


def test_the_p_best_bound_covers_the_truth_at_its_level():
    # d ~ N(mu, 1) with P(d > 0) = 0.05: the 95 % upper bound must lie above 0.05 in 95 % of
    # samples; the tolerance is the binomial spread of that count over the trials.
    rng = np.random.default_rng(11)
    trials, n, p_true = 1000, 16, 0.05
    mu = -stats.norm.ppf(1 - p_true)
    covered = sum(p_best_bound(rng.normal(mu, 1.0, n))[0] >= p_true for _ in range(trials))
    sd = math.sqrt(trials * 0.95 * 0.05)
    assert abs(covered - 0.95 * trials) <= 3 * sd, covered


def test_the_p_best_bound_tightens_with_distance_and_draws():
    rng = np.random.default_rng(2)
    z = rng.normal(0, 1, 32)
    near, far = p_best_bound(z[:16] - 1.0)[0], p_best_bound(z[:16] - 4.0)[0]
    assert far < 0.01 < near
    assert p_best_bound(z - 2.5)[0] < p_best_bound(z[:8] - 2.5)[0]
    # Its E[max(d, 0)] at the bound is the normal partial expectation (sd 1 here, exactly).
    p, excess = p_best_bound(np.array([-3.0, -2.0, -4.0, -3.0, -2.0, -4.0]))
    theta = -stats.norm.ppf(p)
    sd = np.std([-3.0, -2.0, -4.0, -3.0, -2.0, -4.0], ddof=1)
    assert excess == pytest.approx(sd * (stats.norm.pdf(theta) - theta * stats.norm.cdf(-theta)))


def test_a_policy_that_won_a_draw_or_leads_is_never_screened():
    v = np.column_stack([np.full(20, 10.0), np.full(20, 0.0), np.full(20, 0.0)])
    v[:, 1] += np.linspace(-0.1, 0.1, 20)
    v[5, 2] = 11.0  # far behind but best once
    assert screen_out(v, 0.01) == [1]
    assert screen_out(v[:, [1, 2]] - 100, 0.01) == []  # the leader in mean stays whatever
    with pytest.raises(rs.decide.DecideError, match="screen must be a probability"):
        psa(_scenario(**{X1: (0.0, 1.0), X2: (0.0, 1.0)}), 4, screen=1.5, progress=False)


# --------------------------------------------------------------------------------------------
# the linear metamodel


def test_leave_one_out_r2_is_the_brute_force_one():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 5, (30, 3))
    y = 2 * x[:, 0] - 3 * x[:, 1] + rng.normal(0, 0.5, 30)
    fit = fit_linear(x, y)
    press = 0.0
    for i in range(30):
        rest = np.delete(np.arange(30), i)
        a = np.column_stack([np.ones(29), x[rest]])
        beta = np.linalg.lstsq(a, y[rest], rcond=None)[0]
        press += (y[i] - np.r_[1.0, x[i]] @ beta) ** 2
    assert fit.loo_r2 == pytest.approx(1 - press / ((y - y.mean()) ** 2).sum(), rel=1e-9)
    half = fit.t(1 - 0.05 / 3) * np.sqrt(np.diag(fit.cov))  # jointly 95 % (Bonferroni)
    assert np.all(np.abs(fit.coef[1:] - [2, -3, 0]) <= half[1:])
    noise = fit_linear(x, rng.normal(0, 1, 30))
    assert noise.loo_r2 < 0.2 < 0.9 < fit.loo_r2
    with pytest.raises(ValueError, match="needs more than 4 draws"):
        fit_linear(x[:4], y[:4])


def _linear_psa(monkeypatch, draws: int = 60, curve: bool = False, rough: bool = False):
    # The scenario's own values (6, 8, 1) lie inside the ranges. A curve: smooth, but no line;
    # rough: the curve plus noise of its own size in a's every replication (no emulator either).
    sc = _scenario(("a", "b", "c"), **{X1: (4.0, 8.0), X2: (7.0, 9.0), X3: (0.0, 4.0)})

    base = {p: resolve_path(sc, p).value for p in (X1, X2)}

    def f(policy, row, rep):
        x1, x2 = row.get(X1, base[X1]), row.get(X2, base[X2])  # a tornado's base point sets none
        diff = math.sin(3 * x1) * 4 if curve or rough else 2 * (x1 - 6.5) - 3 * (x2 - 8.0)
        diff += 4 * math.sin(12.9898 * rep + 78.233) if rough else 0.0
        return {"a": diff, "b": 0.0, "c": -20.0}[policy] + 0.01 * math.cos(rep)

    monkeypatch.setattr(PSA_MOD, "run_design", fake_run_design(METRIC, f))
    monkeypatch.setattr(SENS, "run_design", fake_run_design(METRIC, f))
    return sc, psa(sc, draws, None, METRIC, progress=False, workers=1)


def test_tornado_and_breakeven_from_draws_are_the_linear_models(monkeypatch):
    sc, res = _linear_psa(monkeypatch)
    base = {p: resolve_path(sc, p).value for p in (X1, X2, X3)}
    t = tornado_from_draws(res, ["a", "b"])
    assert t.method == "metamodel" and t.fit == pytest.approx(1.0, abs=1e-6)
    assert "leave-one-out R² 1.00" in t.how
    by = t.table.set_index("input")
    assert by.loc[X1, "at_low"] == pytest.approx(2 * (4.0 - 6.5), abs=1e-6)
    assert by.loc[X1, "swing"] == pytest.approx(8.0, abs=1e-6)
    assert by.loc[X2, "swing"] == pytest.approx(6.0, abs=1e-6)
    assert by.loc[X3, "swing"] == pytest.approx(0.0, abs=1e-6)
    assert t.base == pytest.approx(2 * (base[X1] - 6.5), abs=1e-6)
    # The simulated tornado (same surface) flips the same inputs.
    sim = SENS.tornado(sc, METRIC, ["a", "b"], replications=2, progress=False, workers=1)
    assert t.flipping() == sim.flipping() == [X1, X2]
    be = breakeven_from_draws(res, X1, ["a", "b"])
    assert be.value == pytest.approx(6.5, abs=1e-6)  # a line interpolated linearly: exact up to the fit
    assert "linear metamodel" in be.describe()


def _selection(names: list[str], noise: float | None = None) -> SimpleNamespace:
    table = pd.DataFrame({"policy": names, "advantage": [0.0, 0.5, 9.0][: len(names)]})
    runs = None
    if noise is not None:  # the selection's paired replications at the scenario's values
        reps = np.arange(10)
        runs = pd.DataFrame({"policy": ["a"] * 10 + ["b"] * 10, "replication": np.r_[reps, reps],
                             METRIC: np.r_[noise * np.sin(reps), np.zeros(10)]})
    return SimpleNamespace(selected=names[0], table=table, replications=dict.fromkeys(names, 10),
                           metric=METRIC, goal=goal_of(METRIC, None), seed=0, indifference=0.05, runs=runs)


@pytest.mark.parametrize("shape", ["line", "curve", "rough"])
def test_assess_reads_the_tornado_off_the_draws_only_when_the_fit_is_good(monkeypatch, shape):
    sc, _ = _linear_psa(monkeypatch, curve=shape == "curve", rough=shape == "rough")
    out = assess(sc, _selection(["a", "b", "c"]), draws=48, progress=False, workers=1)  # type: ignore[arg-type]
    assert out.psa is not None and out.tornado is not None
    assert out.psa.screened == {"c": 16}  # 20 behind in every draw
    assert any("screened out of the PSA" in n and "C after 16 draws" in n for n in out.notes)
    if shape == "line":
        assert out.tornado.method == "metamodel"
        assert any("from a linear metamodel of the PSA's 48 draws" in n for n in out.notes)
        assert out.breakevens and all("metamodel" in b.method for b in out.breakevens)
        return
    assert any("linear metamodel" in n and "explains too little out of sample" in n for n in out.notes)
    if shape == "curve":  # 4 sin(3 x1): no line explains it, a Gaussian process does
        assert out.tornado.method == "emulator" and out.tornado.fit >= 0.9
        assert "Gaussian-process emulator" in out.tornado.how
        assert any("from a Gaussian-process emulator of the PSA's 48 draws of A - B" in n for n in out.notes)
        # Its ends are the function's, within their intervals (base and change, both emulated).
        by = out.tornado.table.set_index("input")
        for col, x1 in (("at_low", 4.0), ("at_high", 8.0)):
            assert abs(by.loc[X1, col] - 4 * math.sin(3 * x1)) <= by.loc[X1, "change_ci"] + out.tornado.base_half_width
        assert by.loc[X3, "swing"] <= by.loc[X3, "change_ci"] + 1e-9  # x3 does not matter
        assert not out.tornado.flipping() and not out.breakevens  # 4 sin(3 x1) < 0 at 4, 6 and 8
        # Along x1 it does cross 0 (at multiples of pi / 3): the break-even from the emulator.
        be = breakeven_from_emulator(out.psa, X1, pair_emulator(out.psa, ["a", "b"]))
        assert "Gaussian-process emulator" in be.method and be.value is not None
        assert min(abs(be.value - k * math.pi / 3) for k in range(4, 8)) < 0.05
    else:  # noise the size of the signal: neither fits, the tornado is simulated
        assert out.tornado.method == "simulation"
        assert any("are simulated: nor does a Gaussian-process emulator" in n for n in out.notes)
        assert all(b.method == "simulated" for b in out.breakevens)


# --------------------------------------------------------------------------------------------
# Sobol' indices on an emulator


# offset: a response whose mean is far from 0 against its spread (as a profit per order is): the
# indices do not change, and the intervals must not widen with the mean.
@pytest.mark.parametrize("offset", [0.0, 100.0])
def test_emulator_sobol_indices_of_the_ishigami_function(monkeypatch, offset):
    two_pi = 2 * math.pi
    sc = _scenario(**{X1: (0.0, two_pi), X2: (0.0, two_pi), X3: (0.0, two_pi)})

    def f(policy, row, rep):
        return offset + ishigami(row[X1] - math.pi, row[X2] - math.pi, row[X3] - math.pi)

    monkeypatch.setattr(SENS, "run_design", fake_run_design(METRIC, f))
    si = sobol_indices(sc, METRIC, "a", method="emulator", points=200, bootstrap=10,
                       progress=False, workers=1)
    s1, st = ishigami_indices()
    by = si.table.set_index("input")
    for path, a, t in zip((X1, X2, X3), s1, st, strict=True):
        row = by.loc[path]
        assert row.S1_low <= a <= row.S1_high, (path, row.S1, a, row.S1_low, row.S1_high)
        assert row.ST_low <= t <= row.ST_high, (path, row.ST, t, row.ST_low, row.ST_high)
        assert row.S1_high - row.S1_low <= 0.1 and row.ST_high - row.ST_low <= 0.1  # usable
    assert si.method == "emulator" and si.fit is not None and si.fit > 0.99
    assert si.evaluations == 200 and "Gaussian-process emulator of 200 simulated points" in si.notes[0]
    with pytest.raises(rs.decide.DecideError, match="method must be 'sampling' or 'emulator'"):
        sobol_indices(sc, METRIC, "a", method="kriging", progress=False)


def test_the_emulators_jackknife_gives_the_same_intervals_on_several_threads():
    from returnsim.decide.emulator import emulator_indices

    rng = np.random.default_rng(3)
    u = rng.random((40, 3))
    y = 50 + np.sin(2 * np.pi * u[:, 0]) + 0.3 * u[:, 1] + rng.normal(0, 0.01, 40)  # u[:, 2] does not matter
    runs = [emulator_indices(u, y, base_samples=512, refits=6, threads=t) for t in (1, 3)]
    one, three = ([*vars(r).values()] for r in runs)
    for a, b in zip(one, three, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (runs[0].s1_high > runs[0].s1_low).all()  # the jackknife did widen them


def test_the_emulators_leave_one_out_is_the_brute_force_one():
    from sklearn.gaussian_process import GaussianProcessRegressor

    from returnsim.decide.emulator import _fit, loo_q2, predict

    rng = np.random.default_rng(1)
    u = rng.random((25, 2))
    y = np.sin(4 * u[:, 0]) + u[:, 1] ** 2 + rng.normal(0, 0.05, 25)
    gp = _fit(u, y, 0)
    resid = []
    for i in range(25):
        rest = np.delete(np.arange(25), i)
        g = GaussianProcessRegressor(gp.kernel_, normalize_y=False, optimizer=None).fit(u[rest], gp.y_train_[rest])
        resid.append(gp.y_train_[i] - g.predict(u[i : i + 1])[0])
    yt = gp.y_train_
    x = rng.random((50, 2))
    assert predict(gp, x, chunk=7) == pytest.approx(gp.predict(x), abs=1e-9)  # the fast path is the same mean
    assert loo_q2(gp) == pytest.approx(1 - np.sum(np.square(resid)) / ((yt - yt.mean()) ** 2).sum(), rel=1e-6)


@pytest.mark.parametrize(("noise", "replications"), [(0.01, 1), (3.0, 2)])
def test_the_simulated_tornado_runs_one_replication_only_when_the_noise_is_negligible(monkeypatch, noise, replications):
    sc, _ = _linear_psa(monkeypatch, rough=True)
    out = assess(sc, _selection(["a", "b", "c"], noise), draws=48, progress=False, workers=1)  # type: ignore[arg-type]
    assert out.tornado is not None and out.tornado.method == "simulation"
    assert out.tornado.replications == replications
    assert any("one replication per tornado" in n for n in out.notes) == (replications == 1)
    if replications == 1:  # the selection's noise sets the interval: t(9 df) x its sd
        sd = np.std(noise * np.sin(np.arange(10)), ddof=1)
        assert out.tornado.base_half_width == pytest.approx(stats.t.ppf(0.975, 9) * sd)
