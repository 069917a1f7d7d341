"""Issue 22, item 5: every study command (``run``, ``select``, ``sweep``, ``psa``, ``optimize``)
killed with ``kill -9`` half-way through, with a results store, resumes to exactly what an
uninterrupted run with the same seed gives: no replication lost, none simulated or counted twice.
And each study gives the same numbers on one process as on the engine's pool of two.

The kill is deterministic: a driver runs the real ``returnsim`` command with the store's
``add_runs`` wrapped so the process sends itself SIGKILL right after the k-th row is committed.
Horizons are tiny (20 days) so the whole file stays fast.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, SEED_SCENARIO, cli

SEED = str(SEED_SCENARIO)
TINY = ["--set", "horizon_days=20", "--workers", "1", "--no-progress", "--seed", "7"]
COMMANDS = {
    "run": ["run", SEED, "--replications", "6", "--policy", "seed", "--policy", "free_returns"],
    "select": [
        "select", SEED, "--indifference", "0.01", "--first-stage", "5", "--max-replications", "12",
        "--policy", "seed", "--policy", "free_returns", "--policy", "strict_buyer_pays",
    ],
    "sweep": ["sweep", SEED, "--points", "4", "--replications", "2", "--policy", "seed"],
    "psa": ["psa", SEED, "--draws", "4", "--replications", "2", "--policy", "seed", "--policy", "free_returns"],
    "optimize": ["optimize", SEED, "--policy", "seed", "--lever", "desk.staff=1:3", "--replications", "3"],
}

DRIVER = textwrap.dedent(
    """
    import atexit, os, signal, sys
    sys.path.insert(0, os.environ["TESTS_DIR"])
    from counted_store import counted
    from returnsim.experiment.store import ResultStore

    kill_after = int(os.environ.get("KILL_AFTER_ROWS", "0"))
    offered = 0

    def on_rows(n):
        global offered
        offered += n
        if kill_after and offered >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    ResultStore.add_runs = counted(ResultStore.add_runs, on_rows)
    atexit.register(lambda: open(os.environ["OFFERED_FILE"], "w").write(str(offered)))
    from returnsim.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _study(tmp: Path, command: str, store: Path, kill_after: int = 0) -> tuple[subprocess.CompletedProcess[str], int | None]:
    """Run the study command with ``--store``; returns the process and the rows it simulated
    (None when it was killed before it could say)."""
    driver = tmp / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    offered = tmp / f"offered-{store.stem}-{kill_after}.txt"
    offered.unlink(missing_ok=True)
    env = {**os.environ, "KILL_AFTER_ROWS": str(kill_after), "OFFERED_FILE": str(offered), "TESTS_DIR": str(Path(__file__).parent)}
    proc = subprocess.run(
        [sys.executable, str(driver), *COMMANDS[command], *TINY, "--store", str(store)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    return proc, int(offered.read_text()) if offered.exists() else None


def _rows(store: Path) -> pd.DataFrame:
    """Every stored run, full precision, in key order."""
    with sqlite3.connect(store) as con:
        rows = pd.read_sql_query("SELECT scenario_hash, policy, replication, seed, version, metrics FROM runs", con)
    rows["metrics"] = rows["metrics"].map(lambda m: json.dumps(json.loads(m), sort_keys=True))
    return rows.sort_values(["scenario_hash", "policy", "replication"]).reset_index(drop=True)


def _answer(stdout: str, store: Path) -> str:
    """What the command printed, without where the runs came from and how long they took."""
    text = stdout.replace(str(store), "STORE")
    text = re.sub(r"ran (in|on) [^;\n]*; \d+ replications read from STORE", "PROVENANCE", text)
    return re.sub(r"\d+ runs simulated, \d+ read from the store, [\d.]+ s", "PROVENANCE", text)


def _study_here(command: str, store: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[subprocess.CompletedProcess[str], int]:
    """The same study as :func:`_study` without a kill, in this process (only the killed one needs
    a process of its own: two interpreter starts fewer per command); returns the rows it
    simulated, counted as the driver counts them."""
    from counted_store import counted

    from returnsim.experiment.store import ResultStore

    offered: list[int] = []
    with monkeypatch.context() as m:
        m.setattr(ResultStore, "add_runs", counted(ResultStore.add_runs, offered.append))
        run = cli(*COMMANDS[command], *TINY, "--store", str(store))
    return run, sum(offered)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_killed_study_resumes_to_the_uninterrupted_result(tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch):
    whole, simulated = _study_here(command, tmp_path / "whole.sqlite", monkeypatch)
    assert whole.returncode == 0, whole.stderr
    expected = _rows(tmp_path / "whole.sqlite")
    n = len(expected)
    assert simulated == n and n >= 8  # the uninterrupted study simulated each of its runs once

    store = tmp_path / "resumed.sqlite"
    killed, _ = _study(tmp_path, command, store, kill_after=n // 2)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    kept = len(_rows(store))
    assert 0 < kept < n  # killed mid-way, with the runs committed so far in the store

    resumed, simulated = _study_here(command, store, monkeypatch)
    assert resumed.returncode == 0, resumed.stderr
    # nothing lost, nothing simulated twice: the resumed process simulated exactly the rest
    assert simulated == n - kept
    # the same runs, bit for bit, and the same answer as the study that was never interrupted
    pd.testing.assert_frame_equal(_rows(store), expected)
    assert _answer(resumed.stdout, store) == _answer(whole.stdout, tmp_path / "whole.sqlite")


# -- one process or a pool of two: the same numbers --------------------------------------------


def _tiny():
    import returnsim as rs

    return rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 20})


def _select(workers: int) -> pd.DataFrame:
    import returnsim as rs

    s = rs.select_best(
        _tiny(), ["seed", "free_returns", "strict_buyer_pays", "giveaway_small"], indifference=0.01,
        first_stage=5, max_replications=40, seed=7, workers=workers, progress=False,
    )
    # the decision and every replication it rests on
    return pd.concat([s.table.assign(selected=s.selected, stopped=s.stopped), s.runs], keys=["table", "runs"])


def _run(workers: int) -> pd.DataFrame:
    import returnsim as rs

    return rs.run_experiment(_tiny(), ["seed", "free_returns"], replications=8, seed=7, workers=workers, progress=False).runs


def _sweep(workers: int) -> pd.DataFrame:
    import returnsim as rs

    return rs.sweep(_tiny(), "lhs", 4, policies=["seed"], replications=2, seed=7, workers=workers, progress=False).runs


def _psa(workers: int) -> pd.DataFrame:
    import returnsim as rs

    res = rs.psa(_tiny(), 4, ["seed", "free_returns"], replications=2, seed=7, workers=workers, progress=False)
    return pd.concat([res.summary(), res.runs], keys=["summary", "runs"])


def _optimize(workers: int) -> pd.DataFrame:
    import returnsim as rs

    o = rs.optimize(_tiny(), "seed", ["desk.staff=1:3"], replications=3, levels=3, seed=7, workers=workers, progress=False)
    return pd.concat([o.curve.assign(best=o.value["desk.staff"], objective=o.objective), o.runs], keys=["curve", "runs"])


STUDIES = {"run": _run, "select": _select, "sweep": _sweep, "psa": _psa, "optimize": _optimize}


@pytest.mark.parametrize("study", list(STUDIES))
def test_one_process_and_a_pool_of_two_give_the_same_numbers(study: str, monkeypatch):
    from returnsim.experiment import executors

    # Tiny studies are less work than starting a pool is worth; make the engine start it anyway,
    # and record that it did, so the second run really is on two worker processes.
    monkeypatch.setattr(executors, "MIN_POOL_SECONDS", 0.0)
    pools: list[str] = []
    start = executors.Backend.start_pool

    def start_pool(self: executors.Backend) -> None:
        start(self)
        pools.append(self.name)

    monkeypatch.setattr(executors.Backend, "start_pool", start_pool)
    serial = STUDIES[study](1)
    assert pools == []
    pooled = STUDIES[study](2)
    assert pools and set(pools) == {"processes(2)"}
    pd.testing.assert_frame_equal(serial, pooled)


# -- one check of policy names -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "compare", "select", "sweep", "psa"])
@pytest.mark.parametrize(("policies", "message"), [
    (["sed"], "unknown policy 'sed'; did you mean 'seed'?"),
    (["seed", "seed"], "a policy is listed twice"),
])
def test_every_command_checks_policy_names_the_same_way(command: str, policies: list[str], message: str, capsys):
    from returnsim.cli import main

    extra = ["--baseline", "seed"] if command == "compare" else []
    argv = [command, SEED, *[a for p in policies for a in ("--policy", p)], *extra, "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "internal error" not in err, err
