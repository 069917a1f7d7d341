"""Reading scenario files: TOML in, a validated :class:`~returnsim.scenario.Scenario` out.

Everything that can be wrong with a file is reported at once as a :class:`ScenarioError`, a list
of :class:`Problem` s that each name the field path, the value found and what was expected.
Overrides (``{"desk.staff": 3}``) are applied to the raw file before validation, so they are
validated like the file itself and propagate through ``extends``; a path that names no field is
an error, never silently ignored.
"""

from __future__ import annotations

import difflib
import json
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .scenario import Scenario

__all__ = [
    "Problem",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
    "scenario_schema",
    "parse_override_value",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where, what was found, what was expected."""

    path: str
    value: Any
    expected: str

    def __str__(self) -> str:
        if self.value is _MISSING:
            return f"{self.path}: {self.expected}"
        return f"{self.path}: got {_show(self.value)}; {self.expected}"


_MISSING = object()


def _show(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScenarioError(ValueError):
    """A scenario file (or dict, or override) is invalid; ``problems`` lists every issue."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        n = len(problems)
        lines = [f"{head}{n} problem{'s' if n != 1 else ''} in scenario"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------------------------
# pydantic errors -> problems
# --------------------------------------------------------------------------------------------


def _path(loc: tuple[Any, ...], raw: Any) -> str:
    """Dotted path of an error location, dropping segments that are not keys of the data
    (pydantic puts a tagged union's tag, e.g. ``lognormal``, into the location)."""
    parts: list[str] = []
    node = raw
    for seg in loc:
        if isinstance(seg, int):
            parts.append(f"[{seg}]")
            node = node[seg] if isinstance(node, list) and -len(node) <= seg < len(node) else None
            continue
        if isinstance(node, dict) and seg not in node and not _is_field_name(seg):
            continue  # a union tag or validator name, not a key in the file
        parts.append(("." if parts else "") + str(seg))
        node = node.get(seg) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _is_field_name(seg: str) -> bool:
    # Union members are tagged by lowercase names that are never also field names in the
    # file at that position; field names we cannot see in the data are genuine (missing) keys.
    return seg not in _UNION_TAGS


_UNION_TAGS = {
    "fixed",
    "exponential",
    "gamma",
    "lognormal",
    "uniform",
    "triangular",
    "empirical",
    "literal['24/7']",
    "WeekHours",
    "function-before[as_distribution(), tagged-union[Fixed,Exponential,Gamma,Lognormal,Uniform,Triangular,Empirical]]",
}


def _allowed_fields(loc: tuple[Any, ...]) -> list[str] | None:
    """Field names accepted at the parent of ``loc`` (for 'did you mean' hints)."""
    model: Any = Scenario
    for seg in loc[:-1]:
        model = _step(model, seg)
        if model is None:
            return None
    model = _unwrap(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or n for n, f in model.model_fields.items()]
    return None


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == 1:
            return models[0]
    return tp


def _step(tp: Any, seg: Any) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, f in tp.model_fields.items():
            if seg in (name, f.alias):
                return f.annotation
        return None
    origin = typing.get_origin(tp)
    if origin is dict:
        return typing.get_args(tp)[1]
    if origin is list:
        return typing.get_args(tp)[0]
    return None


def problems_from_validation(err: ValidationError, raw: Any) -> list[Problem]:
    """Translate a pydantic ``ValidationError`` into problems with file paths."""
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        path = _path(loc, raw)
        kind = e["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_fields(loc) or []
            key = str(loc[-1])
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            expected = f"unknown field; {hint}expected one of: {', '.join(allowed)}"
            value: Any = e.get("input")
        elif kind == "missing":
            expected = "required field is missing"
            value = _MISSING
        elif kind == "union_tag_invalid":
            expected = e["msg"].replace("Input tag", "dist").replace("found using 'dist' ", "")
            value = e.get("input", {}).get("dist") if isinstance(e.get("input"), dict) else e.get("input")
        else:
            expected = e["msg"]
            if expected.startswith("Value error, "):
                expected = expected[len("Value error, ") :]
            expected = expected[0].lower() + expected[1:] if expected else expected
            value = e.get("input")
        if (path, expected) in seen:
            continue
        seen.add((path, expected))
        out.append(Problem(path, value, expected))
    return out


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


def _set_path(raw: dict[str, Any], parts: list[str], value: Any) -> str | None:
    tp: Any = Scenario
    node: Any = raw
    for i, seg in enumerate(parts):
        here = ".".join(parts[:i]) or "the scenario"
        last = i == len(parts) - 1
        utp = _unwrap(tp)
        if isinstance(utp, type) and issubclass(utp, BaseModel):
            fields = {f.alias or n: f for n, f in utp.model_fields.items()}
            fields.update({n: f for n, f in utp.model_fields.items()})
            if seg not in fields:
                allowed = sorted({f.alias or n for n, f in utp.model_fields.items()})
                return f"{here} has no field '{seg}'; " + _hint(seg, allowed)
            tp = fields[seg].annotation
        elif typing.get_origin(utp) is dict:
            if not isinstance(node, dict) or seg not in node:
                keys = list(node) if isinstance(node, dict) else []
                return f"{here} has no entry '{seg}'; " + _hint(seg, keys)
            tp = typing.get_args(utp)[1]
        elif typing.get_origin(utp) is list:
            if not seg.lstrip("-").isdigit() or not isinstance(node, list):
                return f"{here} is a list; use an index like {here}.0"
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
            node[seg] = {}
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
        path: the ``.toml`` file.
        overrides: dotted paths into the file and their new values, e.g.
            ``{"desk.staff": 3, "policies.seed.discipline": "deadline"}``.

    Raises:
        ScenarioError: listing every problem with its field path, value and expectation.
        FileNotFoundError: if the file does not exist.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        problem = Problem("(file)", _MISSING, f"not valid TOML: {err}")
        raise ScenarioError([problem], str(path)) from None
    return parse_scenario(raw, overrides, source=str(path))


def scenario_schema() -> dict[str, Any]:
    """JSON Schema of scenario files (field descriptions carry defaults' sources)."""
    return Scenario.model_json_schema(by_alias=True)
