"""Reading scenario files: TOML in, a validated :class:`~returnsim.scenario.Scenario` out.

Overrides (``{"desk.staff": 3}``) are applied to the raw file before validation, so they are
validated like the file itself and propagate through ``extends``; a path that names no field is
an error, never silently ignored. Every problem is reported at once as a
:class:`~returnsim.scenario.problems.ScenarioError`, whatever the file holds: bytes that are not
UTF-8 text (a Latin-1 or UTF-16 file), text that is not TOML, tables nested deeper than any
scenario needs (:data:`MAX_DEPTH`) or a file too large to be a scenario (:data:`MAX_BYTES`,
:data:`MAX_ENTRIES`).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .extends import allowed_roots, attribute_problems, resolve_file_extends
from .plausibility import nothing_to_learn
from .problems import (
    _MISSING,
    Problem,
    ScenarioError,
    _fmt,
    _show,
    _unwrap,
    problems_from_validation,
)
from .schema import Scenario

__all__ = [
    "load_scenario",
    "parse_scenario",
    "parse_override_value",
    "apply_overrides",
    "as_scenario",
    "MAX_DEPTH",
    "MAX_BYTES",
    "MAX_ENTRIES",
]

MAX_DEPTH = 32
"""Deepest nesting of tables and lists accepted (a scenario needs 7: ``policies.p.offers[0]
.when.reason[0]``); deeper data is refused before anything recurses into it."""

MAX_BYTES = 50_000_000
"""Largest scenario file read (50 MB; the seed scenario is 12 kB)."""

MAX_ENTRIES = 200_000
"""Most list entries and lines a scenario file may hold, counted as its commas and line breaks
before it is parsed (the seed scenario has about 600; an empirical distribution of 100,000
observations fits). Reading TOML is pure Python at about half a million list entries a second:
a 4 MB list of two million numbers took 27 s to validate (issue 22), and is now refused at once."""


# --------------------------------------------------------------------------------------------
# overrides
# --------------------------------------------------------------------------------------------


def parse_override_value(text: str) -> Any:
    """Read a ``--set PATH=VALUE`` value as TOML (``3``, ``0.5``, ``true``, ``"x"``,
    ``[1, 2]``, ``{dist = "fixed", value = 2}``); anything TOML cannot read is a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (ValueError, RecursionError):  # TOMLDecodeError, or an int of 5,000 digits
        return text


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> list[Problem]:
    """Set each dotted path in ``raw`` (in place); return problems for paths that name nothing."""
    problems: list[Problem] = []
    for dotted, value in overrides.items():
        if not isinstance(dotted, str):
            problems.append(Problem("overrides", dotted, "keys must be dotted paths like desk.staff"))
            continue
        value, deep = _plain(value)
        if deep is not None:
            problems.append(Problem(f"--set {dotted}", _MISSING, f"{deep[0]}: {deep[1]}"))
            continue
        parts = [p for p in str(dotted).split(".")]
        if not all(parts):
            problems.append(Problem(f"--set {dotted}", value, "a dotted path like desk.staff"))
            continue
        err = _set_path(raw, parts, value)
        if err:
            problems.append(Problem(f"--set {dotted}", value, err))
    return problems


def _default_raw(field: Any) -> Any:
    """A field's default as raw file data (so an override can change one key of a table the
    file leaves at its default, e.g. ``buyer.purchases_per_year.mean``)."""
    if field is None or field.is_required():
        return {}
    value = field.get_default(call_default_factory=True, validated_data={})
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, dict | list):
        return _plain(value)[0]
    return {} if value is None else value


def _plain(value: Any) -> tuple[Any, tuple[str, str] | None]:
    """A copy of raw data as plain Python (numpy numbers become ``int``/``float``/``bool``,
    tuples lists, models dicts), without recursion; and, if it nests deeper than
    :data:`MAX_DEPTH`, where and what is wrong (``None`` if nothing)."""
    import numpy as np

    def leaf(v: Any) -> Any:
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, BaseModel):
            return v.model_dump(by_alias=True)
        return v

    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int, list[Any]]] = [(value, root, 0, 0, [])]
    while stack:
        v, parent, key, depth, path = stack.pop()
        v = leaf(v)
        if isinstance(v, Mapping | list | tuple) and depth >= MAX_DEPTH:
            return None, (_fmt(path), f"nested more than {MAX_DEPTH} levels deep; no scenario field is")
        if isinstance(v, Mapping):
            out: Any = dict.fromkeys(v)  # keys in the file's order (it fixes random draws)
            for k, item in v.items():
                stack.append((item, out, k, depth + 1, [*path, k]))
        elif isinstance(v, list | tuple):
            out = [None] * len(v)
            for i, item in enumerate(v):
                stack.append((item, out, i, depth + 1, [*path, i]))
        else:
            out = v
        parent[key] = out
    return root[0], None


