"""Kim & Nelson's fully sequential procedure (KN), written again from the paper.

Kim, S.-H. and Nelson, B. L. (2001), "A fully sequential procedure for indifference-zone
selection in simulation", ACM TOMACS 11(3): 251-273 ([M3] in docs/sources.md), procedure KN with
``c = 1`` (the choice the paper recommends and returnsim uses):

* Setup: ``η = ½ [(2α / (k − 1)) ^ (−2 / (n0 − 1)) − 1]`` and ``h² = 2 c η (n0 − 1)``.
* Initialisation: ``S²_il`` is the sample variance (divisor ``n0 − 1``) of ``X_ij − X_lj`` over
  ``j = 1..n0``; ``r = n0``.
* Screening: ``I_new = {i ∈ I_old : X̄_i(r) ≥ X̄_l(r) − W_il(r) for all l ∈ I_old, l ≠ i}`` with
  ``W_il(r) = max(0, δ / (2 c r) (h² S²_il / δ² − r))``: every system is screened against the
  set as it was at the start of the step.
* Stopping: one system left; else take one more observation of each survivor, ``r ← r + 1``.

Plain loops over Python floats, no numpy, nothing imported from returnsim: a disagreement with
:func:`returnsim.decide.kn_select` is a bug in one of the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def constants(k: int, alpha: float, n0: int) -> tuple[float, float]:
    """``(η, h²)`` of the paper's setup step."""
    eta = ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0) / 2.0
    return eta, 2.0 * eta * (n0 - 1)


def variance_of_differences(a: list[float], b: list[float]) -> float:
    """``S²`` of ``a_j − b_j`` with divisor ``n − 1``."""
    d = [x - y for x, y in zip(a, b, strict=True)]
    m = sum(d) / len(d)
    return sum((x - m) ** 2 for x in d) / (len(d) - 1)


@dataclass
class Trace:
    """What the procedure did, step by step."""

    h2: float
    s2: dict[tuple[int, int], float]
    alive_after: dict[int, list[int]] = field(default_factory=dict)
    """r -> the systems left after screening at r."""
    eliminated_at: dict[int, int] = field(default_factory=dict)
    allowance: dict[tuple[int, int, int], float] = field(default_factory=dict)
    """(i, l, r) -> W_il(r), for the pairs screened at r."""
    last_r: int = 0


def kn(data: list[list[float]], delta: float, alpha: float, n0: int, maximise: bool = True) -> Trace:
    """Run KN on fixed observations ``data[i][j]`` (system i, observation j; enough of them)."""
    k = len(data)
    x = [[v if maximise else -v for v in row] for row in data]
    _, h2 = constants(k, alpha, n0)
    s2 = {(i, j): variance_of_differences(x[i][:n0], x[j][:n0]) for i in range(k) for j in range(k) if i != j}
    trace = Trace(h2=h2, s2=s2)
    alive = list(range(k))
    r = n0
    while True:
        mean = {i: sum(x[i][:r]) / r for i in alive}
        survivors = []
        for i in alive:
            keep = True
            for j in alive:
                if j == i:
                    continue
                w = max(0.0, delta / (2.0 * r) * (h2 * s2[(i, j)] / delta**2 - r))
                trace.allowance[(i, j, r)] = w
                if not mean[i] >= mean[j] - w:
                    keep = False
            if keep:
                survivors.append(i)
            else:
                trace.eliminated_at[i] = r
        alive = survivors
        trace.alive_after[r] = list(alive)
        trace.last_r = r
        if len(alive) <= 1:
            return trace
        r += 1
