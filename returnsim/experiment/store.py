"""The results store: a SQLite file that remembers every finished replication.

Think of it as a lab notebook that is written in ink as each measurement is taken. Every row is
one replication of one policy, keyed by *what was simulated* (a hash of the validated scenario),
the policy, the replication number, the base seed and the returnsim version that produced it.
A run that is interrupted (even by ``kill -9``) leaves only whole, committed rows behind; run it
again and the experiment reads those rows back and simulates only what is missing. A changed
scenario has a different hash, so its rows never mix with old ones; a new returnsim version
recomputes rather than trusting numbers from older code.

The file is in WAL mode, so readers (a notebook plotting progress) work while a writer appends,
and ``INSERT OR IGNORE`` under a ``UNIQUE`` key means two writers, or a re-run, never duplicate a
row. Metric values are stored as a JSON object whose floats are written with Python's shortest
round-trip ``repr``, so every value reads back bit for bit (NaN and infinities included).

Durability: ``synchronous=NORMAL`` in WAL mode loses nothing when the *process* dies. After an
operating-system crash or power loss the last few commits may be rolled back, but the file stays
consistent, and a re-run simply recomputes those replications.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..scenario import Scenario

__all__ = ["ResultStore", "StoreError", "scenario_hash", "canonical_json", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
"""Bumped when the table layout changes; a store of another layout is refused, not guessed at."""

_KEY = ("scenario_hash", "policy", "replication", "seed", "version")

_DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scenarios (
    scenario_hash TEXT PRIMARY KEY,
    name          TEXT,
    scenario      TEXT NOT NULL,   -- canonical JSON of the validated scenario
    added         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    scenario_hash TEXT    NOT NULL,
    policy        TEXT    NOT NULL,
    replication   INTEGER NOT NULL,
    seed          INTEGER NOT NULL,  -- base seed: the run used SeedSequence([seed, replication])
    version       TEXT    NOT NULL,  -- returnsim version that computed the row
    metrics       TEXT    NOT NULL,  -- JSON object {metric: value}, floats exact
    finished      TEXT    NOT NULL,  -- UTC time the row was committed
    UNIQUE (scenario_hash, policy, replication, seed, version)
);
"""