def _set_path(raw: dict[str, Any], parts: list[str], value: Any) -> str | None:
    tp: Any = Scenario
    node: Any = raw
    for i, seg in enumerate(parts):
        field = None
        here = ".".join(parts[:i]) or "the scenario"
        last = i == len(parts) - 1
        utp = _unwrap(tp)
        if isinstance(utp, type) and issubclass(utp, BaseModel):
            fields = {f.alias or n: f for n, f in utp.model_fields.items()}
            fields.update({n: f for n, f in utp.model_fields.items()})
            if seg not in fields:
                allowed = sorted({f.alias or n for n, f in utp.model_fields.items()})
                return f"{here} has no field '{seg}'; " + _hint(seg, allowed)
            field = fields[seg]
            tp = field.annotation
        elif typing.get_origin(utp) is dict:
            if not isinstance(node, dict) or seg not in node:
                keys = list(node) if isinstance(node, dict) else []
                return f"{here} has no entry '{seg}'; " + _hint(seg, keys)
            tp = typing.get_args(utp)[1]
        elif typing.get_origin(utp) is list:
            if not seg.lstrip("-").isdigit():
                return f"{here} is a list; use an index like {here}.0"
            if not isinstance(node, list):
                if node not in ({}, None):  # {}: the list is not in the file (created above)
                    return f"{here} is {_show(node)}, not a list"
                node = []
            idx = int(seg)
            if not -len(node) <= idx < len(node):
                return f"{here} has {len(node)} entries; index {idx} is out of range"
            if last:
                node[idx] = value
                return None
            node = node[idx]
            tp = typing.get_args(utp)[0]
            continue
        else:
            # A union (distribution, opening hours) or a scalar: keys are checked by validation,
            # which forbids unknown fields.
            if not isinstance(node, dict):
                return f"{here} is {_show(node)}, not a table; set {here} itself instead"
        if last:
            node[seg] = value
            return None
        if not isinstance(node, dict):
            return f"{here} is {_show(node)}, not a table"
        if seg not in node or not isinstance(node[seg], dict | list):
            if seg in node and not isinstance(node[seg], dict | list):
                return (
                    f"{'.'.join(parts[: i + 1])} is {_show(node[seg])}, not a table; "
                    f"set {'.'.join(parts[: i + 1])} itself instead"
                )
            node[seg] = _default_raw(field)
        node = node[seg]
    return None


def _hint(seg: str, options: list[str]) -> str:
    close = difflib.get_close_matches(seg, options, n=1)
    lead = f"did you mean '{close[0]}'? " if close else ""
    return lead + (f"expected one of: {', '.join(options)}" if options else "it is empty")


# --------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------


def _check_overrides(overrides: Any) -> Mapping[str, Any]:
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise TypeError(
            "overrides must be a dict of dotted paths and values, such as {'desk.staff': 3}; "
            f"got {type(overrides).__name__} {_show(overrides)}"
        )
    return overrides


def parse_scenario(
    raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, source: str | None = None
) -> Scenario:
    """Validate a raw scenario table (as read from TOML), after applying ``overrides``.

    Raises:
        ScenarioError: listing every problem with its field path, value and expectation; also
            a scenario nothing could be learned from (no returns expected at all,
            :func:`~returnsim.scenario.plausibility.nothing_to_learn`).
        TypeError: if ``overrides`` is not a dict.
    """
    overrides = _check_overrides(overrides)
    raw, deep = _plain(raw)
    if deep is not None:
        raise ScenarioError([Problem(deep[0], _MISSING, deep[1])], source)
    if not isinstance(raw, dict):
        raise ScenarioError([Problem("(top level)", raw, "expected a table of scenario fields")], source)
    problems = apply_overrides(raw, overrides)
    if problems:
        raise ScenarioError(problems, source)
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(problems_from_validation(err, raw), source) from None
    pointless = nothing_to_learn(sc)
    if pointless:  # valid field by field, but no run of it could measure a return
        raise ScenarioError(pointless, source)
    return sc


