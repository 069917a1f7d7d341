"""Designs and sweeps: points where they should be, one tidy frame, resumable in the store."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from conftest import MMC_SCENARIO, ROOT, SEED_SCENARIO, minimal_raw

import returnsim as rs
from returnsim.decide import DecideError, make_design, study_inputs
from returnsim.decide.designs import unit_design

SMALL = {"horizon_days": 10}


def _minimal() -> rs.Scenario:
    raw = minimal_raw(
        uncertainty={
            "costs.inspection": {"low": 4, "high": 12, "source": "test"},
            "desk.staff": {"low": 1, "high": 3, "source": "test"},
        },
        policies={"base": {}, "free": {"freight": [{"payer": "seller"}]}},
    )
    return rs.parse_scenario(raw)


@pytest.mark.parametrize("kind", ["lhs", "sobol", "halton", "random"])
def test_sampled_designs_are_in_the_unit_cube_and_reproducible(kind):
    a = unit_design(kind, 64, 3, seed=5)
    assert a.shape == (64, 3) and (a > 0).all() and (a < 1).all()
    np.testing.assert_array_equal(a, unit_design(kind, 64, 3, seed=5))
    assert not np.array_equal(a, unit_design(kind, 64, 3, seed=6))


def test_latin_hypercube_puts_one_point_in_each_slice():
    a = unit_design("lhs", 50, 4, seed=0)
    for j in range(4):
        assert sorted(np.floor(a[:, j] * 50).astype(int)) == list(range(50))


def test_designs_map_through_the_declared_distributions():
    sc = rs.load_scenario(SEED_SCENARIO)
    ins = study_inputs(sc, ["buyer.purchases_per_year.mean", "desk.handling_minutes.mean"])
    d = make_design(ins, "lhs", 400, seed=1)
    spec = sc.uncertainty["buyer.purchases_per_year.mean"]
    lo, mode, hi = spec.low, spec.mode, spec.high
    tri = d["buyer.purchases_per_year.mean"]
    assert tri.between(lo, hi).all() and tri.mean() == pytest.approx((lo + mode + hi) / 3, rel=0.02)
    h = sc.uncertainty["desk.handling_minutes.mean"]
    assert d["desk.handling_minutes.mean"].between(h.low, h.high).all()


def test_grid_is_the_full_factorial_with_integer_levels_deduplicated():
    sc = _minimal()
    ins = study_inputs(sc)
    d = make_design(ins, "grid", 5)
    assert len(d) == 5 * 3  # staff 1..3: three distinct levels, not five
    assert sorted(d["desk.staff"].unique()) == [1, 2, 3]
    assert sorted(d["costs.inspection"].unique()) == [4, 6, 8, 10, 12]


@pytest.mark.parametrize(
    ("kind", "points", "match"),
    [("lhs", 0, "at least 1 point"), ("grid", -2, "at least 1 point"), ("lhd", 10, "did you mean .lhs.")],
)
def test_bad_designs_are_clear_errors(kind, points, match):
    with pytest.raises(DecideError, match=match):
        make_design(study_inputs(_minimal()), kind, points)


def test_sweep_is_one_tidy_frame_with_common_random_numbers():
    sc = _minimal()
    res = rs.sweep(sc, "lhs", 4, replications=2, progress=False, workers=1)
    runs = res.runs
    assert len(runs) == 4 * 2 * 2
    assert list(runs.columns[:3]) == ["point", "costs.inspection", "desk.staff"]
    assert {"policy", "replication", "seed", "scenario_hash", "policy_profit_per_order", "refunds"} <= set(runs.columns)
    # Common random numbers: every point meets the same orders in replication r.
    orders = runs.pivot_table(index="replication", columns="point", values="demand_orders", aggfunc="first")
    assert (orders.nunique(axis=1) == 1).all()
    # The inputs reach the model: inspection cost per inspected unit is the drawn value.
    per_unit = runs["inspection"] / runs["inspection"].where(runs["inspection"] > 0).div(runs["costs.inspection"])
    assert np.allclose(per_unit.dropna(), runs.loc[per_unit.notna(), "costs.inspection"])
    assert res.means("net_return_cost_per_order").shape == (4, 2)


def test_independent_points_use_replications_of_their_own():
    res = rs.sweep(_minimal(), "random", 3, replications=2, crn="independent", progress=False, workers=1)
    reps = res.runs.groupby("point")["replication"].unique()
    assert [sorted(r) for r in reps] == [[0, 1], [2, 3], [4, 5]]


def test_any_executor_gives_the_same_numbers():
    sc = _minimal()
    serial = rs.sweep(sc, "lhs", 3, progress=False, workers=1)
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = rs.sweep(sc, "lhs", 3, progress=False, executor=pool)
    pd.testing.assert_frame_equal(serial.runs, pooled.runs)


def test_a_study_estimated_to_take_hours_is_announced_once(monkeypatch, capsys):
    """As an experiment is: a study that fits in memory can still take hours. With the limit
    set to 0 s, a sweep warns once, before its variants are made (20,000 points took two
    minutes to make before the first run); the command line prints it as a note."""
    import warnings

    from conftest import run_cli

    from returnsim.experiment import budget as exp_budget
    from returnsim.experiment.budget import RunSizeWarning

    sc = _minimal()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rs.sweep(sc, points=2, replications=2, progress=False, workers=1)
    assert not [w for w in seen if w.category is RunSizeWarning]
    monkeypatch.setattr(exp_budget, "WARN_SECONDS", 0.0)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rs.sweep(sc, points=2, replications=2, progress=False, workers=1)
    said = [str(w.message) for w in seen if w.category is RunSizeWarning]
    assert len(said) == 1 and said[0].startswith("this study's 8 runs are estimated to take ") and "--store" in said[0], said
    with warnings.catch_warnings(record=True) as seen:  # a PSA in stages (runs of its own each): one warning
        warnings.simplefilter("always")
        rs.psa(sc, draws=12, screen=0.01, stage=4, progress=False, workers=1)
    assert len([w for w in seen if w.category is RunSizeWarning]) == 1
    code, _, err = run_cli(capsys, "sweep", str(SEED_SCENARIO), "--points", "1", "--policy", "seed", "--set", "horizon_days=2", "--workers", "1", "--no-progress")
    assert code == 0 and "returnsim: note: this study's 1 run is estimated to take " in err, err


def test_a_runner_keeps_only_recent_models_and_runs_the_others_from_their_dicts(monkeypatch):
    """A study keeps every variant as a dict and only the last few validated: with room for one
    model, every point of a 5-point sweep runs from a model validated again from its dict (the
    last one added is evicted by the first run), and the runs are those of a runner that kept
    them all."""
    from returnsim.decide import runner as runner_mod

    sc = _minimal()
    calls = []
    real = runner_mod.Scenario.model_validate
    monkeypatch.setattr(runner_mod.Scenario, "model_validate", lambda d, *a, **k: calls.append(1) or real(d, *a, **k))

    def sweep(recent):
        monkeypatch.setattr(runner_mod, "RECENT_MODELS", recent)
        calls.clear()
        return rs.sweep(sc, "lhs", 5, replications=2, progress=False, workers=1), len(calls)

    (kept, all_kept), (one, room_for_one) = sweep(16), sweep(1)
    pd.testing.assert_frame_equal(kept.runs, one.runs)
    assert room_for_one - all_kept == 5


def test_a_point_that_makes_the_scenario_invalid_is_named():
    sc = _minimal()
    design = pd.DataFrame({"markets.domestic.share": [1.0, 0.5]})
    with pytest.raises(DecideError, match="design point 1: markets.domestic.share = 0.5 makes the scenario invalid"):
        rs.sweep(sc, design, progress=False, workers=1)


def test_sweep_resumes_after_a_kill_without_losing_or_double_counting(tmp_path):
    store = tmp_path / "sweep.sqlite"
    out = tmp_path / "sweep.csv"
    cmd = [sys.executable, "-m", "returnsim", "sweep", str(SEED_SCENARIO), "--set", "horizon_days=14",
           "--design", "lhs", "--points", "12", "--policy", "seed", "--policy", "free_returns",
           "--workers", "1", "--store", str(store), "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def rows() -> int:
        try:
            with sqlite3.connect(store, timeout=5) as con:
                return int(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    deadline = time.monotonic() + 240
    while rows() < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = rows()
    assert 5 <= partial < 24
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{24 - partial} runs simulated, {partial} read from the store" in done.stdout
    assert rows() == 24
    resumed = pd.read_csv(out)
    fresh = rs.sweep(rs.load_scenario(SEED_SCENARIO, {"horizon_days": 14}), "lhs", 12,
                     policies=["seed", "free_returns"], progress=False, workers=1)
    assert len(resumed) == 24
    np.testing.assert_array_equal(resumed["policy_profit_per_order"].to_numpy(), fresh.runs["policy_profit_per_order"].to_numpy())


def test_a_sweep_runs_on_a_dask_cluster_with_the_same_numbers():
    import distributed  # the dask extra, installed by make test
    sc = _minimal()
    serial = rs.sweep(sc, "lhs", 3, progress=False, workers=1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        res = rs.sweep(sc, "lhs", 3, progress=False, scheduler=cluster.scheduler_address)
    assert res.executor.startswith("dask(")
    pd.testing.assert_frame_equal(serial.runs, res.runs)


def test_a_script_without_main_guard_gets_a_clear_error_from_a_sweep(tmp_path):
    """Sweeps run on the same spawn pool as experiments: an unguarded script breaks the pool,
    and the error says how to fix it (as run_experiment's does)."""
    script = tmp_path / "unguarded_sweep.py"
    script.write_text(
        "import returnsim as rs, returnsim.experiment.executors as ex\n"
        "ex.MIN_POOL_SECONDS = 0.0\n"
        f"sc = rs.load_scenario({str(MMC_SCENARIO)!r}, {{'horizon_days': 2}})\n"
        "rs.sweep(sc, 'grid', 2, vary=['desk.staff=2:3:2'], replications=2, workers=2, progress=False)\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "if __name__ == '__main__':" in proc.stderr


def test_a_variant_too_large_for_memory_is_refused_before_anything_runs(monkeypatch):
    # Workers run with the size check off, so the study must check each variant it adds: a
    # declared range can reach a demand far beyond the scenario's own.
    from returnsim.model import budget

    sc = _minimal()
    design = pd.DataFrame({"demand.orders_per_day": [20.0, 2e6]})
    small = budget.estimate_run(sc).memory_bytes
    monkeypatch.setattr(budget, "available_memory", lambda: 4 * small)
    calls = []
    monkeypatch.setattr(rs.decide.runner, "run_tasks", lambda *a: calls.append(a) or [])
    with pytest.raises(DecideError, match=r"a variant of this study would need .* demand.orders_per_day = 2e\+06"):
        rs.sweep(sc, design, progress=False, workers=1)
    assert calls == []


@pytest.mark.parametrize(
    ("study", "said"),
    [
        ("sweep", "this study would hold 1,000 design points (a scenario variant each): ~{1000}"),
        ("grid", "this study would hold 200 design points"),
        ("psa", "this study would hold 1,000 draws (a scenario variant each)"),
        ("sobol", "this study would hold 256 design points (a scenario variant each) and 256 runs"),
        ("optimize", "this study would hold 400 lever values (a scenario variant each) and 400 runs"),
        ("runs", "this study would hold 60 design points (a scenario variant each) and 12,000 runs: ~{60x200}"),
    ],
)
def test_a_study_too_large_for_memory_is_refused_before_its_design_is_built(monkeypatch, study, said):
    """A study holds every point's variant (and every run's row) until it ends: --points
    100000000 took all of a 24 GB machine's memory until the process was killed. With memory for
    100 points, each study refuses a larger design before building it (or, for runs, before
    adding its variants), saying how much it would hold; 10 points still run."""
    from returnsim.decide import designs
    from returnsim.decide.runner import BYTES_PER_POINT
    from returnsim.model import budget

    sc = _minimal()
    monkeypatch.setattr(budget, "available_memory", lambda: 100 * BYTES_PER_POINT)
    built, ran = [], []
    real = designs.unit_design
    monkeypatch.setattr(designs, "unit_design", lambda *a, **k: built.append(a) or real(*a, **k))
    from returnsim.experiment.budget import BYTES_PER_ROW

    said = said.replace("{1000}", budget.human_bytes(1000 * BYTES_PER_POINT) + " of memory")
    said = said.replace("{60x200}", budget.human_bytes(60 * (BYTES_PER_POINT + 200 * BYTES_PER_ROW)) + " of memory")
    room = re.escape(f"but {budget.human_bytes(100 * BYTES_PER_POINT)} is available; use fewer")
    with pytest.MonkeyPatch.context() as spy, pytest.raises(DecideError, match=re.escape(said) + ".*" + room):
        spy.setattr(rs.decide.runner, "run_tasks", lambda *a: ran.append(a) or [])
        if study == "sweep":
            rs.sweep(sc, points=1000, progress=False, workers=1)
        elif study == "grid":
            rs.sweep(sc, "grid", inputs=["costs.inspection"], points=200, progress=False, workers=1)
        elif study == "psa":
            rs.psa(sc, draws=1000, progress=False, workers=1)
        elif study == "sobol":
            rs.sobol_indices(sc, policies="base", base_samples=64, progress=False, workers=1)
        elif study == "optimize":  # two rounds of a 200-level grid
            rs.optimize(sc, "base", {"costs.inspection": (4, 12)}, levels=200, refine=1, replications=1, progress=False, workers=1)
        else:
            rs.sweep(sc, points=60, replications=100, progress=False, workers=1)
    assert ran == [] and (built == [] or study == "runs")
    small = rs.sweep(sc, points=10, policies=["base"], progress=False, workers=1)
    assert len(small.runs) == 10


@pytest.mark.parametrize(
    "damage",
    [lambda m: '{"orders": 1.0, ', lambda m: json.dumps({k: v for k, v in m.items() if k != "rdr"})],
    ids=["corrupt-json", "missing-metric"],
)
def test_a_study_recomputes_a_stored_row_it_cannot_read_in_full(tmp_path, damage):
    # The same rule as experiments (never a silent NaN, never a dead end): the row is named
    # in a warning and recomputed.
    from returnsim.experiment.replications import StoreWarning

    path = tmp_path / "sweep.sqlite"
    sc = _minimal()
    clean = rs.sweep(sc, "lhs", 3, seed=5, progress=False, workers=1, store=path)
    con = sqlite3.connect(path)  # (in Python: stored NaN is not JSON to SQLite's functions)
    with con:
        rowid, text = con.execute("SELECT min(rowid), metrics FROM runs WHERE policy = 'free' AND replication = 0").fetchone()
        con.execute("UPDATE runs SET metrics = ? WHERE rowid = ?", (damage(json.loads(text)), rowid))
    con.close()
    with pytest.warns(StoreWarning, match="policy 'free', replication 0"):
        again = rs.sweep(sc, "lhs", 3, seed=5, progress=False, workers=1, store=path)
    assert (again.computed, again.from_store) == (1, len(clean.runs) - 1)
    pd.testing.assert_frame_equal(again.runs, clean.runs, check_exact=True)
