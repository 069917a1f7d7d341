"""Issue 22, item 6: every public function checks its arguments and names the one that is
wrong; a path that does not exist names it; a report file of the wrong kind is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import minimal_raw

import returnsim as rs
from returnsim.calibrate import CalibrationError

SC = rs.parse_scenario(minimal_raw())
REPORTS = rs.shipped("examples/amazon_reports/synthetic_fba_returns.txt").parent


def _sqlite(tmp: Path) -> str:
    path = tmp / "runs.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("create table t(a)")
    return str(path)


def _binary(tmp: Path) -> str:
    path = tmp / "codes.toml"
    path.write_bytes(bytes(range(256)) * 4)
    return str(path)


CASES = {
    "net_return_cost_none": (lambda t: rs.net_return_cost(None), TypeError, "ledger"),
    "result_store_none": (lambda t: rs.ResultStore(None), TypeError, "ResultStore(path=...)"),
    "workers_text": (lambda t: rs.run_experiment(SC, replications=2, workers="x", progress=False), ValueError, "workers"),
    "select_policies_int": (lambda t: rs.select_best(SC, policies=-1), rs.DecideError, "policies"),
    "select_policies_typo": (lambda t: rs.select_best(SC, policies=["bse"]), rs.DecideError, "did you mean 'base'"),
    "sweep_inputs_int": (lambda t: rs.sweep(SC, inputs=-1), rs.DecideError, "inputs"),
    "calibrate_int": (lambda t: rs.calibrate(fba_returns=-1), CalibrationError, "fba_returns"),
    "calibrate_missing": (lambda t: rs.calibrate(fba_returns=str(t / "nope.txt")), CalibrationError, "nope.txt"),
    "calibrate_sqlite": (lambda t: rs.calibrate(fba_returns=_sqlite(t)), CalibrationError, "SQLite database"),
    "calibrate_binary_codes": (
        lambda t: rs.calibrate(fba_returns=str(REPORTS / "synthetic_fba_returns.txt"), codes=_binary(t)),
        CalibrationError,
        "codes",
    ),
    "load_scenario_missing": (lambda t: rs.load_scenario(t / "x"), rs.ScenarioError, "no such file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_wrong_argument_is_named(case: str, tmp_path: Path):
    call, error, words = CASES[case]
    with pytest.raises(error) as info:
        call(tmp_path)
    assert words in str(info.value), str(info.value)
