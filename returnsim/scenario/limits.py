"""What every value in a scenario must be: plain data the model can use.

Pydantic checks types (``strict`` numbers: no booleans or quoted numbers where a number is
expected) and finiteness (``allow_inf_nan=False``) through the configuration of every scenario
table. This module adds the two rules pydantic has no setting for, applied to every field of
every table by :func:`check_plain`:

* **numbers are at most** :data:`LIMIT` **in size.** No price, count, rate, duration or
  coefficient of a return process comes near a billion; a larger value is a typo or an attack,
  and the bound keeps every sum and product the model forms finite (a label of ``1e308`` dollars
  would overflow to infinity once added up);
* **durations are at most ten years** (:data:`MAX_DURATION_DAYS`). A field whose name gives
  its unit (``window_days``, ``reply_hours``, ``handling_minutes``) is a duration; its value,
  or its distribution's mean, is at most ten years in that unit. A return process has no
  step that long, and the simulation advances through the time a run spans, so a window of a
  billion days would keep it busy for ever. The horizon is the exception: how long a run may
  be is for the run-size estimate (:mod:`returnsim.model.budget`) to judge;
* **text is printable.** Names and descriptions end up in terminals, spreadsheets, figures and
  HTML: control characters (an ANSI escape recolours a terminal) and invisible bidirectional
  overrides are refused, in names and in text alike (text may hold line breaks and tabs).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from pydantic import ValidationError, ValidationInfo
from pydantic_core import InitErrorDetails, PydanticCustomError

from ..text import BIDI_CONTROLS

__all__ = [
    "LIMIT",
    "MAX_DURATION_DAYS",
    "check_field",
    "check_plain",
    "check_number",
    "check_text",
    "error",
]

LIMIT = 1e9
"""Largest size (absolute value) of any number in a scenario."""

MAX_DURATION_DAYS = 3652.5
"""Longest duration (or mean of a random duration) in a scenario: ten years."""

_UNITS = {"days": 1.0, "hours": 24.0, "minutes": 1440.0}
"""A duration field's name ends with its unit; how many of that unit make a day."""



def error(kind: str, message: str, **ctx: Any) -> PydanticCustomError:
    """A pydantic error of type ``kind`` whose message is ``message`` verbatim.

    Keyword arguments go into the error's ``ctx``; ``field=name`` tells
    :func:`~returnsim.scenario.problems.problems_from_validation` that a table-level check is
    about one of the table's keys, so the problem points at that key.
    """
    return PydanticCustomError(kind, message.replace("{", "{{").replace("}", "}}"), ctx or None)


def check_number(value: Any) -> None:
    """Raise if ``value`` (an int or float, not a bool) is larger than :data:`LIMIT`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if not -LIMIT <= value <= LIMIT:
        raise error(
            "number_too_large",
            f"must be at most {LIMIT:.0e} in size: no quantity of a return process comes near "
            "it, and larger values overflow the model's sums",
        )


def _bad_character(text: str, name: bool) -> str | None:
    for ch in text:
        if ch in BIDI_CONTROLS or (unicodedata.category(ch) == "Cc" and (name or ch not in "\n\t\r")):
            return ch
    return None


def check_text(value: Any, name: bool = False) -> None:
    """Raise if a string holds a control character (a ``name`` may not even break lines)."""
    if not isinstance(value, str):
        return
    ch = _bad_character(value, name)
    if ch is not None:
        what = "a name" if name else "text"
        raise error(
            "control_character",
            f"contains the control character U+{ord(ch):04X}; {what} must be plain printable "
            "text (it is shown in terminals, spreadsheets, figures and reports)",
        )


def check_field(value: Any, info: ValidationInfo) -> Any:
    """Pydantic after-validator of every field of a scenario table: :func:`check_plain`, and
    for a duration (a field named ``..._days``, ``..._hours`` or ``..._minutes``, the horizon
    excepted) at most :data:`MAX_DURATION_DAYS`."""
    check_plain(value)
    name = info.field_name or ""
    unit = next((u for u in _UNITS if name.endswith(u)), None)
    if unit is not None and name != "horizon_days":
        mean = getattr(value, "mean", value)
        limit = MAX_DURATION_DAYS * _UNITS[unit]
        if isinstance(mean, int | float) and not isinstance(mean, bool) and mean > limit:
            what = "it is" if mean is value or getattr(value, "variance", None) == 0 else "its mean is"
            raise error(
                "duration_too_long",
                f"a duration of at most ten years ({limit:,.10g} {unit}); {what} {mean:.4g}",
            )
    return value


def check_plain(value: Any) -> Any:
    """Check a validated field value (and the items and keys of its lists and dicts) against
    :data:`LIMIT` and for printable text; nested tables are checked by their own models.

    Errors inside a list or dict are raised at the item's own location."""
    if isinstance(value, list | tuple):
        items: list[tuple[Any, Any, bool]] = [(i, v, False) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        items = [(k, k, True) for k in value] + [(k, v, False) for k, v in value.items()]
    else:
        check_number(value)
        check_text(value)
        return value
    errors: list[InitErrorDetails] = []
    for loc, item, is_key in items:
        try:
            if is_key:
                check_text(item, name=True)
            elif isinstance(item, list | tuple | dict):
                check_plain(item)
            else:
                check_number(item)
                check_text(item)
        except PydanticCustomError as err:
            errors.append(InitErrorDetails(type=err, loc=(loc,), input=item))
        except ValidationError as err:
            for e in err.errors():
                errors.append(
                    InitErrorDetails(
                        type=error(e["type"], e["msg"]), loc=(loc, *e["loc"]), input=e["input"]
                    )
                )
    if errors:
        raise ValidationError.from_exception_data("value", errors)
    return value
