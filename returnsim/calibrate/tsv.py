"""Text, lines and cells of a tab-separated export, read as liberally as real exports need.

The readers in :mod:`returnsim.calibrate.readers` turn these into reports; this module knows
nothing of which columns a report has. It decodes bytes (UTF-8 with or without a byte-order mark,
UTF-16, or Windows-1252 with a note), splits lines whatever their ending, parses quoted fields
(including quoted tabs and line breaks), and reads one column of cells of a kind (date, money,
count, Y/N, month, country, reason or disposition code, text) into values and a mask of the
cells it could not read. Values shown to users go through :func:`redact` first, so an order id
or an e-mail address never reaches a message.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

Source = str | Path | io.StringIO | bytes
"""What a reader accepts: a path, the file's bytes, or an ``io.StringIO`` of its text."""


# --------------------------------------------------------------------------------------------
# text and lines
# --------------------------------------------------------------------------------------------


class NotText(ValueError):
    """The bytes are not a text export at all (a database, a spreadsheet, an archive)."""


_BINARY = {
    b"SQLite format 3\x00": "an SQLite database",
    b"PK\x03\x04": "a zip archive or an Excel workbook (.xlsx)",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
}
"""Signatures of files a seller may pass by mistake, and what they are."""


def _utf16_without_bom(raw: bytes) -> str | None:
    """``utf-16-le`` or ``-be`` when the bytes look like UTF-16 text without its byte-order mark.

    ASCII text in UTF-16 has a NUL in every other byte: Excel and some exporters write it
    without the mark, and read as UTF-8 it would pass as text full of NULs."""
    head = raw[:4096]
    if len(head) < 4 or len(head) % 2:
        head = head[: len(head) - len(head) % 2]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode(raw: bytes) -> tuple[str, str | None]:
    """Text of a file and a note when it was not UTF-8.

    Raises:
        NotText: the bytes are a known binary format, or hold NUL bytes that no text encoding
            explains (the message says what the file looks like).
    """
    for magic, what in _BINARY.items():
        if raw.startswith(magic):
            raise NotText(f"this is {what}, not a text report")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace"), None
    bom_less = _utf16_without_bom(raw)
    if bom_less is not None:
        return raw.decode(bom_less, errors="replace"), f"UTF-16 without a byte-order mark; read as {bom_less.upper()}"
    if b"\x00" in raw[:4096]:
        raise NotText("the file holds binary data (NUL bytes), not a text report")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        return raw.decode("cp1252", errors="replace"), (
            f"not UTF-8 (first bad byte at offset {err.start}); read as Windows-1252"
        )


def read_text(source: Source) -> tuple[str, str, str | None]:
    """(text, display name, note) of a path, bytes or text buffer."""
    if isinstance(source, io.StringIO):
        return source.getvalue().lstrip("\ufeff"), getattr(source, "name", "(text)"), None
    if isinstance(source, bytes):
        text, note = decode(source)
        return text, "(bytes)", note
    path = Path(source)
    text, note = decode(path.read_bytes())
    return text, path.name, note


def header_key(name: str) -> str:
    """A header as the readers compare it: ``" Order ID"`` -> ``"order-id"``."""
    return re.sub(r"[\s_]+", "-", name.strip().strip('"').strip().lower())


