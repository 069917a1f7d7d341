"""From a seller's reports to the arrays a replay runs on.

The calibration's readers read the files (tolerant, with their problem lists), a block of lines
at a time, and each block's rows become arrays at once (:mod:`.returns`; the orders' returned
lines: :mod:`.orders`). They are mapped exactly as a calibration's
:func:`~returnsim.calibrate.prepare.prepare` maps them, on those arrays (:mod:`.match`):
cancelled order lines left out, SKUs/ASINs to item classes (the mapping, or the price bands the
scenario's class names encode), Amazon's reason codes to the scenario's reasons, each return
matched to its order line. What is left is plain arrays
(:class:`~returnsim.model.replay_source.ReplayDemand`): order ids go no further than the reading,
and a request's identity is kept only as a 64-bit hash."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..calibrate.codes import CodeTable
from ..calibrate.gaps import day_gaps
from ..calibrate.names import home_not_shipped_to, look_alikes
from ..calibrate.readers import (
    ReadProblem,
    Report,
    ReportError,
    read_classes,
    read_fba_returns,
    read_mfn_returns,
)
from ..calibrate.tsv import Source
from ..experiment.fingerprint import files_digest
from ..model.budget import RunTooLarge, available_memory, human_bytes, human_count
from ..model.columns import copy_index
from ..model.replay_source import ReplayDemand
from ..scenario import Scenario
from .blocks import give_back
from .match import LineParts, OrderLines, classify, match, request_keys
from .orders import scan_orders
from .returns import ReturnRows, no_rows, read_returns

__all__ = ["ReplayInputs", "read_inputs", "file_digest"]

_HOURS = 24.0
_BAND = re.compile(r"^price_(?:under_(?P<u>[0-9p]+)|(?P<a>[0-9p]+)_to_(?P<b>[0-9p]+)|(?P<p>[0-9p]+)_plus)$")


@dataclass
class ReplayInputs:
    """What a replay runs on, and what was read to get it."""

    demand: ReplayDemand
    scenario: Scenario
    """The scenario, its start moved to the Monday on or before the first order, its horizon
    to the orders' last day, and no warm-up (the reports start where they start)."""
    start: dt.date
    """Day 0 of the replay (a Monday)."""
    reports: dict[str, Report]
    """The reports read, by kind (``orders``, ``fba_returns``, ``mfn_returns``, ``classes``)."""
    returns: pd.DataFrame
    """One row per replayed request: ``channel`` (fba/mfn), ``order_time``, ``item_class``,
    ``price`` (which identify its rows in a trace) and what the returns reports say happened (``refunded``, ``label_cost``, ``seller_label``, ``az_claim``, ``safet_amount``,
    ``returnless``; missing where the report does not carry it). A report row returning ``q``
    units is ``q`` requests: its money and claim are on the first unit's row (the others 0),
    its ``returnless`` on each."""
    notes: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """SHA-256 of every input file's content, the reading options and the reading code
        (``demand.digest``): the results store keys a replay by it, so a resume never mixes
        inputs."""
        return self.demand.digest

    @property
    def problems(self) -> list[ReadProblem]:
        """Every cell or row the readers could not use (the rest of each file is used)."""
        return [p for r in self.reports.values() for p in r.problems]


def file_digest(source: Any) -> str:
    """SHA-256 of a report's bytes (a path, bytes, or text)."""
    h = hashlib.sha256()
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    elif isinstance(source, bytes):
        h.update(source)
    elif hasattr(source, "getvalue"):
        v = source.getvalue()
        h.update(v if isinstance(v, bytes) else str(v).encode("utf-8"))
    else:
        h.update(repr(sorted(dict(source).items())).encode("utf-8"))
    return h.hexdigest()


_READING = ("replay/*.py", "calibrate/*.py", "calibrate/*.toml")
"""The code that turns reports into a replay's arrays (globs under the package directory): part
of a replay's identity in a results store (the model's own code is in the store's version key).
Whole folders, not a list of modules: a module left off a list (the id keys deciding which order
lines are kept, the header names deciding which columns are found) would let a store resume a
replay with rows read by other code, and hashing a module that reads nothing only costs a
rerun."""


@lru_cache(maxsize=1)
def _reading_code() -> str:
    return files_digest(_READING)


