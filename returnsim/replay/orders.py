"""The All Orders report, read a block of lines at a time.

A replay needs two things from a year of orders: how many orders were placed each day, and the
order lines that were returned (their time, item, price and ship country). Both come from one
pass over the file, a block of lines at a time, so memory does not grow with the file:

* an ordinary line (no quotes, the header's number of fields, a readable date) is only counted:
  its order id, purchase date, status and ship country are split out and tallied per day;
* the returned order lines, and every line that is not ordinary (quoted fields, fields missing,
  a date in another format or unreadable), go through the calibration's reader
  (:func:`~returnsim.calibrate.readers.read_report`), with its tolerance and its problem list
  (line numbers are the file's);
* a file that cannot be streamed this way (UTF-16, old Mac line endings, bytes or text passed in
  memory) is read whole by :func:`~returnsim.calibrate.readers.read_orders`.

Duplicate lines are found within a block (as the reader finds them within a file); an order's
lines split over two blocks are counted once.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.codes import CodeTable
from ..calibrate.readers import ALL_ORDERS, Report, read_orders, read_report
from ..calibrate.tsv import Source, _utf16_without_bom, header_key, read_cells

__all__ = ["OrderCounts", "scan_orders", "BLOCK_LINES"]

_LINE_REF = re.compile(r"line (\d+)")
"""A line named in a problem's text (``duplicate of line 4``): renumbered as the file's."""

BLOCK_LINES = 50_000
"""Lines read at a time: a few MB of text."""

_FIELDS = {c.name: c for c in ALL_ORDERS}


@dataclasses.dataclass
class OrderCounts:
    """What the counting pass found."""

    per_day: pd.Series
    """Orders (distinct order ids, cancelled left out) per purchase day (a naive UTC date)."""
    countries: Counter
    """Order lines per ship country (for the home market)."""
    lines: int = 0


def _count(df: pd.DataFrame, cancelled: dict[str, str], counts: OrderCounts, last: set[str]) -> set[str]:
    """Add the orders of ``df`` (``order_id``, ``purchase_date`` and optionally ``status`` and
    ``ship_country``) to ``counts``; ``last``: order ids already counted in the previous block.
    Returns this block's order ids."""
    if df.empty:
        return set()
    keep = np.array(df["purchase_date"].notna())
    if "status" in df:
        keep &= np.array(df["status"].map(cancelled) != "cancelled")
    if "ship_country" in df:
        counts.countries.update(df["ship_country"].dropna().tolist())
    d = df.loc[keep, ["order_id", "purchase_date"]]
    d = d[~d["order_id"].isin(last)].drop_duplicates("order_id")
    days = pd.to_datetime(d["purchase_date"]).dt.normalize()
    add = days.value_counts()
    counts.per_day = counts.per_day.add(add, fill_value=0)
    return set(df["order_id"].dropna().tolist())


def _whole(source: Source, returned: set[str], codes: CodeTable) -> tuple[Report, OrderCounts]:
    rep = read_orders(source)
    counts = OrderCounts(per_day=pd.Series(dtype=float), countries=Counter(), lines=rep.rows_read)
    if rep.unusable or rep.kind != "orders":
        return rep, counts
    _count(rep.data, codes.value_map("order_status"), counts, set())
    rep.data = rep.data[rep.data["order_id"].isin(returned)].reset_index(drop=True)
    return rep, counts


def scan_orders(
    source: Source, returned: set[str], codes: CodeTable, block: int = BLOCK_LINES
) -> tuple[Report, OrderCounts]:
    """Count the orders per day of an All Orders report and read its returned lines.

    Args:
        source: the report (a path is streamed; bytes or text are read whole).
        returned: order ids of the returns being replayed: their lines are kept.
        codes: the code table (which order statuses are cancellations).
        block: lines read at a time.

    Returns:
        The returned lines as a :class:`Report` (the reader's columns, every problem found in the
        file), and the :class:`OrderCounts`.
    """
    if not isinstance(source, str | Path):
        return _whole(source, returned, codes)
    path = Path(source)
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(head) or (b"\r" in head and b"\n" not in head):
        return _whole(path, returned, codes)
    # The header and the first lines: is this an All Orders report at all?
    first = b"\n".join(head.split(b"\n")[:50])
    probe = read_orders(first if len(head) < 65536 else first + b"\n")
    probe.name = path.name
    if probe.unusable or probe.kind != "orders":
        return _whole(path, returned, codes)  # the reader says what is wrong, or reads counts
    return _stream(path, returned, codes, block)