_ORDER_ID = re.compile(r"\b\d{3}-\d{7}-\d{7}\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def redact(value: Any, limit: int = 40) -> str:
    """A cell value fit to show in a problem: order ids and e-mail addresses masked, shortened."""
    text = _EMAIL.sub("<e-mail>", _ORDER_ID.sub("<order id>", str(value)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _parse_quoted(lines: list[str], i: int, width: int, delim: str) -> tuple[list[str], int]:
    """Fields of the row starting at ``lines[i]`` that contains quotes, and how many physical
    lines it used. A quoted field may span lines; a quote that never closes is read literally."""
    for span in range(1, 11):
        chunk = "\n".join(lines[i : i + span])
        try:
            rows = list(csv.reader([chunk], delimiter=delim, strict=True))
        except csv.Error:
            if i + span >= len(lines):
                break
            continue
        if len(rows) == 1 and len(rows[0]) <= width + 1:
            return rows[0], span
        break
    return lines[i].split(delim), 1


def split_rows(text: str, delim: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, fields) of every non-blank data row."""
    lines = split_lines(text)
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines):
        return [], []
    header, used = (
        _parse_quoted(lines, start, 10**6, delim) if '"' in lines[start] else (lines[start].split(delim), 1)
    )
    width = len(header)
    i = start + used
    n = len(lines)
    if '"' not in text:  # the common case, fast: no quoting anywhere
        return header, [(k + 1, lines[k].split(delim)) for k in range(i, n) if lines[k].strip()]
    out: list[tuple[int, list[str]]] = []
    while i < n:
        line = lines[i]
        if '"' in line:
            fields, used = _parse_quoted(lines, i, width, delim)
        else:
            fields, used = line.split(delim), 1
        if fields != [""] and line.strip():
            out.append((i + 1, fields))
        i += used
    return header, out


# --------------------------------------------------------------------------------------------
# cells
# --------------------------------------------------------------------------------------------


_DATE_FORMATS = ("%d-%m-%Y", "%d-%b-%Y", "%d.%m.%Y", "%d-%m-%Y %H:%M:%S", "%d-%b-%Y %H:%M:%S")


def _dates(s: pd.Series) -> tuple[pd.Series, pd.Series, bool]:
    """Parsed dates (naive UTC), a mask of unreadable cells, and whether no value has a time."""
    present = s != ""
    out = pd.to_datetime(s.where(present), format="ISO8601", utc=True, errors="coerce")
    for fmt in _DATE_FORMATS:
        todo = present & out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(s[todo], format=fmt, utc=True, errors="coerce")
    out = out.dt.tz_localize(None)
    year = out.dt.year
    out = out.where((year >= 2000) & (year <= 2100))
    bad = present & out.isna()
    ok = out.dropna()
    day_only = bool(len(ok)) and bool((ok == ok.dt.normalize()).all())
    return out, bad, day_only


_MONEY_JUNK = re.compile(r"[\s$€£¥]|USD|EUR|GBP|CAD|JPY")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_LARGEST = 1e9
"""No amount or quantity on one report line reaches this: a larger number is a corrupt cell (and
would overflow the fits' log-scale arithmetic), reported as unreadable."""


def _numbers(s: pd.Series, integer: bool) -> tuple[pd.Series, pd.Series]:
    present = s != ""
    num = pd.to_numeric(s.where(present), errors="coerce")
    retry = present & num.isna()
    if retry.any():  # currency signs, thousands separators
        clean = s[retry].str.replace(_MONEY_JUNK, "", regex=True)
        thousands = clean.str.match(_THOUSANDS)
        clean = clean.where(~thousands, clean.str.replace(",", "", regex=False))
        num[retry] = pd.to_numeric(clean, errors="coerce")
    ok = np.isfinite(num) & (num >= 0) & (num < _LARGEST)
    if integer:
        ok &= num == np.round(num)
    num = num.where(ok)
    return num, present & num.isna()


_YES = {"Y", "YES", "TRUE", "1"}
_NO = {"N", "NO", "FALSE", "0"}


def _yn(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    up = s.str.upper()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[up.isin(_YES)] = True
    out[up.isin(_NO)] = False
    return out, (s != "") & out.isna()


def _months(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    present = s != ""
    out = pd.to_datetime(s.where(present), format="%Y-%m", errors="coerce")
    for fmt in ("%Y-%m-%d", "%b-%Y", "%b %Y", "%m/%Y"):
        todo = present & out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(s[todo], format=fmt, errors="coerce")
    out = out.dt.to_period("M")
    return out, present & out.isna()


EXPECT = {
    "date": "expected a date such as 2026-07-31T22:34:59+00:00, 31-07-2026 or 31-JUL-2026",
    "money": "expected a non-negative amount such as 19.99",
    "count": "expected a whole number >= 0",
    "yn": "expected Y or N",
    "country": "expected a two-letter country code such as US",
    "month": "expected a month such as 2026-07",
}


def read_cells(name: str, kind: str, raw: pd.Series) -> tuple[pd.Series, pd.Series, bool]:
    """Read one column; returns values, a mask of unreadable cells, and day resolution."""
    day_only = False
    if kind == "date":
        values, bad, day_only = _dates(raw)
    elif kind in ("money", "count"):
        values, bad = _numbers(raw, integer=kind == "count")
    elif kind == "yn":
        values, bad = _yn(raw)
    elif kind == "month":
        values, bad = _months(raw)
    elif kind == "country":
        up = raw.str.upper()
        ok = up.str.fullmatch(r"[A-Z]{2}")
        values = up.where(ok & (raw != ""))
        bad = (raw != "") & ~ok
    elif kind == "code":
        from .codes import normalise_code

        # An empty code is NaN, as an empty text or country is. None would stay None only where
        # every cell read together was empty (pandas' strings turn it into NaN beside others),
        # so a column read in blocks could differ from the same column read whole.
        values = raw.map({v: normalise_code(v) if v else np.nan for v in raw.unique()})
        bad = pd.Series(False, index=raw.index)
    else:  # id, text
        values = raw.where(raw != "")
        bad = pd.Series(False, index=raw.index)
    return values, bad, day_only
