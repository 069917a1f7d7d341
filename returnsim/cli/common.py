"""Pieces every ``returnsim`` command shares: user errors, scenario loading with ``--set``
overrides, argument types, and what keeps a long computation from being thrown away: checks of
every output location and of the run's size before it starts (:func:`preflight`), and results
saved somewhere the message names if writing fails anyway (:func:`keep_results`)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..text import printable

if TYPE_CHECKING:  # the scenario package (pydantic, scipy) loads when a command runs, not to parse
    from ..scenario import Scenario

__all__ = [
    "UserError",
    "overrides",
    "load",
    "policies",
    "scenario_args",
    "positive_int",
    "seed_int",
    "terminal_width",
    "check_writable",
    "preflight",
    "keep_results",
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
        out[path.strip()] = _parse_value(value.strip())
    return out


def load(args: argparse.Namespace) -> Scenario:
    """The scenario named by ``args.scenario`` with ``args.set`` applied."""
    path = Path(args.scenario)
    if path.is_dir():
        raise UserError(f"{printable(str(path))} is a folder; name the scenario file (.toml) in it")
    if not path.is_file():
        raise UserError(f"no such scenario file: {path}")
    from ..scenario import load_scenario
    from ..scenario.plausibility import plausibility_warnings

    allow = True if getattr(args, "allow_extends_outside", False) else ()
    sc = load_scenario(path, overrides(getattr(args, "set", None)), allow_paths=allow)
    # Valid but unlikely values (grams typed as pounds, days as hours): said, never stopping.
    for warning in plausibility_warnings(sc):
        print(f"warning: {warning}", file=sys.stderr)
    return sc


def policies(sc: Scenario, wanted: Sequence[str] | None) -> list[str]:
    """The policies of ``--policy`` (default: all), checked against the scenario by the one
    check of policy names that the experiment engine and the studies use too
    (:func:`~returnsim.experiment.replications.check_policy_names`)."""
    from ..experiment.replications import check_policy_names

    try:
        return check_policy_names(sc, list(wanted) if wanted else None)
    except (TypeError, KeyError, ValueError) as err:
        raise UserError(f"--policy: {err.args[0] if err.args else err}") from None


def baseline(policies: Sequence[str], wanted: str | None) -> str:
    """The policy of ``--baseline`` (default: the first run), which must be one of those run."""
    if wanted is None:
        return policies[0]
    if wanted not in policies:
        raise UserError(f"--baseline {wanted!r} is not among the policies run: {', '.join(policies)}")
    return wanted


def scenario_args(sp: argparse.ArgumentParser) -> None:
    """The SCENARIO argument and ``--set``."""
    sp.add_argument("scenario", metavar="SCENARIO", help="scenario file (.toml)")
    sp.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override a field, e.g. --set desk.staff=3 (repeatable)",
    )
    sp.add_argument(
        "--allow-extends-outside",
        action="store_true",
        help="let `extends` read a base file outside the scenario's folder and the shipped scenarios",
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


# --------------------------------------------------------------------------------------------
# before and after a run: never throw computation away
# --------------------------------------------------------------------------------------------


def check_writable(path: str | Path, option: str, kind: str) -> None:
    """Refuse, before anything runs, an output location that cannot be written.

    Args:
        path: the file or directory the command will write.
        option: the option that named it (``--out``), for the message.
        kind: ``"dir"`` (created if missing) or ``"file"`` (its directory is created).

    Raises:
        UserError: the location is of the wrong kind, or cannot be created or written.
    """
    p = Path(path)
    if kind == "dir" and p.exists() and not p.is_dir():
        raise UserError(f"{option} expects a directory, {printable(str(p))} is a file")
    if kind == "file" and p.is_dir():
        raise UserError(f"{option} expects a file, {printable(str(p))} is a directory")
    folder = p if kind == "dir" else p.parent
    for q in (folder, *folder.parents):
        if q.exists():
            if not q.is_dir():
                raise UserError(f"{option} {printable(str(p))}: {printable(str(q))} is a file, not a directory")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".returnsim-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UserError(
            f"{option} {printable(str(p))}: cannot write there ({err.strerror or err}); "
            "nothing was run"
        ) from None


def preflight(args: argparse.Namespace, sc: Scenario, n_policies: int) -> None:
    """Everything that can be checked before an experiment starts: each output location
    (``--out``, ``--output``, ``--store``) and the experiment's estimated size (refused if it would
    not fit in memory unless ``--allow-large``; announced on stderr if it would take hours)."""
    from ..experiment.budget import check_experiment
    from ..experiment.executors import available_cpus
    from ..model.budget import RunTooLarge

    if getattr(args, "out", None):
        check_writable(args.out, "--out", "dir")
    if getattr(args, "output", None):
        check_writable(args.output, "--output (-o)", "file")
    if getattr(args, "store", None):
        store = Path(args.store)
        if store.is_dir():
            raise UserError(f"--store expects a file, {printable(str(store))} is a directory")
        if not store.is_file():  # an existing store may be read-only media: it is read then
            check_writable(store, "--store", "file")
    most = args.max_replications if getattr(args, "target", None) else args.replications
    most = max(most, args.replications)
    workers = args.workers or available_cpus()
    try:
        _, slow = check_experiment(sc, n_policies * most, workers, allow_large=args.allow_large)
    except RunTooLarge as err:
        raise UserError(str(err).replace("pass allow_large=True (returnsim: --allow-large)", "add --allow-large")) from None
    if slow:
        print(f"returnsim: note: {slow}", file=sys.stderr)


def _rescue(exp: Any, sc: Scenario) -> Path:
    """Save an experiment's replications in a new results store in a fresh temporary
    directory; returns the store's path."""
    folder = Path(tempfile.mkdtemp(prefix="returnsim-rescue-"))
    path = folder / "results.sqlite"
    exp.to_store(path, sc)
    return path


