"""Pieces of :func:`~returnsim.decide.sensitivity.sobol_indices`: its table, and its emulator
method (``method="emulator"``) once the training points are simulated.

The emulator itself (a Gaussian process, the Saltelli estimators on it, the intervals) is
:mod:`returnsim.decide.emulator`; this module turns its result into the study's table and notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .errors import DecideError, positive
from .inputs import Input

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["indices_table", "training_points", "emulate"]


def training_points(points: int | None, inputs: int) -> int:
    """Simulated points of the emulator's Latin hypercube: ``points``, by default ``8 * inputs``
    and at least 64 (assumed: enough for a Gaussian process of a smooth response in about ten
    points per input, Loeppky, Sacks & Welch 2009)."""
    if points is None:
        return max(64, 8 * inputs)
    return int(positive("points", points, integer=True, minimum=inputs + 2))


def indices_table(
    ins: Sequence[Input],
    s1: np.ndarray,
    s1_half: np.ndarray,
    st: np.ndarray,
    st_half: np.ndarray,
) -> pd.DataFrame:
    """One row per input, largest total index first, intervals ``index ± half-width``."""
    import pandas as pd

    table = pd.DataFrame(
        {
            "input": [i.path for i in ins],
            "label": [i.label for i in ins],
            "S1": s1,
            "S1_low": s1 - s1_half,
            "S1_high": s1 + s1_half,
            "ST": st,
            "ST_low": st - st_half,
            "ST_high": st + st_half,
        }
    )
    return table.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)


def emulate(
    ins: Sequence[Input], unit: np.ndarray, y: np.ndarray, *, refits: int, confidence: float, seed: int,
    threads: int = 1,
) -> tuple[pd.DataFrame, float, list[str]]:
    """The indices table from an emulator of ``y`` at the unit-cube points ``unit``, its
    leave-one-out Q², and notes (how it was computed; a warning below the fit bar); ``threads``:
    the emulator's jackknife refits run at once (:func:`~.emulator.emulator_indices`)."""
    try:
        from .emulator import MIN_Q2, emulator_indices

        res = emulator_indices(unit, y, refits=refits, confidence=confidence, seed=seed, threads=threads)
    except ImportError:
        raise DecideError(
            "Sobol' indices on an emulator need scikit-learn, an optional extra: pip install 'returnsim[sensitivity]'"
        ) from None
    table = indices_table(ins, res.s1, (res.s1_high - res.s1_low) / 2, res.st, (res.st_high - res.st_low) / 2)
    notes = [f"computed on a Gaussian-process emulator of {len(y)} simulated points (leave-one-out Q² {res.q2:.2f})"]
    if res.q2 < MIN_Q2:
        notes.append(
            f"the emulator predicts only {res.q2:.0%} of the variance out of sample (below {MIN_Q2:g}): the "
            "indices describe it more than the model; add points or use method='sampling'"
        )
    return table, res.q2, notes
