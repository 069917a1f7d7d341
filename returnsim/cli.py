"""The ``returnsim`` command.

A user error (a bad scenario, a missing file, an unknown policy) prints what is wrong and exits
with status 2, never with a traceback. ``--debug`` shows tracebacks of internal errors.
"""

from __future__ import annotations

import argparse
import json
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


def cmd_run(args: argparse.Namespace) -> int:
    from .model import simulate
    from .tables import run_tables

    sc = _load(args)
    policies = _policies(sc, args.policy)
    runs = {}
    for name in policies:
        runs[name] = simulate(sc, name, seed=args.seed)
    text = run_tables(runs)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        import pandas as pd

        rows = [{"policy": n, "seed": args.seed, **r.kpis, **r.ledger} for n, r in runs.items()]
        pd.DataFrame(rows).to_csv(out / "runs.csv", index=False)
        (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
        print(f"\nwrote {out / 'runs.csv'} and {out / 'summary.txt'}")
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

    sp = sub.add_parser("run", help="simulate policies and print their KPIs and costs")
    scenario_args(sp)
    sp.add_argument("--policy", action="append", metavar="P", help="policy to run (repeatable; default all)")
    sp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sp.add_argument("--out", metavar="DIR", help="also write runs.csv and summary.txt here")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("validate", help="check a scenario file and list every problem")
    scenario_args(sp)
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sp.set_defaults(func=cmd_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
