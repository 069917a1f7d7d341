"""Tornado diagrams and break-even values read off a PSA's draws, without simulating again.

The paired difference of two policies over a probabilistic sensitivity analysis's draws is
regressed on the inputs (:func:`~returnsim.decide.metamodel.fit_linear`, a linear metamodel).
Where its leave-one-out R² is good enough (:data:`~returnsim.decide.metamodel.MIN_LOO_R2`; the
"How sure is this?" assessment checks), the one-at-a-time questions of
:mod:`returnsim.decide.sensitivity` are answered from it: each end of an input's swing, or each
value along it, is the metamodel's prediction with the other inputs at the scenario's values,
with the prediction's confidence interval in place of the replications'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DecideError
from .inputs import Input
from .metamodel import LinearFit, fit_linear
from .sensitivity import BreakEven, Tornado, _breakeven, _tornado_table

if TYPE_CHECKING:  # pragma: no cover
    from .psa import PSA

__all__ = ["pair_fit", "tornado_from_draws", "breakeven_from_draws"]


def _at_base(ins: Sequence[Input], path: str | None = None, values: Any = None) -> np.ndarray:
    """Rows of inputs at the scenario's own values, ``path`` set to each of ``values``."""
    base = np.array([[inp.base for inp in ins]], dtype=float)
    if path is None:
        return base
    rows = np.repeat(base, len(values), axis=0)
    rows[:, [inp.path for inp in ins].index(path)] = values
    return rows


def tornado_from_draws(
    psa_result: PSA, policies: Sequence[str], fit: LinearFit | None = None, *, confidence: float = 0.95
) -> Tornado:
    """A tornado of ``policies[0] - policies[1]`` from a linear metamodel of a PSA's draws.

    The paired difference of the two policies is regressed on the inputs over the draws both
    ran (:func:`~returnsim.decide.metamodel.fit_linear`); each end of each input's swing is
    then the metamodel's prediction with the other inputs at the scenario's values, and the
    half-widths are those of the predictions. Nothing is simulated: use it when the fit's
    leave-one-out R² (:attr:`Tornado.fit`) is good enough
    (:data:`~returnsim.decide.metamodel.MIN_LOO_R2`).
    """
    names = list(policies)
    if len(names) != 2:
        raise DecideError(f"a tornado from draws compares two policies, got {names}")
    ins = psa_result.specs
    fit = fit or pair_fit(psa_result, names)
    t = fit.t(confidence)
    b, se_b = fit.predict(_at_base(ins))
    ends = []
    for j, inp in enumerate(ins):
        (lo_v, hi_v), slope_se = inp.swing, math.sqrt(max(fit.cov[j + 1, j + 1], 0.0))
        (at_lo, at_hi), _ = fit.predict(_at_base(ins, inp.path, [lo_v, hi_v]))
        # The change from the base is the slope times the move: its half-width follows.
        ends.append((float(at_lo), float(at_hi), t * slope_se * max(abs(lo_v - inp.base), abs(hi_v - inp.base))))
    half = float(t * se_b[0])
    table = _tornado_table(ins, True, float(b[0]), half, ends)
    runs = psa_result.runs[psa_result.runs["policy"].isin(names)]
    return Tornado(table, float(b[0]), half, psa_result.metric, names, psa_result.replications, runs,
                   method="metamodel", fit=fit.loo_r2)


def pair_fit(psa_result: PSA, policies: Sequence[str]) -> LinearFit:
    """The linear metamodel of ``policies[0] - policies[1]`` over the draws of a PSA both ran
    (raises ``ValueError`` when there are too few of them)."""
    diff = (psa_result.values[policies[0]] - psa_result.values[policies[1]]).dropna()
    x = psa_result.inputs.loc[diff.index, [i.path for i in psa_result.specs]].to_numpy(dtype=float)
    return fit_linear(x, diff.to_numpy(dtype=float))


def breakeven_from_draws(
    psa_result: PSA,
    path: str,
    policies: Sequence[str],
    fit: LinearFit | None = None,
    *,
    levels: int = 41,
    confidence: float = 0.95,
) -> BreakEven:
    """The break-even of one input from a linear metamodel of a PSA's draws (see
    :func:`tornado_from_draws`): the difference predicted along the input's swing, the other
    inputs at the scenario's values, with the predictions' confidence intervals. Nothing is
    simulated; :attr:`BreakEven.method` says so."""
    names = list(policies)
    ins = psa_result.specs
    match = [i for i in ins if i.path == path]
    if not match:
        raise DecideError(f"{path} is not among the PSA's inputs")
    fit = fit or pair_fit(psa_result, names)
    grid = match[0].grid(levels)
    mean, se = fit.predict(_at_base(ins, path, grid))
    out = _breakeven(match[0], names, psa_result.metric, grid, mean, fit.t(confidence) * se)
    out.method = f"from a linear metamodel of the PSA's draws (leave-one-out R² {fit.loo_r2:.2f})"
    return out
