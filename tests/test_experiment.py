"""Experiments: common random numbers, executors, confidence intervals, paired comparisons.

Every test uses fixed seeds. Statistical assertions take their tolerance from the run's own
confidence interval or from a stated binomial / structural argument, never from a tuned constant.
"""

from __future__ import annotations

import math
import multiprocessing
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from conftest import MMC_SCENARIO, SEED_SCENARIO
from scipy import stats

import returnsim as rs
from returnsim import experiment as ex
from returnsim.experiment import executors as exe
from returnsim.experiment.statistics import paired_differences, summarize

SHORT = {"horizon_days": 20}
"""A short seed scenario: every stage of the model, about 10 ms a replication."""
POLICIES = ["free_returns", "seed", "cost_optimal"]
"""Not in the file's order, so row order is checked to follow the order given."""


@pytest.fixture(scope="module")
def short_seed() -> rs.Scenario:
    return rs.load_scenario(SEED_SCENARIO, SHORT)


@pytest.fixture(scope="module")
def serial_runs(short_seed) -> pd.DataFrame:
    res = rs.run_experiment(short_seed, POLICIES, replications=10, seed=11, workers=1, progress=False)
    assert res.executor == "serial"
    return res.runs


def spawn_pool(n: int = 2) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))


# --------------------------------------------------------------------------------------------
# runs: shape, seeds, common random numbers
# --------------------------------------------------------------------------------------------


def test_runs_are_tidy_and_ordered(serial_runs):
    runs = serial_runs
    assert list(runs.columns) == ["policy", "replication", "seed", *rs.KPI_NAMES, *rs.CATEGORIES]
    assert runs["policy"].tolist() == [p for p in POLICIES for _ in range(10)]
    assert runs["replication"].tolist() == list(range(10)) * 3
    assert (runs["seed"] == 11).all()
    assert all(runs[m].dtype == np.float64 for m in ex.METRICS)


def test_replication_r_is_simulate_with_seedsequence_seed_r(short_seed, serial_runs):
    """Row (policy, r) is exactly simulate(..., seed=SeedSequence([seed, r]))."""
    for policy, r in [("seed", 0), ("cost_optimal", 7)]:
        run = rs.simulate(short_seed, policy, seed=np.random.SeedSequence([11, r]))
        row = serial_runs[(serial_runs["policy"] == policy) & (serial_runs["replication"] == r)].iloc[0]
        assert {k: row[k] for k in rs.KPI_NAMES} == pytest.approx(run.kpis, abs=0, rel=0, nan_ok=True)
        assert {c: row[c] for c in rs.CATEGORIES} == run.ledger


def test_policies_share_orders_under_common_random_numbers():
    """Without retention feedback, replication r of every policy has the same orders and
    requests (one shared stream), and different replications differ."""
    sc = rs.load_scenario(SEED_SCENARIO, {**SHORT, "retention.feedback_into_demand": False})
    runs = rs.run_experiment(sc, POLICIES, replications=4, seed=1, workers=1, progress=False).runs
    for col in ("orders", "return_requests"):
        wide = runs.pivot(index="replication", columns="policy", values=col)
        assert (wide.nunique(axis=1) == 1).all(), col
        assert wide[POLICIES[0]].nunique() > 1, col


# --------------------------------------------------------------------------------------------
# executors: the same seed gives bit-identical runs wherever it ran
# --------------------------------------------------------------------------------------------


def test_scenario_dict_round_trips_and_pickles():
    """The work function ships ``model_dump(mode="json", by_alias=True)``; it must validate back
    to an equal scenario (and the Scenario object pickles too)."""
    for path in (SEED_SCENARIO, MMC_SCENARIO):
        sc = rs.load_scenario(path)
        dumped = sc.model_dump(mode="json", by_alias=True)
        assert rs.Scenario.model_validate(dumped) == sc
        assert rs.Scenario.model_validate(dumped).model_dump(mode="json", by_alias=True) == dumped
        assert pickle.loads(pickle.dumps(sc)) == sc


