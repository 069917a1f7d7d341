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
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .distributions import Distribution
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


def _is_label(seg: Any, node: Any) -> bool:
    """Is ``seg`` a name pydantic puts into an error location (a union member, a validator,
    the ``[key]`` marker of a dict key) rather than a key of the file? Keys present in the data
    are never labels; field names we cannot see in the data are genuine (missing) keys."""
    if not isinstance(seg, str) or (isinstance(node, dict) and seg in node):
        return False
    return seg in _UNION_TAGS or bool(_LABEL.search(seg))


# pydantic names union members like ``function-after[_some(), WeekHours]``, ``literal['24/7']``
# or ``WeekHours``; no field or key of a scenario file has brackets or starts upper-case unseen.
_LABEL = re.compile(r"[\[\]()]|^[A-Z]")


def _keys(loc: tuple[Any, ...], raw: Any) -> tuple[list[Any], int | None]:
    """The file keys in an error location (labels dropped), and the index in ``loc`` of the
    first union-member label (``None`` if the location crosses no union)."""
    keys: list[Any] = []
    first: int | None = None
    node = raw
    for i, seg in enumerate(loc):
        if isinstance(seg, int):
            keys.append(seg)
            node = node[seg] if isinstance(node, list) and -len(node) <= seg < len(node) else None
            continue
        if seg == "[key]" or _is_label(seg, node):
            if first is None and seg != "[key]":
                first = i
            continue
        keys.append(seg)
        node = node.get(seg) if isinstance(node, dict) else None
    return keys, first


def _fmt(keys: list[Any]) -> str:
    parts: list[str] = []
    for k in keys:
        parts.append(f"[{k}]" if isinstance(k, int) else ("." if parts else "") + str(k))
    return "".join(parts) or "(top level)"


def _path(loc: tuple[Any, ...], raw: Any) -> str:
    """Dotted path of an error location, dropping segments that are not keys of the data
    (pydantic puts a tagged union's tag, e.g. ``lognormal``, into the location)."""
    return _fmt(_keys(loc, raw)[0])


_DIST_MEMBERS: tuple[type[BaseModel], ...] = typing.get_args(typing.get_args(Distribution)[0])
_DIST_TAGS = [m.model_fields["dist"].default for m in _DIST_MEMBERS]

_UNION_TAGS = set(_DIST_TAGS)

_TABLE_HINTS = {
    "WeekHours": "a table of opening hours per weekday such as {mon = [9, 17], tue = [9, 17]}",
    "DayHours": "[open, close] in hours such as [9, 17]",
}
"""How to describe a table of a given model where "a table" is too vague."""

_DIST_EXAMPLE = '{dist = "lognormal", mean = 10, cv = 0.5}'


def _models(tp: Any) -> list[type[BaseModel]]:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)]
    return [tp] if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _member(tp: Any, label: str) -> type[BaseModel] | None:
    """The union member (or the model itself) that pydantic's ``label`` names."""
    for m in _models(tp):
        tag = m.model_fields["dist"].default if "dist" in m.model_fields else None
        if label in (m.__name__, tag) or re.search(rf"[\[ ,]{m.__name__}\]$", label):
            return m
    return None


def _type_at(loc: tuple[Any, ...]) -> Any:
    """The annotation at an error location (``None`` if it cannot be followed)."""
    tp: Any = Scenario
    for seg in loc:
        if seg == "[key]":
            return None
        if isinstance(seg, str) and _LABEL.search(seg) or seg in _UNION_TAGS:
            m = _member(tp, seg)
            if m is not None:
                tp = m
                continue
            if _models(tp) and not isinstance(_unwrap(tp), type):
                return None  # a non-model member of a union (e.g. a literal)
        tp = _step(tp, seg)
        if tp is None:
            return None
    return tp


def _allowed_fields(loc: tuple[Any, ...]) -> list[str] | None:
    """Field names accepted at the parent of ``loc`` (for 'did you mean' hints)."""
    model = _unwrap(_type_at(loc[:-1]))
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or n for n, f in model.model_fields.items()]
    return None


def _is_distribution(tp: Any) -> bool:
    models = _models(tp)
    return bool(models) and all(m in _DIST_MEMBERS for m in models)


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


def _hint_list(value: Any, options: list[str]) -> str:
    """``did you mean 'x'? expected one of: a, b, c`` (the hint only for a close match)."""
    close = difflib.get_close_matches(str(value), options, n=1) if isinstance(value, str) else []
    lead = f"did you mean '{close[0]}'? " if close else ""
    return lead + f"expected one of: {', '.join(options)}"


def _literals(ctx_expected: str) -> list[str]:
    """``"'a', 'b' or 'c'"`` (pydantic's ``expected`` context) -> ``['a', 'b', 'c']``."""
    return re.findall(r"'([^']*)'", ctx_expected)


# Errors that mean "the input is not even the right kind of thing" for a union member.
_KIND_ERRORS = {
    "model_type",
    "model_attributes_type",
    "dict_type",
    "literal_error",
    "string_type",
    "list_type",
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "bool_type",
    "bool_parsing",
    "union_tag_not_found",
}


def _describe_kind(e: dict[str, Any]) -> str:
    """What one union member accepts, from its kind-mismatch error."""
    if e["type"] == "literal_error":
        return " or ".join(json.dumps(v) for v in _literals(e.get("ctx", {}).get("expected", "")))
    if e["type"] == "model_type":
        return _TABLE_HINTS.get(e.get("ctx", {}).get("class_name", ""), "a table")
    msg = e["msg"]
    return msg[len("Input should be ") :] if msg.startswith("Input should be ") else msg


