"""The ``[uncertainty]`` table: which inputs of a scenario are uncertain, and how much.

A scenario's defaults are point values, and many are assumptions. The ``[uncertainty]`` table
declares, for any number of them, a range or a distribution and where that belief comes from::

    [uncertainty]
    "retention.repeat_multiplier.per_satisfaction" = { low = 0.96, high = 2.9, source = "assumed: half to 1.5 x the calibrated slope" }
    "buyer.purchases_per_year.mean" = { dist = "triangular", low = 0.5, mode = 1.5, high = 3, source = "[B21]: no published figure" }

Each key is a dotted path to a number of the world or of a policy, as ``--set`` takes it (keys
with dots are quoted in TOML). A bare ``low``/``high`` pair is a uniform range; ``dist`` picks
another family: ``triangular`` (``low``, ``mode``, ``high``), ``normal`` (``mean``, ``sd``,
optionally truncated to ``low``/``high``), ``lognormal`` or ``gamma`` (``mean``, ``cv``). Every
entry needs a ``source`` note; ``group`` gathers inputs that would be measured together (the
value of information of a group is reported as one), ``label`` is a short display name.

Declaring a range changes nothing in a single run: the scenario's own value is used. Sweeps,
sensitivity analyses and probabilistic sensitivity analysis (:mod:`returnsim.decide`) draw from
the table. When the file is loaded, every path is checked against the scenario (an unknown path
is an error with a "did you mean" hint) and every range against the field it varies (a share
outside [0, 1], a negative duration, a non-integer range for a head count): the same kind of
problems, with the same kind of paths, as the rest of the file.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
import numpy as np
from pydantic import BaseModel, Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails

from .distributions import Gamma, Lognormal, Triangular, Uniform
from .fields import Strict, _choices, _err, split_annotated

__all__ = [
    "UncertainInput",
    "Uncertainty",
    "Target",
    "PathError",
    "resolve_path",
    "range_problems",
    "uncertainty_errors",
]

_PARAMS: dict[str, tuple[set[str], set[str]]] = {
    # family: (required parameters, optional parameters)
    "uniform": ({"low", "high"}, set()),
    "triangular": ({"low", "mode", "high"}, set()),
    "normal": ({"mean", "sd"}, {"low", "high"}),
    "lognormal": ({"mean", "cv"}, set()),
    "gamma": ({"mean", "cv"}, set()),
}

TORNADO_QUANTILES = (0.05, 0.95)
"""Quantiles that stand for "low" and "high" of a distribution without declared bounds."""


class UncertainInput(Strict):
    """How uncertain one input is: a range or a distribution, and where the belief comes from."""

    dist: Literal["uniform", "triangular", "normal", "lognormal", "gamma"] = Field(
        default="uniform", description="family; a bare low/high pair is a uniform range"
    )
    low: float | None = Field(default=None, allow_inf_nan=False, description="lower bound, in the unit of the input the path names")
    high: float | None = Field(default=None, allow_inf_nan=False, description="upper bound, in the unit of the input the path names")
    mode: float | None = Field(default=None, allow_inf_nan=False, description="triangular: most likely value, in the input's unit")
    mean: float | None = Field(default=None, allow_inf_nan=False, description="normal, lognormal, gamma: mean, in the input's unit")
    sd: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="normal: standard deviation, in the input's unit")
    cv: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="lognormal, gamma: coefficient of variation, sd / mean (a ratio)")
    source: str = Field(
        min_length=1,
        description="where the range comes from: an id of docs/sources.md, or 'assumed: why'",
    )
    group: str | None = Field(
        default=None, description="inputs measured together (value of information per group)"
    )
    label: str | None = Field(default=None, description="short name for tables and charts")

    @model_validator(mode="after")
    def _parameters(self) -> UncertainInput:
        required, optional = _PARAMS[self.dist]
        given = {p for p in ("low", "high", "mode", "mean", "sd", "cv") if getattr(self, p) is not None}
        missing = sorted(required - given)
        extra = sorted(given - required - optional)
        if missing or extra:
            takes = ", ".join(sorted(required)) + (
                f" (optionally {', '.join(sorted(optional))})" if optional else ""
            )
            found = f"; {', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not among them" if extra else ""
            raise ValueError(f"a {self.dist} input takes {takes}{found}")
        if self.low is not None and self.high is not None and not self.high > self.low:
            raise ValueError(f"high ({self.high:g}) must be greater than low ({self.low:g})")
        if self.dist == "triangular" and not (self.low <= self.mode <= self.high):  # type: ignore[operator]
            raise ValueError(f"mode ({self.mode:g}) must lie between low and high")
        if self.dist in ("lognormal", "gamma") and not self.mean > 0:  # type: ignore[operator]
            raise ValueError(f"mean must be positive for a {self.dist} input")
        if self.dist == "normal" and self.low is not None and self.high is not None:
            # A truncation window with (almost) no probability in it is a typo.
            if self._normal_cdf(self.high) - self._normal_cdf(self.low) < 1e-6:
                raise ValueError("low..high holds almost none of the normal distribution")
        return self

    # -- the distribution ----------------------------------------------------------------------

    def _normal_cdf(self, x: float) -> float:
        from scipy import special

        return float(special.ndtr((x - self.mean) / self.sd))  # type: ignore[operator]

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest value the input can take (infinite if unbounded)."""
        if self.dist in ("uniform", "triangular"):
            return (float(self.low), float(self.high))  # type: ignore[arg-type]
        if self.dist == "normal":
            lo = -math.inf if self.low is None else self.low
            hi = math.inf if self.high is None else self.high
            return (lo, hi)
        return (0.0, math.inf)

    def ppf(self, u: Any) -> np.ndarray:
        """Inverse CDF: uniforms in (0, 1) to values of the input."""
        u = np.asarray(u, dtype=float)
        p = {k: v for k, v in self.model_dump(include={"low", "high", "mode", "mean", "sd", "cv"}).items() if v is not None}
        if self.dist == "uniform":
            return Uniform(**p).ppf(u)
        if self.dist == "triangular":
            return Triangular(**p).ppf(u)
        if self.dist == "lognormal":
            return Lognormal(**p).ppf(u)
        if self.dist == "gamma":
            return Gamma(**p).ppf(u)
        from scipy import special

        lo = 0.0 if self.low is None else self._normal_cdf(self.low)
        hi = 1.0 if self.high is None else self._normal_cdf(self.high)
        return p["mean"] + p["sd"] * special.ndtri(lo + (hi - lo) * u)

    @property
    def swing(self) -> tuple[float, float]:
        """The "low" and "high" values of a one-at-a-time sensitivity analysis: the declared
        bounds of a uniform or triangular input, else its 5 % and 95 % quantiles."""
        if self.dist in ("uniform", "triangular"):
            return self.support
        lo, hi = self.ppf(np.array(TORNADO_QUANTILES))
        return (float(lo), float(hi))


