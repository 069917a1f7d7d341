"""What a report's header says: which of the columns a reader looks for it has, whether a
report can be used at all, and, when it cannot, which report it is instead.

A report is usable when it is text, its header names some of the columns its reader reads and
every required one, and (for the tables a seller's figures come from) it has a row. That is
decided from the header and the first lines alone, before any cell is read:
:func:`~.readers.read_report` reads the cells after it, and the replay's reading judges a large
file's head by :func:`usable_head` without reading its cells.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .tsv import NotText, header_key, read_text, split_rows

__all__ = ["Column", "SIGNATURES", "ARGUMENT", "REQUIRED", "ROW_NEEDS", "what_it_is", "wrong_kind", "found_columns", "usable_head"]


@dataclass(frozen=True)
class Column:
    """A column a reader looks for: its name in the result, the header names that mean it
    (normalised, see :func:`header_key`), and how its cells are read."""

    name: str
    headers: tuple[str, ...]
    kind: str
    """``id``, ``text``, ``code``, ``date``, ``money``, ``count``, ``yn`` or ``country``."""


SIGNATURES: dict[str, tuple[str, frozenset[str]]] = {
    "fba_returns": ("an FBA customer returns report", frozenset({"return-date", "detailed-disposition", "fulfillment-center-id", "license-plate-number", "fnsku"})),
    "mfn_returns": ("a seller-fulfilled Returns report", frozenset({"return-request-date", "amazon-rma-id", "label-type", "label-to-be-paid-by", "return-request-status"})),
    "orders": ("an All Orders report", frozenset({"purchase-date", "fulfillment-channel", "item-price", "ship-country", "order-status", "sales-channel"})),
    "repeat_purchases": ("a Repeat Purchase Behavior report", frozenset({"unique-customers", "repeat-customers-pct-total", "repeat-purchase-revenue", "repeat-purchase-revenue-pct-total"})),
    "classes": ("a class mapping", frozenset({"item-class"})),
}
"""Headers that only one kind of report has: how a file passed as the wrong report is recognised."""

ARGUMENT = {
    "fba_returns": "--fba-returns (fba_returns= in Python)",
    "mfn_returns": "--mfn-returns (mfn_returns= in Python)",
    "orders": "--orders (orders= in Python)",
    "monthly_orders": "--orders (orders= in Python)",
    "repeat_purchases": "--repeat-purchases (repeat_purchases= in Python)",
    "classes": "--classes (classes= in Python)",
}
"""Where each kind of report is passed, in the library and on the command line."""

_DATA_LIKE = re.compile(r"^\d{3}-\d{7}-\d{7}$|^\d{4}-\d{2}-\d{2}|^\d{1,2}-[A-Za-z]{3}-\d{4}$|^\d{1,2}-\d{2}-\d{4}$|^-?\d+(\.\d+)?$")
"""Cells that are data, not column names: order ids, dates, numbers."""


def what_it_is(keys: list[str], kind: str) -> str:
    """Why a header without the columns a ``kind`` report needs cannot be used, and the fix."""
    scores = {k: len(sig & set(keys)) for k, (_, sig) in SIGNATURES.items() if k != kind}
    other = max(scores, key=lambda k: scores[k]) if scores else None
    if other is not None and scores[other] >= 2 and not (kind == "monthly_orders" and other == "orders"):
        return f"this is {SIGNATURES[other][0]}, not the report expected here; pass it as {ARGUMENT[other]}"
    data_like = sum(bool(_DATA_LIKE.match(k.strip())) for k in keys)
    if data_like >= 2:
        return (
            "the first line holds data, not column names: the header line is missing; download the "
            "report again from Seller Central, or add its header line (the columns are in docs/calibrate.md)"
        )
    return ""


def wrong_kind(keys: list[str], kind: str) -> str:
    """Why a header that has the columns a ``kind`` report needs is still another report: none
    of the headers only a ``kind`` report has, and two or more of another's (a Returns report
    has an order id and an order date, which an orders reader would take for its own). Empty
    when it is not."""
    own = SIGNATURES.get("orders" if kind == "monthly_orders" else kind)
    if own is None or own[1] & set(keys):
        return ""
    why = what_it_is(keys, kind)
    return why if why.startswith("this is ") else ""


REQUIRED = {
    "fba_returns": ("order_id", "return_date"),
    "mfn_returns": ("order_id", "request_date"),
    "orders": ("order_id", "purchase_date"),
    "monthly_orders": ("month", "orders"),
    "repeat_purchases": ("orders", "unique_customers", "start_date", "end_date"),
    "classes": ("item_class",),
}
"""Columns a file must have. In the order and class tables a row without them says nothing
and is reported and skipped (except :data:`~.readers._KEPT_WITHOUT`); a return row is kept (its reason
still counts)."""
ROW_NEEDS = ("orders", "monthly_orders", "classes", "repeat_purchases")


def found_columns(keys: list[str], columns: Sequence[Column]) -> dict[str, int]:
    """Where each of ``columns`` found in a header (its cells as :func:`header_key` names
    them) is: the first of its aliases there."""
    where: dict[str, int] = {}
    for col in columns:
        for alias in col.headers:
            if alias in keys:
                where[col.name] = keys.index(alias)
                break
    return where


def usable_head(head: bytes, kind: str, columns: Sequence[Column]) -> bool:
    """Whether :func:`~.readers.read_report` surely finds a tab-separated ``kind`` report that begins
    with ``head`` (its first lines' bytes) usable, judged without reading a cell: it is text,
    its header has some of ``columns`` and every required one, and it has a row if ``kind``
    needs one. Those are all of the reader's reasons for an unusable report; a head this says
    no of is left to the reader, which says what is wrong (or reads it after all)."""
    try:
        text, _, _ = read_text(head)
    except NotText:
        return False
    header, rows = split_rows(text, "\t")
    keys = [header_key(h) for h in header]
    where = found_columns(keys, columns)
    return bool(where) and not wrong_kind(keys, kind) and all(c in where for c in REQUIRED.get(kind, ())) and (bool(rows) or kind not in ROW_NEEDS)
