"""Tornado diagrams and break-even values read off a Gaussian-process emulator of a PSA's draws.

The linear metamodel of :mod:`returnsim.decide.from_draws` needs many more draws than inputs:
with 30 inputs and the 32 draws a screened pair has in common, its leave-one-out R² is
meaningless (a line through every point). A Gaussian process with one length scale per input
(:mod:`returnsim.decide.emulator`) fitted to the same draws, on the inputs' probability scale,
lets the inputs that do not matter fall away (long length scales); where its leave-one-out Q²
passes the same bar (the "How sure is this?" assessment's ``min_fit``, 0.9 assumed), the
one-at-a-time questions are answered from it:

* each end of an input's swing, or each value along it, is the process's mean with the other
  inputs at the scenario's own values (their probabilities under the declared distributions);
* the half-widths are ``z`` times the posterior standard deviation: of the response at the
  base, and of the *change* from the base to each end (from the posterior covariance), i.e. what
  the draws leave unknown about the function, hyperparameters at their estimates.

Nothing is simulated. Needs scikit-learn (the ``sensitivity`` extra).

How close it comes (seed scenario, the selected policy against its rival, 32 draws for 30
inputs, Q² 0.997; ``docs/performance.md``): the same six inputs on top in the same order as the
simulated tornado and the same (no) reversals; one of their twelve ends lies outside the two
tornados' summed intervals, by 0.02 per order. With hyperparameters at their estimates the
intervals are a little narrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .emulator import normal_z
from .errors import DecideError
from .inputs import Input
from .sensitivity import BreakEven, Tornado, _breakeven, _tornado_table

if TYPE_CHECKING:  # pragma: no cover
    from .psa import PSA

__all__ = ["EmulatedTornado", "PairEmulator", "pair_emulator", "tornado_from_emulator", "breakeven_from_emulator"]


@dataclass
class EmulatedTornado(Tornado):
    """A tornado read off a Gaussian-process emulator (:attr:`fit`: its leave-one-out Q²)."""

    @property
    def how(self) -> str:
        return (f"from a Gaussian-process emulator of the PSA's draws (leave-one-out Q² {self.fit:.2f}), "
                "no new simulation")


@dataclass
class PairEmulator:
    """A process fitted to ``policies[0] - policies[1]`` over the draws of a PSA both ran."""

    gp: Any
    q2: float
    draws: int
    policies: list[str]


def pair_emulator(psa_result: PSA, policies: Sequence[str], seed: int = 0) -> PairEmulator:
    """Fit the emulator of the pair's difference (``ValueError``: no unit-cube draws, fewer
    than 10 draws in common, or a constant difference; ``ImportError``: no scikit-learn)."""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    from .emulator import _fit, loo_q2

    # An emulated PSA's draws are an emulator's already: fit to the simulated ones behind it.
    psa_result = getattr(psa_result, "simulated", None) or psa_result
    if psa_result.unit is None:
        raise ValueError("the PSA's draws on the unit cube are unknown")
    diff = (psa_result.values[policies[0]] - psa_result.values[policies[1]]).to_numpy(dtype=float)
    ran = np.isfinite(diff)
    if ran.sum() < 10:
        raise ValueError(f"{int(ran.sum())} draws in common, fewer than 10")
    if np.ptp(diff[ran]) == 0:
        raise ValueError("the difference is the same in every draw")
    with threadpool_limits(limits=1):  # small matrices: threads cost more than they give
        gp = _fit(np.asarray(psa_result.unit, dtype=float)[ran], diff[ran], seed)
        q2 = loo_q2(gp)
    return PairEmulator(gp, q2, int(ran.sum()), list(policies))


def to_unit(inp: Input, x: Any) -> np.ndarray:
    """The probability ``u`` of values ``x`` under the input's declared distribution (the
    inverse of :meth:`Input.values`, by interpolation in its quantile function)."""
    u = np.linspace(1e-9, 1 - 1e-9, 20_001)
    q = np.maximum.accumulate(np.asarray(inp.spec.ppf(u), dtype=float))
    return np.interp(np.asarray(x, dtype=float), q, u)


def _base_unit(ins: Sequence[Input]) -> np.ndarray:
    return np.array([float(to_unit(inp, inp.base)) for inp in ins])


def _mean_cov(em: PairEmulator, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from threadpoolctl import threadpool_limits

    from .emulator import posterior

    with threadpool_limits(limits=1):
        return posterior(em.gp, rows)


def tornado_from_emulator(psa_result: PSA, em: PairEmulator, *, confidence: float = 0.95) -> Tornado:
    """A tornado of ``em.policies[0] - em.policies[1]`` from the emulator (see the module)."""
    ins = psa_result.specs
    base = _base_unit(ins)
    rows = [base]
    for j, inp in enumerate(ins):
        for end in inp.swing:
            row = base.copy()
            row[j] = float(to_unit(inp, end))
            rows.append(row)
    mean, cov = _mean_cov(em, np.array(rows))
    z, sd = normal_z(confidence), np.sqrt(np.clip(np.diag(cov), 0.0, None))
    ends = []
    for j in range(len(ins)):
        lo, hi = 1 + 2 * j, 2 + 2 * j
        # The change from the base: Var(f(end) - f(base)) from the posterior covariance.
        change = [max(cov[i, i] + cov[0, 0] - 2 * cov[i, 0], 0.0) for i in (lo, hi)]
        ends.append((float(mean[lo]), float(mean[hi]), z * float(np.sqrt(max(change)))))
    table = _tornado_table(ins, True, float(mean[0]), z * float(sd[0]), ends)
    runs = psa_result.runs[psa_result.runs["policy"].isin(em.policies)]
    return EmulatedTornado(table, float(mean[0]), z * float(sd[0]), psa_result.metric, list(em.policies),
                           psa_result.replications, runs, method="emulator", fit=em.q2)


def breakeven_from_emulator(
    psa_result: PSA, path: str, em: PairEmulator, *, levels: int = 41, confidence: float = 0.95
) -> BreakEven:
    """The break-even of one input from the emulator: the difference along the input's swing,
    the other inputs at the scenario's values, with the posterior's intervals."""
    ins = psa_result.specs
    match = [i for i in ins if i.path == path]
    if not match:
        raise DecideError(f"{path} is not among the PSA's inputs")
    j = ins.index(match[0])
    grid = match[0].grid(levels)
    rows = np.repeat(_base_unit(ins)[None, :], len(grid), axis=0)
    rows[:, j] = to_unit(match[0], grid)
    mean, cov = _mean_cov(em, rows)
    half = normal_z(confidence) * np.sqrt(np.clip(np.diag(cov), 0.0, None))
    out = _breakeven(match[0], list(em.policies), psa_result.metric, grid, mean, half)
    out.method = f"from a Gaussian-process emulator of the PSA's draws (leave-one-out Q² {em.q2:.2f})"
    return out