def keep_results(args: argparse.Namespace, exp: Any, sc: Scenario, write: Callable[[], None]) -> None:
    """Run ``write`` (the command's output); if it fails, say where the computed replications
    are, so nothing computed is lost: in the ``--store`` the run used, else in a new store in a
    temporary directory. Either way the same command with ``--store`` that file writes the
    output again without simulating anything.

    Raises:
        UserError: writing failed (the message names the error and where the results are).
    """
    try:
        write()
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as err:
        n = len(exp.runs)
        if getattr(args, "store", None):
            where = (
                f"the {n} replications are in the results store {printable(str(args.store))}; "
                "run the same command again to write the output without simulating"
            )
        else:
            try:
                where = (
                    f"the {n} replications computed are saved in {_rescue(exp, sc)}; add "
                    "--store with that file to the same command to write the output without "
                    "simulating again"
                )
            except Exception as again:  # noqa: BLE001 - say so, keep the first error
                where = f"saving the replications elsewhere failed too ({type(again).__name__}: {again})"
        if getattr(args, "debug", False):
            print(f"returnsim: {where}", file=sys.stderr)
            raise
        raise UserError(
            f"could not write the output: {type(err).__name__}: {printable(str(err))}\n{where}"
        ) from None


def where_args(sp: argparse.ArgumentParser, store_help: str) -> None:
    """``--seed``, ``--workers`` | ``--scheduler``, ``--store`` and ``--progress``: where and how
    the runs of an experiment or a study execute."""
    sp.add_argument(
        "--seed", type=seed_int, default=0,
        help="base seed; replication r uses SeedSequence([seed, r]) (default 0)",
    )
    where = sp.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=positive_int, metavar="N",
        help="worker processes (default: every CPU; 1 runs in this process)",
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786"
    )
    sp.add_argument("--store", metavar="FILE", help=store_help)
    sp.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )


def show_progress(args: argparse.Namespace) -> bool:
    """``--progress`` / ``--no-progress``, else a bar only when stderr is a terminal."""
    return sys.stderr.isatty() if args.progress is None else bool(args.progress)


@contextlib.contextmanager
def user_errors(args: argparse.Namespace, *plain: type[Exception]) -> Iterator[None]:
    """Errors of an experiment or a study that the user can fix, as :class:`UserError`: those
    of the types ``plain`` (a study's own), a missing optional dependency, an unreadable results
    store, an unreachable Dask scheduler."""
    from ..experiment import StoreError

    try:
        yield
    except plain as err:
        raise UserError(str(err)) from None
    except ImportError as err:
        raise UserError(str(err)) from None
    except (StoreError, sqlite3.DatabaseError) as err:
        raise UserError(f"results store {getattr(args, 'store', '')}: {err}") from None
    except (OSError, TimeoutError) as err:
        if getattr(args, "scheduler", None):
            raise UserError(f"could not reach the Dask scheduler at {args.scheduler}: {err}") from None
        raise


class _Deprecated(argparse.Action):
    """An old spelling of an option: stores into the new option's ``dest`` and says, on stderr,
    what to write instead (accepted for one more release)."""

    def __init__(self, option_strings: list[str], dest: str, new: str = "", **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(
            f"returnsim {parser.prog.split()[-1]}: {option_string} is deprecated and will be removed in "
            f"the next release; use {self.new} instead",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def output_file(sp: argparse.ArgumentParser, help: str, *, required: bool = False,
                metavar: str = "FILE", old: Sequence[str] = ()) -> None:
    """``--output FILE`` (``-o FILE``): the one option of the command line for a single file to
    write; ``old`` are spellings of earlier releases, still accepted with a deprecation message."""
    if required and old:
        # Required is checked after parsing (either spelling may give it), by require_output.
        sp.set_defaults(_output_required=True)
    sp.add_argument("-o", "--output", metavar=metavar, help=help, required=required and not old)
    for spelling in old:
        sp.add_argument(spelling, dest="output", metavar=metavar, action=_Deprecated,
                        new="--output (-o)", help=argparse.SUPPRESS)


def require_output(args: argparse.Namespace) -> None:
    """Refuse a command whose required ``--output`` was given in neither spelling."""
    if getattr(args, "_output_required", False) and not getattr(args, "output", None):
        raise UserError("the option --output (-o) FILE is required")


def _parse_value(text: str) -> Any:
    from ..scenario import parse_override_value

    return parse_override_value(text)
