"""A PSA's P(best), expected loss and EVPI from emulators of its draws (issue 24, item 3).

* On policies whose values are known functions of uniform inputs, P(best), expected losses,
  means and the EVPI have closed forms: each lies in the emulated PSA's interval, and those
  intervals are narrower than the simulated PSA's over the same draws.
* An emulator that fails its leave-one-out bar (a response that is mostly noise) gives back the
  simulated PSA, with a note saying why.
* The posterior draws behind the intervals are the process's own posterior (mean and
  covariance of scikit-learn's prediction, less the white noise).
"""

from __future__ import annotations

import importlib
import inspect
import math

import numpy as np
import pandas as pd
import pytest
from conftest import minimal_raw
from oracles.surfaces import fake_run_design

import returnsim as rs
from returnsim.decide import psa
from returnsim.decide.psa_emulator import EmulatedPSA, _posterior

pytest.importorskip("sklearn")

PSA_MOD = importlib.import_module("returnsim.decide.psa")
METRIC = inspect.signature(psa).parameters["metric"].default
X1, X2 = "costs.inspection", "markets.domestic.return_label.base"


def _scenario(policies: tuple[str, ...]) -> rs.Scenario:
    table = {p: {"low": 0.0, "high": 1.0, "source": "test"} for p in (X1, X2)}
    return rs.parse_scenario(minimal_raw(uncertainty=table, policies={p: {} for p in policies}))


def _three(policy, row, rep):
    # x1, x2 ~ U(0, 1): a = 10 x1, b = 10 x2, c = 7, and d far behind (screened). A little
    # replication noise, common to the policies of a draw, as common random numbers give.
    x1, x2 = row[X1], row[X2]
    return {"a": 10 * x1, "b": 10 * x2, "c": 7.0, "d": -20.0 + x1}[policy] + 0.02 * math.sin(7 * rep)


# Closed forms for _three (d never best): a is best when x1 > x2 and x1 > 0.7, so
# P(a) = P(b) = (1 - 0.7²) / 2 and P(c) = 0.7²; E[max] = 7 + 10 ∫_0.7^1 (1 - t²) dt.
E_MAX = 7 + 10 * ((1 - 0.7) - (1 - 0.7**3) / 3)
TRUTH = {
    "p_best": {"a": (1 - 0.49) / 2, "b": (1 - 0.49) / 2, "c": 0.49},
    "mean": {"a": 5.0, "b": 5.0, "c": 7.0},
    "expected_loss": {"a": E_MAX - 5.0, "b": E_MAX - 5.0, "c": E_MAX - 7.0},
}
EVPI = E_MAX - 7.0


def test_emulated_psa_covers_the_closed_form_answers(monkeypatch):
    monkeypatch.setattr(PSA_MOD, "run_design", fake_run_design(METRIC, _three))
    sc = _scenario(("a", "b", "c", "d"))
    sim = psa(sc, 40, None, METRIC, screen=0.01, stage=8, progress=False, workers=1)
    res = psa(sc, 40, None, METRIC, screen=0.01, stage=8, progress=False, workers=1, method="emulator")
    assert isinstance(res, EmulatedPSA) and res.screened == sim.screened == {"d": 8}
    assert res.draws == 40 and res.emulated_draws == len(res.values) == 10_000
    assert set(res.fit) == {"c", "a - c", "b - c"} and min(res.fit["a - c"], res.fit["b - c"]) >= 0.9
    assert res.fit["c"] < 0.9  # c is constant up to noise: not held to the bar, harmlessly
    assert any("10,000 emulated draws" in n for n in res.notes)
    s, t = res.summary().set_index("policy"), sim.summary().set_index("policy")
    for col, truth in TRUTH.items():
        for p, value in truth.items():
            lo, hi = {"p_best": ("p_best_low", "p_best_high"), "mean": ("ci_low", "ci_high")}.get(col, (None, None))
            if lo is None:
                # No interval of its own: a policy's expected loss is the EVPI plus its shortfall
                # from the best mean (E[max] - E[v_p] = E[max] - E[v_c] + E[v_c] - E[v_p]) over
                # the same draws, so it is right when the EVPI and the means are, checked here.
                shortfall = s.loc["c", "mean"] - s.loc[p, "mean"]
                assert s.loc[p, col] == pytest.approx(res.evpi + shortfall, abs=1e-9), (p, col)
            else:
                assert s.loc[p, lo] <= value <= s.loc[p, hi], (p, col, s.loc[p, lo], s.loc[p, hi], value)
    lo, hi = res.evpi_ci()
    assert lo <= EVPI <= hi
    # The screened policy's row is the simulated one, over the draws it ran.
    assert s.loc["d"].to_dict() == t.loc["d"].to_dict()
    # What the emulator buys: narrower intervals than the 40 simulated draws give.
    width = (s.p_best_high - s.p_best_low)[["a", "b", "c"]]
    sim_width = (t.p_best_high - t.p_best_low)[["a", "b", "c"]]
    assert (width < sim_width / 2).all()
    elo, ehi = sim.evpi_ci()
    assert hi - lo < ehi - elo
    # The report's other questions still work on the emulated draws.
    assert res.chosen == "c"
    assert res.evppi(by_group=False)["evppi"].max() > 0
    assert list(res.acceptability([1.0]).columns) == ["a", "b", "c", "d"]
    # A tornado's emulator is fitted to the simulated draws behind it, not to emulated ones.
    from returnsim.decide.emulator_draws import pair_emulator

    assert pair_emulator(res, ["a", "c"]).draws == 40