Uncertainty = dict[str, UncertainInput]
"""The ``[uncertainty]`` table: dotted path -> :class:`UncertainInput`."""


# --------------------------------------------------------------------------------------------
# paths into a validated scenario
# --------------------------------------------------------------------------------------------


class PathError(ValueError):
    """A dotted path that names no number of the scenario; the message says why."""


@dataclass(frozen=True)
class Target:
    """The number a dotted path names in a validated scenario, and what it may be."""

    path: str
    value: float
    """Its value in the scenario."""
    integer: bool
    """The field holds an integer (a value drawn for it is rounded)."""
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    """True when ``low`` itself is not allowed (``gt`` rather than ``ge``)."""
    high_open: bool = False

    def allows(self, x: float) -> bool:
        """May the field hold ``x``?"""
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def bounds_text(self) -> str:
        parts = []
        if self.low > -math.inf:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high < math.inf:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        kind = "an integer" if self.integer else "a number"
        return kind + (" " + " and ".join(parts) if parts else "")


def _bounds(items: list[Any]) -> dict[str, float]:
    """Numeric bounds from pydantic metadata (``Ge``, ``Gt``, ``Le``, ``Lt``, nested
    ``FieldInfo`` and ``Annotated`` arguments)."""
    out: dict[str, float] = {}
    for m in items:
        if isinstance(m, FieldInfo):
            out.update(_bounds(list(m.metadata)))
        elif isinstance(m, annotated_types.Ge):
            out["ge"] = float(m.ge)  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Gt):
            out["gt"] = float(m.gt)  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Le):
            out["le"] = float(m.le)  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Lt):
            out["lt"] = float(m.lt)  # type: ignore[arg-type]
    return out


def _element(tp: Any, index: int) -> Any:
    """The value type of ``dict[K, V]`` (index 1) or ``list[V]`` (index 0); ``Any`` otherwise."""
    tp, _ = split_annotated(tp)
    args = typing.get_args(tp)
    return args[index] if len(args) > index else Any


