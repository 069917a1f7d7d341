"""The ``replay`` command: a seller's own orders and return requests through each policy."""

from __future__ import annotations

import argparse
from typing import Any

from . import common
from .calibrate import _file
from .common import UserError, load, scenario_args
from .experiment import _experiment, _results_text, _write_then_print, experiment_args

__all__ = ["register"]


def cmd_replay(args: argparse.Namespace) -> int:
    from ..calibrate.readers import ReportError
    from ..replay import read_inputs
    from ..replay.run import replay_result

    sc = load(args)
    policies = common.policies(sc, args.policy)
    baseline = common.baseline(policies, args.baseline)
    # The current policy first: it is the one set beside the actuals.
    policies = [baseline, *(p for p in policies if p != baseline)]
    orders = _file(args.orders, "--orders")
    fba = _file(args.fba_returns, "--fba-returns")
    mfn = _file(args.mfn_returns, "--mfn-returns")
    classes = _file(args.classes, "--classes")
    if orders is None:
        raise UserError("replay needs --orders (the All Orders report): the order times, items and prices")
    if fba is None and mfn is None:
        raise UserError("replay needs --fba-returns or --mfn-returns: the return requests to replay")
    try:
        inputs = read_inputs(
            sc, orders=orders, fba_returns=fba, mfn_returns=mfn, classes=classes, home_country=args.home_country,
            allow_large=args.allow_large,
        )
    except (ReportError, ValueError) as err:  # the readers' own messages name the file and the fix
        raise UserError(str(err)) from None
    res = replay_result(_experiment(args, inputs.scenario, policies, source=inputs.demand), inputs)
    head = _read_text(res)
    base = baseline if len(policies) > 1 else None
    text = head + "\n\n" + _results_text(args, inputs.scenario, res, base) + "\n\n" + res.actuals_table()
    full = text
    if args.out and not args.full:
        full = head + "\n\n" + _results_text(args, inputs.scenario, res, base, full=True) + "\n\n" + res.actuals_table()
    _write_then_print(args, inputs.scenario, res, base, text, full)
    if args.output:
        from ..output.report import write_report

        if len(policies) < 2:
            raise UserError("--output writes a report comparing policies: name at least two (or none for all)")
        common.keep_results(
            args, res, inputs.scenario,
            lambda: print(f"wrote {write_report(res, inputs.scenario, args.output, baseline, args.command_line)}"),
        )
    return 0


def _read_text(res: Any) -> str:
    """What was replayed, and what of the reports could not be read (what was left out is
    among the run's notes)."""
    lines = [
        f"Replayed {res.requests:,} return requests of {res.orders:,} orders from day {res.start_date} "
        "as they happened; each policy meets the same requests and buyers."
    ]
    if res.problems:
        lines.append(f"{len(res.problems)} cells or rows of the reports could not be read (the rest was used):")
        lines.extend(f"  {p}" for p in res.problems[:8])
        if len(res.problems) > 8:
            lines.append(f"  ... and {len(res.problems) - 8} more")
    return "\n".join(lines)


def register(sub: Any) -> None:
    """Add ``replay`` to the ``returnsim`` subcommands."""
    sp = sub.add_parser(
        "replay",
        help="run your own orders and return requests (Amazon reports) through each policy, "
        "beside what actually happened",
    )
    scenario_args(sp)
    sp.add_argument("--orders", metavar="FILE", help="the All Orders report (tab-separated)")
    sp.add_argument("--fba-returns", metavar="FILE", help="the FBA customer returns report")
    sp.add_argument("--mfn-returns", metavar="FILE", help="the seller-fulfilled Returns report")
    sp.add_argument("--classes", metavar="FILE", help="SKU/ASIN -> item class mapping (csv), as for calibrate")
    sp.add_argument("--home-country", metavar="CC", help="the domestic market's country code (default: the most common)")
    experiment_args(sp)
    sp.add_argument(
        "--baseline", metavar="P",
        help="the policy you ran (default: the first): set beside the actuals and compared against",
    )
    sp.add_argument(
        "-o", "--output", metavar="FILE.html",
        help="also write the HTML report comparing the policies to this file (--out DIR writes it as report.html)",
    )
    sp.set_defaults(func=cmd_replay)
