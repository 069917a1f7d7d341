"""The SQLite results store: exact values, one row per key, resumable, readable while written."""

from __future__ import annotations

import math
import sqlite3
import struct
import tempfile
import threading
from pathlib import Path

import pandas as pd
import pytest
from conftest import MMC_SCENARIO, SEED_SCENARIO, modules_not_hashed
from hypothesis import given, settings
from hypothesis import strategies as st

import returnsim as rs
from returnsim.experiment.store import ResultStore, StoreError, canonical_json, scenario_hash

MMC_SHORT = {"horizon_days": 3}


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _record(rep: int, **metrics: float) -> dict:
    return {"policy": "p", "replication": rep, "seed": 0, **metrics}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True), min_size=1, max_size=8))
def test_floats_round_trip_bit_for_bit(values):
    names = [f"m{i}" for i in range(len(values))]
    with tempfile.TemporaryDirectory() as tmp, ResultStore(Path(tmp) / "s.sqlite") as store:
        store.add_runs("h", "v", [_record(0, **dict(zip(names, values, strict=True)))], names)
        back = store.records("h")[0]
    for name, x in zip(names, values, strict=True):
        y = back[name]
        assert (math.isnan(x) and math.isnan(y)) or _bits(x) == _bits(y), (x, y)


def test_wal_mode_and_one_row_per_key(tmp_path):
    with ResultStore(tmp_path / "s.sqlite") as store:
        assert store.journal_mode == "wal"
        rec = _record(0, a=1.0)
        assert store.add_runs("h", "1.0", [rec], ["a"]) == 1
        assert store.add_runs("h", "1.0", [rec, _record(1, a=2.0)], ["a"]) == 1  # INSERT OR IGNORE
        # A different value under the same key is ignored too: the first committed row stands.
        assert store.add_runs("h", "1.0", [_record(0, a=99.0)], ["a"]) == 0
        assert [r["a"] for r in store.records("h")] == [1.0, 2.0]
        # Every part of the key separates rows.
        assert store.add_runs("h2", "1.0", [rec], ["a"]) == 1
        assert store.add_runs("h", "1.1", [rec], ["a"]) == 1
        assert store.add_runs("h", "1.0", [{**rec, "seed": 5}], ["a"]) == 1
        assert store.add_runs("h", "1.0", [{**rec, "policy": "q"}], ["a"]) == 1
        assert store.count() == 6
    con = sqlite3.connect(tmp_path / "s.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        con.execute(
            "INSERT INTO runs VALUES ('h', 'p', 0, 0, '1.0', '{}', 'now')"
        )
    con.close()


def test_scenario_hash_is_canonical():
    a = rs.load_scenario(SEED_SCENARIO)
    assert scenario_hash(a) == scenario_hash(rs.load_scenario(SEED_SCENARIO))
    # An override to the value already there is the same scenario; another value is not.
    assert scenario_hash(rs.load_scenario(SEED_SCENARIO, {"desk.staff": a.desk.staff})) == scenario_hash(a)
    assert scenario_hash(rs.load_scenario(SEED_SCENARIO, {"desk.staff": a.desk.staff + 1})) != scenario_hash(a)
    # The hash is of the validated model: the dict dump and the model agree.
    assert scenario_hash(a.model_dump(mode="json", by_alias=True)) == scenario_hash(a)
    assert rs.Scenario.model_validate_json(canonical_json(a)) == a


def test_rerun_reads_back_and_runs_only_missing(tmp_path):
    sc = rs.load_scenario(MMC_SCENARIO, MMC_SHORT)
    path = tmp_path / "s.sqlite"
    first = rs.run_experiment(sc, replications=4, seed=9, store=path, workers=1, progress=False)
    assert (first.computed, first.from_store) == (8, 0)
    again = rs.run_experiment(sc, replications=4, seed=9, store=path, workers=1, progress=False)
    assert (again.computed, again.from_store) == (0, 8)
    more = rs.run_experiment(sc, replications=6, seed=9, store=path, workers=1, progress=False)
    assert (more.computed, more.from_store) == (4, 8)
    fresh = rs.run_experiment(sc, replications=6, seed=9, workers=1, progress=False)
    pd.testing.assert_frame_equal(more.runs, fresh.runs, check_exact=True)
    pd.testing.assert_frame_equal(again.runs, first.runs, check_exact=True)
    with ResultStore(path) as store:
        assert store.count() == 12
        exps = store.experiments()
        assert exps["replications"].tolist() == [6, 6] and set(exps["name"]) == {sc.name}
        assert store.scenario(first.scenario_hash) == sc.model_dump(mode="json", by_alias=True)


