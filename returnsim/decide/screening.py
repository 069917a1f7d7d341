"""Screening a PSA: when a policy can be left out of the remaining draws.

A probabilistic sensitivity analysis (:func:`~returnsim.decide.psa.psa`) with ``screen`` set runs
its draws in stages (``stage`` draws at a time; draw ``i`` has the same inputs and the same
replications for every policy, as in one call). After each stage, every policy still in is
tested against the others still in, over all the draws run so far. Let ``d`` be, draw by draw,
the policy's value minus the best of the others ("higher is better" whatever the goal): the
policy is best in a draw when ``d > 0``. It is screened out, and simulated no more, when all of:

1. it was best in none of the ``n`` draws so far;
2. its probability of being best is negligible with confidence: treating ``d`` as normal, the
   one-sided upper ``confidence`` bound of ``P(d > 0)`` (exact, from the noncentral t
   distribution of ``mean(d) / sd(d)``: a normal tolerance bound) is below ``screen``
   (the "How sure is this?" assessment's 0.05, assumed: with 95 % confidence, best in fewer
   than one draw in twenty);
3. what leaving it out can change is small: the expected value of ``max(d, 0)`` at that bound
   (what the policy would add to the EVPI and take from the others' expected loss) is at most
   ``loss_tolerance`` (the assessment's: a tenth of the selection's indifference zone, the
   difference the seller said is not worth telling apart; without one, 0.1 % of the mean
   absolute value of the best policy of each draw; both assumed).

Why not the distribution-free bound? Clopper–Pearson's upper bound after ``n`` draws without a
win is ``1 - (1 - confidence)^(1/n)``: 17 % after 16 draws, 5 % only after 59. It screens nothing
in a PSA of tens of draws, even for a policy far behind in every draw; the normal bound uses how
far behind it is. Condition 1 keeps the normal model honest: a policy that has won a draw stays.

What the screening keeps exact: the values of the policies still in are those of an unscreened
PSA with the same seed, draw for draw. What it changes: a screened policy's statistics are over
the draws it ran; the others' probability of being best and expected loss are, over the later
draws, among the policies still in (a screened policy's small chance of winning those draws goes
to the others, within the stated bound).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["p_best_bound", "screen_out"]


def p_best_bound(d: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Upper ``confidence`` bound of ``P(d > 0)`` and of ``E[max(d, 0)]`` for normal ``d``.

    Args:
        d: a sample (a policy's value minus the best of the others, draw by draw).
        confidence: one-sided confidence level.

    Returns:
        ``(p, excess)``: ``p`` bounds the probability of a positive ``d``; ``excess`` is
        ``E[max(d, 0)]`` at that bound (in ``d``'s units). ``(1, inf)`` when ``d`` has fewer
        than 3 values or no spread with a non-negative mean.
    """
    from scipy import optimize, stats

    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 3:
        return 1.0, math.inf
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0:
        return (0.0, 0.0) if mean < 0 else (1.0, math.inf)
    # t = -mean / sd * sqrt(n) is noncentral t with n - 1 degrees of freedom and noncentrality
    # theta * sqrt(n), theta = -mu / sigma; the lower confidence bound of theta is where the
    # observed t sits at the `confidence` quantile. P(d > 0) = Phi(-theta). The noncentral t's
    # CDF is computed as E[Phi(t sqrt(V / df) - delta)], V chi-squared on df, over 400 quantiles
    # of V (scipy's nct.cdf returns NaN far in the tails, exactly where screening looks).
    t_obs = -mean / sd * math.sqrt(n)
    df = n - 1
    v = stats.chi2.ppf((np.arange(400) + 0.5) / 400, df)
    scaled = t_obs * np.sqrt(v / df)

    def gap(theta: float) -> float:
        return float(stats.norm.cdf(scaled - theta * math.sqrt(n)).mean()) - confidence

    lo, hi = -40.0, 40.0
    if gap(lo) < 0:
        theta = lo
    elif gap(hi) > 0:
        theta = hi
    else:
        theta = float(optimize.brentq(gap, lo, hi, xtol=1e-10))
    p = float(stats.norm.cdf(-theta))
    # E[max(d, 0)] for d ~ N(-theta * sd, sd): sd * (phi(theta) - theta * Phi(-theta)).
    excess = sd * float(stats.norm.pdf(theta) - theta * stats.norm.cdf(-theta))
    return p, max(0.0, excess)


def screen_out(
    v: np.ndarray,
    screen: float,
    confidence: float = 0.95,
    loss_tolerance: float | None = None,
) -> list[int]:
    """Columns of ``v`` (draws x policies still in, higher is better) to screen out.

    Args:
        v: values, one row per draw run so far, one column per policy still in.
        screen: the bound below which a probability of being best is negligible.
        confidence: one-sided confidence of that bound.
        loss_tolerance: the largest expected excess ``E[max(d, 0)]`` a screened policy may have
            (default: 0.1 % of the mean absolute best value of a draw).

    Returns:
        Column indices, never all of them (at least the policy with the best mean stays).
    """
    n, k = v.shape
    if k < 2 or n < 3:
        return []
    if loss_tolerance is None:
        loss_tolerance = 1e-3 * float(np.abs(v.max(axis=1)).mean())
    keep = int(np.argmax(v.mean(axis=0)))
    out = []
    for j in range(k):
        if j == keep:
            continue
        d = v[:, j] - np.delete(v, j, axis=1).max(axis=1)
        if (d > 0).any():
            continue
        p, excess = p_best_bound(d, confidence)
        if p < screen and excess <= loss_tolerance:
            out.append(j)
    return out