def test_a_poor_fit_falls_back_to_the_simulated_psa(monkeypatch):
    # b is mostly replication noise (each draw's replication is its own): no smooth function
    # of the inputs predicts it, so the difference's emulator fails the bar.
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 3.0, 64)

    def f(policy, row, rep):
        return {"a": row[X1], "b": row[X1] + 0.2 * row[X2] + noise[rep]}[policy]

    monkeypatch.setattr(PSA_MOD, "run_design", fake_run_design(METRIC, f))
    sc = _scenario(("a", "b"))
    sim = psa(sc, 40, None, METRIC, progress=False, workers=1)
    res = psa(sc, 40, None, METRIC, progress=False, workers=1, method="emulator")
    assert type(res) is type(sim) and not isinstance(res, EmulatedPSA)
    assert res.values.equals(sim.values)
    assert any("from the 40 simulated draws" in n and "leave-one-out Q² below 0.9" in n for n in res.notes)
    # A bar the fit can meet is met (a lower min_fit): the fallback is the bar's doing.
    assert isinstance(psa(sc, 40, None, METRIC, progress=False, workers=1, method="emulator", min_fit=-10.0), EmulatedPSA)


def test_bad_method_and_bar_are_named():
    sc = _scenario(("a", "b"))
    with pytest.raises(rs.decide.DecideError, match="method must be 'sampling' or 'emulator', got 'gp'"):
        psa(sc, 4, method="gp", progress=False)
    with pytest.raises(rs.decide.DecideError, match="min_fit must be .* got 2"):
        psa(sc, 4, method="emulator", min_fit=2, progress=False)


def test_posterior_draws_are_the_processes_posterior():
    from returnsim.decide.emulator import _fit

    rng = np.random.default_rng(1)
    u = rng.random((30, 2))
    y = np.sin(3 * u[:, 0]) + u[:, 1] + rng.normal(0, 0.05, 30)
    gp = _fit(u, y, 0)
    x = rng.random((5, 2))
    mean, cov = gp.predict(x, return_cov=True)
    noise = gp.kernel_.k2.noise_level * gp._y_train_std**2
    f = _posterior(gp, x, 20_000, np.random.default_rng(2))
    sd = np.sqrt(np.diag(cov) - noise)
    # 20,000 draws: the sample mean and covariance within 5 of their standard errors (that of a
    # normal sample covariance: sqrt((s_i² s_j² + c_ij²) / n)).
    n, want = 20_000, cov - noise * np.eye(5)
    assert np.all(np.abs(f.mean(axis=0) - mean) <= 5 * sd / math.sqrt(n))
    se = np.sqrt((np.outer(sd**2, sd**2) + want**2) / n)
    assert np.all(np.abs(np.cov(f.T) - want) <= 5 * se)


def test_cli_psa_method_emulator_prints_the_emulated_answer(monkeypatch, capsys, tmp_path):
    # In-process, on the seed scenario, two of its declared inputs and a known response of them.
    from conftest import SEED_SCENARIO

    from returnsim.cli import main

    first, second = rs.decide.study_inputs(rs.load_scenario(SEED_SCENARIO))[:2]

    def scaled(inp, x):
        lo, hi = inp.spec.swing
        return (x - lo) / (hi - lo)

    def f(policy, row, rep):
        return {"seed": scaled(first, row[first.path]), "free_returns": scaled(second, row[second.path])}[policy]

    monkeypatch.setattr(PSA_MOD, "run_design", fake_run_design(METRIC, f))
    argv = ["psa", str(SEED_SCENARIO), "--no-progress", "--workers", "1", "--draws", "40", "--policy", "seed",
            "--policy", "free_returns", "--input", first.path, "--input", second.path, "--method", "emulator",
            "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "note: P(best), expected loss and EVPI are computed over 10,000 emulated draws" in out
    summary = pd.read_csv(tmp_path / "psa_summary.csv").set_index("policy")
    for p, r in summary.iterrows():
        row = next(line for line in out.splitlines() if line.startswith(p + " "))
        assert f"{r.p_best:.0%} ({r.p_best_low:.0%} to {r.p_best_high:.0%})" in row
    # The truth by brute force over the inputs' own distributions (200,000 draws: its own
    # error, about 0.001, is far inside the interval's width).
    u = np.random.default_rng(3).random((200_000, 2))
    truth = float(np.mean(scaled(first, first.values(u[:, 0])) > scaled(second, second.values(u[:, 1]))))
    assert summary.loc["seed", "p_best_low"] <= truth <= summary.loc["seed", "p_best_high"]
    assert main([*argv[:-2], "--min-fit", "1.5"]) == 2
    assert "min_fit must be a leave-one-out Q² of at most 1, got 1.5" in capsys.readouterr().err
