"""Designs: which combinations of input values a sweep simulates.

* ``grid``: every combination of evenly spaced levels over each input's swing (a full
  factorial: for one or two inputs, a curve or a surface);
* ``lhs``: a Latin hypercube, one point in each of ``points`` equal-probability slices of every
  input (good coverage of many inputs with few points);
* ``sobol``, ``halton``: scrambled low-discrepancy sequences (even coverage; Sobol' points keep
  their balance properties when ``points`` is a power of two);
* ``random``: independent draws (plain Monte Carlo).

Except for the grid, points are drawn as uniforms in the unit hypercube (``scipy.stats.qmc``,
[M4] in ``docs/sources.md``) and mapped through each input's inverse CDF, so an input declared
as a triangular or normal distribution is sampled as such.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DecideError, did_you_mean
from .inputs import Input
from .runner import check_points

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DESIGNS", "unit_design", "make_design"]

DESIGNS = ("grid", "lhs", "sobol", "halton", "random")
"""Names of the designs :func:`make_design` builds."""

MAX_GRID_POINTS = 100_000
"""A full factorial larger than this is refused (it would not finish): use a sampled design."""


def _check(kind: Any, points: Any) -> None:
    if kind not in DESIGNS:
        raise DecideError(f"unknown design {kind!r}; {did_you_mean(str(kind), DESIGNS)}expected one of: {', '.join(DESIGNS)}")
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 1:
        raise DecideError(f"a design needs at least 1 point; got points={points!r}")


def unit_design(kind: str, points: int, dims: int, seed: int = 0) -> np.ndarray:
    """``points`` x ``dims`` uniforms in (0, 1) from a sampled design (not ``grid``)."""
    _check(kind, points)
    if kind == "grid":
        raise DecideError("a grid is built from levels, not uniforms: use make_design")
    if kind == "random":
        return np.random.default_rng(seed).random((points, dims))
    import warnings

    from scipy.stats import qmc

    cls = {"lhs": qmc.LatinHypercube, "sobol": qmc.Sobol, "halton": qmc.Halton}[kind]
    try:
        engine: Any = cls(d=dims, rng=np.random.default_rng(seed))
    except TypeError:  # scipy < 1.15 names the generator `seed`
        engine = cls(d=dims, seed=np.random.default_rng(seed))
    with warnings.catch_warnings():
        # Sobol' balance needs 2**m points; any count is still a valid (if less even) design,
        # and make_design's caller was told so in the docs.
        warnings.filterwarnings("ignore", message=".*balance properties.*")
        return np.asarray(engine.random(points))


def make_design(
    inputs: Sequence[Input], kind: str = "lhs", points: int = 64, seed: int = 0, what: str = "design points"
) -> pd.DataFrame:
    """Input values of a design: one row per point, one column per input path.

    Args:
        inputs: the inputs varied (:func:`~returnsim.decide.inputs.study_inputs`).
        kind: one of :data:`DESIGNS`.
        points: points of a sampled design; for ``grid``, levels per input (an input's own
            ``levels``, from ``--vary PATH=LO:HI:N``, takes precedence).
        seed: seed of the sampled designs (the same seed gives the same points).
        what: what the points are called where they are asked for (in the message refusing a
            design too large for memory: :func:`~returnsim.decide.runner.check_points`).

    Raises:
        DecideError: an unknown design, fewer than one point, or a design too large to run.
    """
    import pandas as pd

    _check(kind, points)
    if not inputs:
        raise DecideError("a design needs at least one input")
    cols = [i.path for i in inputs]
    if kind == "grid":
        axes = [inp.grid(inp.levels or points) for inp in inputs]
        total = math.prod(len(a) for a in axes)
        if total > MAX_GRID_POINTS:
            raise DecideError(
                f"a grid of {' x '.join(str(len(a)) for a in axes)} = {total} points is too large; "
                "use fewer levels or a sampled design (lhs, sobol)"
            )
        check_points(total, what=what)
        rows = list(itertools.product(*[a.tolist() for a in axes]))
        frame = pd.DataFrame(rows, columns=cols)
    else:
        check_points(points, what=what)
        u = unit_design(kind, points, len(inputs), seed)
        frame = pd.DataFrame({inp.path: inp.values(u[:, j]) for j, inp in enumerate(inputs)})
    frame.index.name = "point"
    return frame