def resolve_path(scenario: BaseModel, path: str) -> Target:
    """The number ``path`` names in ``scenario``, a validated :class:`~returnsim.scenario.Scenario`
    (``"desk.handling_minutes.mean"``).

    Walks the validated scenario: model fields (by name or file alias), named tables (the
    catalog, reasons, policies...) and list indices (``policies.seed.offers.0.value_share``).

    Raises:
        PathError: the path names nothing, or names a table, a name or a switch, not a number.
    """
    parts = str(path).split(".")
    if not all(parts):
        raise PathError("expected a dotted path to a number, like desk.handling_minutes.mean")
    node: Any = scenario
    tp: Any = type(scenario)
    meta: list[Any] = []
    for i, seg in enumerate(parts):
        here = ".".join(parts[:i]) or "the scenario"
        if isinstance(node, BaseModel):
            fields = type(node).model_fields
            names = {n: n for n in fields} | {f.alias: n for n, f in fields.items() if f.alias}
            if seg not in names:
                shown = sorted({f.alias or n for n, f in fields.items()})
                family = getattr(node, "dist", None)
                if isinstance(family, str):  # a distribution of another family than the path assumes
                    raise PathError(
                        f"{here} is a {family} distribution, which has no parameter '{seg}' "
                        f"(it has {', '.join(s for s in shown if s != 'dist')}); the [uncertainty] "
                        "entry must follow the distribution the scenario now uses"
                    )
                raise PathError(f"{here} has no field '{seg}'; {_choices(seg, shown)}")
            info = fields[names[seg]]
            node, tp, meta = getattr(node, names[seg]), info.annotation, list(info.metadata)
        elif isinstance(node, dict):
            if seg not in node:
                keys = [str(k) for k in node]
                raise PathError(
                    f"{here} has no entry '{seg}'; " + (_choices(seg, keys) if keys else "it is empty")
                )
            tp, meta = split_annotated(_element(tp, 1))
            node = node[seg]
        elif isinstance(node, list):
            if not seg.lstrip("-").isdigit() or not -len(node) <= int(seg) < len(node):
                raise PathError(f"{here} is a list of {len(node)}; use an index from 0 to {len(node) - 1}")
            tp, meta = split_annotated(_element(tp, 0))
            node = node[int(seg)]
        else:
            raise PathError(f"{here} is a single value, not a table: end the path there")
        inner, more = split_annotated(tp)
        tp, meta = inner, [*meta, *more]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        what = (
            "not set (no value to vary)" if node is None
            else "a true/false switch" if isinstance(node, bool)
            else "text" if isinstance(node, str)
            else "a table" if isinstance(node, (BaseModel, dict))
            else "a list" if isinstance(node, list)
            else type(node).__name__
        )
        raise PathError(f"{path} is {what}; expected a path to a number")
    b = _bounds(meta)
    integer = isinstance(node, int)
    return Target(
        path=path,
        value=float(node),
        integer=integer,
        low=b.get("gt", b.get("ge", -math.inf)),
        high=b.get("lt", b.get("le", math.inf)),
        low_open="gt" in b,
        high_open="lt" in b,
    )


def range_problems(spec: UncertainInput, target: Target) -> Iterator[tuple[str, float, str]]:
    """(parameter, value, what is wrong) for a range the field cannot take."""
    lo, hi = spec.support
    if (lo == -math.inf and target.low > -math.inf) or (hi == math.inf and target.high < math.inf):
        yield (
            "dist",
            math.nan,
            f"a {spec.dist} input is unbounded but {target.path} must be {target.bounds_text()}; "
            + ("declare low and high" if spec.dist == "normal" else "use a uniform or triangular range"),
        )
    if spec.dist in ("lognormal", "gamma") and target.low > 0:
        yield "dist", math.nan, f"a {spec.dist} input takes values near 0 but {target.path} must be {target.bounds_text()}"
    for name in ("low", "high"):
        x = getattr(spec, name)
        if x is None:
            continue
        if not target.allows(x):
            yield name, x, f"{target.path} must be {target.bounds_text()}"
        elif target.integer and x != round(x):
            yield name, x, f"{target.path} is an integer: give whole-number bounds"


def uncertainty_errors(table: Uncertainty, scenario: BaseModel) -> Iterator[InitErrorDetails]:
    """Validation errors of the ``[uncertainty]`` table against the scenario it belongs to
    (the scenario's own cross-checks pass both, so this module needs nothing of the schema)."""
    for path, spec in table.items():
        loc: tuple[Any, ...] = ("uncertainty", path)
        try:
            target = resolve_path(scenario, path)
        except PathError as err:
            yield _err(loc, path, f"unknown input: {err}")
            continue
        for name, value, message in range_problems(spec, target):
            yield _err((*loc, name), spec.dist if name == "dist" else value, message)
