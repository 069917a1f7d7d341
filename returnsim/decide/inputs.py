"""The inputs a study varies, and the scenario variants they make.

An :class:`Input` is one number of a scenario (a dotted path, as ``--set`` takes it) with a
range or distribution: from the scenario's ``[uncertainty]`` table, or given on the spot (a
policy lever, ``--vary PATH=LO:HI``). A design point, a set of values for the inputs, becomes a
*variant*: a validated scenario of its own, with its own scenario hash, so its replications are
rows of the results store like any experiment's.

A policy that ``extends`` another follows changes to what it inherits, as it would if the value
were edited in the file: varying ``policies.seed.offers.3.value_share`` varies it for every
policy built on ``seed`` that does not set its own offers.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scenario import Scenario, ScenarioError, parse_scenario
from ..scenario.uncertainty import PathError, Target, UncertainInput, range_problems, resolve_path
from .errors import DecideError, did_you_mean

__all__ = ["Input", "study_inputs", "lever", "Variants", "parse_range"]


@dataclass(frozen=True)
class Input:
    """One varied number: where it is, how it may vary, and its value in the scenario."""

    path: str
    spec: UncertainInput
    target: Target
    levels: int | None = None
    """Grid levels asked for this input (``--vary PATH=LO:HI:N``); ``None``: the design's."""

    @property
    def label(self) -> str:
        """Short display name: the declared label, else the path."""
        return self.spec.label or self.path

    @property
    def base(self) -> float:
        """The scenario's own value."""
        return self.target.value

    @property
    def swing(self) -> tuple[float, float]:
        """Low and high values of a one-at-a-time analysis (see ``UncertainInput.swing``)."""
        lo, hi = self.spec.swing
        return (float(self.cast(lo)), float(self.cast(hi)))

    def cast(self, x: Any) -> Any:
        """Values as the field holds them: rounded to integers for an integer field."""
        x = np.asarray(x, dtype=float)
        return np.rint(x).astype(np.int64) if self.target.integer else x

    def values(self, u: Any) -> np.ndarray:
        """Values of the input at uniforms ``u`` (its inverse CDF), clipped to (0, 1) inside."""
        u = np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12)
        return self.cast(self.spec.ppf(u))

    def grid(self, levels: int) -> np.ndarray:
        """``levels`` evenly spaced values over the swing (integers: the distinct ones)."""
        lo, hi = self.spec.swing
        values = self.cast(np.linspace(lo, hi, levels))
        return np.unique(values) if self.target.integer else values


def _target(sc: Scenario, path: str, what: str) -> Target:
    try:
        return resolve_path(sc, path)
    except PathError as err:
        raise DecideError(f"unknown {what} {path!r}: {err}") from None


def parse_range(text: str) -> tuple[str, float, float, int | None]:
    """``"PATH=LO:HI[:N]"`` -> ``(path, lo, hi, n)`` (the ``--vary`` and ``--lever`` syntax)."""
    path, sep, rng = str(text).partition("=")
    parts = rng.split(":")
    try:
        if not sep or not path.strip() or len(parts) not in (2, 3):
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
        n = int(parts[2]) if len(parts) == 3 else None
    except ValueError:
        raise DecideError(f"expected PATH=LOW:HIGH or PATH=LOW:HIGH:N (e.g. desk.staff=1:4), got {text!r}") from None
    return path.strip(), lo, hi, n


def _range_input(sc: Scenario, path: str, lo: float, hi: float, n: int | None, what: str, source: str) -> Input:
    target = _target(sc, path, what)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise DecideError(f"{what} {path}: the range {lo:g}..{hi:g} needs high > low")
    for x in (lo, hi):
        if not target.allows(x):
            raise DecideError(f"{what} {path}: {x:g} is outside what the field allows ({target.bounds_text()})")
    if n is not None and n < 1:
        raise DecideError(f"{what} {path}: a grid needs at least 1 level, got {n}")
    spec = UncertainInput(low=lo, high=hi, source=source)
    return Input(path, spec, target, n)


def lever(sc: Scenario, path: str, low: float, high: float, levels: int | None = None) -> Input:
    """A policy lever (or any number) varied over ``[low, high]`` for an optimisation.

    Raises:
        DecideError: the path names no number ("did you mean"), or the range is empty or
            outside what the field allows.
    """
    return _range_input(sc, path, low, high, levels, "lever", "lever range")


