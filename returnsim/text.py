"""User text as plain text, wherever it is shown.

Names come from scenario files: policies, item classes, reasons, addresses. Validation already
refuses control characters in them (:mod:`returnsim.scenario.limits`), but every medium has
characters of its own that mean something:

* a **terminal** runs ANSI escape sequences (:func:`printable` shows them as ``\\x1b``);
* a **spreadsheet** runs a CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return as a formula (:func:`csv_cell` prefixes it with ``'``, as OWASP advises);
* **matplotlib** reads text between two ``$`` as mathematics and fails on what is not
  (:func:`for_matplotlib` escapes every ``$``);
* **HTML** is escaped by the report's template engine (autoescape).

Every stage may import this module; it imports nothing of returnsim.
"""

from __future__ import annotations

from typing import Any

__all__ = ["printable", "csv_cell", "csv_safe", "for_matplotlib", "BIDI_CONTROLS"]

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
"""Invisible characters that reorder the text around them (a 'Trojan source' risk)."""

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def printable(text: str, keep: str = "") -> str:
    """``text`` safe to print to a terminal: control and bidirectional characters are shown as
    escapes (``\\x1b``, ``\\u202e``), except those in ``keep`` (e.g. ``"\\n"``)."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in keep or ch == " " or (ch.isprintable() and ch not in BIDI_CONTROLS):
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def csv_cell(value: Any) -> Any:
    """A text value a spreadsheet will show rather than run: ``=SUM(A1)`` -> ``'=SUM(A1)``.

    Numbers and other non-text values are returned as they are (a negative number is data,
    not a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def csv_safe(frame: Any) -> Any:
    """A copy of a pandas DataFrame whose text columns are safe for spreadsheets
    (:func:`csv_cell`); the frame itself if nothing needs changing."""
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

    text_cols = [
        c
        for c in frame.columns
        if not (is_numeric_dtype(frame[c]) or is_bool_dtype(frame[c]) or is_datetime64_any_dtype(frame[c]))
    ]
    safe = {c: frame[c].map(csv_cell) for c in text_cols}
    risky = {c: v for c, v in safe.items() if any(a is not b for a, b in zip(v, frame[c], strict=True))}
    if not risky:
        return frame
    out = frame.copy()
    for c, v in risky.items():
        out[c] = v
    return out


def for_matplotlib(text: str) -> str:
    """``text`` shown literally by matplotlib: every ``$`` escaped (no mathematics), control
    characters shown as escapes, except line breaks, which break the line as in any label."""
    return "\n".join(printable(line).replace("$", r"\$") for line in str(text).split("\n"))
