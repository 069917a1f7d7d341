"""Reading scenario files: TOML in, a validated :class:`~returnsim.scenario.Scenario` out.

Overrides (``{"desk.staff": 3}``) are applied to the raw file before validation, so they are
validated like the file itself and propagate through ``extends``; a path that names no field is
an error, never silently ignored. Every problem is reported at once as a
:class:`~returnsim.scenario.problems.ScenarioError`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .extends import attribute_problems, resolve_file_extends
from .problems import _MISSING, Problem, ScenarioError, _show, _unwrap, problems_from_validation
from .schema import Scenario

__all__ = ["load_scenario", "parse_scenario", "parse_override_value", "apply_overrides"]


# --------------------------------------------------------------------------------------------
# overrides
# --------------------------------------------------------------------------------------------


def parse_override_value(text: str) -> Any:
    """Read a ``--set PATH=VALUE`` value as TOML (``3``, ``0.5``, ``true``, ``"x"``,
    ``[1, 2]``, ``{dist = "fixed", value = 2}``); anything TOML cannot read is a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> list[Problem]:
    """Set each dotted path in ``raw`` (in place); return problems for paths that name nothing."""
    problems: list[Problem] = []
    for dotted, value in overrides.items():
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
    return _plain(field.get_default(call_default_factory=True, validated_data={}))


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return {} if value is None else value


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


def parse_scenario(
    raw: dict[str, Any], overrides: dict[str, Any] | None = None, source: str | None = None
) -> Scenario:
    """Validate a raw scenario table (as read from TOML), after applying ``overrides``."""
    import copy

    raw = copy.deepcopy(raw)
    problems = apply_overrides(raw, overrides or {})
    if problems:
        raise ScenarioError(problems, source)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(problems_from_validation(err, raw), source) from None


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a TOML scenario file.

    Args:
        path: the ``.toml`` file; a top-level ``extends = "other.toml"`` starts it from another
            file (:mod:`returnsim.scenario.extends`).
        overrides: dotted paths into the file and their new values, e.g.
            ``{"desk.staff": 3, "policies.seed.discipline": "deadline"}``.

    Raises:
        ScenarioError: listing every problem with its field path, value and expectation.
        FileNotFoundError: if the file does not exist.
    """
    path = Path(path)
    raw, origins = resolve_file_extends(_read_toml(path), path, _read_toml)
    try:
        return parse_scenario(raw, overrides, source=str(path))
    except ScenarioError as err:
        raise attribute_problems(err, origins, path) from None


def _read_toml(path: Path) -> dict[str, Any]:
    """The table of a TOML file; a ``ScenarioError`` naming the file if it is not TOML."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        detail = str(err)
        at = re.search(r"at line (\d+)", detail)
        lines = text.splitlines()
        if at and 1 <= int(at.group(1)) <= len(lines):
            detail += f": {lines[int(at.group(1)) - 1].strip()}"
        problem = Problem("(file)", _MISSING, f"not valid TOML: {detail}")
        raise ScenarioError([problem], str(path)) from None
    return raw