def _select_union_branches(errors: list[dict[str, Any]], raw: Any) -> list[Any]:
    """Of the errors pydantic reports for each member of a (non-tagged) union, keep those of
    the members the input is the right kind for; if it fits none, merge them into one
    'expected X or Y' problem at the union's own path."""
    groups: dict[tuple[Any, ...], dict[str, list[int]]] = {}
    for i, e in enumerate(errors):
        loc = tuple(e["loc"])
        _, first = _keys(loc, raw)
        if first is not None:
            groups.setdefault(loc[:first], {}).setdefault(loc[first], []).append(i)
    drop: set[int] = set()
    merged: dict[int, Problem] = {}
    for prefix, branches in groups.items():
        if len(branches) < 2:
            continue

        def mismatch(idx: list[int], depth: int = len(prefix) + 1) -> bool:
            return any(
                len(errors[i]["loc"]) == depth and errors[i]["type"] in _KIND_ERRORS for i in idx
            )

        fitting = [b for b, idx in branches.items() if not mismatch(idx)]
        for b, idx in branches.items():
            if b not in fitting:
                drop.update(idx)
        if not fitting:
            roots = [
                next(errors[i] for i in idx if len(errors[i]["loc"]) == len(prefix) + 1)
                for idx in branches.values()
            ]
            first = min(i for idx in branches.values() for i in idx)
            merged[first] = Problem(
                _path(prefix, raw),
                roots[0].get("input"),
                "expected " + " or ".join(_describe_kind(e) for e in roots),
            )
    out: list[Any] = []
    for i, e in enumerate(errors):
        if i in merged:
            out.append(merged[i])
        elif i not in drop:
            out.append(e)
    return out


def _problem(e: dict[str, Any], raw: Any) -> Problem:
    """One pydantic error as a problem with a file path, the value and what was expected."""
    loc = tuple(e["loc"])
    keys, _ = _keys(loc, raw)
    kind = e["type"]
    ctx = e.get("ctx") or {}
    value: Any = e.get("input")
    if loc and loc[-1] == "[key]":
        options = _literals(ctx.get("expected", ""))
        expected = f"unknown key; {_hint_list(value, options)}" if options else e["msg"]
    elif kind == "extra_forbidden":
        allowed = _allowed_fields(loc) or []
        expected = "unknown field"
        if allowed:
            expected += f"; {_hint_list(str(loc[-1]), allowed)}"
    elif kind == "missing":
        expected = "required field is missing"
        value = _MISSING
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", "dist")).strip("'")
        keys = [*keys, disc]
        tags = _literals(ctx.get("expected_tags", "")) or _DIST_TAGS
        what = "distribution family" if disc == "dist" else disc
        if kind == "union_tag_invalid":
            value = ctx.get("tag", value)
            expected = f"unknown {what}; {_hint_list(value, tags)}"
        else:
            value = _MISSING
            expected = f"required field is missing: the {what}, one of: {', '.join(tags)}"
            if disc == "dist":
                expected += " (or a bare number for a fixed value)"
    elif kind == "model_attributes_type" and _is_distribution(_type_at(loc)):
        expected = f"expected a number or a distribution table such as {_DIST_EXAMPLE}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        expected = "expected " + _TABLE_HINTS.get(ctx.get("class_name", ""), "a table")
    elif kind == "literal_error" and isinstance(value, str) and _literals(ctx.get("expected", "")):
        expected = _hint_list(value, _literals(ctx["expected"]))
    elif kind.startswith("date_"):
        expected = "expected a date such as 2024-01-01"
    else:
        expected = e["msg"]
        if expected.startswith("Value error, "):
            expected = expected[len("Value error, ") :]
            # A table-level check naming one of the table's keys ("reasons must sum to 1")
            # points at that key and shows its value, not the whole table.
            m = re.match(r"([A-Za-z_]\w*) ", expected)
            if m and isinstance(value, dict) and m.group(1) in value:
                keys = [*keys, m.group(1)]
                value = value[m.group(1)]
        expected = expected[0].lower() + expected[1:] if expected else expected
    return Problem(_fmt(keys), value, expected)


def problems_from_validation(err: ValidationError, raw: Any) -> list[Problem]:
    """Translate a pydantic ``ValidationError`` into problems with file paths."""
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for e in _select_union_branches(err.errors(include_url=False), raw):
        p = e if isinstance(e, Problem) else _problem(e, raw)
        if (p.path, p.expected) in seen:
            continue
        seen.add((p.path, p.expected))
        out.append(p)
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
        detail = str(err)
        at = re.search(r"at line (\d+)", detail)
        lines = text.splitlines()
        if at and 1 <= int(at.group(1)) <= len(lines):
            detail += f": {lines[int(at.group(1)) - 1].strip()}"
        problem = Problem("(file)", _MISSING, f"not valid TOML: {detail}")
        raise ScenarioError([problem], str(path)) from None
    return parse_scenario(raw, overrides, source=str(path))


def scenario_schema() -> dict[str, Any]:
    """JSON Schema of scenario files (field descriptions carry defaults' sources)."""
    return Scenario.model_json_schema(by_alias=True)
