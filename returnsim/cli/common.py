"""Pieces every ``returnsim`` command shares: user errors, scenario loading with ``--set``
overrides, and argument types."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..scenario import Scenario, load_scenario, parse_override_value

__all__ = [
    "UserError",
    "overrides",
    "load",
    "policies",
    "scenario_args",
    "positive_int",
    "seed_int",
    "terminal_width",
]


class UserError(Exception):
    """Something the user can fix; printed without a traceback."""


def overrides(pairs: Sequence[str] | None) -> dict[str, Any]:
    """``["desk.staff=3", ...]`` -> ``{"desk.staff": 3}`` (values read as TOML)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        path, sep, value = pair.partition("=")
        if not sep or not path.strip():
            raise UserError(f"--set expects PATH=VALUE (e.g. desk.staff=3), got {pair!r}")
        out[path.strip()] = parse_override_value(value.strip())
    return out


def load(args: argparse.Namespace) -> Scenario:
    """The scenario named by ``args.scenario`` with ``args.set`` applied."""
    path = Path(args.scenario)
    if not path.is_file():
        raise UserError(f"no such scenario file: {path}")
    return load_scenario(path, overrides(getattr(args, "set", None)))


def policies(sc: Scenario, wanted: Sequence[str] | None) -> list[str]:
    """The policies asked for (default: all), checked against the scenario."""
    names = list(wanted or sc.policies)
    unknown = [p for p in names if p not in sc.policies]
    if unknown:
        raise UserError(
            f"unknown policy {', '.join(map(repr, unknown))}; "
            f"this scenario has: {', '.join(sc.policies)}"
        )
    return names


def scenario_args(sp: argparse.ArgumentParser) -> None:
    """The SCENARIO argument and ``--set``."""
    sp.add_argument("scenario", metavar="SCENARIO", help="scenario file (.toml)")
    sp.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override a field, e.g. --set desk.staff=3 (repeatable)",
    )


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def seed_int(text: str) -> int:
    """argparse type: a seed in [0, 2**63)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected 0 <= seed < 2**63, got {value}")
    return value


def terminal_width() -> int:
    """Columns to lay tables out in (at least 80)."""
    import shutil

    return max(80, shutil.get_terminal_size((120, 24)).columns)
