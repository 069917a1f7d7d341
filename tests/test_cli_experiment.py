"""The command line for experiments: run, compare, resume after kill -9, user errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import MMC_SCENARIO, ROOT, SEED_SCENARIO, run_cli

import returnsim as rs

SHORT = ["--set", "horizon_days=20"]



def test_run_prints_means_with_cis_and_writes_files(capsys, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = run_cli(
        capsys, "run", str(SEED_SCENARIO), *SHORT, "--policy", "seed", "--policy", "free_returns",
        "--replications", "6", "--workers", "1", "--baseline", "seed", "--out", str(out_dir), "--full",
    )
    assert code == 0, err
    assert "2 policies x 6 replications, seed 0" in out
    assert "Key figures: mean ± 95 % CI half-width over 6 replications" in out
    assert "Paired differences, policy − seed" in out
    line = next(x for x in out.splitlines() if x.startswith("return and fulfilment cost per order"))
    assert line.count("±") == 2
    assert sorted(p.name for p in out_dir.iterdir()) == ["comparison.csv", "report.html", "runs.csv", "summary.csv", "tables.txt"]
    runs = pd.read_csv(out_dir / "runs.csv")
    assert len(runs) == 12 and runs["policy"].unique().tolist() == ["seed", "free_returns"]
    summary = pd.read_csv(out_dir / "summary.csv")
    assert list(summary.columns) == ["policy", "metric", "mean", "sd", "n", "ci_low", "ci_high"]
    assert "Paired differences" in (out_dir / "tables.txt").read_text(encoding="utf-8")


def test_compare_marks_significant_differences(capsys):
    code, out, err = run_cli(
        capsys, "compare", str(SEED_SCENARIO), *SHORT, "--baseline", "seed",
        "--policy", "free_returns", "--policy", "auto_authorise", "--replications", "8", "--workers", "1",
        "--full",
    )
    assert code == 0, err
    # Auto-authorising answers at once: its response time differs from the seed's beyond doubt.
    line = next(x for x in out.splitlines() if x.startswith("response time, mean (h)"))
    assert line.rstrip().endswith("***")
    assert "* p < 0.05, ** p < 0.01, *** p < 0.001" in out
    assert "Common random numbers cut the variance" in out
    # The marks are the paired-t p-values of the same experiment.
    sc = rs.load_scenario(SEED_SCENARIO, {"horizon_days": 20})
    exp = rs.run_experiment(sc, ["seed", "free_returns", "auto_authorise"], replications=8, workers=1, progress=False)
    p = exp.compare("seed", ["response_hours_mean"]).set_index("policy")["p_value"]
    assert p["auto_authorise"] < 0.001


def test_progress_bar_only_on_a_terminal_unless_asked(capsys):
    args = ["run", str(MMC_SCENARIO), "--set", "horizon_days=1", "--replications", "2", "--workers", "1"]
    code, _, err = run_cli(capsys, *args)  # captured stderr is not a terminal
    assert code == 0 and "replications:" not in err
    code, _, err = run_cli(capsys, *args, "--progress")
    assert code == 0 and "replications: 100%" in err
    code, _, err = run_cli(capsys, *args, "--no-progress")
    assert code == 0 and err == ""


def test_target_option(capsys):
    code, out, err = run_cli(
        capsys, "run", str(MMC_SCENARIO), "--set", "horizon_days=2", "--policy", "fifo",
        "--replications", "3", "--workers", "1", "--target", "desk_wait_hours_mean=1e-9",
        "--max-replications", "4",
    )
    assert code == 0, err
    assert "NOT met within --max-replications 4" in out and "rounds: 3, 4" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "{mmc}", "--replications", "0"], "expected a positive integer"),
        (["run", "{mmc}", "--workers", "0"], "expected a positive integer"),
        (["run", "{mmc}", "--seed", "-3"], "expected 0 <= seed"),
        (["run", "{mmc}", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with"),
        (["compare", "{mmc}"], "--baseline"),
        (["compare", "{mmc}", "--baseline", "nope"], "unknown baseline policy 'nope'"),
        (["compare", "{mmc}", "--baseline", "fifo", "--policy", "fifo"], "at least one policy besides"),
        (["run", "{mmc}", "--policy", "fifo", "--baseline", "deadline"], "not among the policies run"),
        (["run", "{mmc}", "--target", "desk_wait_hours_mean"], "--target expects METRIC=HALF_WIDTH"),
        (["run", "{mmc}", "--target", "nope=1"], "unknown metric 'nope'"),
        (["run", "{mmc}", "--store", "{tmp}"], "is a directory"),
        (["run", "{mmc}", "--store", "{junk}"], "results store"),
        (["run", "{mmc}", "--out", "{junk}"], "is a file"),
        (["run", "{tmp}/missing.toml"], "no such scenario file"),
        (["run", "{tmp}"], "is a folder; name the scenario file (.toml) in it"),
        (["validate", "{tmp}"], "is a folder; name the scenario file (.toml) in it"),
        (["run", "{mmc}", "--set", "desk.nope=1"], "desk.nope"),
    ],
)
def test_user_errors_exit_2_without_traceback(capsys, tmp_path, argv, message):
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a database" * 200)
    fill = {"mmc": str(MMC_SCENARIO), "tmp": str(tmp_path), "junk": str(junk)}
    argv = [a.format(**fill) for a in argv]
    if argv[0] == "run" and "--replications" not in argv:
        argv += ["--replications", "2", "--workers", "1", "--set", "horizon_days=1"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


# --------------------------------------------------------------------------------------------
# resume after kill -9
# --------------------------------------------------------------------------------------------


def _rows(path: Path) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(
            "SELECT scenario_hash, policy, replication, seed, version, metrics FROM runs "
            "ORDER BY scenario_hash, policy, replication, seed, version"
        ).fetchall()
    finally:
        con.close()


def _count(path: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        con.close()


def test_killed_run_resumes_to_exactly_the_uninterrupted_rows(tmp_path):
    """``kill -9`` a CLI run partway (polling its store from here, a concurrent reader), restart
    it, and compare with an uninterrupted run into another store: same keys, identical values,
    no duplicates."""
    policies = ["seed", "free_returns", "cost_optimal"]
    reps = 16
    total = reps * len(policies)
    args = [
        "run", str(SEED_SCENARIO), "--set", "horizon_days=60", "--replications", str(reps),
        "--seed", "5", "--no-progress",
    ]
    for p in policies:
        args += ["--policy", p]
    store = tmp_path / "killed.sqlite"
    cmd = [sys.executable, "-m", "returnsim", *args, "--store", str(store)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [*cmd, "--workers", "1"], cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    at_kill = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            at_kill = _count(store)
            if at_kill >= 5:
                break
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and anything it started
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    partial = _count(store)
    assert 5 <= partial < total, partial

    # Restart: the missing replications only.
    done = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"{partial} replications read from" in done.stdout

    other = tmp_path / "uninterrupted.sqlite"
    sc = rs.load_scenario(SEED_SCENARIO, {"horizon_days": 60})
    rs.run_experiment(sc, policies, replications=reps, seed=5, store=other, workers=1, progress=False)
    resumed, clean = _rows(store), _rows(other)
    assert len(resumed) == total
    assert len({r[:5] for r in resumed}) == total  # no duplicate keys
    assert resumed == clean  # same keys, identical values (JSON text of exact floats)


# --------------------------------------------------------------------------------------------
# Dask through the command line
# --------------------------------------------------------------------------------------------


def test_scheduler_option_runs_on_dask_and_closes_cleanly(tmp_path):
    """``--scheduler`` on a LocalCluster started here: identical numbers, and nothing on
    stderr (no tracebacks or warnings when the client closes)."""
    from distributed import LocalCluster

    args = [
        "run", str(MMC_SCENARIO), "--set", "horizon_days=5", "--replications", "6", "--seed", "3",
        "--no-progress", "--out",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        proc = subprocess.run(
            [sys.executable, "-m", "returnsim", *args, str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert f"ran on dask({cluster.scheduler_address})" in proc.stdout
    sc = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 5})
    local = rs.run_experiment(sc, replications=6, seed=3, workers=1, progress=False).runs
    remote = pd.read_csv(tmp_path / "dask" / "runs.csv")
    pd.testing.assert_frame_equal(remote, local, check_dtype=False, check_exact=True)


# --------------------------------------------------------------------------------------------
# no orphans
# --------------------------------------------------------------------------------------------


def test_workers_end_when_the_run_is_killed(tmp_path):
    """``kill -9`` of a ``--workers 2`` run: its pool workers and the multiprocessing resource
    tracker exit by themselves (they used to live on, about 270 MB, indefinitely)."""
    import psutil

    cmd = [
        sys.executable, "-m", "returnsim", "run", str(SEED_SCENARIO), "--set", "horizon_days=120",
        "--replications", "400", "--workers", "2", "--no-progress",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            children = parent.children(recursive=True)
            # two pool workers and the resource tracker
            if len(children) >= 3 and all(c.cpu_times().user > 0.5 for c in children if "resource_tracker" not in " ".join(c.cmdline())):
                break
            time.sleep(0.2)
        assert len(children) >= 3, "the pool never started"
        proc.kill()
        proc.wait()
        _, alive = psutil.wait_procs(children, timeout=60)  # a hang guard, not a speed claim
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
    finally:
        for p in children:
            if p.is_running():
                p.kill()


@pytest.mark.parametrize("command", ["run", "compare"])
def test_results_are_saved_before_anything_is_printed(tmp_path, command):
    # Output piped into a reader that stops early (`| head`) must end the printing, not the
    # saving: stdout is closed before the run prints anything (unbuffered, so the first print
    # meets the closed pipe), and every file in --out must still be there.
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "returnsim", command, str(SEED_SCENARIO), "--policy", "seed",
            "--policy", "free_returns", "--baseline", "seed", "--replications", "2", "--workers", "1",
            "--no-progress", "--out", str(out), *SHORT]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=600) == 141, err
    assert "Traceback" not in err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["comparison.csv", "report.html", "runs.csv", "summary.csv", "tables.txt"], names
    assert len(pd.read_csv(out / "runs.csv")) == 4