def canonical_json(scenario: Scenario | Mapping[str, Any]) -> str:
    """A canonical JSON text of a validated scenario (the input of :func:`scenario_hash`).

    Keys keep the model's order (declaration order for fields, file order for named tables such
    as the catalog) because that order is meaningful: it fixes which random draw goes to which
    item class. Two files that validate to the same model give the same text.
    """
    data = scenario if isinstance(scenario, Mapping) else scenario.model_dump(mode="json", by_alias=True)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def scenario_hash(scenario: Scenario | Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`: the identity of what was simulated."""
    return hashlib.sha256(canonical_json(scenario).encode("ascii")).hexdigest()


def _dumps_metrics(values: Mapping[str, Any]) -> str:
    out = {k: float(v) for k, v in values.items()}
    # json writes floats with repr(), the shortest text that reads back to the same double;
    # NaN and infinities are written as NaN / Infinity and read back by json.loads.
    return json.dumps(out, separators=(",", ":"), allow_nan=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StoreError(RuntimeError):
    """The file is not a returnsim store of a layout this version understands."""


class ResultStore:
    """A SQLite results store (see the module docstring).

    Args:
        path: the database file; created with its tables if missing.
        timeout: seconds to wait for another writer's lock before giving up.
        readonly: open for reading only (a notebook watching a running sweep).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path, *, timeout: float = 60.0, readonly: bool = False) -> None:
        self.path = Path(path)
        """The database file."""
        if readonly:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            self._con = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if not readonly:
            self._con.execute("PRAGMA journal_mode = WAL")
            self._con.execute("PRAGMA synchronous = NORMAL")
            with self._transaction():
                for stmt in filter(str.strip, _DDL.split(";")):
                    self._con.execute(stmt)
                row = self._con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is None:
                    self._con.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                    )
                elif row[0] != str(SCHEMA_VERSION):
                    raise StoreError(
                        f"{self.path}: results store layout {row[0]}, this returnsim reads layout "
                        f"{SCHEMA_VERSION}; use a new store file"
                    )

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: taken at once (``BEGIN IMMEDIATE``), committed or rolled back."""
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield self._con
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (committed rows are already on disk)."""
        self._con.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode of the file (``"wal"`` for a store this module created)."""
        return str(self._con.execute("PRAGMA journal_mode").fetchone()[0])

    # -- writing -------------------------------------------------------------------------------

    def add_scenario(self, scenario: Scenario | Mapping[str, Any], name: str | None = None) -> str:
        """Record a scenario's canonical JSON under its hash; returns the hash."""
        text = canonical_json(scenario)
        key = hashlib.sha256(text.encode("ascii")).hexdigest()
        if name is None and isinstance(scenario, Mapping):
            name = scenario.get("name")
        elif name is None:
            name = getattr(scenario, "name", None)
        with self._transaction() as con:
            con.execute(
                "INSERT OR IGNORE INTO scenarios (scenario_hash, name, scenario, added) VALUES (?, ?, ?, ?)",
                (key, name, text, _now()),
            )
        return key

    def add_runs(
        self,
        scenario_hash: str,
        version: str,
        records: Iterable[Mapping[str, Any]],
        metrics: Sequence[str],
    ) -> int:
        """Commit finished replications in one transaction; returns how many rows were new.

        Each record has ``policy``, ``replication``, ``seed`` and a value for every name in
        ``metrics``. A row whose key is already stored is left as it is (``INSERT OR IGNORE``).
        """
        rows = [
            (
                scenario_hash,
                str(r["policy"]),
                int(r["replication"]),
                int(r["seed"]),
                version,
                _dumps_metrics({m: r[m] for m in metrics}),
                _now(),
            )
            for r in records
        ]
        if not rows:
            return 0
        with self._transaction() as con:
            before = con.total_changes
            con.executemany(
                "INSERT OR IGNORE INTO runs (scenario_hash, policy, replication, seed, version, "
                "metrics, finished) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return con.total_changes - before

    # -- reading -------------------------------------------------------------------------------

    def records(
        self,
        scenario_hash: str | None = None,
        *,
        seed: int | None = None,
        version: str | None = None,
        policies: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Stored rows matching the filters, as flat dicts (key columns and every metric)."""
        where, args = [], []
        for col, val in (("scenario_hash", scenario_hash), ("seed", seed), ("version", version)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        if policies is not None:
            where.append(f"policy IN ({', '.join('?' * len(policies))})")
            args.extend(policies)
        sql = "SELECT scenario_hash, policy, replication, seed, version, metrics FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY scenario_hash, policy, replication, seed, version"
        out = []
        for h, pol, rep, sd, ver, metrics in self._con.execute(sql, args):
            rec: dict[str, Any] = {
                "scenario_hash": h,
                "policy": pol,
                "replication": rep,
                "seed": sd,
                "version": ver,
            }
            rec.update(json.loads(metrics))
            out.append(rec)
        return out

    def runs(self, scenario_hash: str | None = None, **filters: Any) -> pd.DataFrame:
        """Stored rows as a DataFrame (see :meth:`records` for the filters)."""
        import pandas as pd

        return pd.DataFrame(self.records(scenario_hash, **filters))

    def count(self, scenario_hash: str | None = None) -> int:
        """How many rows are stored (for one scenario if a hash is given)."""
        if scenario_hash is None:
            return int(self._con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
        return int(
            self._con.execute("SELECT COUNT(*) FROM runs WHERE scenario_hash = ?", (scenario_hash,)).fetchone()[0]
        )

    def experiments(self) -> pd.DataFrame:
        """One row per stored (scenario, seed, version, policy): its name and replication count."""
        import pandas as pd

        sql = (
            "SELECT r.scenario_hash, s.name, r.seed, r.version, r.policy, COUNT(*) AS replications "
            "FROM runs r LEFT JOIN scenarios s USING (scenario_hash) "
            "GROUP BY r.scenario_hash, r.seed, r.version, r.policy ORDER BY s.name, r.seed, r.policy"
        )
        cols = ["scenario_hash", "name", "seed", "version", "policy", "replications"]
        return pd.DataFrame(self._con.execute(sql).fetchall(), columns=cols)

    def scenario(self, scenario_hash: str) -> dict[str, Any]:
        """The scenario stored under a hash, as the dict it was dumped from."""
        row = self._con.execute(
            "SELECT scenario FROM scenarios WHERE scenario_hash = ?", (scenario_hash,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no scenario {scenario_hash[:12]}... in {self.path}")
        return json.loads(row[0])

