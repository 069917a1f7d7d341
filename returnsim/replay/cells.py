"""Cells of an Arrow string column read without a Python string each: whether a block's bytes
are UTF-8, whether every id reads as it is, and ISO dates and days read from their digits.

The reports' plain blocks (the All Orders report's: :func:`~.blocks.simple_cells`; the returns
reports': :mod:`.plain`) are read by Arrow; these say, column by column, whether the
calibration's cell readers would read the cells as they are, and read the dates exactly as
they would (``pandas.to_datetime`` of an ISO date with its offset, taken to UTC, or of a day
written ``31-JUL-2026`` or ``31-07-2026``; years 2000-2100), in their type, working on the
column's bytes with numpy. Anything else is left to the readers.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.tsv import read_cells

__all__ = ["utf8", "bytes_of", "clean_ids", "iso_seconds", "date_type", "day_dates", "plain_numbers", "plain_values"]

_SPACE = " \r\x0b\x0c\x1c\x1d\x1e\x1f"
"""ASCII characters ``str.strip`` removes besides tab and newline (which no cell of an ordinary
line holds)."""


def utf8(raw: bytes) -> bool:
    """Whether a block is UTF-8 (the columns Arrow does not read too: the reader notes a file
    that is not, and reads it as Windows-1252)."""
    if raw.isascii():
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def bytes_of(col: Any) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of an Arrow string array, and each string's start in them (and the
    end of the last)."""
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset : col.offset + len(col) + 1]
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8) if len(col) and offsets[-1] else np.zeros(0, dtype=np.uint8)
    return data, offsets


_EDGE_BAD = np.zeros(256, dtype=bool)
_EDGE_BAD[[ord(c) for c in _SPACE + "\t\n"]] = True
_EDGE_BAD[0x80:] = True
"""Bytes an id may not start or end with for it to read as it is: ASCII white space (which the
reader strips) and any byte of a character beyond ASCII (which may be white space too)."""


def clean_ids(col: Any) -> bool:
    """Whether every id is there and the reader would read it as it is (nothing to strip)."""
    if col.null_count:
        return False
    data, offsets = bytes_of(col)
    starts, ends = offsets[:-1], offsets[1:]
    if not len(starts):
        return True
    if (ends <= starts).any():
        return False
    return not (_EDGE_BAD[data[starts]].any() or _EDGE_BAD[data[ends - 1]].any())


_ISO = "2026-07-31T22:34:59+00:00"
_DIGITS = [i for i, ch in enumerate(_ISO) if ch.isdigit()]
_MARKS = [i for i, ch in enumerate(_ISO) if not ch.isdigit() and ch != "+"]
_MARK_BYTES = np.frombuffer(_ISO.encode(), dtype=np.uint8)[_MARKS]
_FIELDS = ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19), (20, 22), (23, 25))
"""Year, month, day, hour, minute, second, and the offset's hours and minutes."""
_PLACES = [[(_DIGITS.index(i), 10 ** (b - 1 - i)) for i in range(a, b)] for a, b in _FIELDS]
"""Each field's digits: their column among ``_DIGITS`` and their place value."""
_DAYS_IN = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_YEARS = (int(np.datetime64("2000-01-01", "s").astype(np.int64)), int(np.datetime64("2101-01-01", "s").astype(np.int64)))