@contextlib.contextmanager
def _system_allocator() -> Iterator[None]:
    """Arrow's default memory pool set to the system allocator while reading, when pandas'
    strings are Arrow's (pyarrow installed); restored after. Arrow's own allocator keeps what
    a block's strings freed for its next strings, the system's gives it back: 40 MB less at the
    peak of reading 1 M orders. After reading, the heap's free pages are given back
    (:func:`~.blocks.give_back`)."""
    pa = sys.modules.get("pyarrow")
    old = pa.default_memory_pool() if pa is not None else None
    if pa is not None:
        pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        if pa is not None:
            pa.set_memory_pool(old)
        give_back()


def _usable(rep: Report) -> Report:
    if rep.unusable:
        raise ReportError(rep.unusable)
    return rep


def _band_edges(names: list[str]) -> list[float] | None:
    """The price boundaries of class names made by price bands (``price_under_20``,
    ``price_20_to_50``, ``price_50_plus``), or None if the names are not all such."""
    edges: set[float] = set()
    for n in names:
        m = _BAND.match(n)
        if m is None:
            return None
        for g in ("u", "a", "b", "p"):
            if m.group(g):
                edges.add(float(m.group(g).replace("p", ".")))
    return sorted(edges) or None


def _hours(dates: np.ndarray, start: pd.Timestamp) -> np.ndarray:
    """Hours from ``start`` (naive datetime64 dates, NaT: NaN)."""
    return ((pd.Series(dates) - start).dt.total_seconds() / 3600.0).to_numpy(dtype=float)


def _units(q: np.ndarray, line_quantity: np.ndarray) -> np.ndarray:
    """Units each return row returns: its quantity ``q`` (1 where the report has none, or a
    quantity below 1), at most the order line's quantity where that is known."""
    q = np.where(np.isfinite(q) & (q >= 1), np.floor(q), 1.0)
    cap = np.where(np.isfinite(line_quantity) & (line_quantity >= 1), np.floor(line_quantity), np.inf)
    return np.minimum(q, cap).astype(np.int64)


def _class_index(names: np.ndarray, class_ix: Mapping[str, int]) -> np.ndarray:
    """Each return's class as its index in the scenario's catalog (float; NaN: no class, or one
    the scenario does not have), each distinct name looked up once."""
    codes, uniq = pd.factorize(np.asarray(names, dtype=object))
    return np.array([class_ix.get(u, np.nan) for u in uniq.tolist()] + [np.nan], dtype=float)[codes]


def _per_unit(frame: pd.DataFrame, units: np.ndarray) -> pd.DataFrame:
    """One row per unit: a row returning ``q`` units becomes ``q`` requests. What the report
    says of the row's money and claim (``refunded``, ``label_cost``, ``seller_label``,
    ``az_claim``, ``safet_amount``) is put on its first unit (the others 0, or missing where
    the row's is), so totals are the report's; ``returnless`` holds for every unit."""
    if (units == 1).all():
        return frame
    out = frame.iloc[np.repeat(np.arange(len(frame)), units)].reset_index(drop=True)
    later = copy_index(units) > 0
    for col in ("refunded", "label_cost", "seller_label", "az_claim", "safet_amount"):
        v = out[col].to_numpy(dtype=float)
        out[col] = np.where(later & ~np.isnan(v), 0.0, v)
    return out


def _gap_notes(per_day: np.ndarray, start: pd.Timestamp, name: str) -> list[str]:
    """Why a replay's span may be longer than the seller's year: a stray date (a typo, an order
    from another period) stretches it, and every day of it is simulated."""
    gaps = day_gaps(per_day, start.date())
    if not gaps:
        return []
    has = np.flatnonzero(per_day > 0)
    span = " to ".join(str((start + pd.Timedelta(days=int(d))).date()) for d in (has[0], has[-1]))
    out = [f"{name}: {g.text()}, inside the orders' span ({span}): every day of it is simulated; {g.fix()}" for g in gaps[:3]]
    if len(gaps) > 3:
        out.append(f"{name}: and {len(gaps) - 3} more such gaps")
    return out


BYTES_PER_UNIT = 2_000
"""Memory a replayed request takes while the reading builds it and the replay runs: its arrays
and row of the returns' frame (about 160 B kept, measured on the shipped reports, and a few
times that while the frame is built) and the model's
:data:`~returnsim.model.budget.BYTES_PER_REQUEST`; on the high side."""


