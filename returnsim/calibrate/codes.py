"""The code table: what the codes in Amazon's returns reports mean for a scenario.

Amazon's reports name a return's reason with codes (``UNWANTED_ITEM``, ``AMZ-PG-APP-TOO-SMALL``,
``CR-DEFECTIVE`` ...) and its fate in the warehouse with dispositions (``SELLABLE``,
``CUSTOMER_DAMAGED`` ...). The table that maps them is data, not code: ``amazon_codes.toml``
beside this module, documented in ``docs/calibrate.md``, which a seller can copy, edit and pass
to :func:`returnsim.calibrate.calibrate` (``codes=``) or ``returnsim calibrate --codes``.

Each scenario reason in the table says who is at fault by default (Amazon's reason -> payer
table for seller-fulfilled returns, docs/sources.md [A16]), its buyer-visible label and an
assumed condition mix (used only when the base scenario lacks the reason). A code the table does
not know is never guessed: :meth:`CodeTable.reason_of` returns ``None`` and the caller counts it.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["CodeTable", "ReasonInfo", "normalise_code", "DEFAULT_CODES"]

DEFAULT_CODES = "amazon_codes.toml"
"""The table shipped with returnsim (package data of :mod:`returnsim.calibrate`)."""

_SEP = re.compile(r"[\s\-]+")


def normalise_code(value: str) -> str:
    """Upper case, spaces and hyphens as underscores: ``"Cr-Unwanted item"`` -> ``"CR_UNWANTED_ITEM"``."""
    return _SEP.sub("_", value.strip().upper())


@dataclass(frozen=True)
class ReasonInfo:
    """A scenario reason as the code table describes it."""

    name: str
    fault: str
    """``seller``, ``carrier`` or ``buyer`` (Amazon's reason -> payer table, [A16])."""
    label: str
    condition: dict[str, float]
    """Assumed condition mix, for a reason the base scenario lacks."""
    codes: tuple[str, ...]


@dataclass
class CodeTable:
    """Amazon report codes -> scenario reasons, dispositions and recognised column values."""

    reasons: dict[str, ReasonInfo]
    no_reason: frozenset[str]
    dispositions: dict[str, str]
    values: dict[str, Any]
    strip_prefixes: tuple[str, ...]
    source: str
    _exact: dict[str, str] = field(default_factory=dict, repr=False)
    _patterns: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for info in self.reasons.values():
            for code in info.codes:
                code = normalise_code(code)
                if code.endswith("*"):
                    self._patterns.append((code, info.name))
                else:
                    self._exact[code] = info.name

    # ------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> CodeTable:
        """The table in ``path`` (a TOML file like ``amazon_codes.toml``), or the default one.

        Raises:
            ValueError: naming the file and the entry that is malformed.
        """
        if path is None:
            text = resources.files(__package__).joinpath(DEFAULT_CODES).read_text("utf-8")
            source = DEFAULT_CODES
        else:
            text = Path(path).read_text(encoding="utf-8-sig")
            source = Path(path).name
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{source}: not valid TOML: {err}") from None
        return cls.from_dict(raw, source)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "(dict)") -> CodeTable:
        """Build a table from parsed TOML (see ``amazon_codes.toml`` for the layout)."""
        reasons: dict[str, ReasonInfo] = {}
        for name, entry in (raw.get("reasons") or {}).items():
            where = f"{source}: reasons.{name}"
            if not isinstance(entry, dict):
                raise ValueError(f"{where}: expected a table with fault, label, condition, codes")
            fault = entry.get("fault")
            if fault not in ("seller", "carrier", "buyer"):
                raise ValueError(f"{where}.fault: got {fault!r}; expected seller, carrier or buyer")
            codes = entry.get("codes", [])
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ValueError(f"{where}.codes: expected a list of strings")
            condition = entry.get("condition", {"opened": 1.0})
            if not isinstance(condition, dict) or abs(sum(condition.values()) - 1) > 1e-6:
                raise ValueError(f"{where}.condition: expected shares that sum to 1")
            reasons[name] = ReasonInfo(
                name=name,
                fault=fault,
                label=str(entry.get("label", "")),
                condition={k: float(v) for k, v in condition.items()},
                codes=tuple(codes),
            )
        norm = raw.get("normalise") or {}
        prefixes = tuple(normalise_code(p) for p in norm.get("strip_prefixes", []))
        return cls(
            reasons=reasons,
            no_reason=frozenset(normalise_code(c) for c in (raw.get("no_reason") or {}).get("codes", [])),
            dispositions={normalise_code(k): str(v) for k, v in (raw.get("dispositions") or {}).items()},
            values={k: v for k, v in (raw.get("values") or {}).items()},
            strip_prefixes=prefixes,
            source=source,
        )

    # ------------------------------------------------------------------------------------
    def canonical(self, code: str) -> str:
        """The code as the table compares it: normalised, known prefixes removed."""
        c = normalise_code(code)
        for p in self.strip_prefixes:
            if c.startswith(p) and len(c) > len(p):
                return c[len(p) :]
        return c

    def reason_of(self, code: str) -> str | None:
        """The scenario reason a report code means; ``None`` if the table does not know it
        (and for codes that say nothing, see :meth:`says_nothing`)."""
        c = self.canonical(code)
        if c in self._exact:
            return self._exact[c]
        for pattern, name in self._patterns:
            if fnmatch.fnmatchcase(c, pattern):
                return name
        return None

    def says_nothing(self, code: str) -> bool:
        """Is this a code that gives no reason (``UNKNOWN_OTHER_REASON``)?"""
        return self.canonical(code) in self.no_reason

    def code_for(self, reason: str) -> str:
        """The first code the table lists for a scenario reason (used to write synthetic reports)."""
        try:
            codes = self.reasons[reason].codes
        except KeyError:
            raise KeyError(
                f"reason '{reason}' is not in the code table {self.source}; "
                f"it has: {', '.join(self.reasons)}"
            ) from None
        first = next((c for c in codes if not c.endswith("*")), None)
        if first is None:
            raise KeyError(f"reason '{reason}' has no literal code in {self.source}")
        return first

    def known_value(self, column: str, value: str) -> bool:
        """Is ``value`` one of the values the table lists for ``column`` (e.g. ``mfn_status``)?"""
        return normalise_code(value) in self.known_values(column)

    def known_values(self, column: str) -> frozenset[str]:
        """The values the table lists for ``column``, normalised."""
        return frozenset(normalise_code(k) for k in self.values.get(column, ()))

    def value_map(self, column: str) -> dict[str, str]:
        """A mapping table of the ``[values]`` section, keys normalised."""
        table = self.values.get(column, {})
        return {normalise_code(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}
