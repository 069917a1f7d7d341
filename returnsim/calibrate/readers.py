"""Tolerant readers for Amazon's returns and order reports, order counts and class mappings.

Real exports vary, so the readers are liberal in what they accept and precise about what they
could not read:

* tab-separated text (comma-separated for the two small tables a seller writes by hand), in
  UTF-8 with or without a byte-order mark, UTF-16 (Excel's "Unicode text"), or Windows-1252
  (noted); Windows or Unix line endings; quoted fields, including quoted tabs and line breaks,
  and stray quotes inside unquoted fields;
* columns in any order, matched by name whatever the case, spacing or hyphenation
  (``Order ID`` = ``order-id``), with the aliases Amazon uses (``amazon-order-id``); extra
  columns are ignored and missing optional ones are simply absent;
* dates as ISO 8601 (with or without time and offset), ``DD-MM-YYYY`` or ``DD-MON-YYYY``;
  amounts with currency signs or thousands separators.

Every cell that cannot be read becomes a :class:`ReadProblem` naming the file, line, column, the
value and what was expected; the cell is left empty and the rest of the row is used. A row with
the wrong number of fields, or a duplicate of an earlier row, is reported and skipped. One bad
row never sinks a file.

Privacy: only the columns the fits need are read. Buyer comments, product names and any buyer
name or address columns are never read, and values shown in problems have anything shaped like an
order id or an e-mail address masked.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .headers import REQUIRED, ROW_NEEDS, SIGNATURES, Column, found_columns, what_it_is, wrong_kind
from .tsv import (
    EXPECT,
    NotText,
    Source,
    header_key,
    read_cells,
    read_text,
    redact,
    split_lines,
    split_rows,
)

__all__ = [
    "ReadProblem",
    "Report",
    "ReportError",
    "Column",
    "FBA_RETURNS",
    "MFN_RETURNS",
    "ALL_ORDERS",
    "read_report",
    "read_fba_returns",
    "read_mfn_returns",
    "read_orders",
    "read_classes",
    "redact",
]



class ReportError(ValueError):
    """A report that cannot be used at all (an empty or binary file, no header line, another
    report than the one expected); the message names the file and the fix."""


@dataclass(frozen=True)
class ReadProblem:
    """One thing in a file that could not be read (the rest of the file is still used)."""

    file: str
    line: int
    """1-based line of the file (the header is usually line 1); 0 for the file as a whole."""
    column: str
    value: str
    problem: str
    field: str = ""
    """The reader's name of the column (``return_date``) when one cell could not be read."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        col = f" column '{self.column}'" if self.column else ""
        val = f": got {self.value!r}" if self.value != "" else ""
        return f"{where}{col}{val}; {self.problem}"


