"""``rs.calibrate``: a seller's reports in, estimates with confidence intervals out, and a
scenario file that uses them.

>>> cal = rs.calibrate(fba_returns="fba.txt", mfn_returns="returns.txt", orders="orders.txt")  # doctest: +SKIP
>>> cal.estimates          # parameter, item_class, estimate, ci_low, ci_high, n, source   # doctest: +SKIP
>>> cal.problems           # every row or cell that could not be read                     # doctest: +SKIP
>>> cal.to_scenario(base="scenarios/seed_policies.toml", path="my_store.toml")             # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..scenario import Scenario, load_scenario
from ..scenario.world import Returns
from .codes import CodeTable
from .names import ALL, PROBLEM_COLUMNS
from .result import CalibrationData
from .tsv import NotText, decode

# pandas and scipy are imported where the reports are read and fitted, so `import returnsim`
# (and every worker process an experiment starts) does not load them.
if TYPE_CHECKING:  # pragma: no cover

    from .readers import Report


__all__ = ["calibrate", "Calibration", "CalibrationError", "PROBLEM_COLUMNS", "default_base"]


class CalibrationError(ValueError):
    """An argument of :func:`calibrate` cannot be a report: the message names the argument."""




def _check_source(name: str, value: Any, tables: bool = False) -> None:
    """``value`` can be the report ``name``: a path to an existing text file, bytes, an open
    text stream, or (``tables``) a dict / Series / DataFrame; a CalibrationError naming the
    argument if not. Only the first bytes of a file are looked at (its kind, not its rows)."""
    if value is None or isinstance(value, bytes) or hasattr(value, "read"):
        return
    if tables and (isinstance(value, dict) or hasattr(value, "to_dict")):
        return
    if isinstance(value, bool) or not isinstance(value, str | Path):
        extra = ", a dict or a table" if tables else ""
        raise CalibrationError(
            f"calibrate({name}=...): expected a path to the report, bytes or an open text file{extra}; "
            f"got {type(value).__name__}"
        )
    path = Path(value)
    if not path.is_file():
        raise CalibrationError(f"calibrate({name}=...): no such file: {path}")
    with open(path, "rb") as f:
        head = f.read(4096)
    try:  # the readers' own test of what the bytes are (a database, a workbook, UTF-16 ...)
        decode(head)
    except NotText as err:
        raise CalibrationError(
            f"calibrate({name}=...): {path}: {err}"
            + ("" if name == "codes" else "; download the report from Seller Central as a tab-separated text file")
        ) from None



def default_base() -> Path:
    """The seed scenario shipped with returnsim, used when no base scenario is given."""
    from ..shipped import shipped

    return shipped("seed_policies.toml")


class Calibration(CalibrationData):
    """What :func:`calibrate` found in the reports (the fields of
    :class:`~returnsim.calibrate.result.CalibrationData`), and what to make of it: a scenario
    file, a one-screen summary, the fit report.

    The writers are imported by these methods, not by the module: they need pandas, scipy and
    tomlkit, which ``import returnsim.calibrate`` does not load. They read only
    :class:`~returnsim.calibrate.result.CalibrationData`, so no import points back up here.
    """

    def to_scenario(self, base: str | Path | Scenario | None = None, path: str | Path | None = None) -> str:
        """A scenario file with the fitted values and the base scenario's values elsewhere.

        Args:
            base: the scenario to start from (a file, whose comments and layout are kept, or a
                :class:`Scenario`); default: the seed scenario.
            path: where to write it (optional).

        Returns:
            The TOML text. It is validated before it is returned.
        """
        import tomllib

        from ..scenario import parse_scenario
        from .writer import write_scenario

        text, notes = write_scenario(self, base if base is not None else default_base())
        parse_scenario(tomllib.loads(text), source="calibrated scenario")
        self.writer_notes = notes
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def assumed(self, scenario_text: str) -> list[str]:
        """Fields of a scenario file still marked "assumed" (e.g. of :meth:`to_scenario`'s text)."""
        from .writer import assumed_paths

        return assumed_paths(scenario_text)

    def summary(self, width: int = 100, problems: int = 8) -> str:
        """A one-screen text summary (``width`` characters wide, at most ``problems`` unread
        rows listed): what was fitted, unread rows, unknown codes, notes."""
        from .summary import summary

        return summary(self, width=width, problems=problems)

    def write_report(self, path: str | Path, scenario_text: str | None = None) -> Path:
        """Write the fit report (standalone HTML with figures) to ``path``, whole or not at all;
        given the written scenario's text, it lists the fields still assumed."""
        from .fitreport import write_fit_report

        return write_fit_report(self, path, scenario_text, self.returns)


def _with_uses(problem: Any, kind: str) -> Any:
    """A returns row's unreadable cell, with the figures the row still counts in."""
    from dataclasses import replace

    from .fits import still_counts

    if not problem.field:
        return problem
    uses, lost = still_counts(kind, problem.field)
    if not uses:
        return problem
    more = f" and {len(uses) - 2} more" if len(uses) > 2 else ""
    but = f"; not in {', '.join(lost)}" if lost else ""
    return replace(problem, problem=f"{problem.problem}; left empty, the row still counts in {', '.join(uses[:2])}{more}{but}")


def _as_base(base: str | Path | Scenario | None) -> Scenario | None:
    if base is None or isinstance(base, Scenario):
        return base
    return load_scenario(base)


def calibrate(
    fba_returns: Any = None,
    mfn_returns: Any = None,
    orders: Any = None,
    classes: Any = None,
    repeat_purchases: Any = None,
    *,
    codes: str | Path | CodeTable | None = None,
    base: str | Path | Scenario | None = None,
    home_country: str | None = None,
    price_bands: Sequence[float] | None = None,
    maturity_days: float = 90.0,
) -> Calibration:
    """Fit a store's parameters from its Amazon reports.

    Args:
        fba_returns: the FBA customer returns report (a path, bytes or ``io.StringIO``).
        mfn_returns: the seller-fulfilled Returns report.
        orders: the All Orders report, or order counts per month (a table with ``month`` and
            ``orders``, or a dict / Series of month -> orders).
        classes: a SKU/ASIN -> item class mapping (file with ``sku`` or ``asin`` and
            ``item_class``, or a dict); without one, classes are price bands.
        repeat_purchases: Brand Analytics' Repeat Purchase Behavior report (CSV or the API's
            JSON): fits ``buyer.purchases_per_year``; without it that input stays assumed.
        codes: the code table (default: returnsim's ``amazon_codes.toml``).
        base: the scenario whose assumptions the delay fit uses (delivery time, return window);
            default: the schema's defaults. ``to_scenario`` takes its own base.
        home_country: the marketplace's country for domestic vs international (default: the
            most common ship country).
        price_bands: price boundaries for the classes when there is no mapping (default:
            proposed from the SKUs' prices).
        maturity_days: how old an order must be, at the end of the returns reports, to count in
            return rates (days, finite and >= 0).

    Returns:
        A :class:`Calibration`.

    Raises:
        CalibrationError: a file that cannot be found or read as the argument expects, a
            ``maturity_days`` or ``price_bands`` that is not a finite number of the kind
            expected.
    """
    import pandas as pd

    from .fits import estimate_all
    from .names import ESTIMATE_COLUMNS
    from .prepare import prepare
    from .readers import (
        ReportError,
        read_classes,
        read_fba_returns,
        read_mfn_returns,
        read_orders,
    )
    from .repeat import read_repeat_purchases
    from .stats import fit_request_delay

    if isinstance(maturity_days, bool) or not isinstance(maturity_days, numbers.Real) or not 0 <= maturity_days < math.inf:
        raise CalibrationError(f"calibrate(maturity_days=...): expected a number of days >= 0, got {maturity_days!r}")
    if price_bands is not None:
        bands = list(price_bands)
        if not bands or not all(isinstance(b, numbers.Real) and not isinstance(b, bool) and 0 < b < math.inf for b in bands) or len(set(bands)) < len(bands):
            raise CalibrationError(f"calibrate(price_bands=...): expected distinct positive prices, got {bands!r}")
        price_bands = sorted(bands)
    for arg, value, tables in (
        ("fba_returns", fba_returns, False), ("mfn_returns", mfn_returns, False),
        ("orders", orders, True), ("classes", classes, True),
    ):
        _check_source(arg, value, tables)
    if codes is not None and not isinstance(codes, CodeTable):
        _check_source("codes", codes)
        try:
            Path(codes).read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise CalibrationError(f"calibrate(codes=...): {codes} is not UTF-8 text; expected a TOML code table") from None
    table = codes if isinstance(codes, CodeTable) else CodeTable.load(codes)
    reports: dict[str, Report | None] = {
        "fba_returns": read_fba_returns(fba_returns) if fba_returns is not None else None,
        "mfn_returns": read_mfn_returns(mfn_returns) if mfn_returns is not None else None,
        "orders": read_orders(orders) if orders is not None else None,
        "classes": read_classes(classes) if classes is not None else None,
        "repeat_purchases": read_repeat_purchases(repeat_purchases) if repeat_purchases is not None else None,
    }
    if all(r is None for k, r in reports.items() if k not in ("classes", "repeat_purchases")):
        raise ValueError("calibrate needs at least one report: fba_returns, mfn_returns or orders")
    unusable = [r.unusable for r in reports.values() if r is not None and r.unusable]
    if unusable:
        raise ReportError("cannot use " + "; ".join(unusable))
    prepared, unknown, info = prepare(
        fba=reports["fba_returns"],
        mfn=reports["mfn_returns"],
        orders=reports["orders"],
        classes=reports["classes"],
        codes=table,
        repeat=reports["repeat_purchases"],
        home_country=home_country,
        price_bands=price_bands,
        maturity_days=maturity_days,
    )
    estimates, details = estimate_all(prepared, list(table.reasons), list(table.dispositions))
    sc = _as_base(base)
    returns = sc.returns if sc is not None else Returns()
    delay_fit = None
    if len(details.delays):
        delay_fit, _ = fit_request_delay(details.delays, details.delay_day_resolution, returns.delivery_days, returns.window_days)
        if delay_fit is not None:
            extra = pd.DataFrame(
                [
                    ["request_delay_after_delivery_mean", ALL, delay_fit.mean, *delay_fit.mean_ci, delay_fit.n, "mfn_returns"],
                    ["request_delay_after_delivery_cv", ALL, delay_fit.cv, *delay_fit.cv_ci, delay_fit.n, "mfn_returns"],
                ],
                columns=ESTIMATE_COLUMNS,
            )
            estimates = pd.concat([estimates, extra], ignore_index=True)
    problems = [_with_uses(p, r.kind) for r in reports.values() if r is not None for p in r.problems]
    notes = [n for r in reports.values() if r is not None for n in r.notes] + prepared.notes
    notes += [
        f"{g.text()}, inside the orders' span: left out of the days orders per day and seasonality are counted over; {g.fix()}"
        for g in details.order_gaps
    ]
    rows = pd.DataFrame(
        [
            {"report": k, "file": r.name, "rows": r.rows_read, "used": len(r.data)}
            for k, r in reports.items()
            if r is not None
        ]
    )
    names = dict(prepared.sources)
    if reports["classes"] is not None:
        names["classes"] = reports["classes"].name
    return Calibration(
        estimates=estimates,
        problems=pd.DataFrame([p.__dict__ for p in problems], columns=PROBLEM_COLUMNS),
        unknown_codes=unknown,
        notes=notes,
        info=info,
        details=details,
        codes=table,
        source_names=names,
        rows=rows,
        delay_fit=delay_fit,
        returns=returns,
        _prepared=prepared,
    )

