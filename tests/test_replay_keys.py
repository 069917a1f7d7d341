"""Keys of order ids made from Arrow's bytes (replay/keys.py), and plain numbers read by Arrow
(cells.plain_values): the same as the slower ways they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from returnsim.calibrate.tsv import read_cells
from returnsim.replay.cells import plain_numbers, plain_values
from returnsim.replay.keys import id_keys

TOP = np.uint64(1 << 63)

ODD = [
    "123-1234567-1234567",  # Amazon's form
    "12-12345678-1234567",  # 19 characters, hyphens elsewhere
    "123-1234567-123456a",  # a letter among the digits
    "123-1234567-123456:",  # the byte after "9" ("0" + 10), and the one before "0"
    "/23-1234567-1234567",
    "123 1234567 1234567",
    "123-1234567-1234567 ",  # 20 characters
    "１23-1234567-1234567",  # a character beyond ASCII (more than 19 bytes)
    "S01-0000000-0000001",
    "abc",
    "",
    "999-9999999-9999999",
    "000-0000000-0000000",
]


def _pandas(values: list[str]) -> np.ndarray:
    return pd.util.hash_array(np.array(values, dtype=object), categorize=False)


def test_an_amazon_id_is_its_digits_and_any_other_string_its_hash_with_the_top_bit():
    keys = id_keys(np.array(ODD, dtype=object))
    amazon = [s for s in ODD if len(s) == 19 and s.replace("-", "").isdigit() and s[3] == s[11] == "-" and s.isascii()]
    assert amazon == ["123-1234567-1234567", "999-9999999-9999999", "000-0000000-0000000"]
    for s, k in zip(ODD, keys.tolist(), strict=True):
        if s in amazon:
            assert k == int(s.replace("-", "")) < 2**57
        else:
            assert k == int(_pandas([s])[0] | TOP)


@pytest.mark.parametrize("how", ["whole", "sliced", "bytes", "large"])
def test_arrow_arrays_key_as_object_arrays_do(how):
    rng = np.random.default_rng(7)
    ids = [f"{a:03d}-{b:07d}-{c:07d}" for a, b, c in zip(*(rng.integers(0, 10**k, 500) for k in (3, 7, 7)), strict=True)]
    mixed = ids[:200] + ODD + ids[200:]  # the other strings between Amazon ids: a gather, not a view
    want = id_keys(np.array(mixed, dtype=object))
    if how == "whole":
        got = id_keys(pa.array(mixed))
    elif how == "sliced":  # an array that starts inside its buffers (Arrow's offset)
        got = id_keys(pa.array(["x"] * 3 + mixed).slice(3))
    elif how == "large":  # Arrow's strings with 64-bit offsets
        got = id_keys(pa.array(mixed, type=pa.large_string()))
    else:
        got = id_keys(np.array([s.encode() for s in mixed], dtype=object))
    assert np.array_equal(got, want)
    assert np.array_equal(id_keys(pa.array(ids)), np.array([int(s.replace("-", "")) for s in ids], dtype=np.uint64))


def test_distinct_amazon_ids_never_share_a_key():
    rng = np.random.default_rng(3)
    ids = {f"{a:03d}-{b:07d}-{c:07d}" for a, b, c in zip(*(rng.integers(0, 10**k, 200_000) for k in (3, 7, 7)), strict=True)}
    # ids one digit apart, in each place
    base = "555-5555555-5555555"
    ids |= {base[:i] + "6" + base[i + 1 :] for i in range(19) if base[i] != "-"} | {base}
    keys = id_keys(pa.array(sorted(ids)))
    assert len(np.unique(keys)) == len(ids)


@pytest.mark.parametrize("kind", ["money", "count"])
def test_plain_numbers_read_by_arrow_as_the_reader_reads_them(kind):
    rng = np.random.default_rng(11 if kind == "money" else 12)
    cells = [str(v) for v in rng.integers(0, 10**9, 3000).tolist()] + ["0", "007", "999999999"]
    if kind == "money":
        cells += [f"{v // 100}.{v % 100:02d}" for v in rng.integers(0, 10**8, 3000).tolist()]
        cells += ["0.5", "12.5", "1234567.8", "1.2345678", "00.10"]
    col = pa.array(cells)
    assert plain_numbers(col, kind == "count")
    values, wrong, _ = read_cells("x", kind, pd.Series(cells, dtype=object))
    got = plain_values(col)
    assert not wrong.any()
    assert got.dtype == values.dtype
    assert np.array_equal(got, values.to_numpy())
    ints = pa.array(cells[:10])  # whole numbers alone: int64, as pandas reads them
    assert plain_values(ints).dtype == read_cells("x", kind, pd.Series(cells[:10], dtype=object))[0].dtype == np.int64


@pytest.mark.parametrize("n", [0, 1, 300, 50_000])
def test_a_key_set_says_which_keys_it_holds_as_a_set_would(n):
    """Members and non-members (random 64-bit keys, the top bit too, and keys one away from a
    member), asked in one call: the answers are a Python set's, also where the bitmap's slot
    of a non-member is taken."""
    from returnsim.replay.keys import KeySet

    rng = np.random.default_rng(n)
    keys = np.unique(rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True))
    asked = np.concatenate([keys, keys + np.uint64(1), rng.integers(0, 2**64 - 1, 20_000, dtype=np.uint64, endpoint=True),
                            np.array([0, 2**63, 2**64 - 1], dtype=np.uint64)])
    rng.shuffle(asked)
    held = set(keys.tolist())
    got = KeySet(keys).contains(asked)
    assert got.tolist() == [int(k) in held for k in asked.tolist()]
    assert not KeySet(keys).contains(np.zeros(0, dtype=np.uint64)).size
