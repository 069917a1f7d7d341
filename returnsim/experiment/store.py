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

Damage and odd places: a row whose metrics cannot be read in full (not a JSON object of numbers,
or a metric missing) is never read back as NaN: :meth:`ResultStore.records` names it, and the
experiment engine deletes and recomputes it. A store on read-only media is opened read-only
(``writable`` is False): a complete store is read as usual. A path that cannot hold a store (a
directory, a parent that is a file, a file that is not SQLite) is a :class:`StoreError` naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..scenario import Scenario

__all__ = [
    "ResultStore",
    "StoreError",
    "scenario_hash",
    "canonical_json",
    "describe_row",
    "SCHEMA_VERSION",
]

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


def _loads_metrics(text: Any, metrics: Sequence[str] | None) -> tuple[dict[str, float] | None, str]:
    """A row's metrics, or ``None`` and why they cannot be read in full."""
    try:
        values = json.loads(text)
    except (TypeError, ValueError) as err:
        return None, f"its metrics are not valid JSON ({err})"
    if not isinstance(values, dict):
        return None, "its metrics are not a JSON object"
    odd = [k for k, v in values.items() if isinstance(v, bool) or not isinstance(v, int | float)]
    if odd:
        return None, f"metric {odd[0]!r} is not a number"
    missing = [m for m in metrics or () if m not in values]
    if missing:
        return None, f"it lacks {len(missing)} metric(s): {', '.join(missing[:5])}"
    return {k: float(v) for k, v in values.items()}, ""


def describe_row(key: Sequence[Any]) -> str:
    """``row (policy 'seed', replication 3, seed 0, scenario 1a2b3c4d5e6f, version ...)``."""
    h, pol, rep, sd, ver = key
    return f"row (policy {pol!r}, replication {rep}, seed {sd}, scenario {str(h)[:12]}, version {ver})"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StoreError(RuntimeError):
    """The store cannot be used: not a returnsim store of a layout this version understands,
    a path that cannot hold one, or a row that cannot be read in full."""


