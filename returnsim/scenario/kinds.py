"""Fields that accept several kinds of input, chosen from the input itself.

A distribution is a bare number or a table whose ``dist`` tag names the family; opening hours
are ``"24/7"`` or a table of weekdays. Pydantic validates such unions either by trying every
member (and reporting every member's failure under a label such as ``function-after[...]``) or,
for tagged unions, by putting the tag into the error's location. Neither is what a user wrote.

The validators here look at the input first, pick the one member it can be, and validate with
that member alone, so every error's location is the path of the file and every message is about
the member the user meant. They are pydantic *wrap* validators (``WrapValidator(OneOf(...))``),
so the field keeps its union type for serialisation and the JSON Schema.

Each validator also answers :meth:`member_for`, which is how
:func:`~returnsim.scenario.problems.problems_from_validation` finds the table an unknown key was
found in, to suggest the field that was meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails

from .limits import error

__all__ = ["ByTag", "ByKind", "MISSING_TAG", "choices"]

MISSING_TAG = "missing_tag"
"""Error type of a table without its tag (shown without a value, like a missing field)."""


def choices(value: Any, options: list[str]) -> str:
    """``did you mean 'x'? expected one of: a, b, c`` (the hint only for a close match)."""
    close = difflib.get_close_matches(value, options, n=1) if isinstance(value, str) else []
    lead = f"did you mean '{close[0]}'? " if close else ""
    return lead + f"expected one of: {', '.join(options)}"


def _raise_at(key: str, kind: str, message: str, value: Any) -> None:
    raise ValidationError.from_exception_data(
        "value", [InitErrorDetails(type=error(kind, message), loc=(key,), input=value)]
    )


class ByTag:
    """A table whose ``tag`` key names the member model (``{dist = "lognormal", ...}``).

    Args:
        tag: the key naming the member.
        members: tag value -> member model.
        what: the name of the choice in messages (``"distribution family"``).
        scalar: turns a bare (non-table) input into a member instance, or returns ``None`` if
            it cannot; its errors are reported at the field itself.
        expected: what the field accepts, for inputs that are neither a table nor a scalar.
        missing_hint: added to the message when the tag is missing.
    """

    def __init__(
        self,
        tag: str,
        members: Mapping[str, type[BaseModel]],
        what: str,
        expected: str,
        scalar: Callable[[Any], Any] | None = None,
        missing_hint: str = "",
    ) -> None:
        self.tag = tag
        self.members = dict(members)
        self.what = what
        self.expected = expected
        self.scalar = scalar
        self.missing_hint = missing_hint

    def member_for(self, raw: Any) -> type[BaseModel] | None:
        """The member model ``raw`` is validated with (``None``: none)."""
        tag = raw.get(self.tag) if isinstance(raw, Mapping) else None
        return self.members.get(tag) if isinstance(tag, str) else None

    def __call__(self, value: Any, handler: Any) -> Any:
        if isinstance(value, tuple(self.members.values())):
            return value
        if isinstance(value, Mapping):
            tags = list(self.members)
            if self.tag not in value:
                _raise_at(
                    self.tag,
                    MISSING_TAG,
                    f"required field is missing: the {self.what}, one of: {', '.join(tags)}"
                    + self.missing_hint,
                    value,
                )
            tag = value[self.tag]
            if not isinstance(tag, str) or tag not in self.members:
                _raise_at(self.tag, "unknown_tag", f"unknown {self.what}; {choices(tag, tags)}", tag)
            return self.members[tag].model_validate(value)
        if self.scalar is not None:
            out = self.scalar(value)
            if out is not None:
                return out
        raise error("wrong_kind", f"expected {self.expected}")


class ByKind:
    """An input that is either text from a fixed set or a table of one model
    (``"24/7"`` or ``{mon = [9, 17]}``).

    Args:
        texts: the strings accepted as they are.
        table: the model a table is validated with.
        expected: what the field accepts, for the message when the input is neither.
    """

    def __init__(self, texts: tuple[str, ...], table: type[BaseModel], expected: str) -> None:
        self.texts = texts
        self.table = table
        self.expected = expected

    def member_for(self, raw: Any) -> type[BaseModel] | None:
        return self.table if isinstance(raw, Mapping) else None

    def __call__(self, value: Any, handler: Any) -> Any:
        if isinstance(value, self.table):
            return value
        if isinstance(value, Mapping):
            return self.table.model_validate(value)
        if isinstance(value, str) and value in self.texts:
            return value
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, list(self.texts), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
        raise error("wrong_kind", f"expected {self.expected}{hint}")
