"""Known response surfaces in place of the simulation, for the decision procedures.

The studies of :mod:`returnsim.decide` (PSA, tornado, Sobol' indices, break-even, optimisation)
turn a tidy frame of runs into an answer; the runs come from ``run_design``. Replacing that one
function by :func:`fake_run_design` feeds a study a function whose answer is known in closed form
(an exact parabola, the Ishigami function, a linear model), so the study's own arithmetic is
checked with no simulation noise it did not ask for, at tolerances set by the function rather
than by the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from returnsim.experiment.tasks import METRICS

Response = Callable[[str, Mapping[str, float], int], float]
"""``f(policy, inputs, replication)`` -> the metric's value in that run (``inputs``: the values
the design point sets; an input it leaves at the scenario's value is absent)."""


def fake_run_design(metric: str, f: Response, calls: list[pd.DataFrame] | None = None) -> Callable[..., pd.DataFrame]:
    """A drop-in ``run_design`` whose ``metric`` is ``f`` (every other metric is 0).

    Replications follow the real rule: ``0..R-1`` at every point with common random numbers,
    ``p*R..p*R+R-1`` at point ``p`` when independent (``first``: the design's first row is point
    ``first`` of a design run in stages). ``calls`` collects each design run.
    """

    def run_design(runner: Any, variants: Any, design: pd.DataFrame, policies: Any, replications: int,
                   crn: str = "common", first: int = 0) -> pd.DataFrame:
        if calls is not None:
            calls.append(design.copy())
        rows = []
        for i, (point, given) in enumerate(zip(design.index, design.to_dict("records"), strict=True), start=first):
            row = {k: v for k, v in given.items() if v == v}  # NaN: the scenario's own value, as the real one
            reps = range(replications) if crn == "common" else range(i * replications, (i + 1) * replications)
            for pol in policies:
                for rep in reps:
                    rec = dict.fromkeys(METRICS, 0.0)
                    rec[metric] = float(f(pol, row, rep))
                    rows.append({"point": point, **given, "policy": pol, "replication": rep, "seed": 0,
                                 "scenario_hash": "fake", **rec})
        return pd.DataFrame(rows)

    return run_design


def ishigami(x1: Any, x2: Any, x3: Any, a: float = 7.0, b: float = 0.1) -> Any:
    """Ishigami & Homma (1990): ``sin x1 + a sin² x2 + b x3⁴ sin x1`` on ``[-π, π]³``."""
    return np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """First-order and total Sobol' indices of the Ishigami function, in closed form (Sobol' &
    Levitan 1999; Saltelli et al. 2008, "Global Sensitivity Analysis: The Primer", §4.4):
    ``V1 = ½ (1 + b π⁴/5)²``, ``V2 = a²/8``, ``V13 = b² π⁸ (1/18 − 1/50)``, ``V = V1 + V2 + V13``.
    With a = 7, b = 0.1: S = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437)."""
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return [v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v]
