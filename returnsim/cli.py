"""The ``returnsim`` command.

A user error (a bad scenario, a missing file, an unknown policy) prints what is wrong and exits
with status 2, never with a traceback. ``--debug`` shows tracebacks of internal errors.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .loader import ScenarioError, load_scenario, parse_override_value, scenario_schema

__all__ = ["main"]


class UserError(Exception):
    """Something the user can fix; printed without a traceback."""


def _overrides(pairs: Sequence[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        path, sep, value = pair.partition("=")
        if not sep or not path.strip():
            raise UserError(f"--set expects PATH=VALUE (e.g. desk.staff=3), got {pair!r}")
        out[path.strip()] = parse_override_value(value.strip())
    return out


def _load(args: argparse.Namespace):
    path = Path(args.scenario)
    if not path.is_file():
        raise UserError(f"no such scenario file: {path}")
    return load_scenario(path, _overrides(getattr(args, "set", None)))


def _policies(sc, wanted: Sequence[str] | None) -> list[str]:
    names = list(wanted or sc.policies)
    unknown = [p for p in names if p not in sc.policies]
    if unknown:
        raise UserError(
            f"unknown policy {', '.join(map(repr, unknown))}; "
            f"this scenario has: {', '.join(sc.policies)}"
        )
    return names


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    sc = _load(args)
    print(
        f"{args.scenario}: valid ({len(sc.catalog)} item classes, {len(sc.reasons)} reasons, "
        f"{len(sc.policies)} policies: {', '.join(sc.policies)})"
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(scenario_schema(), indent=2))
    return 0


def _targets(pairs: Sequence[str] | None) -> dict[str, float] | None:
    if not pairs:
        return None
    from .experiment import METRICS

    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        try:
            h = float(value)
        except ValueError:
            h = float("nan")
        if not sep or not h > 0 or h == float("inf"):
            raise UserError(f"--target expects METRIC=HALF_WIDTH (e.g. net_value_per_order=0.05), got {pair!r}")
        if name not in METRICS:
            raise UserError(f"--target: unknown metric {name!r}; metrics: {', '.join(METRICS)}")
        out[name] = h
    return out


def _experiment(args: argparse.Namespace, sc, policies: list[str]):
    """Run the experiment the options describe; library errors become user errors."""
    import sqlite3
    import warnings

    from .experiment import PrecisionWarning, run_experiment
    from .store import StoreError

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    if args.store and Path(args.store).is_dir():
        raise UserError(f"--store expects a file, {args.store} is a directory")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrecisionWarning)  # said in the output instead
            return run_experiment(
                sc,
                policies=policies,
                replications=args.replications,
                seed=args.seed,
                store=args.store,
                progress=progress,
                target_half_width=_targets(args.target),
                scheduler=args.scheduler,
                workers=args.workers,
                max_replications=max(args.max_replications, args.replications),
            )
    except ImportError as err:
        raise UserError(str(err)) from None
    except (StoreError, sqlite3.DatabaseError) as err:
        raise UserError(f"results store {args.store}: {err}") from None
    except (OSError, TimeoutError) as err:
        if args.scheduler:
            raise UserError(f"could not reach the Dask scheduler at {args.scheduler}: {err}") from None
        raise


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


def _width() -> int:
    import shutil

    return max(80, shutil.get_terminal_size((120, 24)).columns)


def _write(out_dir: str, exp, baseline: str | None, text: str, sc=None, command: str = "") -> None:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out expects a directory, {out} is a file")
    paths = exp.to_csv(out, baseline)
    (out / "tables.txt").write_text(text + "\n", encoding="utf-8")
    paths.append(out / "tables.txt")
    if sc is not None and len(exp.policies) > 1:
        from .report import write_report

        paths.append(write_report(exp, sc, out / "report.html", baseline, command))
    print(f"\nwrote {', '.join(str(p) for p in paths)}")


def cmd_run(args: argparse.Namespace) -> int:
    from .tables import comparison_table, summary_tables

    sc = _load(args)
    policies = _policies(sc, args.policy)
    baseline = args.baseline
    if baseline is not None and baseline not in policies:
        raise UserError(f"--baseline {baseline!r} is not among the policies run: {', '.join(policies)}")
    exp = _experiment(args, sc, policies)
    width = _width()
    blocks = [_header(args, sc, exp), summary_tables(exp.summary(), exp.policies, width)]
    if baseline is not None and len(policies) > 1:
        blocks.append(comparison_table(exp.compare(baseline), width))
    text = "\n\n".join(blocks)
    print(text)
    if args.out:
        _write(args.out, exp, baseline, text, sc, args.command_line)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .tables import comparison_table

    sc = _load(args)
    policies = _policies(sc, args.policy)
    if args.baseline not in sc.policies:
        raise UserError(
            f"unknown baseline policy {args.baseline!r}; this scenario has: {', '.join(sc.policies)}"
        )
    if args.baseline not in policies:
        policies.insert(0, args.baseline)
    if len(policies) < 2:
        raise UserError("compare needs at least one policy besides the baseline")
    exp = _experiment(args, sc, policies)
    text = _header(args, sc, exp) + "\n\n" + comparison_table(exp.compare(args.baseline), _width())
    print(text)
    if args.out:
        _write(args.out, exp, args.baseline, text, sc, args.command_line)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    sc = _load(args)
    policies = _policies(sc, args.policy)
    baseline = args.baseline or policies[0]
    if baseline not in policies:
        raise UserError(f"--baseline {baseline!r} is not among the policies run: {', '.join(policies)}")
    if len(policies) < 2:
        raise UserError("a report compares policies: name at least two (or none for all)")
    exp = _experiment(args, sc, policies)
    path = write_report(exp, sc, args.output, baseline, args.command_line)
    print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="returnsim",
        description="Simulate how a marketplace seller handles return requests and what each "
        "policy costs and does to retention.",
    )
    p.add_argument("--version", action="version", version=f"returnsim {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def scenario_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("scenario", metavar="SCENARIO", help="scenario file (.toml)")
        sp.add_argument(
            "--set",
            action="append",
            metavar="PATH=VALUE",
            help="override a field, e.g. --set desk.staff=3 (repeatable)",
        )

    def positive(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
        return value

    def seed(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not 0 <= value < 2**63:
            raise argparse.ArgumentTypeError(f"expected 0 <= seed < 2**63, got {value}")
        return value

    def experiment_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--policy", action="append", metavar="P", help="policy to run (repeatable; default all)"
        )
        sp.add_argument(
            "--replications", type=positive, default=30, metavar="N",
            help="replications per policy (default 30)",
        )
        sp.add_argument(
            "--seed", type=seed, default=0,
            help="base seed; replication r uses SeedSequence([seed, r]) (default 0)",
        )
        where = sp.add_mutually_exclusive_group()
        where.add_argument(
            "--workers", type=positive, metavar="N",
            help="worker processes (default: every CPU; 1 runs in this process)",
        )
        where.add_argument(
            "--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786"
        )
        sp.add_argument(
            "--store", metavar="FILE",
            help="SQLite results store: commits each replication, resumes a killed run",
        )
        sp.add_argument(
            "--out", metavar="DIR",
            help="also write runs.csv, summary.csv, comparison.csv and tables.txt here",
        )
        sp.add_argument(
            "--target", action="append", metavar="METRIC=H",
            help="add replications until METRIC's 95%% CI half-width is <= H for every policy "
            "(repeatable)",
        )
        sp.add_argument(
            "--max-replications", type=positive, default=1000, metavar="N",
            help="cap per policy with --target (default 1000)",
        )
        sp.add_argument(
            "--progress", action=argparse.BooleanOptionalAction, default=None,
            help="progress bar on stderr (default: only when stderr is a terminal)",
        )

    sp = sub.add_parser(
        "run", help="replicate policies and print their means with 95%% confidence intervals"
    )
    scenario_args(sp)
    experiment_args(sp)
    sp.add_argument(
        "--baseline", metavar="P",
        help="also print paired differences vs this policy (and use it for comparison.csv)",
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

    sp = sub.add_parser("validate", help="check a scenario file and list every problem")
    scenario_args(sp)
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sp.set_defaults(func=cmd_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["returnsim", *argv])  # how to reproduce, for reports
    try:
        return int(args.func(args) or 0)
    except ScenarioError as err:
        print(str(err), file=sys.stderr)
        return 2
    except UserError as err:
        print(f"returnsim: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("returnsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as err:  # an internal error: say so plainly, traceback only on request
        if args.debug:
            raise
        print(
            f"returnsim: internal error: {type(err).__name__}: {err}\n"
            "(this is a bug in returnsim; rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
