"""What is wrong with a scenario, in the user's terms: :class:`Problem` and :class:`ScenarioError`.

Everything that can be wrong with a file is reported at once as a :class:`ScenarioError`, a list
of :class:`Problem` s that each name the field path, the value found and what was expected.
:func:`problems_from_validation` translates pydantic's errors into problems with file paths.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from .distributions import Distribution
from .schema import Scenario

__all__ = ["Problem", "ScenarioError", "problems_from_validation"]


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
    for e in _select_union_branches([dict(d) for d in err.errors(include_url=False)], raw):
        p = e if isinstance(e, Problem) else _problem(e, raw)
        if (p.path, p.expected) in seen:
            continue
        seen.add((p.path, p.expected))
        out.append(p)
    return out
