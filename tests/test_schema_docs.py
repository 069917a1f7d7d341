"""Every field of a scenario file says what it is and in which unit (``returnsim schema``)."""

from __future__ import annotations

import re
from typing import Any

import returnsim as rs

UNIT_IN_NAME = re.compile(r"(_days|_hours|_minutes|_lb|_per_hour|_share|_rate|_probability)$")
"""Units a field's name states (the scenario's convention: durations in the unit their name says,
shares and rates as fractions)."""

UNIT_IN_WORDS = re.compile(
    r"currency|\bdays?\b|\bhours?\b|\bminutes?\b|\bpounds?\b|\bshare\b|\b0-1\b|from 0 to 1|"
    r"log-odds|\bpoints?\b|probability|per cent|%|multiple of|ratio|\bunit\b|'s unit|agents|"
    r"orders|weight of",
    re.IGNORECASE,
)
"""Words that name a unit in a description."""


def _fields() -> list[tuple[str, str, dict[str, Any]]]:
    schema = rs.scenario_schema()
    tables = {"Scenario": schema, **schema.get("$defs", {})}
    return [(table, name, spec) for table, node in tables.items() for name, spec in node.get("properties", {}).items()]


def _numeric(spec: dict[str, Any]) -> bool:
    kinds = [spec.get("type")] + [s.get("type") for s in spec.get("anyOf", []) + spec.get("oneOf", [])]
    return any(k in ("number", "integer") for k in kinds)


def test_every_field_has_a_description():
    fields = _fields()
    assert len(fields) > 150  # the walk reaches the nested tables
    missing = [f"{table}.{name}" for table, name, spec in fields if not spec.get("description", "").strip()]
    assert not missing, missing


def test_every_number_says_its_unit():
    bad = [
        f"{table}.{name}: {spec.get('description')!r}"
        for table, name, spec in _fields()
        if _numeric(spec) and not UNIT_IN_NAME.search(name) and not UNIT_IN_WORDS.search(spec.get("description", ""))
    ]
    assert not bad, bad
