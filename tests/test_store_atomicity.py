"""A write to the results store is all or nothing: a batch that fails half-way leaves no row.

A run that is killed or fails while committing replications must not leave half a batch behind
(a resumed run would then count some replications and recompute others in a different order).
SQLite refuses an integer it cannot store only when it reaches that row, after the rows before it
were inserted in the same transaction: exactly a failure half-way through a batch.
"""

from __future__ import annotations

import pytest

from returnsim.experiment.store import ResultStore


def test_a_batch_that_fails_half_way_leaves_nothing(tmp_path):
    with ResultStore(tmp_path / "s.sqlite") as store:
        good = {"policy": "p", "replication": 0, "seed": 0, "m": 1.0}
        bad = {"policy": "p", "replication": 2**70, "seed": 0, "m": 2.0}  # too large for SQLite
        with pytest.raises(OverflowError):
            store.add_runs("h", "v", [good, bad], ["m"])
        assert store.count() == 0
        assert store.add_runs("h", "v", [good], ["m"]) == 1  # the store still works
    with ResultStore(tmp_path / "s.sqlite", readonly=True) as again:
        assert [r["m"] for r in again.records("h")] == [1.0]