def _read_text(path: Path) -> str:
    """The file's text, or a ScenarioError saying why it cannot be read as UTF-8 text."""

    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem("(file)", _MISSING, message)], str(path))

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise fail(f"{size / 1e6:.0f} MB is too large for a scenario file (at most {MAX_BYTES / 1e6:.0f} MB)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        raise fail("is a directory, not a scenario file") from None
    except PermissionError:
        raise fail("cannot be read: permission denied") from None
    except OSError as err:
        raise fail(f"cannot be read: {err.strerror or err}") from None
    entries = data.count(b",") + data.count(b"\n")
    if entries > MAX_ENTRIES:
        raise fail(
            f"{entries:,} list entries and lines is too many for a scenario file (at most "
            f"{MAX_ENTRIES:,}; the seed scenario has about 600): a list of that size is no "
            "scenario field"
        )
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise fail(f"the file is {name} text; TOML files must be UTF-8 (save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")  # a UTF-8 byte-order mark (Windows editors) is dropped
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise fail(
            f"byte 0x{data[err.start]:02X} at line {line}, column {column} is not UTF-8; TOML "
            "files must be UTF-8 (a Latin-1 or Windows-1252 file? save it as UTF-8)"
        ) from None


def load_scenario(
    path: str | os.PathLike[str],
    overrides: Mapping[str, Any] | None = None,
    *,
    allow_paths: Sequence[str | os.PathLike[str]] | bool = (),
) -> Scenario:
    """Read and validate a TOML scenario file.

    Args:
        path: the ``.toml`` file (UTF-8 text); a top-level ``extends = "other.toml"`` starts it
            from another file (:mod:`returnsim.scenario.extends`).
        overrides: dotted paths into the file and their new values, e.g.
            ``{"desk.staff": 3, "policies.seed.discipline": "deadline"}``.
        allow_paths: further folders an ``extends`` may read from (by default only the file's
            own folder and the shipped scenarios); ``True`` allows any file.

    Raises:
        ScenarioError: listing every problem with its field path, value and expectation; also
            when the file does not exist, cannot be read, is not UTF-8 text or not TOML, or
            ``extends`` leads outside the allowed folders.
        TypeError: if ``path`` is not a path, ``overrides`` not a dict or ``allow_paths`` not a
            list of folders.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"load_scenario(path=...): expected a path to a scenario file, got {type(path).__name__}")
    path = Path(path)
    overrides = _check_overrides(overrides)
    allowed = allowed_roots(path, allow_paths)
    raw, origins = resolve_file_extends(_read_toml(path), path, _read_toml, allowed=allowed)
    try:
        return parse_scenario(raw, overrides, source=str(path))
    except ScenarioError as err:
        raise attribute_problems(err, origins, path) from None


def _read_toml(path: Path) -> dict[str, Any]:
    """The table of a TOML file; a ``ScenarioError`` naming the file if it cannot be read as
    UTF-8 text or is not TOML. The message gives the line and column of a TOML mistake but never
    quotes the file: a file that is not a scenario may be anything (``/proc/self/environ``)."""
    text = _read_text(path)
    try:
        raw = tomllib.loads(text)
    except (ValueError, RecursionError) as err:  # TOMLDecodeError is a ValueError
        if isinstance(err, RecursionError):
            detail = f"nested more than the reader can follow (a scenario needs {MAX_DEPTH} levels at most)"
        else:
            detail = _toml_mistake(str(err))
        problem = Problem("(file)", _MISSING, f"not valid TOML: {detail}")
        raise ScenarioError([problem], str(path)) from None
    return raw


# tomllib messages that quote the file (a key, a character) -> the same mistake without it.
_QUOTING_MESSAGES = {
    "Found invalid character": "a character TOML does not allow here",
    "Illegal character": "a character TOML does not allow in a string",
    "Cannot declare": "a table or key declared twice",
    "Cannot mutate immutable namespace": "a table changed after it was written whole",
    "Cannot redefine namespace": "a table declared again",
    "Duplicate inline table key": "a key written twice in one inline table",
}


def _toml_mistake(message: str) -> str:
    """tomllib's message without anything it quotes from the file, keeping where it is."""
    found = re.match(r"(?s)(.*) \((at line \d+, column \d+|at end of document)\)$", message)
    text, where = (found.group(1), found.group(2)) if found else (message, "")
    for lead, plain in _QUOTING_MESSAGES.items():
        if text.startswith(lead):
            text = plain
    return f"{text} ({where})" if where else text


def as_scenario(scenario: Any, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """A validated scenario from what the Python API accepts as one.

    Args:
        scenario: a :class:`Scenario`, a path to a scenario file (``str`` or ``Path``) or a
            dict of the file's tables.
        overrides: dotted paths and values applied before validation (paths and dicts only).

    Raises:
        ScenarioError: the file or dict is invalid (every problem with its path).
        TypeError: ``scenario`` is none of these.
    """
    if isinstance(scenario, Scenario):
        if overrides:
            raise TypeError("overrides apply to a scenario file or dict, not to a Scenario")
        return scenario
    if isinstance(scenario, str | os.PathLike):
        return load_scenario(scenario, overrides)
    if isinstance(scenario, Mapping):
        return parse_scenario(scenario, overrides)
    raise TypeError(
        "scenario must be a Scenario, a path to a scenario file or a dict of its tables; "
        f"got {type(scenario).__name__}"
    )
