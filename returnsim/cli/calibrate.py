"""``returnsim calibrate``: a scenario file and a fit report from a seller's Amazon reports."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from . import common
from .common import UserError, terminal_width

__all__ = ["register"]


def _bands(text: str) -> list[float]:
    try:
        values = sorted(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected prices separated by commas (e.g. 20,50), got {text!r}") from None
    if not values or not all(0 < v < math.inf for v in values) or len(set(values)) < len(values):
        raise argparse.ArgumentTypeError(f"expected distinct positive prices separated by commas, got {text!r}")
    return values


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not 0 <= days < math.inf:
        raise argparse.ArgumentTypeError(f"expected a number of days >= 0, got {text!r}")
    return days


def _file(path: str | None, what: str) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{what}: no such file: {path}")
    return p


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ..calibrate import calibrate
    from ..calibrate.calibration import default_base
    from ..scenario import load_scenario

    common.require_output(args)  # before the reports are read: nowhere to write is the first problem
    fba = _file(args.fba_returns, "--fba-returns")
    mfn = _file(args.mfn_returns, "--mfn-returns")
    orders = _file(args.orders, "--orders")
    classes = _file(args.classes, "--classes")
    repeat = _file(args.repeat_purchases, "--repeat-purchases")
    codes = _file(args.codes, "--codes")
    if fba is None and mfn is None and orders is None:
        raise UserError("give at least one report: --fba-returns, --mfn-returns or --orders")
    if args.base is not None:
        base = _file(args.base, "--base")
    else:
        try:
            base = default_base()
        except FileNotFoundError as err:
            raise UserError(str(err).replace("pass base=", "pass --base SCENARIO")) from None
    assert base is not None
    out = Path(args.output)
    if out.suffix != ".toml":
        raise UserError(f"--output: expected a .toml file name, got {args.output}")
    if not out.parent.exists():
        raise UserError(f"--output: the folder {out.parent} does not exist")
    report = Path(args.report) if args.report else out.with_name(out.stem + "_fit.html")
    # (before the reports are read: a folder or a place that cannot be written had ended in an
    # internal error after the whole calibration)
    common.check_writable(out, "--output (-o)", "file")
    common.check_writable(report, "--report", "file")
    base_sc = load_scenario(base)
    try:
        cal = calibrate(
            fba_returns=fba,
            mfn_returns=mfn,
            orders=orders,
            classes=classes,
            repeat_purchases=repeat,
            codes=codes,
            base=base_sc,
            home_country=args.home_country,
            price_bands=args.price_bands,
            maturity_days=args.maturity_days,
        )
    except ValueError as err:  # a report that cannot be used, a malformed code table
        raise UserError(str(err)) from None
    text = cal.to_scenario(base=base, path=out)
    cal.write_report(report, scenario_text=text)
    width = min(terminal_width(), 110)
    print(cal.summary(width=width))
    assumed = cal.assumed(text)
    print()
    print(f"Still assumed ({len(assumed)} fields, from {base.name}): " + ", ".join(assumed[:8]) + (f", ... (all in {report.name})" if len(assumed) > 8 else ""))
    for note in cal.writer_notes:
        print(f"Note: {note}")
    print(f"Wrote {out} and the fit report {report}.")
    print(f"Next: returnsim run {out} --replications 30")
    return 0


def register(sub: Any) -> None:
    """Add ``calibrate`` to the ``returnsim`` subcommands."""
    sp = sub.add_parser(
        "calibrate",
        help="fit a scenario to your Amazon returns and order reports",
        description="Fit return rates, reason mixes, delays, label costs and more from Seller "
        "Central reports, write a scenario with the fitted values (the base scenario's "
        "elsewhere) and a fit report. Order ids, buyer comments and names are never written.",
    )
    sp.add_argument("--fba-returns", metavar="FILE", help="FBA customer returns report (tab-separated)")
    sp.add_argument("--mfn-returns", metavar="FILE", help="seller-fulfilled Returns report (tab-separated)")
    sp.add_argument("--orders", metavar="FILE", help="All Orders report, or a table of month and orders")
    sp.add_argument("--classes", metavar="FILE", help="SKU/ASIN -> item_class mapping (default: price bands)")
    sp.add_argument("--repeat-purchases", metavar="FILE", help="Brand Analytics' Repeat Purchase Behavior report (CSV or the API's JSON): fits purchases a year with you")
    sp.add_argument("--base", metavar="SCENARIO", help="scenario to start from (default: the seed scenario shipped with returnsim)")
    common.output_file(sp, "the calibrated scenario to write", required=True, metavar="FILE.toml", old=["--out"])
    sp.add_argument("--report", metavar="FILE.html", help="the fit report (default: FILE_fit.html beside --output)")
    sp.add_argument("--codes", metavar="FILE", help="your copy of the code table (amazon_codes.toml)")
    sp.add_argument("--home-country", metavar="CC", help="the marketplace's country (default: the most common ship country)")
    sp.add_argument("--price-bands", type=_bands, metavar="P1,P2", help="price boundaries for classes without --classes")
    sp.add_argument("--maturity-days", type=_days, default=90.0, metavar="DAYS", help="age an order needs at the end of the returns reports to count in return rates (default 90)")
    sp.set_defaults(func=cmd_calibrate)