def study_inputs(
    sc: Scenario,
    inputs: Sequence[str] | Mapping[str, Any] | None = None,
    vary: Sequence[str | tuple[str, float, float] | tuple[str, float, float, int | None]] | None = None,
) -> list[Input]:
    """The inputs of a study.

    Args:
        sc: the scenario.
        inputs: paths of its ``[uncertainty]`` table to use (default: all of them, unless
            ``vary`` is given), or a mapping path -> :class:`UncertainInput` (or its table).
        vary: extra ranges, as ``"PATH=LO:HI[:N]"`` or ``(path, lo, hi[, n])``.

    Raises:
        DecideError: an unknown path (with "did you mean"), an input named twice, or none.
    """
    out: dict[str, Input] = {}
    declared = sc.uncertainty
    if not (inputs is None or isinstance(inputs, Mapping) or (
        isinstance(inputs, Sequence) and not isinstance(inputs, str) and all(isinstance(p, str) for p in inputs)
    )):
        raise DecideError(
            "inputs: expected a list of [uncertainty] paths such as ['demand.orders_per_day'], or a "
            f"mapping of path -> range; got {type(inputs).__name__} {inputs!r:.60}"
        )
    if isinstance(inputs, Mapping):
        for path, spec in inputs.items():
            spec = spec if isinstance(spec, UncertainInput) else UncertainInput.model_validate(spec)
            target = _target(sc, path, "input")
            for name, _value, message in range_problems(spec, target):
                raise DecideError(f"input {path}: {name}: {message}")
            out[path] = Input(path, spec, target)
    else:
        names = list(declared) if inputs is None and not vary else list(inputs or [])
        for path in names:
            if path not in declared:
                hint = did_you_mean(path, list(declared))
                have = f"declared: {', '.join(declared)}" if declared else "the scenario declares no [uncertainty]"
                raise DecideError(f"{path!r} is not in the scenario's [uncertainty] table; {hint}{have}")
            out[path] = Input(path, declared[path], _target(sc, path, "input"))
    for item in vary or []:
        if isinstance(item, str):
            path, lo, hi, n = parse_range(item)
        else:
            path, lo, hi, n = (*item, None)[:4]
        if path in out:
            raise DecideError(f"{path} is varied twice")
        out[path] = _range_input(sc, path, float(lo), float(hi), n, "input", "--vary range")
    if not out:
        raise DecideError(
            "nothing to vary: the scenario declares no [uncertainty] table; declare one or pass "
            "ranges (vary=['PATH=LO:HI'])"
        )
    return list(out.values())


def _own_fields(policies: dict[str, Any]) -> dict[str, Any]:
    """Expanded policies back to what each sets itself: a key equal to its parent's value is
    dropped, so validation inherits it again (and follows a change to the parent)."""
    out = {}
    for name, pol in policies.items():
        parent = policies.get(str(pol.get("extends"))) if isinstance(pol, dict) else None
        if isinstance(parent, dict):
            pol = {k: v for k, v in pol.items() if k == "extends" or parent.get(k) != v}
        out[name] = pol
    return out


class Variants:
    """Scenario variants of one base scenario: the base with some inputs set.

    The variants carry no ``[uncertainty]`` table (it changes nothing that is simulated), so
    two studies that reach the same values share their stored replications.
    """

    def __init__(self, scenario: Scenario) -> None:
        raw = scenario.model_dump(mode="json", by_alias=True)
        raw["uncertainty"] = {}
        raw["policies"] = _own_fields(raw["policies"])
        self.raw = raw
        """The base scenario as raw file data."""
        self.base = parse_scenario(copy.deepcopy(raw))
        """The base scenario without its ``[uncertainty]`` table."""
        self._integer: dict[str, bool] = {}

    def make(self, values: Mapping[str, Any]) -> Scenario:
        """The variant with ``values`` (path -> number) set.

        Raises:
            DecideError: the values make the scenario invalid (the message lists each
                problem with its path).
        """
        if not values:
            return self.base
        plain = {k: self._plain(k, v) for k, v in values.items()}
        try:
            return parse_scenario(self.raw, plain)
        except ScenarioError as err:
            shown = ", ".join(f"{k} = {_show(v)}" for k, v in plain.items())
            problems = "; ".join(str(p) for p in err.problems)
            raise DecideError(f"{shown} makes the scenario invalid: {problems}") from None

    def _plain(self, path: str, value: Any) -> Any:
        """A value as the file would hold it: a Python number, an int for an integer field."""
        value = value.item() if isinstance(value, np.generic) else value
        if path not in self._integer:
            try:
                self._integer[path] = resolve_path(self.base, path).integer
            except PathError as err:
                raise DecideError(f"unknown input {path!r}: {err}") from None
        if self._integer[path] and isinstance(value, float) and math.isfinite(value):
            return int(round(value))
        return value

    def check(self, inputs: Sequence[Input]) -> None:
        """Each input at both ends of its swing must give a valid scenario."""
        for inp in inputs:
            for x in inp.swing:
                self.make({inp.path: inp.cast(x).item()})


def _show(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