def _check_units(name: str, units: np.ndarray) -> None:
    """Refuse a returns report whose rows return more units than memory can hold as requests
    (each unit is replayed as one): a quantity typed as 100000000 took all of a 24 GB machine's
    memory and the process was killed, with no word of why."""
    total = int(units.sum())
    if total <= len(units):
        return
    free = available_memory()
    need = total * BYTES_PER_UNIT
    if free is not None and need > free:
        many = int((units > 1).sum())
        raise RunTooLarge(
            f"{name}: {many:,} {'row returns' if many == 1 else 'rows return'} more than one unit (up to {int(units.max()):,}), each unit "
            f"replayed as a request: {human_count(total)} requests would need ~{human_bytes(need)} of memory, but "
            f"{human_bytes(free)} is available. Correct the quantities in the report; to replay them anyway pass "
            "allow_large=True (returnsim: --allow-large)"
        )


def _request_rows(
    r: ReturnRows, hit: np.ndarray, names: np.ndarray, lines: OrderLines, class_ix: Mapping[str, int], one_class: bool,
    start_ts: pd.Timestamp, notes: list[str], allow_large: bool = False,
) -> pd.DataFrame:
    """A returns report's replayed requests (a row per unit), its rows matched to order lines
    at ``hit`` (-1: none) of items ``names``; why a row is not replayed goes to ``notes``."""
    ok = hit >= 0
    pos = np.where(ok, hit, 0)
    cls = np.zeros(len(r)) if one_class else _class_index(names, class_ix)
    has_date = ~np.isnat(r.date) & (~np.isnat(lines.date[pos]) if len(lines) else np.zeros(len(r), dtype=bool))
    keep = ok & ~np.isnan(cls) & has_date
    if (ok & np.isnan(cls)).any():
        notes.append(f"{r.name}: {int((ok & np.isnan(cls)).sum()):,} returns are of items in no class of the scenario; not replayed")
    if (ok & ~has_date).any():
        notes.append(f"{r.name}: {int((ok & ~has_date).sum()):,} returns have no readable date (or their order none); not replayed")
    at = np.flatnonzero(keep)
    line = pos[keep]
    # (a day-dated request on its order's day, or an FBA arrival dated back too far, is put just
    # after its order by the replay's source, as it should be; a date a day or more before the
    # order is a slip in the report, said here)
    early = int((r.date[at] < lines.date[line] - np.timedelta64(1, "D")).sum())
    if early:
        notes.append(
            f"{r.name}: {early:,} returns are dated more than a day before their order; each is replayed as "
            "requested just after its order"
        )
    # (no return window Amazon gives runs for a year; such a date stretches the replay's span)
    late = int((r.date[at] > lines.date[line] + np.timedelta64(365, "D")).sum())
    if late:
        notes.append(
            f"{r.name}: {late:,} returns are dated more than a year after their order; each is replayed as "
            "dated, and the replay runs on to it: if misdated, correct or remove them"
        )
    q = r.quantity[at] if r.quantity is not None else np.ones(len(at))
    units = _units(q, lines.quantity[line] if lines.quantity is not None else np.full(len(at), np.nan))
    if not allow_large:
        _check_units(r.name, units)
    if (units > 1).any():
        notes.append(
            f"{r.name}: {int((units > 1).sum()):,} rows return more than one unit; each unit is replayed as a "
            f"request ({int(units.sum()):,} requests from {len(units):,} rows)"
        )
    data = {
        "channel": r.channel,
        "order_time": _hours(lines.date[line], start_ts),
        "request_time": _hours(r.date[at], start_ts),
        "day_only": r.day_only,
        "arrival": r.channel == "fba",
        "item_class": cls[keep].astype(np.int64),
        "market": lines.international[line],
        "price": lines.unit_price[line],
        "stated_reason": r.reason[at],
        "in_policy": r.in_policy[at],
    }
    frame = pd.concat([pd.DataFrame(data), r.happened.iloc[at].reset_index(drop=True)], axis=1)
    frame = _per_unit(frame, units)
    frame.insert(1, "key", request_keys(r, at, units))
    return frame


