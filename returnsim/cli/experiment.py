"""Commands that run experiments: ``run``, ``compare`` and ``report``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..files import write_text_atomically
from . import common
from .common import UserError, load, positive_int, scenario_args, terminal_width

__all__ = ["register", "experiment_args"]


def _targets(pairs: Sequence[str] | None) -> dict[str, float] | None:
    if not pairs:
        return None
    from ..experiment import METRICS

    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        try:
            h = float(value)
        except ValueError:
            h = float("nan")
        if not sep or not h > 0 or h == float("inf"):
            raise UserError(f"--target expects METRIC=HALF_WIDTH (e.g. policy_profit_per_order=0.05), got {pair!r}")
        if name not in METRICS:
            raise UserError(f"--target: unknown metric {name!r}; metrics: {', '.join(METRICS)}")
        out[name] = h
    return out


def _experiment(args: argparse.Namespace, sc, policies: list[str], **extra: Any):
    """Run the experiment the options describe (``extra``: more ``run_experiment`` arguments,
    such as a replay's ``source``); library errors become user errors."""
    import warnings

    from ..experiment import PrecisionWarning, run_experiment
    from ..experiment.budget import RunSizeWarning
    from ..experiment.replications import StoreWarning

    common.preflight(args, sc, len(policies))  # outputs writable, size bounded: before the run
    with common.user_errors(args), warnings.catch_warnings():
        for said in (PrecisionWarning, StoreWarning, RunSizeWarning):  # in the output instead
            warnings.simplefilter("ignore", said)
        return run_experiment(
            sc,
            policies=policies,
            replications=args.replications,
            seed=args.seed,
            store=args.store,
            progress=common.show_progress(args),
            target_half_width=_targets(args.target),
            scheduler=args.scheduler,
            workers=args.workers,
            max_replications=max(args.max_replications, args.replications),
            allow_large=args.allow_large,
            **extra,
        )


def _header(args: argparse.Namespace, sc, exp) -> str:
    parts = [
        f"{sc.name}: {len(exp.policies)} policies x {exp.replications} replications, seed {exp.seed} "
        f"(scenario {exp.scenario_hash[:12]})",
        ("ran in this process" if exp.executor == "serial" else f"ran on {exp.executor}")
        + f" in {exp.elapsed_seconds:.1f} s"
        + (f"; {exp.from_store} replications read from {args.store}" if args.store else ""),
    ]
    if exp.target_half_width:
        goal = ", ".join(f"{k} ±{v:g}" for k, v in exp.target_half_width.items())
        how = {
            "target_reached": "met",
            "max_replications": f"NOT met within --max-replications {exp.replications}",
        }.get(exp.stopped_reason, exp.stopped_reason)
        parts.append(f"precision target {goal}: {how} (rounds: {', '.join(map(str, exp.rounds))})")
    parts.extend(f"note: {n}" for n in exp.notes)
    return "\n".join(parts)


def _write(out_dir: str, exp, baseline: str | None, text: str, sc=None, command: str = "") -> list[Path]:
    """Write the CSV files, every table and the report to ``out_dir``; returns their paths."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out expects a directory, {out} is a file")
    paths = exp.to_csv(out, baseline)
    write_text_atomically(out / "tables.txt", text + "\n")
    paths.append(out / "tables.txt")
    if sc is not None and len(exp.policies) > 1:
        from ..output.report import write_report

        paths.append(write_report(exp, sc, out / "report.html", baseline, command))
    return paths


def _write_then_print(args: argparse.Namespace, sc, exp, baseline: str | None, text: str, full: str) -> None:
    """Save the results first, then print: output piped into a reader that stops early (`head`)
    ends the printing, never the saving."""
    written: list[Path] = []
    if args.out:  # the file keeps every table, whatever is printed

        def write() -> None:
            written.extend(_write(args.out, exp, baseline, full, sc, args.command_line))

        try:
            common.keep_results(args, exp, sc, write)
        except UserError:
            print(text)  # the answer still, then the message on where the results were kept
            raise
    print(text)
    if written:
        print(f"\nwrote {', '.join(str(p) for p in written)}")


def _results_text(
    args: argparse.Namespace, sc, exp, baseline: str | None, comparison_only: bool = False, full: bool | None = None
) -> str:
    """The header, then the answer, health warnings and the brief or full tables."""
    from ..output.tables import experiment_text

    body = experiment_text(
        exp, baseline, sc.currency, full=args.full if full is None else full, width=terminal_width(),
        comparison_only=comparison_only, scenario=sc,
    )
    return _header(args, sc, exp) + "\n\n" + body


def cmd_run(args: argparse.Namespace) -> int:
    sc = load(args)
    policies = common.policies(sc, args.policy)
    baseline = common.baseline(policies, args.baseline)
    exp = _experiment(args, sc, policies)
    # The headline is a change against the seller's current policy: the first one by default.
    base = baseline if len(policies) > 1 else None
    text = _results_text(args, sc, exp, base)
    full = text if args.full or not args.out else _results_text(args, sc, exp, base, full=True)
    _write_then_print(args, sc, exp, base, text, full)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    sc = load(args)
    policies = common.policies(sc, args.policy)
    if args.baseline not in sc.policies:
        raise UserError(
            f"unknown baseline policy {args.baseline!r}; this scenario has: {', '.join(sc.policies)}"
        )
    if args.baseline not in policies:
        policies.insert(0, args.baseline)
    if len(policies) < 2:
        raise UserError("compare needs at least one policy besides the baseline")
    exp = _experiment(args, sc, policies)
    text = _results_text(args, sc, exp, args.baseline, comparison_only=True)
    full = (
        text if args.full or not args.out
        else _results_text(args, sc, exp, args.baseline, comparison_only=True, full=True)
    )
    _write_then_print(args, sc, exp, args.baseline, text, full)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ..output.report import write_report

    sc = load(args)
    policies = common.policies(sc, args.policy)
    baseline = common.baseline(policies, args.baseline)
    if len(policies) < 2:
        raise UserError("a report compares policies: name at least two (or none for all)")
    exp = _experiment(args, sc, policies)
    common.keep_results(
        args, exp, sc, lambda: print(f"wrote {write_report(exp, sc, args.output, baseline, args.command_line)}")
    )
    return 0


def experiment_args(sp: argparse.ArgumentParser) -> None:
    """Options every experiment command takes (policies, replications, where to run, output)."""
    sp.add_argument(
        "--policy", action="append", metavar="P", help="policy to run (repeatable; default all)"
    )
    sp.add_argument(
        "--replications", type=positive_int, default=30, metavar="N",
        help="replications per policy (default 30)",
    )
    common.where_args(sp, "SQLite results store: commits each replication, resumes a killed run")
    sp.add_argument(
        "--out", metavar="DIR",
        help="also write runs.csv, summary.csv, comparison.csv, tables.txt (every table) and "
        "report.html here",
    )
    sp.add_argument(
        "--target", action="append", metavar="METRIC=H",
        help="add replications until METRIC's 95%% CI half-width is <= H for every policy "
        "(repeatable)",
    )
    sp.add_argument(
        "--max-replications", type=positive_int, default=1000, metavar="N",
        help="cap per policy with --target (default 1000)",
    )
    detail = sp.add_mutually_exclusive_group()
    detail.add_argument(
        "--brief", dest="full", action="store_false",
        help="the answer, account-health warnings and one row per policy (default)",
    )
    detail.add_argument(
        "--full", dest="full", action="store_true",
        help="also every key figure, the cost breakdown and all paired differences",
    )
    sp.set_defaults(full=False)
    sp.add_argument(
        "--allow-large", action="store_true",
        help="run even if the experiment is estimated to need more memory than is available",
    )


def register(sub: Any) -> None:
    """Add ``run``, ``compare`` and ``report`` to the ``returnsim`` subcommands."""
    sp = sub.add_parser(
        "run", help="replicate policies and print their means with 95%% confidence intervals"
    )
    scenario_args(sp)
    experiment_args(sp)
    sp.add_argument(
        "--baseline", metavar="P",
        help="the seller's current policy: the headline is the change against it, and "
        "comparison.csv the paired differences from it (default: the first policy run)",
    )
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser(
        "compare", help="paired differences vs a baseline policy, with CIs and significance marks"
    )
    scenario_args(sp)
    experiment_args(sp)
    sp.add_argument("--baseline", metavar="P", required=True, help="the policy to compare against")
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser(
        "report", help="compare policies and write a standalone HTML report with charts"
    )
    scenario_args(sp)
    experiment_args(sp)
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="the .html file to write")
    sp.add_argument("--baseline", metavar="P", help="the policy to compare against (default: the first)")
    sp.set_defaults(func=cmd_report)
