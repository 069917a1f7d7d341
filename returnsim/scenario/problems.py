"""What is wrong with a scenario, in the user's terms: :class:`Problem` and :class:`ScenarioError`.

Everything that can be wrong with a file is reported at once as a :class:`ScenarioError`, a list
of :class:`Problem` s that each name the field path, the value found and what was expected.
:func:`problems_from_validation` translates pydantic's errors into problems with file paths.

Error locations come straight from pydantic: fields that take several kinds of input validate
through :mod:`.kinds`, which locates errors at the keys the user wrote, so a location is the path
in the file. The only other segment pydantic adds is ``[key]`` after a dict key that is not
allowed. To suggest the field a mistyped key meant, the scenario's types are followed along the
location (:func:`_locate`); a plain union of several tables, should one appear, is recognised
there from its type and reported as one problem at the union's path.
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ..text import printable
from .fields import split_annotated
from .kinds import MISSING_TAG, choices
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
            return printable(f"{self.path}: {self.expected}")
        return printable(f"{self.path}: got {_show(self.value)}; {self.expected}")


_MISSING = object()


def _show(value: Any, limit: int = 60) -> str:
    """A short, printable rendering of a value found in a file (TOML spellings for the
    non-finite floats; long values cut)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf, -inf: as TOML writes them
    if isinstance(value, list | dict) and len(value) > limit:
        return f"a {'list' if isinstance(value, list) else 'table'} of {len(value)} entries"
    try:
        text = json.dumps(value, default=str)
    except Exception:  # noqa: BLE001 - very long ints, deep nesting, odd objects
        text = f"a value of type {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScenarioError(ValueError):
    """A scenario file (or dict, or override) is invalid; ``problems`` lists every issue."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        head = f"{printable(source)}: " if source else ""
        n = len(problems)
        lines = [f"{head}{n} problem{'s' if n != 1 else ''} in scenario"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------------------------
# following a location through the scenario's types
# --------------------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_\-$]+$")


def _fmt(keys: list[Any]) -> str:
    """``catalog.widget.price`` / ``policies.base.offers[0]``; odd keys quoted as in TOML."""
    parts: list[str] = []
    for k in keys:
        if isinstance(k, int):
            parts.append(f"[{k}]")
            continue
        text = str(k) if _BARE_KEY.match(str(k)) else json.dumps(str(k))
        parts.append(("." if parts else "") + text)
    return "".join(parts) or "(top level)"


def _dispatch(metadata: list[Any]) -> Any:
    """The :mod:`.kinds` validator among a field's metadata, if any."""
    for m in metadata:
        func = getattr(m, "func", None)
        if hasattr(func, "member_for"):
            return func
    return None


def _members(tp: Any) -> list[Any]:
    """Members of a union other than ``None`` (``[tp]`` for anything else)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _unwrap(tp: Any) -> Any:
    """A field's type without ``Annotated`` and ``Optional``; for a union of one table and other
    kinds (``"24/7"`` or hours), the table."""
    tp, _ = split_annotated(tp)
    members = _members(tp)
    if len(members) == 1:
        return split_annotated(members[0])[0]
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    return models[0] if len(models) == 1 else tp


def _field_type(f: FieldInfo) -> Any:
    """A model field's type with its metadata (pydantic keeps them apart)."""
    if not (f.metadata or f.discriminator):
        return f.annotation
    return typing.Annotated[(f.annotation, *f.metadata, f)]


@dataclass
class _Where:
    """An error location followed through the types: the file's keys, the table the last key
    was looked up in, and (if the location crosses a plain union) where that union is."""

    keys: list[Any] = field(default_factory=list)
    table: type[BaseModel] | None = None
    union_at: int | None = None
    union_members: list[Any] = field(default_factory=list)
    union_value: Any = None


def _locate(loc: tuple[Any, ...], raw: Any) -> _Where:
    where = _Where()
    tp: Any = Scenario
    node = raw
    i = 0
    while i < len(loc):
        seg = loc[i]
        tp, meta = split_annotated(tp)
        dispatch = _dispatch(meta)
        if dispatch is not None:
            tp = dispatch.member_for(node)  # validated by that member alone
            continue
        members = _members(tp)
        if len(members) == 1 and members[0] is not tp:  # Optional[T]: follow T
            tp = members[0]
            continue
        if len(members) > 1:
            disc = next(
                (m.discriminator for m in meta if isinstance(m, FieldInfo) and m.discriminator), None
            )
            if disc is None:  # a plain union: pydantic's next segment names a member
                where.union_at = len(where.keys)
                where.union_members = members
                where.union_value = node
                return where
            tp = next(  # a tagged union: the next segment is the tag
                (m for m in members if seg in typing.get_args(split_annotated(m)[0].model_fields[disc].annotation)),
                None,
            )
            i += 1
            continue
        if seg == "[key]":
            i += 1
            continue
        where.table = tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
        if where.table is not None:
            f = next((f for n, f in where.table.model_fields.items() if seg in (n, f.alias)), None)
            tp = _field_type(f) if f is not None else None
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        else:
            tp = None
        where.keys.append(seg)
        if isinstance(node, dict):
            node = node.get(seg)
        elif isinstance(node, list) and isinstance(seg, int) and -len(node) <= seg < len(node):
            node = node[seg]
        else:
            node = None
        i += 1
    return where