def _decode(raw: bytes, notes: list[str], name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if not notes:
            notes.append(f"{name}: not UTF-8; read as Windows-1252")
        return raw.decode("cp1252", errors="replace")


def _stream(path: Path, returned: set[str], codes: CodeTable, block: int) -> tuple[Report, OrderCounts]:
    cancelled = codes.value_map("order_status")
    counts = OrderCounts(per_day=pd.Series(dtype=float), countries=Counter())
    notes: list[str] = []
    kept: list[pd.DataFrame] = []
    problems: list[Any] = []
    day_only = True
    last: set[str] = set()
    with open(path, "rb") as fh:
        header_raw = fh.readline()
        header_text = _decode(header_raw, notes, path.name).lstrip("\ufeff").rstrip("\r\n")
        header = header_text.split("\t")
        keys = [header_key(h) for h in header]
        where: dict[str, int] = {}
        for col in ALL_ORDERS:
            for alias in col.headers:
                if alias in keys:
                    where[col.name] = keys.index(alias)
                    break
        width = len(header)
        i_id, i_date = where["order_id"], where["purchase_date"]
        i_status, i_country = where.get("status"), where.get("ship_country")
        line_no = 1
        while True:
            raw_lines: list[bytes] = []
            quotes = 0
            for raw in fh:
                raw_lines.append(raw)
                quotes += raw.count(b'"')
                # A block ends where the quotes balance (never inside a quoted field).
                if len(raw_lines) >= block and quotes % 2 == 0:
                    break
            if not raw_lines:
                break
            text = _decode(b"".join(raw_lines), notes, path.name)
            lines = text.replace("\r\n", "\n").split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            numbers = np.arange(line_no + 1, line_no + 1 + len(lines))
            line_no += len(lines)
            counts.lines += sum(1 for ln in lines if ln.strip())
            plain_ix: list[int] = []
            odd_ix: list[int] = []
            plain_fields: list[list[str]] = []
            inside = False
            for k, ln in enumerate(lines):
                q = ln.count('"')
                if inside or q:
                    odd_ix.append(k)
                    inside = inside ^ (q % 2 == 1)
                    continue
                if not ln.strip():
                    continue
                f = ln.split("\t")
                if len(f) != width:
                    odd_ix.append(k)
                    continue
                plain_ix.append(k)
                plain_fields.append(f)
            plain = np.asarray(plain_ix, dtype=np.int64)
            frame = pd.DataFrame(index=range(len(plain_fields)))
            bad_mask = np.zeros(len(plain_fields), dtype=bool)
            only = True
            # The cells the count needs, read as the reader reads them (a cell it could not read
            # sends its line to the reader, which reports it).
            for name, i in (("order_id", i_id), ("purchase_date", i_date), ("status", i_status), ("ship_country", i_country)):
                if i is None:
                    continue
                raw_col = pd.Series([f[i].strip() for f in plain_fields], dtype=object).astype(str)
                values, bad, day = read_cells(name, _FIELDS[name].kind, raw_col)
                frame[name] = values
                bad_mask |= bad.to_numpy()
                if name == "purchase_date":
                    only = day
                    bad_mask |= values.isna().to_numpy()
            if len(frame):
                # Every copy of a repeated line goes to the reader, which counts it once and says so.
                dup = pd.Series([lines[k] for k in plain]).duplicated(keep=False).to_numpy()
                slow = bad_mask | dup | frame["order_id"].isin(returned).to_numpy()
                if (~slow).any():
                    day_only &= bool(only) or not (~bad_mask).any()
                count = frame[~slow]
                last_ids = _count(count, cancelled, counts, last)
            else:
                slow = np.zeros(0, dtype=bool)
                last_ids = set()
            slow_ix = sorted(set(odd_ix) | set(plain[slow].tolist()))
            if slow_ix:
                rep = read_report(
                    io.StringIO(header_text + "\n" + "\n".join(lines[k] for k in slow_ix) + "\n"), "orders", ALL_ORDERS
                )
                orig = numbers[np.asarray(slow_ix)]
                # The reader numbers the lines it was given (header = 1): back to the file's.
                def fix(n: int) -> int:
                    return int(orig[n - 2]) if 2 <= n < len(orig) + 2 else n

                problems.extend(
                    dataclasses.replace(
                        p, file=path.name, line=fix(p.line),
                        problem=_LINE_REF.sub(lambda m: f"line {fix(int(m.group(1)))}", p.problem),
                    )
                    for p in rep.problems
                )
                data = rep.data
                if not data.empty:
                    data["line"] = [fix(int(n)) for n in data["line"]]
                    if "purchase_date" in rep.day_resolution:
                        day_only &= rep.day_resolution["purchase_date"]
                    last_ids |= _count(data, cancelled, counts, last | last_ids)
                    kept.append(data[data["order_id"].isin(returned)])
            last = last_ids
    data = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=["line", *where])
    rep = Report(kind="orders", name=path.name, data=data, problems=problems, notes=notes,
                 day_resolution={"purchase_date": day_only}, columns_found=tuple(where), rows_read=counts.lines)
    return rep, counts