def test_work_function_same_in_process_and_spawned(short_seed):
    """run_batch gives the same records from a Scenario or its dict, here or in a spawned worker."""
    tasks = [("seed", 0), ("free_returns", 1)]
    dumped = short_seed.model_dump(mode="json", by_alias=True)
    local = ex.run_batch(short_seed, 5, tasks)
    assert ex.run_batch(dumped, 5, tasks) == local
    with spawn_pool(1) as pool:
        assert pool.submit(ex.run_batch, dumped, 5, tasks).result() == local
        assert pool.submit(ex.run_batch, short_seed, 5, tasks).result() == local


def test_a_worker_imports_the_model_not_pandas():
    """What a spawned worker imports to run its tasks (unpickling the engine's and the studies'
    work functions and the pool's initializer) is the model: not pandas, pyarrow, matplotlib or
    scipy.stats, which cost each worker of every pool about 0.7 s of CPU and 60 MB."""
    from returnsim.decide.runner import run_tasks
    from returnsim.experiment.replications import run_batch

    payload = pickle.dumps((run_batch, run_tasks, exe.WATCH_INITIALIZER))
    heavy = ("pandas", "pyarrow", "matplotlib")
    code = (
        "import pickle, sys\n"
        f"pickle.loads({payload!r})\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m.startswith('scipy.stats')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_process_pools_give_identical_runs(short_seed, serial_runs, monkeypatch):
    # The engine's own pool (forced on for this small job, one task per batch so results
    # arrive out of order) ...
    monkeypatch.setattr(exe, "MIN_POOL_SECONDS", 0.0)
    monkeypatch.setattr(exe, "MAX_TASK_SECONDS", 0.0)
    own = rs.run_experiment(short_seed, POLICIES, replications=10, seed=11, workers=2, progress=False)
    assert own.executor == "processes(2)"
    pd.testing.assert_frame_equal(own.runs, serial_runs, check_exact=True)
    monkeypatch.undo()
    # ... and any other executor, with the default batching. (A caller's spawn pool runs the
    # work function in test_work_function_same_in_process_and_spawned.)
    with ThreadPoolExecutor(2) as pool:
        threads = rs.run_experiment(short_seed, POLICIES, replications=10, seed=11, executor=pool, progress=False)
    pd.testing.assert_frame_equal(threads.runs, serial_runs, check_exact=True)


def test_dask_local_cluster_gives_identical_runs(short_seed, serial_runs, monkeypatch):
    """A two-process LocalCluster, through ``scheduler=`` and through ``client.get_executor()``.

    Dask is a test dependency (``make test`` installs the ``dask`` extra): if it is missing this
    test fails rather than skips.
    """
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.setattr(exe, "MAX_TASK_SECONDS", 0.0)  # one task per batch
        by_address = rs.run_experiment(
            short_seed, POLICIES, replications=10, seed=11, scheduler=cluster.scheduler_address, progress=False
        )
        monkeypatch.undo()
        assert by_address.executor == f"dask({cluster.scheduler_address})"
        pd.testing.assert_frame_equal(by_address.runs, serial_runs, check_exact=True)
        with Client(cluster) as client:
            executor = client.get_executor()
            given = rs.run_experiment(short_seed, POLICIES, replications=10, seed=11, executor=executor, progress=False)
            executor.shutdown()
        pd.testing.assert_frame_equal(given.runs, serial_runs, check_exact=True)


def test_batches_respect_overhead_floor_and_cap():
    tasks = [("p", r) for r in range(1000)]
    # 10 ms tasks, 5 ms overhead: at least 100 x 5 ms = 0.5 s = 50 tasks per batch ...
    batches = exe.plan_batches(tasks, 0.010, workers=2, overhead=5e-3)
    assert [t for b in batches for t in b] == tasks
    assert all(len(b) >= 50 for b in batches[:-1])
    # ... and at most MAX_TASK_SECONDS of work, so results reach the store often.
    assert all(len(b) * 0.010 <= exe.MAX_TASK_SECONDS for b in batches)
    # Long tasks are never merged.
    assert all(len(b) == 1 for b in exe.plan_batches(tasks[:10], 3.0, workers=2, overhead=5e-3))


def test_work_below_a_pool_startup_runs_in_process(short_seed):
    res = rs.run_experiment(short_seed, ["seed"], replications=3, workers=2, progress=False)
    assert res.executor == "serial"


def test_script_without_main_guard_gets_a_clear_error(tmp_path):
    """Spawned workers re-import the main script; an unguarded script breaks the pool, and the
    error says how to fix it."""
    import subprocess

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import returnsim as rs, returnsim.experiment.executors as ex\n"
        "ex.MIN_POOL_SECONDS = 0.0\n"
        f"sc = rs.load_scenario({str(MMC_SCENARIO)!r}, {{'horizon_days': 2}})\n"
        "rs.run_experiment(sc, replications=4, workers=2, progress=False)\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "if __name__ == '__main__':" in proc.stderr


# --------------------------------------------------------------------------------------------
# summaries and comparisons
# --------------------------------------------------------------------------------------------


def _frame(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for pol, xs in values.items():
        for r, x in enumerate(xs):
            rows.append({"policy": pol, "replication": r, "seed": 0, "m": x})
    return pd.DataFrame(rows)


def test_summary_is_student_t():
    xs = [1.0, 2.0, 4.0, 7.0]
    s = summarize(_frame({"a": xs}))
    assert list(s.columns) == ["policy", "metric", "mean", "sd", "n", "ci_low", "ci_high"]
    row = s.iloc[0]
    lo, hi = stats.t.interval(0.95, 3, loc=np.mean(xs), scale=stats.sem(xs))
    assert (row["mean"], row["n"]) == (3.5, 4)
    assert row["sd"] == pytest.approx(np.std(xs, ddof=1), rel=1e-15)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-12)


def test_compare_is_a_paired_t_test_with_variance_reduction():
    a = [10.0, 12.0, 15.0, 11.0, 20.0]
    b = [10.5, 12.1, 15.9, 11.2, 20.8]
    c = paired_differences(_frame({"a": a, "b": b}), "a").iloc[0]
    d = np.subtract(b, a)
    assert c["mean_diff"] == pytest.approx(d.mean(), rel=1e-12)
    assert c["p_value"] == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-9)
    lo, hi = stats.t.interval(0.95, 4, loc=d.mean(), scale=stats.sem(d))
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((lo, hi), rel=1e-12)
    assert c["variance_reduction"] == pytest.approx(
        (np.var(a, ddof=1) + np.var(b, ddof=1)) / np.var(d, ddof=1), rel=1e-12
    )


