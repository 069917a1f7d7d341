"""Commands on scenario files themselves: ``validate`` and ``schema``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..scenario import scenario_schema
from .common import load, scenario_args

__all__ = ["register"]


def cmd_validate(args: argparse.Namespace) -> int:
    sc = load(args)
    print(
        f"{args.scenario}: valid ({len(sc.catalog)} item classes, {len(sc.reasons)} reasons, "
        f"{len(sc.policies)} policies: {', '.join(sc.policies)})"
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(scenario_schema(), indent=2))
    return 0


def register(sub: Any) -> None:
    """Add ``validate`` and ``schema`` to the ``returnsim`` subcommands."""
    sp = sub.add_parser("validate", help="check a scenario file and list every problem")
    scenario_args(sp)
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sp.set_defaults(func=cmd_schema)
