"""Tables stored as columns: dataclasses whose fields are arrays (or such dataclasses, or dicts of
arrays), taken, concatenated, written into and resized row-wise with one helper each."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypeVar

import numpy as np

__all__ = ["take_rows", "concat_rows", "put_rows", "resized", "copy_index"]

T = TypeVar("T")


@cache
def _layout(cls: type) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Field names of a column table by kind: arrays, nested tables, dicts of arrays."""
    arrays, tables, dicts = [], [], []
    for f in dataclasses.fields(cls):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if kind.startswith("dict"):
            dicts.append(f.name)
        elif kind.endswith("ndarray"):
            arrays.append(f.name)
        else:
            tables.append(f.name)
    return tuple(arrays), tuple(tables), tuple(dicts)


def take_rows(table: T, idx: np.ndarray | slice) -> T:
    """The rows ``idx`` (an index array, a boolean mask, or a slice: then views) of a column
    table."""
    arrays, tables, dicts = _layout(type(table))  # type: ignore[arg-type]
    out: dict[str, Any] = {name: getattr(table, name)[idx] for name in arrays}
    for name in tables:
        out[name] = take_rows(getattr(table, name), idx)
    for name in dicts:
        out[name] = {k: v[idx] for k, v in getattr(table, name).items()}
    return type(table)(**out)


def concat_rows(tables: list[T]) -> T:
    """Column tables of the same type, one after the other."""
    first = tables[0]
    arrays, nested, dicts = _layout(type(first))  # type: ignore[arg-type]
    out: dict[str, Any] = {name: np.concatenate([getattr(t, name) for t in tables]) for name in arrays}
    for name in nested:
        out[name] = concat_rows([getattr(t, name) for t in tables])
    for name in dicts:
        keys = getattr(first, name).keys()
        out[name] = {k: np.concatenate([getattr(t, name)[k] for t in tables]) for k in keys}
    return type(first)(**out)


def put_rows(table: T, idx: np.ndarray, rows: T) -> None:
    """Write ``rows`` (a table of the same type) into ``table`` at the row positions ``idx``."""
    arrays, tables, dicts = _layout(type(table))  # type: ignore[arg-type]
    for name in arrays:
        getattr(table, name)[idx] = getattr(rows, name)
    for name in tables:
        put_rows(getattr(table, name), idx, getattr(rows, name))
    for name in dicts:
        target = getattr(table, name)
        for k, v in getattr(rows, name).items():
            target[k][idx] = v


def resized(table: T, n: int) -> T:
    """A copy of ``table`` with ``n`` rows: its rows first (as many as fit), then zeros."""
    arrays, tables, dicts = _layout(type(table))  # type: ignore[arg-type]

    def fit(a: np.ndarray) -> np.ndarray:
        out = np.zeros((n, *a.shape[1:]), dtype=a.dtype)
        m = min(n, len(a))
        out[:m] = a[:m]
        return out

    out: dict[str, Any] = {name: fit(getattr(table, name)) for name in arrays}
    for name in tables:
        out[name] = resized(getattr(table, name), n)
    for name in dicts:
        out[name] = {k: fit(v) for k, v in getattr(table, name).items()}
    return type(table)(**out)


def copy_index(counts: np.ndarray) -> np.ndarray:
    """For rows repeated ``counts`` times each (``np.repeat(rows, counts)``), each copy's index
    among its row's copies: 0 for the first, ``counts[i] - 1`` for the last (int64)."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