def test_common_random_numbers_cut_paired_variance():
    """Seed vs free returns on the seed scenario: var(a) + var(b) over var(a - b) > 4.

    Why 4: the ratio is 1 / (1 - rho), rho the correlation of the two policies' net return cost
    per order across replications. Both policies see the same base orders, the same return
    requests (prices, reasons, conditions) and the same buyer draws; replication-to-replication
    variation in cost per order comes mostly from how many orders are returned and at what
    price, which they share, while the policies differ in who pays freight and what that does
    to buyer choices. Over 60 days, purchases fed back by retention (which the policies change,
    so they are not shared) are a small share of orders. So rho should be well above 0.75, a
    factor above 4. Measured: about 33 with these 20 replications (55 with retention feedback
    off); the estimate of a ratio that size cannot fall to 4 by sampling error alone
    (F(0.999; 19, 19) is about 4.1). Unpaired, the same precision would cost that many times
    more replications.
    """
    sc = rs.load_scenario(SEED_SCENARIO, {"horizon_days": 60})
    res = rs.run_experiment(sc, ["seed", "free_returns"], replications=20, seed=3, workers=1, progress=False)
    c = res.compare("seed", ["net_return_cost_per_order"]).iloc[0]
    assert c["variance_reduction"] > 4
    # The paired interval is the narrower one, by the square root of that factor.
    runs = res.runs
    a = runs.loc[runs["policy"] == "free_returns", "net_return_cost_per_order"].to_numpy()
    b = runs.loc[runs["policy"] == "seed", "net_return_cost_per_order"].to_numpy()
    welch = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (c["ci_high"] - c["ci_low"]) < (welch.high - welch.low) / 2


def test_compare_default_baseline_and_unknown(serial_runs, short_seed):
    res = ex.ExperimentResult(serial_runs, POLICIES, 11, 10, "x")
    c = res.compare()
    assert set(c["baseline"]) == {"free_returns"}
    assert c["policy"].unique().tolist() == ["seed", "cost_optimal"]
    with pytest.raises(KeyError, match="unknown baseline 'nope'"):
        res.compare("nope")


