"""A PSA's probability best, expected loss and EVPI from Gaussian-process emulators of its draws.

A simulated PSA (:func:`~returnsim.decide.psa.psa`) estimates each statistic from its few tens
of draws: the interval of a probability best is a Clopper–Pearson one over those draws, about
±0.14 wide after 48. With ``method="emulator"`` the same simulated draws become the training
points of emulators (:mod:`returnsim.decide.emulator`'s Gaussian process: anisotropic squared
exponential plus white noise, on the inputs' probability scale), and the statistics are
computed over :data:`EMULATOR_DRAWS` emulated draws of the inputs instead:

* **what is emulated**: with ``r`` the policy with the best mean over the simulated draws (the
  reference), one process for ``r``'s value and one for each other policy's *difference* from
  ``r``, all on the same training inputs. Which policy is best depends on the policies' joint
  values at the same input, and common random numbers make those differences smooth and nearly
  noise-free; separate emulators of each policy's value would add their independent errors to
  every difference. The processes' errors are treated as independent of each other.
* **the bar**: the leave-one-out Q² (closed form, :func:`~returnsim.decide.emulator.loo_q2`)
  of every difference's emulator must be at least ``min_fit`` (default
  :data:`~returnsim.decide.emulator.MIN_Q2`, 0.9, assumed: the bar of the emulator's Sobol'
  indices). The differences alone decide P(best), the expected losses and the EVPI; the
  reference's own Q² is shown but not held to the bar (a policy whose value barely moves with
  the inputs has a low one, harmlessly: its means' intervals carry the emulator's
  uncertainty). Otherwise, or without scikit-learn, or with fewer than :data:`MIN_POINTS` draws
  behind a policy, the simulated PSA is returned as it is, and its notes say why.
* **what the emulated values are**: the process's mean, i.e. the policies' *expected* values
  at each input (the white-noise term, the simulation's randomness, is left out): the
  question "which policy is best if the inputs are these" without the noise of one
  replication.
* **intervals**: ``estimate ± z se`` with ``se²`` the sum of the emulator's part (the
  statistic's variance over :data:`POSTERIOR_DRAWS` joint draws of each process's posterior
  at :data:`POSTERIOR_POINTS` of the emulated inputs: what the training points leave unknown
  about the functions, hyperparameters held at their estimates) and the Monte Carlo part (a
  bootstrap of the emulated draws). Probabilities are clipped to [0, 1], losses and the EVPI
  to at least 0.
* **screened policies** (``screen=``) are not emulated: their rows of the summary are the
  simulated ones, over the draws they ran, and they are never best among the emulated draws.

The EVPPI (:meth:`PSA.evppi`) is the regression estimate over the emulated draws; its
intervals are over those draws only (the emulator's error is not in them).
:meth:`PSA.acceptability` stays over the simulated draws (it needs two metrics per run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .emulator import MIN_Q2
from .psa_result import PSA

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["EmulatedPSA", "emulate_psa", "EMULATOR_DRAWS", "POSTERIOR_DRAWS", "POSTERIOR_POINTS", "MIN_POINTS"]

EMULATOR_DRAWS = 10_000
"""Draws of the inputs the statistics are computed over (a Latin hypercube)."""
POSTERIOR_DRAWS = 200
"""Joint draws of the emulators' posteriors for the emulator's part of the intervals."""
POSTERIOR_POINTS = 1_000
"""Emulated inputs those posterior draws are made at (a joint draw costs their number cubed)."""
MIN_POINTS = 10
"""Fewer simulated draws than this are not emulated (a leave-one-out Q² of fewer says little)."""


@dataclass
class EmulatedPSA(PSA):
    """A PSA whose statistics come from emulators of a simulated PSA's draws.

    :attr:`values` and :attr:`inputs` hold the emulated draws (the emulators' means);
    :attr:`draws` is the number of *simulated* draws; :attr:`runs` are the simulated runs.
    """

    simulated: PSA | None = None
    """The simulated PSA the emulators were trained on."""
    fit: dict[str, float] = field(default_factory=dict)
    """Leave-one-out Q² of each emulator: ``"<reference>"`` and ``"<policy> - <reference>"``
    (only the differences are held to the bar)."""
    emulated_draws: int = 0
    table: Any = None
    """The summary, with intervals that include the emulator's uncertainty."""
    evpi_interval: tuple[float, float] = (math.nan, math.nan)

    @property
    def draws(self) -> int:
        """Simulated draws (the emulated ones: :attr:`emulated_draws`)."""
        return self.simulated.draws if self.simulated is not None else len(self.values)

    def summary(self) -> pd.DataFrame:
        """As :meth:`PSA.summary`, from the emulated draws (``draws``: the simulated ones each
        policy ran); intervals include the emulator's uncertainty (see the module)."""
        return self.table.copy()

    def evpi_ci(self) -> tuple[float, float]:
        """Interval of :attr:`evpi`: emulator and Monte Carlo parts (see the module)."""
        return self.evpi_interval


def _statistics(v: np.ndarray) -> np.ndarray:
    """Per policy the mean, the probability best and the expected loss, then the EVPI, of
    values ``v`` (rows x policies, higher is better): one vector."""
    best = v.max(axis=1, keepdims=True)
    wins = np.zeros_like(v)
    wins[np.arange(len(v)), v.argmax(axis=1)] = 1.0
    means = v.mean(axis=0)
    return np.concatenate([means, wins.mean(axis=0), (best - v).mean(axis=0), [best.mean() - means.max()]])


def _posterior(gp: Any, x: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Joint draws (draws x points) of the smooth part of a fitted process at ``x``
    (:func:`~returnsim.decide.emulator.posterior`)."""
    from .emulator import posterior

    mean, cov = posterior(gp, x)
    try:  # a little jitter: the covariance of near points is singular to rounding
        root = np.linalg.cholesky(cov + 1e-10 * max(float(np.diag(cov).max()), 1e-300) * np.eye(len(x)))
    except np.linalg.LinAlgError:  # then the exact (slower) square root
        vals, vecs = np.linalg.eigh(cov)
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    return mean[None, :] + rng.standard_normal((draws, len(x))) @ root.T


def _fallback(sim: PSA, why: str) -> PSA:
    sim.notes.append(f"P(best), expected loss and EVPI are from the {sim.draws} simulated draws: {why}")
    return sim


def emulate_psa(
    sim: PSA,
    unit: np.ndarray,
    *,
    min_fit: float = MIN_Q2,
    draws: int = EMULATOR_DRAWS,
    seed: int = 0,
) -> PSA:
    """The PSA's statistics over emulated draws if every emulator passes ``min_fit``, else
    ``sim`` itself with a note saying why (see the module).

    Args:
        sim: a simulated PSA.
        unit: its draws on the unit cube (draws x inputs: each input's probability ``u``).
        min_fit: the leave-one-out Q² each emulator needs.
        draws: emulated draws of the inputs.
        seed: seed of the emulated draws, the posterior draws and the bootstrap.
    """
    try:
        from threadpoolctl import threadpool_limits  # a dependency of scikit-learn
    except ImportError:
        return _fallback(sim, "emulating them needs scikit-learn (pip install 'returnsim[sensitivity]')")
    if len(sim.survivors) < 2:
        return _fallback(sim, "one policy was left after screening, nothing to compare")
    if sim.draws < MIN_POINTS:
        return _fallback(sim, f"{sim.draws} draws are too few to check an emulator (at least {MIN_POINTS})")
    # One BLAS thread: matrices of a few hundred rows, where threads cost more than they give.
    with threadpool_limits(limits=1):
        return _emulate(sim, np.asarray(unit, dtype=float), min_fit, draws, seed)


def _emulate(sim: PSA, unit: np.ndarray, min_fit: float, draws: int, seed: int) -> PSA:
    import pandas as pd

    from .designs import unit_design
    from .emulator import _fit, loo_q2, normal_z

    names = sim.survivors
    cols = [sim.policies.index(p) for p in names]
    v = sim._signed()[:, cols]
    ref = int(np.argmax(v.mean(axis=0)))
    targets = {names[ref]: v[:, ref]}
    targets.update({f"{p} - {names[ref]}": v[:, j] - v[:, ref] for j, p in enumerate(names) if j != ref})
    gps, fit = {}, {}
    for key, y in targets.items():
        if np.ptp(y) == 0:  # a constant (e.g. a policy identical to the reference): exact
            gps[key], fit[key] = float(y[0]), 1.0
            continue
        gps[key] = _fit(unit, y, seed)
        fit[key] = loo_q2(gps[key])
    shown = ", ".join(f"{k} {q:.2f}" for k, q in fit.items())
    # Only the differences decide which policy is best: the reference's own value may hardly
    # depend on the inputs (a fixed fee) and its emulator then explains nothing, harmlessly.
    poor = {k: q for k, q in fit.items() if k != names[ref] and q < min_fit}
    if poor:
        worst = ", ".join(f"{k} ({q:.2f})" for k, q in poor.items())
        return _fallback(sim, f"an emulator of them predicts too little out of sample (leave-one-out Q² below "
                              f"{min_fit:g}: {worst})")

    rng = np.random.default_rng(seed)
    u = unit_design("lhs", draws, unit.shape[1], seed + 1)
    at = rng.choice(draws, min(POSTERIOR_POINTS, draws), replace=False)

    def mean_and_draws(key: str) -> tuple[np.ndarray, np.ndarray]:
        gp = gps[key]
        if isinstance(gp, float):
            return np.full(draws, gp), np.full((POSTERIOR_DRAWS, len(at)), gp)
        from .emulator import predict

        return predict(gp, u), _posterior(gp, u[at], POSTERIOR_DRAWS, rng)

    base, base_post = mean_and_draws(names[ref])
    em = np.empty((draws, len(names)))
    post = np.empty((POSTERIOR_DRAWS, len(at), len(names)))
    for j, p in enumerate(names):
        if j == ref:
            em[:, j], post[:, :, j] = base, base_post
        else:
            d, d_post = mean_and_draws(f"{p} - {names[ref]}")
            em[:, j], post[:, :, j] = base + d, base_post + d_post

    point = _statistics(em)
    var_em = np.var([_statistics(post[b]) for b in range(POSTERIOR_DRAWS)], axis=0, ddof=1)
    var_mc = np.var([_statistics(em[rng.integers(0, draws, draws)]) for _ in range(200)], axis=0, ddof=1)
    half = normal_z(sim.confidence) * np.sqrt(var_em + var_mc)
    k = len(names)
    lo, hi = point - half, point + half
    sign = 1.0 if sim.goal == "max" else -1.0  # back to the metric's own direction

    simulated = sim.summary().set_index("policy")
    rows = []
    for p in sim.policies:
        if p not in names:
            rows.append(simulated.loc[p].to_dict() | {"policy": p})
            continue
        j = names.index(p)
        m = sorted((sign * lo[j], sign * hi[j]))
        rows.append({
            "policy": p, "draws": sim.draws, "mean": sign * point[j], "ci_low": m[0], "ci_high": m[1],
            "p_best": point[k + j], "p_best_low": max(0.0, lo[k + j]), "p_best_high": min(1.0, hi[k + j]),
            "expected_loss": point[2 * k + j],
        })
    table = pd.DataFrame(rows)[list(simulated.reset_index().columns)]

    values = pd.DataFrame(np.nan, index=pd.RangeIndex(draws, name="draw"), columns=pd.Index(sim.policies, name="policy"))
    for j, p in enumerate(names):
        values[p] = sign * em[:, j]
    inputs = pd.DataFrame({inp.path: np.asarray(inp.values(u[:, c]), dtype=float) for c, inp in enumerate(sim.specs)})
    notes = list(sim.notes) + [
        f"P(best), expected loss and EVPI are computed over {draws:,} emulated draws of the inputs: Gaussian-process "
        f"emulators of {names[ref]} and of each policy's difference from it, trained on the {sim.draws} simulated "
        f"draws (leave-one-out Q² {shown}, at least {min_fit:g}); intervals include the emulators' uncertainty "
        f"({POSTERIOR_DRAWS} posterior draws) and the Monte Carlo error"
    ]
    return EmulatedPSA(
        values=values, inputs=inputs, specs=sim.specs, metric=sim.metric, goal=sim.goal, policies=sim.policies,
        replications=sim.replications, runs=sim.runs, confidence=sim.confidence, seed=sim.seed, notes=notes,
        screened=dict(sim.screened), unit=u, simulated=sim, fit=fit, emulated_draws=draws, table=table,
        evpi_interval=(max(0.0, float(lo[-1])), max(0.0, float(hi[-1]))),
    )