def test_changed_scenario_seed_or_version_never_mixes(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    sc = rs.load_scenario(MMC_SCENARIO, MMC_SHORT)
    kw = {"replications": 2, "store": path, "workers": 1, "progress": False, "policies": ["fifo"]}
    base = rs.run_experiment(sc, seed=1, **kw)
    other = rs.run_experiment(rs.load_scenario(MMC_SCENARIO, {**MMC_SHORT, "desk.staff": 4}), seed=1, **kw)
    assert other.computed == 2 and other.scenario_hash != base.scenario_hash
    assert rs.run_experiment(sc, seed=2, **kw).computed == 2
    from returnsim.experiment.fingerprint import model_version

    version = model_version()  # the package version plus the model source's hash
    assert version.startswith(rs.__version__ + "+")
    monkeypatch.setattr("returnsim.experiment.fingerprint.model_version", lambda: "999.0")
    assert rs.run_experiment(sc, seed=1, **kw).computed == 2
    with ResultStore(path) as store:
        assert store.count() == 8
        assert store.count(base.scenario_hash) == 6
        assert sorted(store.runs(base.scenario_hash)["version"].unique()) == sorted([version, "999.0"])


def test_the_version_key_hashes_everything_a_simulation_runs_and_reads():
    """The store's version key must change with any code or shipped data that decides a
    simulated number, or a resume would mix rows of the old model with the new: every module of
    the model, the scenario and ``amazon`` that a replication runs (in a fresh process), and the
    data files the scenario package ships (the marketplaces' profiles, which a scenario names
    by code and does not hold, were once left out)."""
    from returnsim.experiment.fingerprint import _SOURCES, package_files

    run = f"import returnsim as rs\nfrom returnsim.experiment.fingerprint import _SOURCES\nrs.simulate(rs.load_scenario({str(SEED_SCENARIO)!r}), 'seed', seed=1)"
    checked, missing = modules_not_hashed(run, ("returnsim.model.", "returnsim.scenario.", "returnsim.amazon"), "_SOURCES")
    assert checked >= 20 and missing == []  # (the model ran)
    data = [p for p in Path(rs.scenario.__file__).parent.iterdir() if p.is_file() and p.suffix != ".py"]
    assert data and set(data) <= set(package_files(_SOURCES))


def test_reader_is_not_blocked_by_an_open_write(tmp_path):
    """WAL: a reader sees the last committed state while a write transaction is open."""
    path = tmp_path / "s.sqlite"
    with ResultStore(path) as store:
        store.add_runs("h", "v", [_record(0, a=1.0)], ["a"])
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO runs VALUES ('h', 'p', 1, 0, 'v', '{\"a\": 2.0}', 'now')")
    with ResultStore(path, readonly=True, timeout=0.5) as reader:
        assert reader.count() == 1  # immediately, not "database is locked"
        writer.execute("COMMIT")
        assert reader.count() == 2
    writer.close()


def test_concurrent_reader_while_an_experiment_writes(tmp_path):
    """A notebook polling the store while a run commits replication by replication."""
    path = tmp_path / "s.sqlite"
    sc = rs.load_scenario(MMC_SCENARIO, MMC_SHORT)
    ResultStore(path).close()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            rs.run_experiment(sc, replications=40, seed=4, store=path, workers=1, progress=False)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    t = threading.Thread(target=write)
    seen = []
    with ResultStore(path, readonly=True) as reader:
        t.start()
        while t.is_alive():
            seen.append(reader.count())
        t.join()
        seen.append(reader.count())
    assert not errors
    assert seen == sorted(seen) and seen[-1] == 80


def test_not_a_store_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    with ResultStore(path) as store:
        store._con.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    with pytest.raises(StoreError, match="layout 0"):
        ResultStore(path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not an SQLite database"):
        ResultStore(junk)