class ResultStore:
    """A SQLite results store (see the module docstring).

    Args:
        path: the database file; created with its tables if missing.
        timeout: seconds to wait for another writer's lock before giving up.
        readonly: open for reading only (a notebook watching a running sweep).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path, *, timeout: float = 60.0, readonly: bool = False) -> None:
        if isinstance(path, bool) or not isinstance(path, str | os.PathLike):
            raise TypeError(f"ResultStore(path=...): expected the path of an SQLite file, got {type(path).__name__}")
        self.path = Path(path)
        """The database file."""
        self.writable = not readonly
        """False when opened read-only: asked for, or the file is on read-only media (then
        the rows stored can be read, and nothing new is written)."""
        try:
            self._con = self._connect(timeout, readonly)
            self._check_layout()
        except sqlite3.DatabaseError as err:
            if hasattr(self, "_con"):
                self._con.close()
            if "not a database" in str(err) or "malformed" in str(err):
                raise StoreError(
                    f"{self.path} is not a returnsim results store (not an SQLite database "
                    "file); name a new file or a store written by returnsim"
                ) from None
            raise StoreError(f"{self.path}: {err}") from None

    def _connect(self, timeout: float, readonly: bool) -> sqlite3.Connection:
        """Open the file: read-write (creating it and its directory) unless ``readonly``;
        read-only when the file or its directory cannot be written (read-only media)."""
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory; a results store is a file")
        parent = self.path.parent
        for p in (parent, *parent.parents):
            if p.exists():
                if not p.is_dir():
                    raise StoreError(f"cannot create {self.path}: {p} is a file, not a directory")
                break
        if not readonly:
            try:
                parent.mkdir(parents=True, exist_ok=True)
                con = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            except (sqlite3.OperationalError, OSError) as err:
                reason = getattr(err, "strerror", None) or str(err)
                raise StoreError(f"cannot create {self.path}: {reason}") from None
            try:
                con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("PRAGMA synchronous = NORMAL")
                self._con = con
                self._create()
                return con
            except sqlite3.DatabaseError as err:
                con.close()
                if not isinstance(err, sqlite3.OperationalError) or (
                    "readonly" not in str(err) and "unable to open" not in str(err)
                ):
                    raise
                if not self.path.is_file():
                    reason = getattr(err, "strerror", None) or str(err)
                    raise StoreError(f"cannot create {self.path}: {reason}") from None
                self.writable = False  # an existing store we may not write: read it
        if not self.path.is_file():
            raise StoreError(f"no results store at {self.path}")
        uri = self.path.resolve().as_uri()
        try:
            con = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=timeout, isolation_level=None)
            con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return con
        except sqlite3.OperationalError:
            # A WAL store on read-only media: SQLite cannot create its shared-memory file
            # there, but nobody can write to the media either, so the file is immutable.
            return sqlite3.connect(uri + "?immutable=1", uri=True, timeout=timeout, isolation_level=None)

    def _create(self) -> None:
        with self._transaction():
            for stmt in filter(str.strip, _DDL.split(";")):
                self._con.execute(stmt)
            row = self._con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                self._con.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )

    def _check_layout(self) -> None:
        try:
            row = self._con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.OperationalError:  # no meta table: some other SQLite database
            row = ("none",)
        if row is None or row[0] != str(SCHEMA_VERSION):
            raise StoreError(
                f"{self.path}: results store layout {row[0] if row else 'none'}, this returnsim "
                f"reads layout {SCHEMA_VERSION}; use a new store file"
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
        return self._changes(
            "INSERT OR IGNORE INTO runs (scenario_hash, policy, replication, seed, version, "
            "metrics, finished) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def _changes(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """Run ``sql`` for every row in one transaction; how many rows it changed."""
        if not rows:
            return 0
        with self._transaction() as con:
            before = con.total_changes
            con.executemany(sql, rows)
            return con.total_changes - before

    # -- reading -------------------------------------------------------------------------------

    def records(
        self,
        scenario_hash: str | None = None,
        *,
        seed: int | None = None,
        version: str | None = None,
        policies: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
        unreadable: list[tuple[tuple[Any, ...], str]] | None = None,
    ) -> list[dict[str, Any]]:
        """Stored rows matching the filters, as flat dicts (key columns and every metric).

        A row that cannot be read in full (its metrics are not a JSON object of numbers, or
        lack one of ``metrics``) raises a :class:`StoreError` naming it; if ``unreadable`` is a
        list, such rows are left out and appended to it as ``(key, reason)`` instead (key:
        ``scenario_hash, policy, replication, seed, version``), which is how the experiment
        engine finds the rows to recompute.
        """
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
        good: list[dict[str, Any]] = []
        bad: list[tuple[tuple[Any, ...], str]] = []
        for h, pol, rep, sd, ver, text in self._con.execute(sql, args):
            key = (h, pol, rep, sd, ver)
            values, why = _loads_metrics(text, metrics)
            if values is None:
                bad.append((key, why))
                continue
            rec: dict[str, Any] = dict(zip(_KEY, key, strict=True))
            rec.update(values)
            good.append(rec)
        if unreadable is not None:
            unreadable.extend(bad)
        elif bad:
            key, why = bad[0]
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise StoreError(f"{self.path}: {describe_row(key)} cannot be read: {why}{more}")
        return good

    def delete(self, keys: Iterable[Sequence[Any]]) -> int:
        """Delete rows by key (``scenario_hash, policy, replication, seed, version``), e.g.
        rows that cannot be read, before they are recomputed; returns how many were deleted."""
        return self._changes(
            "DELETE FROM runs WHERE scenario_hash = ? AND policy = ? AND replication = ? "
            "AND seed = ? AND version = ?",
            [tuple(k) for k in keys],
        )

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

