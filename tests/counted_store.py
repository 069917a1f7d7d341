"""Count the rows a process sends to its results store: the one wrapper of ``ResultStore.add_runs``
that test_study_resume uses both in its own process and in the driver process it kills."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def counted(original: Callable[..., Any], on_rows: Callable[[int], None]) -> Callable[..., Any]:
    """``ResultStore.add_runs`` that, once ``original`` has committed a call's rows, reports how
    many there were to ``on_rows`` (which may end the process: the rows are in the store)."""

    def add_runs(self: Any, scenario_hash: str, version: str, records: Any, metrics: Any) -> Any:
        records = list(records)
        new = original(self, scenario_hash, version, records, metrics)
        on_rows(len(records))  # rows this process simulated and sent to the store
        return new

    return add_runs