# --------------------------------------------------------------------------------------------
# precision targets
# --------------------------------------------------------------------------------------------


def _half_width(runs: pd.DataFrame, policy: str, metric: str, n: int) -> float:
    x = runs[(runs["policy"] == policy) & (runs["replication"] < n)][metric]
    return float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))


def test_target_half_width_stops_when_reached():
    sc = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 10})
    goal = 0.04  # hours; one 10-day replication has sd ~0.08 h, so 5 are not enough
    res = rs.run_experiment(
        sc, replications=5, seed=2, workers=1, progress=False,
        target_half_width={"desk_wait_hours_mean": goal},
    )
    assert res.stopped_reason == "target_reached"
    assert len(res.rounds) >= 2 and res.rounds[-1] == res.replications
    for p in res.policies:
        assert _half_width(res.runs, p, "desk_wait_hours_mean", res.replications) <= goal
    # It stopped at the first round that met the target: the round before had not.
    prev = res.rounds[-2]
    assert max(_half_width(res.runs, p, "desk_wait_hours_mean", prev) for p in res.policies) > goal
    assert len(res.runs) == res.replications * len(res.policies)


def test_target_half_width_reports_the_cap():
    sc = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 5})
    with pytest.warns(ex.PrecisionWarning, match="max_replications=6"):
        res = rs.run_experiment(
            sc, ["fifo"], replications=3, seed=2, workers=1, progress=False,
            target_half_width={"desk_wait_hours_mean": 1e-9}, max_replications=6,
        )
    assert res.stopped_reason == "max_replications"
    assert res.replications == 6 and res.rounds[-1] == 6
    assert "desk_wait_hours_mean for fifo" in res.notes[0]


def test_without_target_the_reason_is_replications(serial_runs):
    sc = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 2})
    res = rs.run_experiment(sc, ["fifo"], replications=2, workers=1, progress=False)
    assert res.stopped_reason == "replications" and res.rounds == [2]


# --------------------------------------------------------------------------------------------
# arguments, progress, files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"policies": ["nope"]}, KeyError, "unknown policy 'nope'"),
        ({"policies": ["fifo", "fifo"]}, ValueError, "listed twice"),
        ({"replications": 0}, ValueError, "replications must be a positive integer"),
        ({"seed": -1}, ValueError, "seed must be in"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"workers": 0}, ValueError, "workers must be a positive integer"),
        ({"target_half_width": {"nope": 1.0}}, ValueError, "unknown metric 'nope'"),
        ({"target_half_width": {"orders": -1}}, ValueError, "positive number"),
        ({"executor": object(), "scheduler": "tcp://x:1"}, ValueError, "not both"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    sc = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 1})
    with pytest.raises(error, match=match):
        rs.run_experiment(sc, **{"progress": False, **kwargs})


def test_progress_bar_on_and_off(capsys):
    sc = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 1})
    rs.run_experiment(sc, replications=3, workers=1, progress=True)
    err = capsys.readouterr().err
    assert "replications" in err and "6/6" in err
    rs.run_experiment(sc, replications=3, workers=1, progress=False)
    assert capsys.readouterr().err == ""


def test_files_round_trip(tmp_path, serial_runs):
    res = ex.ExperimentResult(serial_runs, POLICIES, 11, 10, "x")
    written = res.to_csv(tmp_path / "csv", baseline="seed")
    assert sorted(p.name for p in written) == ["comparison.csv", "runs.csv", "summary.csv"]
    back = pd.read_csv(tmp_path / "csv" / "runs.csv")
    for m in ex.METRICS:  # 17 significant digits: every float reads back exactly
        assert np.array_equal(back[m].to_numpy(), serial_runs[m].to_numpy(), equal_nan=True), m
    comp = pd.read_csv(tmp_path / "csv" / "comparison.csv")
    assert set(comp["baseline"]) == {"seed"}
    written = res.to_parquet(tmp_path / "pq")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "pq" / "runs.parquet"), serial_runs, check_dtype=False, check_exact=True
    )