@_system_allocator()
def read_inputs(
    scenario: Scenario,
    *,
    orders: Source,
    fba_returns: Source | None = None,
    mfn_returns: Source | None = None,
    classes: Source | Mapping[str, str] | None = None,
    home_country: str | None = None,
    allow_large: bool = False,
) -> ReplayInputs:
    """Read a seller's reports into the arrays a replay runs on.

    Args:
        scenario: the seller's scenario (its catalog's class names and its reasons are what
            the reports are mapped to).
        orders: the All Orders report (order times, items, prices, markets).
        fba_returns, mfn_returns: the FBA customer returns report and the seller-fulfilled
            Returns report (at least one).
        classes: a SKU/ASIN -> item class mapping (file or dict); without it, class names made
            by price bands (``price_under_20`` ...) are matched by price, and a one-class
            catalog takes every item.
        home_country: the domestic market's country code (default: the most common ship-to).
        allow_large: read returns of more units than the memory available can replay (each
            unit is a request) instead of refusing them.

    Raises:
        ReportError: a file cannot be used at all (the message names it and the fix).
        ValueError: no returns report, or no return matches the scenario.
        RunTooLarge: the returns' units, each a request, would not fit in memory.
    """
    if fba_returns is None and mfn_returns is None:
        raise ValueError("replay needs fba_returns= or mfn_returns= (--fba-returns / --mfn-returns): the requests to replay")
    codes = CodeTable.load()
    reason_ix = {r: i for i, r in enumerate(scenario.reasons)}
    reports: dict[str, Report] = {}
    returns: list[ReturnRows] = []
    # Each returns report is turned into arrays as soon as it is read (its frame emptied), so
    # the two reports' frames and the orders' pass are never in memory together.
    for kind, source, reader in (("fba_returns", fba_returns, read_fba_returns), ("mfn_returns", mfn_returns, read_mfn_returns)):
        if source is None:
            continue
        rep, got = read_returns(source, reader, codes, reason_ix)
        reports[kind] = _usable(rep)
        if got is not None:
            returns.append(got)
    # The orders are streamed: counted per day, and only the returned lines kept (known by a
    # 64-bit hash of their order id: a sorted array, not a set of strings).
    # (pandas' hash table, then a sort: numpy 2's np.unique took ten times as long)
    returned = np.sort(pd.unique(np.concatenate([np.zeros(0, dtype=np.uint64)] + [r.order[r.has_order] for r in returns if r.order is not None])))
    # Each block's returned lines become arrays as they are read (a few dozen bytes a line, not
    # the reader's frame of strings until the pass ends).
    line_parts = LineParts(codes)
    orders_rep, counts = scan_orders(orders, returned, codes, sink=line_parts)
    reports = {"orders": _usable(orders_rep), **reports}
    if orders_rep.kind != "orders":
        raise ReportError(
            f"{orders_rep.name}: replay needs the All Orders report (one row per order line, with "
            "amazon-order-id and purchase-date), not monthly order counts"
        )
    if counts.per_day.empty:
        raise ReportError(f"{orders_rep.name}: no order line with a readable purchase date; replay needs the orders' dates")
    notes: list[str] = []
    if home_country is None and counts.countries:
        home_country = counts.countries.most_common(1)[0][0]
    elif home_country is not None:
        notes += home_not_shipped_to(home_country.upper(), counts.countries)
    if classes is not None:
        reports["classes"] = _usable(read_classes(dict(classes) if isinstance(classes, Mapping) else classes))
    catalog = list(scenario.catalog)
    bands = _band_edges(catalog) if classes is None else None
    lines = line_parts.join(home_country, notes)
    give_back()  # what the orders' pass freed: the arrays below are not built on top of it
    tables = classify(lines, reports.get("classes"), bands, notes)
    if classes is not None and "item_class" in reports["classes"].data:
        new = [c for c in pd.unique(reports["classes"].data["item_class"].dropna()) if c not in scenario.catalog]
        if new:
            notes.append(
                f"the class mapping's {', '.join(repr(str(c)) for c in new)} {'is' if len(new) == 1 else 'are'} not a class "
                f"of the scenario ({', '.join(catalog)}): their items' returns are not replayed" + look_alikes(new, catalog)
            )
    matched = []
    for r in returns:
        notes.extend(r.notes)
        matched.append(match(r, lines, tables, notes))
    one_class = classes is None and bands is None and len(catalog) == 1
    if classes is None and bands is None:
        if not one_class:
            put = (
                f"items were put in {tables.classes_from}, which"
                if tables.classes_from.startswith("price bands")
                else "no SKU with a price to put items in price bands by, and"
            )
            notes.append(
                f"no class mapping: {put} the scenario's classes ({', '.join(catalog)}) do not name them; "
                "pass classes= (--classes) to map SKUs to them"
            )
    days = pd.DatetimeIndex(counts.per_day.index)
    if days.tz is not None:
        days = days.tz_convert("UTC").tz_localize(None)
    day0 = days.min().normalize()
    start = (day0 - pd.Timedelta(days=int(day0.weekday()))).date()
    start_ts = pd.Timestamp(start)
    day_ix = ((days.normalize() - start_ts).days).to_numpy()
    n_days = int(day_ix.max()) + 1
    per_day = np.zeros(n_days, dtype=np.int64)
    np.add.at(per_day, day_ix, counts.per_day.to_numpy(dtype=np.int64))
    notes.extend(_gap_notes(per_day, start_ts, orders_rep.name))

    class_ix = {c: i for i, c in enumerate(catalog)}
    rows = [
        _request_rows(r, hit, names, lines, class_ix, one_class, start_ts, notes, allow_large)
        for r, (hit, names) in zip(returns, matched, strict=True)
    ]
    # What the requests were made of is let go before their frames are joined (held, it made
    # the end of the reading its peak in memory).
    del returns, matched, lines, tables
    if not rows or not sum(len(r) for r in rows):
        # (the notes say why each return was left out: the message is all the seller sees)
        raise ValueError(
            "no return in the reports matches an order line of the orders report and a class of the scenario: "
            "nothing to replay" + "".join(f"\n  {n}" for n in notes)
        )
    req = pd.concat(rows, ignore_index=True)
    del rows
    # An order before the replay's days cannot be: the orders report sets day 0.
    bad_price = ~np.isfinite(req["price"].to_numpy()) | (req["price"].to_numpy() <= 0)
    if bad_price.any():
        notes.append(f"{int(bad_price.sum()):,} returned order lines have no readable price; not replayed")
        req = req[~bad_price].reset_index(drop=True)
    sc = Scenario.model_validate(
        {
            **scenario.model_dump(mode="json", by_alias=True),
            "start_date": start.isoformat(),
            "horizon_days": float(n_days),
            "warmup_days": 0,
        }
    )
    digest = hashlib.sha256()
    for kind in sorted(reports):
        digest.update(kind.encode())
    for src_ in (orders, fba_returns, mfn_returns, classes):
        # (the orders' pass hashed the orders' bytes as it read them)
        known = counts.digest if src_ is orders else None
        digest.update(b"-" if src_ is None else (known or file_digest(src_)).encode())
    digest.update(repr((home_country, sorted(catalog))).encode())
    digest.update(_reading_code().encode())
    demand = ReplayDemand(
        orders_per_day=per_day.astype(np.int64),
        key=req["key"].to_numpy(dtype=np.uint64),
        order_time=req["order_time"].to_numpy(dtype=float),
        request_time=req["request_time"].to_numpy(dtype=float),
        day_only=req["day_only"].to_numpy(dtype=bool),
        arrival=req["arrival"].to_numpy(dtype=bool),
        item_class=req["item_class"].to_numpy(dtype=np.int64),
        market=req["market"].to_numpy(dtype=np.int64),
        price=req["price"].to_numpy(dtype=float),
        stated_reason=req["stated_reason"].to_numpy(dtype=np.int64),
        in_policy=req["in_policy"].to_numpy(dtype=np.int8),
        digest=digest.hexdigest(),
    )
    happened = req.drop(columns=["key", "request_time", "day_only", "arrival", "in_policy"])
    # What the reports were read into is no longer needed (their problems are kept): the rows
    # must not stay in memory while the replay runs.
    for rep in reports.values():
        rep.data = no_rows(rep.data)
    return ReplayInputs(
        demand=demand,
        scenario=sc,
        start=start,
        reports=reports,
        returns=happened,
        notes=notes,
    )