@dataclass
class Report:
    """What a reader got from one file."""

    kind: str
    """``fba_returns``, ``mfn_returns``, ``orders``, ``monthly_orders`` or ``classes``."""
    name: str
    """The file's base name (never its full path, which may name a person)."""
    data: pd.DataFrame
    problems: list[ReadProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    day_resolution: dict[str, bool] = field(default_factory=dict)
    """Date columns whose values carry no time of day."""
    columns_found: tuple[str, ...] = ()
    rows_read: int = 0
    """Data rows in the file (before dropping unreadable ones)."""
    unusable: str | None = None
    """Why the file cannot be used at all, and the fix (``None`` when it can):
    :func:`~returnsim.calibrate.calibrate` raises :class:`ReportError` with it."""

    def fail(self, line: int, why: str) -> Report:
        """Mark the file unusable (also listed among its problems); returns ``self``."""
        self.unusable = f"{self.name}: {why}"
        self.problems.append(ReadProblem(self.name, line, "", "", why))
        self.data = pd.DataFrame()
        return self

    def has(self, column: str) -> bool:
        """Was ``column`` in the file, with at least one readable value?"""
        return column in self.data and bool(self.data[column].notna().any())


FBA_RETURNS: tuple[Column, ...] = (
    Column("return_date", ("return-date",), "date"),
    Column("order_id", ("order-id", "amazon-order-id"), "id"),
    Column("sku", ("sku", "merchant-sku", "seller-sku"), "text"),
    Column("asin", ("asin",), "text"),
    Column("quantity", ("quantity",), "count"),
    Column("disposition", ("detailed-disposition", "disposition"), "code"),
    Column("reason", ("reason", "return-reason"), "code"),
    Column("status", ("status",), "code"),
)
"""Columns read from the FBA customer returns report (``docs/calibrate.md``)."""

MFN_RETURNS: tuple[Column, ...] = (
    Column("order_id", ("order-id", "amazon-order-id"), "id"),
    Column("order_date", ("order-date",), "date"),
    Column("request_date", ("return-request-date",), "date"),
    Column("status", ("return-request-status",), "code"),
    Column("label_type", ("label-type",), "code"),
    Column("label_cost", ("label-cost",), "money"),
    Column("currency", ("currency-code", "currency"), "code"),
    Column("label_payer", ("label-to-be-paid-by",), "code"),
    Column("az_claim", ("a-to-z-claim", "atoz-claim"), "yn"),
    Column("prime", ("is-prime",), "yn"),
    Column("asin", ("asin",), "text"),
    Column("sku", ("merchant-sku", "sku"), "text"),
    Column("quantity", ("return-quantity",), "count"),
    Column("reason", ("return-reason",), "code"),
    Column("in_policy", ("in-policy",), "yn"),
    Column("return_type", ("return-type",), "code"),
    Column("resolution", ("resolution",), "code"),
    Column("delivery_date", ("return-delivery-date",), "date"),
    Column("order_amount", ("order-amount",), "money"),
    Column("order_quantity", ("order-quantity",), "count"),
    Column("refunded_amount", ("refunded-amount",), "money"),
    Column("safet_claim", ("safet-claim-id", "safe-t-claim-id"), "id"),
    Column("safet_state", ("safet-claim-state", "safe-t-claim-state"), "code"),
    Column("safet_amount", ("safet-claim-reimbursement-amount", "safe-t-claim-reimbursement-amount"), "money"),
)
"""Columns read from the seller-fulfilled Returns report."""

ALL_ORDERS: tuple[Column, ...] = (
    Column("order_id", ("amazon-order-id", "order-id"), "id"),
    Column("purchase_date", ("purchase-date", "order-date"), "date"),
    Column("status", ("order-status",), "code"),
    Column("channel", ("fulfillment-channel", "fulfilment-channel"), "code"),
    Column("sku", ("sku", "merchant-sku", "seller-sku"), "text"),
    Column("asin", ("asin",), "text"),
    Column("quantity", ("quantity", "quantity-purchased"), "count"),
    Column("item_price", ("item-price",), "money"),
    Column("currency", ("currency",), "code"),
    Column("ship_country", ("ship-country",), "country"),
)
"""Columns read from the All Orders report."""

MONTHLY_ORDERS: tuple[Column, ...] = (
    Column("month", ("month",), "month"),
    Column("orders", ("orders", "order-count", "orders-count"), "count"),
    Column("item_class", ("item-class", "class"), "text"),
)
CLASS_MAP: tuple[Column, ...] = (
    Column("sku", ("sku", "merchant-sku", "seller-sku"), "text"),
    Column("asin", ("asin",), "text"),
    Column("item_class", ("item-class", "class"), "text"),
)

_KEPT_WITHOUT = {"orders": ("purchase_date",)}
"""Required columns whose empty or unreadable cell leaves the row in: an order line without its
date is still an order line (its class, price and country count; its date-bound figures not)."""


# --------------------------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------------------------


def read_report(source: Source, kind: str, columns: Sequence[Column], delimiter: str = "\t") -> Report:
    """Read one tab-separated report into the named ``columns``.

    Args:
        source: a path, the file's bytes, or an ``io.StringIO`` of its text.
        kind: what the report is (used in messages and by the fits).
        columns: the columns to look for (``FBA_RETURNS``, ``MFN_RETURNS``, ``ALL_ORDERS``).
        delimiter: ``"\\t"``, or ``"auto"`` for tab, comma or semicolon, whichever the header
            uses.

    Returns:
        A :class:`Report` whose ``data`` has one row per readable row and one column per
        column found (absent optional columns are left out), plus every problem.
    """
    try:
        text, name, note = read_text(source)
    except NotText as err:
        name = _name(source)
        return Report(kind=kind, name=name, data=pd.DataFrame()).fail(0, f"{err}; export the report from Seller Central as tab-delimited text (.txt) and pass that file")
    rep = Report(kind=kind, name=name, data=pd.DataFrame())
    if note:
        rep.notes.append(f"{name}: {note}")
    if delimiter == "auto":
        first = next((ln for ln in split_lines(text) if ln.strip()), "")
        # (a semicolon: a CSV saved by Excel where the decimal mark is a comma)
        delimiter = "\t" if "\t" in first else ";" if ";" in first and "," not in first else "," if "," in first else "\t"
    header, rows = split_rows(text, delimiter)
    if not header:
        return rep.fail(0, "the file is empty; download the report again for a period with data")
    keys = [header_key(h) for h in header]
    where = found_columns(keys, columns)
    rep.columns_found = tuple(where)
    required = [c for c in REQUIRED.get(kind, ()) if c not in where]
    other = wrong_kind(keys, kind) if where and not required else ""
    if other:
        return rep.fail(1, other)
    if not where or required:
        why = what_it_is(keys, kind)
        if not where:
            expected = ", ".join(c.headers[0] for c in columns[:6])
            return rep.fail(1, why or f"no column returnsim reads was found; expected some of: {expected}, ...")
        by_name = {c.name: c for c in columns}
        for c in required:
            rep.problems.append(
                ReadProblem(name, 1, by_name[c].headers[0], "", "missing column; rows cannot be used without it")
            )
        missing = ", ".join(by_name[c].headers[0] for c in required)
        rep.unusable = f"{name}: " + (why or f"no column {missing}; export the full report (every column) from Seller Central")
        return rep
    if not rows and kind in ROW_NEEDS:
        return rep.fail(1, "the file has a header but no rows; download the report for a period with orders")
    if not rows:
        rep.notes.append(f"{name}: a header and no rows (no returns in the period?); no figure is fitted from it")

    width = len(header)
    idx = [where[c.name] for c in columns if c.name in where]
    names = [c.name for c in columns if c.name in where]
    pick = itemgetter(*idx)
    kept_lines: list[int] = []
    kept: list[Any] = []
    seen: dict[tuple[str, ...], int] = {}
    rep.rows_read = len(rows)
    for line, fields in rows:
        if len(fields) != width:
            while len(fields) > width and fields[-1].strip() == "":
                fields = fields[:-1]  # trailing tabs
            if len(fields) != width:
                rep.problems.append(
                    ReadProblem(name, line, "", "", f"the row has {len(fields)} fields, the header {width}; row skipped")
                )
                continue
        key = tuple(fields)
        if key in seen:
            rep.problems.append(
                ReadProblem(name, line, "", "", f"duplicate of line {seen[key]}; counted once")
            )
            continue
        seen[key] = line
        kept_lines.append(line)
        kept.append(pick(fields))
    del seen
    if len(idx) == 1:
        kept = [(v,) for v in kept]
    cols = list(zip(*kept, strict=True)) if kept else [() for _ in names]
    lines = np.asarray(kept_lines, dtype=np.int64)
    data: dict[str, Any] = {"line": lines}
    drop = np.zeros(len(lines), dtype=bool)
    kinds = {c.name: c for c in columns}
    for cname, values in zip(names, cols, strict=True):
        col = kinds[cname]
        raw = pd.Series(values, dtype=object).astype(str).str.strip()
        parsed, bad, day_only = read_cells(cname, col.kind, raw)
        if col.kind == "date":
            rep.day_resolution[cname] = day_only
        if bad.any():
            header_name = header[where[cname]].strip()
            for i in np.flatnonzero(bad.to_numpy()):
                rep.problems.append(
                    ReadProblem(name, int(lines[i]), header_name, redact(raw.iat[i]), EXPECT[col.kind], cname)
                )
        data[cname] = parsed.to_numpy() if col.kind not in ("yn",) else parsed.array
        if cname in _KEPT_WITHOUT.get(kind, ()):
            missing = parsed.isna().to_numpy()
            for i in np.flatnonzero(missing & ~bad.to_numpy()):
                rep.problems.append(ReadProblem(name, int(lines[i]), header[where[cname]].strip(), "", "empty", cname))
        elif kind in ROW_NEEDS and cname in REQUIRED.get(kind, ()):
            missing = parsed.isna().to_numpy()
            for i in np.flatnonzero(missing & ~bad.to_numpy() & ~drop):
                rep.problems.append(
                    ReadProblem(name, int(lines[i]), header[where[cname]].strip(), "", "empty; row skipped")
                )
            drop |= missing
    df = pd.DataFrame(data)
    if drop.any():
        df = df[~drop].reset_index(drop=True)
    rep.data = df
    return rep


def _name(source: Source) -> str:
    if isinstance(source, str | Path):
        return Path(source).name
    return getattr(source, "name", "(bytes)" if isinstance(source, bytes) else "(text)")


def read_fba_returns(source: Source) -> Report:
    """Read an FBA customer returns report (tab-separated)."""
    return read_report(source, "fba_returns", FBA_RETURNS)


def read_mfn_returns(source: Source) -> Report:
    """Read a seller-fulfilled Returns report (tab-separated flat file)."""
    return read_report(source, "mfn_returns", MFN_RETURNS)


def read_orders(source: Source | dict[str, float] | pd.Series) -> Report:
    """Read order counts: an All Orders report, or a number of orders per month.

    Args:
        source: an All Orders report (tab-separated, with ``amazon-order-id`` and
            ``purchase-date``), a table with ``month`` and ``orders`` columns (tab- or
            comma-separated, months as ``2026-07``; an ``item_class`` column splits counts by
            class), or a mapping / Series of month -> orders.

    Returns:
        A :class:`Report` of kind ``orders`` (one row per order line) or ``monthly_orders``.
    """
    if isinstance(source, dict | pd.Series):
        items = source.items()
        text = "month\torders\n" + "".join(f"{m}\t{v}\n" for m, v in items)
        rep = read_report(io.StringIO(text), "monthly_orders", MONTHLY_ORDERS)
        rep.name = "(order counts)"
        return rep
    try:
        text, name, _ = read_text(source)
    except NotText:
        return read_report(source, "orders", ALL_ORDERS)  # says what the file is
    first = next((ln for ln in split_lines(text) if ln.strip()), "")
    if not first:
        return read_report(source, "orders", ALL_ORDERS)  # says the file is empty
    keys = [header_key(h) for h in re.split(r"[\t,]", first)]
    if set(keys) & {"amazon-order-id", "purchase-date"} or ("order-id" in keys and not set(keys) & SIGNATURES["fba_returns"][1]):
        return read_report(source, "orders", ALL_ORDERS)
    if "month" in keys:
        return read_report(source, "monthly_orders", MONTHLY_ORDERS, delimiter="auto")
    rep = Report(kind="orders", name=name, data=pd.DataFrame())
    return rep.fail(
        1,
        what_it_is(keys, "orders")
        or "not recognised as order counts: expected an All Orders report (amazon-order-id, "
        "purchase-date, sku, quantity, item-price, ship-country, ...) or a table with "
        "columns month and orders",
    )


_CLASS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def read_classes(source: Source | dict[str, str]) -> Report:
    """Read a SKU/ASIN -> item class mapping (columns ``sku`` and/or ``asin``, and
    ``item_class``; tab- or comma-separated), or take a dict of SKU or ASIN -> class.

    Class names become scenario keys: a name that is not a letter followed by letters, digits
    or underscores is reported and rewritten (``"Home & Kitchen"`` -> ``home_kitchen``). A SKU
    mapped twice keeps its first class (reported).
    """
    if isinstance(source, dict):
        text = "sku\titem_class\n" + "".join(f"{k}\t{v}\n" for k, v in source.items())
        rep = read_report(io.StringIO(text), "classes", CLASS_MAP)
        rep.name = "(class mapping)"
    else:
        rep = read_report(source, "classes", CLASS_MAP, delimiter="auto")
    df = rep.data
    if df.empty:
        return rep
    if "sku" not in df and "asin" not in df:
        rep.problems.append(ReadProblem(rep.name, 1, "sku", "", "missing column; need sku or asin"))
        rep.data = pd.DataFrame()
        return rep
    names = df["item_class"].astype(str)
    clean = names.map(_slug)
    for i in np.flatnonzero((clean != names).to_numpy()):
        rep.problems.append(
            ReadProblem(
                rep.name,
                int(df["line"].iat[i]),
                "item_class",
                redact(names.iat[i]),
                f"class names are scenario keys (a letter, then letters, digits or _); read as '{clean.iat[i]}'",
            )
        )
    df["item_class"] = clean
    for key in ("sku", "asin"):
        if key in df:
            sub = df[df[key].notna()]
            dup = sub[key].duplicated(keep="first")
            for i in np.flatnonzero(dup.to_numpy()):
                rep.problems.append(
                    ReadProblem(
                        rep.name, int(sub["line"].iat[i]), key, redact(sub[key].iat[i]), "mapped twice; the first class is used"
                    )
                )
            df = df.drop(index=sub.index[dup.to_numpy()])
    rep.data = df.reset_index(drop=True)
    return rep


def _slug(name: str) -> str:
    if _CLASS_NAME.match(name):
        return name
    s = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    if not s or not s[0].isalpha():
        s = "class_" + s
    return s
