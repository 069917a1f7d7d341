"""The ``returnsim`` command.

A user error (a bad scenario, a missing file, an unknown policy) prints what is wrong and exits
with status 2, never with a traceback. ``--debug`` shows tracebacks of internal errors.

Each group of subcommands lives in its own module with a ``register(subparsers)`` function;
:data:`COMMANDS` lists them in the order ``returnsim --help`` shows them.
"""

from __future__ import annotations

import argparse
import difflib
import shlex
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from . import calibrate, decide, experiment, health, replay, scenario
from .common import UserError

__all__ = ["main", "build_parser", "UserError"]

COMMANDS = (experiment, decide, health, scenario, calibrate, replay)
"""Modules that add subcommands, each through ``register(subparsers)``."""


class Parser(argparse.ArgumentParser):
    """The ``returnsim`` parser: its subcommands' parsers in :attr:`commands`, by name."""

    commands: Mapping[str, argparse.ArgumentParser]

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """As argparse's, but an option the command does not have is named with the command's
        usage and the nearest option it has (``--policies``: did you mean ``--policy``?)."""
        ns, extra = self.parse_known_args(args, namespace)
        if extra:
            sp = self.commands.get(getattr(ns, "command", None) or "", self)
            known = [o for a in sp._actions for o in a.option_strings if o.startswith("--")]
            near = {
                m for x in extra if x.startswith("--") for m in difflib.get_close_matches(x.split("=")[0], known, n=1, cutoff=0.7)
            }
            hint = f" (did you mean {' or '.join(sorted(near))}?)" if near else ""
            sp.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
        return ns


def build_parser() -> Parser:
    """The ``returnsim`` argument parser with every subcommand."""
    from .. import __version__

    p = Parser(
        prog="returnsim",
        description="Simulate how a marketplace seller handles return requests and what each "
        "policy costs and does to retention.",
    )
    p.add_argument("--version", action="version", version=f"returnsim {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    p.commands = sub.choices
    return p


def _main_is_returnsim() -> None:
    """Name the ``returnsim`` console script as the module ``returnsim.__main__``, which spawned
    pool workers do not import: they would otherwise run the script to import returnsim (1.5-3 s)
    before they can watch their parent, and outlive a ``kill -9`` by as long (issue 22)."""
    import importlib.util

    main_module = sys.modules.get("__main__")
    if main_module is not None and getattr(main_module, "__spec__", None) is None and getattr(
        main_module, "main", None
    ) is main:
        main_module.__spec__ = importlib.util.find_spec("returnsim.__main__")


def _as_note(show: Any) -> Any:
    """``warnings.showwarning`` that prints a study's size warning as ``returnsim: note: ...``
    (matched by name: the parser loads no numerical library, and the warning's module does)."""

    def note(message: Any, category: type[Warning], *rest: Any, **kw: Any) -> None:
        if category.__name__ == "RunSizeWarning":
            print(f"returnsim: note: {message}", file=sys.stderr)
        else:
            show(message, category, *rest, **kw)

    return note


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``returnsim`` with ``argv`` (default: the process's arguments); returns the exit code."""
    _main_is_returnsim()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["returnsim", *argv])  # how to reproduce, for reports
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _as_note(warnings.showwarning)
            return int(args.func(args) or 0)
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
        # A scenario's problems (imported here: the scenario package loads only when a command
        # needs it, and it is loaded whenever one of its errors exists).
        from ..scenario import ScenarioError

        if isinstance(err, ScenarioError):
            print(str(err), file=sys.stderr)
            return 2
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
