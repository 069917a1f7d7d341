"""64-bit keys of order ids (and of whole lines), made without a Python string per cell where
the ids are Amazon's.

A replay knows an order by a 64-bit key of its id: the returned orders are a sorted array of
keys, and the orders' pass looks each line's order up in it and counts each day's distinct
orders by their keys. An id written as Amazon writes one, three, seven and seven digits joined
by hyphens (``123-1234567-1234567``), is read as the integer of its 17 digits: below 2**57, so
two such ids never share a key, and an Arrow column of them is keyed by numpy from its bytes
(turning a million ids into Python strings to hash them cost more than reading them). Any other
string is keyed by pandas' 64-bit hash of its UTF-8 bytes with the top bit set, so it never
takes an Amazon id's key; two such strings share one with a chance of 2**-63, which the callers
allow for (a shared key keeps one more line, and the matching compares ids).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["id_keys", "KeySet"]

_FORM = "123-1234567-1234567"
_WIDTH = len(_FORM)
_DIGIT_AT = np.array([i for i, ch in enumerate(_FORM) if ch.isdigit()])
_HYPHEN_AT = np.array([i for i, ch in enumerate(_FORM) if ch == "-"])
_TOP = np.uint64(1 << 63)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_HIGH, _LOW = 10.0 ** np.arange(8, -1, -1), 10.0 ** np.arange(7, -1, -1)


def _arrow(values: Any) -> Any:
    """``values`` as an Arrow string or binary array (an object array of str or bytes is
    copied into one: a few bytes a cell, no Python object made)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=object), from_pandas=False)
    if pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type):  # (32-bit offsets below)
        values = values.cast(pa.binary())
    return values


def _amazon(col: Any) -> tuple[np.ndarray, np.ndarray]:
    """Which cells of an Arrow string or binary array are ids in Amazon's form, and their
    digits' integer (0 elsewhere)."""
    n = len(col)
    keys = np.zeros(n, dtype=np.uint64)
    if not n or col.null_count == n:
        return np.zeros(n, dtype=bool), keys
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset : col.offset + n + 1]
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)
    ours = np.diff(offsets) == _WIDTH
    if col.null_count:
        ours &= col.is_valid().to_numpy(zero_copy_only=False)
    at = np.flatnonzero(ours)
    if not len(at):
        return ours, keys
    if len(at) == n:  # every cell 19 bytes long, one after the other: a view, not a gather
        cells = data[offsets[0] : offsets[-1]].reshape(n, _WIDTH)
    else:
        cells = data[offsets[at][:, None] + np.arange(_WIDTH)]
    digits = cells[:, _DIGIT_AT] - np.uint8(48)  # a byte below "0" wraps round above 9
    good = (digits.max(axis=1) <= 9) & (cells[:, _HYPHEN_AT] == ord("-")).all(axis=1)
    # 9 and 8 digits as two halves, each a product with its place values in float64 (BLAS):
    # every partial sum is below 10**9, so exact; joined in int64
    d = digits.astype(np.float64)
    high = (d[:, :9] @ _HIGH).astype(np.int64)
    low = (d[:, 9:] @ _LOW).astype(np.int64)
    value = (high * 10**8 + low).astype(np.uint64)
    ours[at[~good]] = False
    keys[at[good]] = value[good]
    return ours, keys


def id_keys(values: Any) -> np.ndarray:
    """The 64-bit key of each string of ``values`` (an object array of str or bytes, or an
    Arrow string or binary array; no missing cell), as uint64: an id in Amazon's form
    (``123-1234567-1234567``) its 17 digits' integer, any other string pandas' hash of its UTF-8
    bytes with the top bit set."""
    obj = isinstance(values, np.ndarray | list | pd.Series)
    if obj:
        values = np.asarray(values, dtype=object)
        # only a string of 19 characters can be an Amazon id: the others (a line's text) are
        # hashed as they are, not copied into Arrow first
        maybe = np.flatnonzero(np.fromiter(map(len, values.tolist()), dtype=np.int64, count=len(values)) == _WIDTH)
        ours, keys = np.zeros(len(values), dtype=bool), np.zeros(len(values), dtype=np.uint64)
        if len(maybe):
            ours[maybe], keys[maybe] = _amazon(_arrow(values[maybe]))
    else:
        col = _arrow(values)
        ours, keys = _amazon(col)
    other = np.flatnonzero(~ours)
    if len(other):
        if obj:
            rest = values[other]
        else:
            rest = col.take(other).to_numpy(zero_copy_only=False).astype(object)
        keys[other] = pd.util.hash_array(rest, categorize=False) | _TOP
    return keys


class KeySet:
    """A set of distinct 64-bit keys, asked about many keys at a time.

    A bitmap of the keys' slots (about 8 slots a key; a slot is the high bits of the key times
    an odd constant) answers "not in the set" for most keys asked in one numpy gather; only
    the keys whose slot is taken are looked up in a hash table (pandas' index of the keys,
    built when first needed). The orders' pass asks about every order line twice (is its order
    returned, was it counted in the block before) and nearly every answer is no: the bitmap
    saves most of the hash tables' lookups and the block before's table being built at all
    (about 0.1 CPU s over 1 M orders)."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = np.asarray(keys, dtype=np.uint64)
        """The keys (distinct)."""
        bits = max(10, min(26, (8 * len(self.keys)).bit_length()))
        self._shift = np.uint64(64 - bits)
        self._taken = np.zeros(1 << bits, dtype=bool)
        self._taken[self._slot(self.keys)] = True
        self._index: pd.Index | None = None

    def _slot(self, h: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # (a wrapping multiplication: every bit of the key counts)
            return ((h * _GOLDEN) >> self._shift).astype(np.intp)

    def contains(self, h: np.ndarray) -> np.ndarray:
        """Which of keys ``h`` are in the set (bool)."""
        h = np.asarray(h, dtype=np.uint64)
        out = np.zeros(len(h), dtype=bool)
        if not len(self.keys) or not len(h):
            return out
        maybe = np.flatnonzero(self._taken[self._slot(h)])
        if len(maybe):
            if self._index is None:
                self._index = pd.Index(self.keys)
            out[maybe] = self._index.get_indexer(h[maybe]) >= 0
        return out