def iso_seconds(col: Any) -> np.ndarray | None:
    """Seconds since 1970 (UTC) of dates written as ``2026-07-31T22:34:59+00:00`` (an Arrow
    string array), read as the calibration's reader reads them (an offset is taken back to UTC;
    a year outside 2000-2100 after it is unreadable); None unless every cell is such a date, a
    real time of a real day, with an offset of at most 14 hours, in those years."""
    n = len(col)
    if col.null_count:
        return None
    data, offsets = bytes_of(col)
    if not n:
        return np.zeros(0, dtype=np.int64)
    if offsets[0] != 0 or offsets[-1] != n * len(_ISO) or (np.diff(offsets) != len(_ISO)).any():
        return None
    cells = data[: n * len(_ISO)].reshape(n, len(_ISO))
    digits = cells[:, _DIGITS] - np.uint8(48)  # a byte below "0" wraps round above 9
    if (digits > 9).any() or (cells[:, _MARKS] != _MARK_BYTES).any():
        return None
    sign = cells[:, 19]
    minus = sign == ord("-")
    if not (minus | (sign == ord("+"))).all():
        return None
    num = digits.astype(np.int32)
    y, m, d, hh, mi, ss, oh, om = (
        sum((num[:, k] * w for k, w in _PLACES[f]), np.zeros(n, dtype=np.int64)) for f in range(len(_FIELDS))
    )
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    if ((m < 1) | (m > 12)).any():
        return None
    last = _DAYS_IN[m] - ((m == 2) & ~leap)
    if ((d < 1) | (d > last) | (hh > 23) | (mi > 59) | (ss > 59) | (oh > 14) | (om > 59)).any():
        return None
    # days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
    yy = y - (m <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + d - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    offset = (oh * 3600 + om * 60) * np.where(minus, -1, 1)
    secs = days * 86_400 + hh * 3600 + mi * 60 + ss - offset
    if ((secs < _YEARS[0]) | (secs >= _YEARS[1])).any():
        return None
    return secs


_MONTHS = np.array(sorted(int.from_bytes(m.encode(), "big") for m in
                           ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")))
_MONTH_OF = {int.from_bytes(m.encode(), "big"): i + 1 for i, m in
             enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))}
_MONTH_NUMBER = np.array([_MONTH_OF[k] for k in _MONTHS.tolist()])
_DAY_FORMS = {11: "31-JUL-2026", 10: "31-07-2026"}
"""The days the returns reports write (``DD-MON-YYYY``, ``DD-MM-YYYY``), by their length."""


def day_dates(col: Any) -> np.ndarray | None:
    """Dates written as days, ``31-JUL-2026`` (the month in any case) or ``31-07-2026`` (an
    Arrow string array; empty cells missing), read as the calibration's reader reads them
    (a day of a year in 2000-2100, its midnight), in its type; None unless every cell that is
    not empty is such a day, all in one of the two forms.

    Each distinct cell is read once (a block's days are a few dozen distinct cells over
    thousands of rows): whether the column reads at all, and its type (a cell empty or not),
    depend on the set of distinct cells alone, and each cell's reading is its own. A column
    whose strings do not start at its bytes' first is left to the reader, as read whole."""
    if col.null_count or not len(col) or col.offset or bytes_of(col)[1][0]:
        return _days_of(col)
    enc = col.dictionary_encode()
    days = _days_of(enc.dictionary)
    return None if days is None else days[enc.indices.to_numpy(zero_copy_only=False)]


def _days_of(col: Any) -> np.ndarray | None:
    """:func:`day_dates` of every cell of ``col`` (none read once per distinct cell)."""
    n = len(col)
    if col.null_count:
        return None
    data, offsets = bytes_of(col)
    lengths = np.diff(offsets)
    empty = lengths == 0
    full = lengths[~empty]
    if not len(full) or full[0] not in _DAY_FORMS or (full != full[0]).any() or offsets[0] != 0:
        return None
    width = int(full[0])
    cells = data[: len(full) * width].reshape(len(full), width)
    mon = width == 11
    digits = np.concatenate([cells[:, :2], cells[:, 7:] if mon else cells[:, 3:5], cells[:, 6:] if not mon else cells[:, :0]], axis=1)
    num = digits.astype(np.int64) - 48
    if (num < 0).any() or (num > 9).any() or (cells[:, 2] != ord("-")).any() or (cells[:, 6 if mon else 5] != ord("-")).any():
        return None
    d = num[:, 0] * 10 + num[:, 1]
    if mon:
        key = ((cells[:, 3:6] & 0xDF).astype(np.int64) * np.array([1 << 16, 1 << 8, 1])).sum(axis=1)  # upper case
        at = np.minimum(np.searchsorted(_MONTHS, key), len(_MONTHS) - 1)
        if (_MONTHS[at] != key).any():
            return None
        m, y = _MONTH_NUMBER[at], num[:, 2:6] @ np.array([1000, 100, 10, 1])
    else:
        m, y = num[:, 2] * 10 + num[:, 3], num[:, 4:8] @ np.array([1000, 100, 10, 1])
    if ((m < 1) | (m > 12) | (y < 2000) | (y > 2100)).any():
        return None
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    if ((d < 1) | (d > _DAYS_IN[m] - ((m == 2) & ~leap))).any():
        return None
    days = (y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (m - 1).astype("timedelta64[M]")
    out = np.full(n, np.datetime64("NaT"), dtype=_day_type(width, bool(empty.any())))
    out[~empty] = days.astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
    return out


@functools.cache
def _day_type(width: int, empty: bool) -> np.dtype:
    """The type of the reader's dates for days written in one of :data:`_DAY_FORMS` (and empty
    cells)."""
    return read_cells("date", "date", pd.Series([_DAY_FORMS[width]] + [""] * empty, dtype=object))[0].to_numpy().dtype


@functools.cache
def date_type() -> np.dtype:
    """The type of the calibration's reader's dates (pandas' resolution for such a date)."""
    return read_cells("date", "date", pd.Series([_ISO], dtype=object))[0].to_numpy().dtype


_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True


def plain_numbers(col: Any, integer: bool) -> bool:
    """Whether every cell of an Arrow string array is a number the calibration's reader reads as
    it is and never finds unreadable: digits, with at most one point between two digits (none
    for a count), 9 characters at most (below the reader's bound of 1e9); nothing to strip, no
    sign, no currency, no thousands separator."""
    if col.null_count:
        return False
    data, offsets = bytes_of(col)
    if not len(col):
        return True
    lengths = np.diff(offsets)
    if lengths.min() < 1 or lengths.max() > 9:
        return False
    cells = data[offsets[0] : offsets[-1]]
    digit = _DIGIT[cells]
    if digit.all():
        return True
    if integer or not _DIGIT[data[offsets[:-1]]].all() or not _DIGIT[data[offsets[1:] - 1]].all():
        return False
    point = cells == ord(".")
    return bool((digit | point).all()) and int(np.add.reduceat(point, offsets[:-1] - offsets[0]).max()) <= 1


def plain_values(col: Any) -> np.ndarray:
    """The readings of an Arrow string array of cells :func:`plain_numbers` passed: what the
    reader's ``pd.to_numeric`` gives, read by Arrow without a Python string each (both round a
    number of at most 9 digits correctly): int64 if no cell has a point, float64 otherwise."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data, offsets = bytes_of(col)
    point = len(col) and (data[offsets[0] : offsets[-1]] == ord(".")).any()
    return pc.cast(col, pa.float64() if point else pa.int64()).to_numpy(zero_copy_only=False)