# --------------------------------------------------------------------------------------------
# one error -> one problem
# --------------------------------------------------------------------------------------------

_TABLE_HINTS = {
    "WeekHours": "a table of opening hours per weekday such as {mon = [9, 17], tue = [9, 17]}",
    "DayHours": "[open, close] in hours such as [9, 17]",
}
"""How to describe a table of a given model where "a table" is too vague."""

_NUMBER_ERRORS = {"float_type", "float_parsing", "int_type", "int_parsing", "int_from_float", "wrong_kind"}


def _is_percent(value: Any) -> bool:
    """A share over 1 that reads as a percentage (8 for 8 %)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 1 < value <= 100


def _literals(ctx_expected: str) -> list[str]:
    """``"'a', 'b' or 'c'"`` (the ``expected`` context of pydantic's literal errors) ->
    ``['a', 'b', 'c']``."""
    return re.findall(r"'([^']*)'", ctx_expected)


def _describe(member: Any) -> str:
    """What a member of a plain union accepts, in a user's words."""
    tp, _ = split_annotated(member)
    if typing.get_origin(tp) is typing.Literal:
        return " or ".join(json.dumps(v) for v in typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _TABLE_HINTS.get(tp.__name__, "a table")
    return {float: "a number", int: "a whole number", str: "text", bool: "true or false"}.get(
        tp, "a list" if typing.get_origin(tp) is list else "a table"
    )


def _quoted_number(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _problem(e: dict[str, Any], where: _Where) -> Problem:
    """One pydantic error as a problem with a file path, the value and what was expected."""
    loc = tuple(e["loc"])
    keys = list(where.keys)
    kind = e["type"]
    ctx = e.get("ctx") or {}
    value: Any = e.get("input")
    if loc and loc[-1] == "[key]":
        options = _literals(ctx.get("expected", ""))
        expected = f"unknown key; {choices(value, options)}" if options else e["msg"]
    elif kind == "extra_forbidden":
        expected = "unknown field"
        if where.table is not None:
            allowed = [f.alias or n for n, f in where.table.model_fields.items()]
            expected += f"; {choices(str(loc[-1]), allowed)}"
    elif kind == "missing":
        expected = "required field is missing"
        value = _MISSING
    elif kind == MISSING_TAG:
        expected = e["msg"]
        value = _MISSING
    elif kind in ("union_tag_invalid", "union_tag_not_found"):  # a tagged union of pydantic's
        disc = str(ctx.get("discriminator", "")).strip("'")
        keys.append(disc)
        tags = _literals(ctx.get("expected_tags", ""))
        if kind == "union_tag_invalid":
            value = ctx.get("tag", value)
            expected = f"unknown {disc}; {choices(value, tags)}"
        else:
            value = _MISSING
            expected = f"required field is missing: the {disc}, one of: {', '.join(tags)}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        expected = "expected " + _TABLE_HINTS.get(ctx.get("class_name", ""), "a table")
    elif kind == "literal_error" and isinstance(value, str) and _literals(ctx.get("expected", "")):
        expected = choices(value, _literals(ctx["expected"]))
    elif kind.startswith("date_"):
        expected = "expected a date such as 2024-01-01"
    else:
        error = ctx.get("error")
        expected = str(error) if kind in ("value_error", "assertion_error") and error else e["msg"]
        # A table-level check about one of the table's keys points at that key.
        key = ctx.get("field")
        if key is not None and isinstance(value, dict) and key in value:
            keys.append(key)
            value = value[key]
        expected = expected[:1].lower() + expected[1:]
    if kind == "less_than_equal" and ctx.get("le") == 1 and _is_percent(value):
        expected += f"; a share is written 0-1: write {value:g} % as {value / 100:g}"
    if kind in _NUMBER_ERRORS and _quoted_number(value):
        expected += "; write numbers without quotes"
    elif kind in _NUMBER_ERRORS and isinstance(value, bool):
        expected += "; true and false are not numbers"
    return Problem(_fmt(keys), value, expected)


def problems_from_validation(err: ValidationError, raw: Any) -> list[Problem]:
    """Translate a pydantic ``ValidationError`` into problems with file paths."""
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for e in err.errors(include_url=False):
        where = _locate(tuple(e["loc"]), raw)
        if where.union_at is not None:
            expected = "expected " + " or ".join(_describe(m) for m in where.union_members)
            p = Problem(_fmt(where.keys[: where.union_at]), where.union_value, expected)
        else:
            p = _problem(dict(e), where)
        if (p.path, p.expected) in seen:
            continue
        seen.add((p.path, p.expected))
        out.append(p)
    return out
