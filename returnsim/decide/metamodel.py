"""A linear metamodel of a response over draws of the inputs, and how far to trust it.

A probabilistic sensitivity analysis already ran the policies at many draws of the uncertain
inputs. Regressing a response (e.g. the difference between two policies, draw by draw) on the
inputs gives a linear metamodel: ``y ~ b0 + sum_k b_k x_k``. Where it fits well, one-at-a-time
questions (a tornado diagram, a break-even value) can be answered from it without simulating
again. How well it fits is judged out of sample, by the leave-one-out R² (PRESS: each draw
predicted by the model fitted to the others), not by the in-sample R², which a model with as many
coefficients as draws makes 1 whatever the response.

:data:`MIN_LOO_R2` is the bar the "How sure is this?" assessment uses (assumed: 90 % of the
response's variance across draws explained out of sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LinearFit", "fit_linear", "MIN_LOO_R2"]

MIN_LOO_R2 = 0.9
"""A metamodel answers one-at-a-time questions when its leave-one-out R² is at least this."""


@dataclass
class LinearFit:
    """Ordinary least squares of ``y`` on the columns of ``x`` with an intercept."""

    coef: np.ndarray
    """Intercept, then one slope per column of ``x`` (in ``y``'s units per unit of the input)."""
    cov: np.ndarray
    """Covariance of :attr:`coef` (residual variance times ``(X'X)^-1``)."""
    dof: int
    """Residual degrees of freedom."""
    r2: float
    loo_r2: float
    """Leave-one-out R² (``1 - PRESS / total sum of squares``); ``-inf`` when some draw cannot
    be predicted from the others (as many coefficients as draws, or a draw alone in a
    direction)."""

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fitted mean and its standard error at the rows of ``x`` (inputs in columns)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        a = np.hstack([np.ones((len(x), 1)), x])
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", a, self.cov, a), 0.0))
        return a @ self.coef, se

    def t(self, confidence: float) -> float:
        """Student's t quantile for two-sided ``confidence`` intervals of predictions."""
        from scipy import stats

        return float(stats.t.ppf(0.5 + confidence / 2, self.dof)) if self.dof > 0 else math.inf


def fit_linear(x: np.ndarray, y: np.ndarray) -> LinearFit:
    """Fit ``y`` (n) on ``x`` (n x p) by least squares, with the leave-one-out R².

    Raises:
        ValueError: ``x`` and ``y`` disagree in length, or not more draws than coefficients.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x = x.reshape(len(x), -1)
    n, p = x.shape
    if len(y) != n:
        raise ValueError(f"x has {n} rows but y has {len(y)} values")
    if n <= p + 1:
        raise ValueError(f"a linear fit of {p} inputs needs more than {p + 1} draws, got {n}")
    # Standardised columns keep X'X well conditioned; the coefficients are mapped back below.
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    a = np.hstack([np.ones((n, 1)), (x - mu) / sd])
    q, r = np.linalg.qr(a)
    rank = int((np.abs(np.diag(r)) > 1e-10 * np.abs(r[0, 0])).sum())
    beta_z = np.linalg.lstsq(a, y, rcond=None)[0]
    resid = y - a @ beta_z
    rss = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum())
    dof = n - rank
    s2 = rss / dof if dof > 0 else math.inf
    cov_z = s2 * np.linalg.pinv(a.T @ a)
    # Back to the inputs' own units: x_z = (x - mu) / sd.
    m = np.eye(p + 1)
    m[1:, 1:] = np.diag(1 / sd)
    m[0, 1:] = -mu / sd
    coef = m @ beta_z
    cov = m @ cov_z @ m.T
    h = (q**2).sum(axis=1) if rank == p + 1 else np.ones(n)
    if tss <= 0:
        r2 = loo = 1.0 if rss <= 0 else -math.inf
    elif (h > 1 - 1e-9).any():
        r2, loo = 1 - rss / tss, -math.inf
    else:
        press = float(((resid / (1 - h)) ** 2).sum())
        r2, loo = 1 - rss / tss, 1 - press / tss
    return LinearFit(coef=coef, cov=cov, dof=dof, r2=r2, loo_r2=loo)