def test_parquet_without_pyarrow_says_so(tmp_path, serial_runs, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    res = ex.ExperimentResult(serial_runs, POLICIES, 11, 10, "x")
    with pytest.raises(ImportError, match="needs pyarrow.*to_csv works"):
        res.to_parquet(tmp_path)


def test_no_global_start_method_change():
    """Importing returnsim leaves the global start method unset, and running on the engine's
    spawn pool leaves it at the platform default. (Starting any process makes the standard
    library fix the default method to the platform's own; nothing here sets another one.)"""
    import subprocess

    code = (
        "import multiprocessing as mp, returnsim as rs, returnsim.experiment.executors as ex\n"
        "if __name__ == '__main__':\n"
        "    print(mp.get_start_method(allow_none=True))\n"
        "    ex.MIN_POOL_SECONDS = 0.0\n"
        f"    sc = rs.load_scenario({str(MMC_SCENARIO)!r}, {{'horizon_days': 1}})\n"
        "    r = rs.run_experiment(sc, replications=2, workers=2, progress=True)\n"
        "    print(r.executor, mp.get_start_method(allow_none=True) in (None, mp.get_all_start_methods()[0]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["None", "processes(2)", "True"]


# --------------------------------------------------------------------------------------------
# validation: confidence intervals that mean what they say
# --------------------------------------------------------------------------------------------


def _erlang_c(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float]:
    """(P(wait), Wq in hours) of M/M/c, from the textbook formula (independent of analytic.py)."""
    a = arrival_rate / service_rate
    rho = a / servers
    top = a**servers / math.factorial(servers) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait, p_wait / (servers * service_rate - arrival_rate)


@pytest.mark.slow
def test_ci_coverage_of_erlang_c_wait():
    """200 experiments of 5 replications: the 95 % CI of desk_wait_hours_mean covers Erlang C's
    Wq in 179 to 198 of them: the central 99.9 % of Binomial(200, 0.95), computed below
    (P(X < 179) and P(X > 198) are each under 0.0005).

    Experiment j is replications 5j..5j+4 of one call: replication r is simulated from
    SeedSequence([seed, r]), so the 200 groups are independent experiments with distinct seeds;
    one call lets the engine spread them over the cores.

    Horizon: 60 days. The M/M/3 desk (lambda = 100/24 per hour, mu = 2 per hour, rho = 0.69)
    starts empty, which biases the mean wait down; the bias dies out with the queue's relaxation
    time, about 1 / (c mu (1 - sqrt(rho))^2) = 6 h, so over 1,440 hours of arrivals it is of
    order 6 / 1440 = 0.4 % of Wq (measured: 0.7 %, z = -2.4 over 2,000 replications), while one
    experiment's CI half-width is about 17 % of Wq. Coverage loss from the bias is then under
    0.3 points; the right skew of the replication means (skewness ~0.5) costs about one more
    (measured coverage 94.0 % over 400 experiments), well inside the acceptance region. A
    shorter horizon halves the time but doubles the bias-to-noise ratio and raises the skew.
    """
    sc = rs.load_scenario(MMC_SCENARIO)  # 60 days
    assert sc.horizon_days == 60 and sc.desk.staff == 3
    lam = sc.demand.orders_per_day / 24
    mu = 60 / sc.model_dump(mode="json", by_alias=True)["desk"]["handling_minutes"]["mean"]
    _, wq = _erlang_c(lam, mu, sc.desk.staff)
    try:
        from returnsim.analytic import erlang_c

        assert erlang_c(lam, mu, sc.desk.staff)[1] == pytest.approx(wq, rel=1e-12)
    except ImportError:  # analytic.py is optional here; the formula above is the reference
        pass
    n_exp, k = 200, 5
    res = rs.run_experiment(sc, ["fifo"], replications=n_exp * k, seed=20240611, progress=False)
    runs = res.runs.assign(experiment=res.runs["replication"] // k)
    covered = 0
    for _, part in runs.groupby("experiment"):
        s = summarize(part, ["desk_wait_hours_mean"]).iloc[0]
        assert s["n"] == k
        covered += bool(s["ci_low"] <= wq <= s["ci_high"])
    lo, hi = stats.binom.ppf(0.0005, n_exp, 0.95), stats.binom.isf(0.0005, n_exp, 0.95)
    assert (lo, hi) == (179, 198)
    assert lo <= covered <= hi, f"CI covered Erlang C's Wq in {covered} of {n_exp} experiments"
