"""Sobol' indices on an emulator: a Gaussian process fitted to a few hundred simulated points.

Saltelli's scheme needs ``N (k + 2)`` evaluations of the response for ``k`` inputs; with a
simulation behind each, usable intervals (about 0.1 wide) cost thousands of runs. A Gaussian
process (scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor`; the
``sensitivity`` extra) fitted to a Latin hypercube of a few hundred points is a smooth stand-in
that costs microseconds per evaluation, so the Saltelli estimators run on it with tens of
thousands of base samples ([M5]; the emulator approach of Oakley & O'Hagan 2004):

* the process works on the inputs' probability scale (each input's uniform ``u`` in (0, 1), its
  value the inverse CDF of ``u``), so the indices are for the inputs' declared distributions;
* kernel: a constant times an anisotropic squared exponential (one length scale per input), plus
  white noise for what the simulation's randomness leaves; hyperparameters by maximum likelihood;
* fit: the leave-one-out ``Q²`` (each training point predicted by the process conditioned on
  the others, exact for a Gaussian process: Rasmussen & Williams 2006, eq. 5.12) shown with the
  result; below :data:`MIN_Q2` (assumed 0.9) the indices describe the emulator more than the
  model, and the result says so;
* intervals: a delete-d jackknife over the training points (each subset refits the process)
  for the emulator's uncertainty, plus a bootstrap of the Saltelli rows for the Monte Carlo
  error of the estimators (:func:`emulator_indices`).

The estimators are Saltelli's (2010) first-order and Jansen's total-order, as in SALib.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EmulatorIndices", "emulator_indices", "loo_q2", "predict", "posterior", "MIN_Q2"]

MIN_Q2 = 0.9
"""Leave-one-out Q² below which an emulator's indices come with a warning note (assumed)."""


@dataclass
class EmulatorIndices:
    """Sobol' indices of a function from its emulator."""

    s1: np.ndarray
    s1_low: np.ndarray
    s1_high: np.ndarray
    st: np.ndarray
    st_low: np.ndarray
    st_high: np.ndarray
    q2: float
    """Leave-one-out Q² of the emulator fitted to all the training points."""
    refits: int


def _gp(dims: int, seed: int, kernel: Any = None) -> Any:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    if kernel is not None:  # a refit starts where the full fit ended
        return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=0, random_state=seed)
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(dims, 0.5), (1e-2, 1e3)) + WhiteKernel(1e-3, (1e-8, 1.0))
    return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=1, random_state=seed)


@contextmanager
def _quiet() -> Iterator[None]:
    """Fits' warnings filtered: a length scale at its bound (an input that does not matter) is
    an answer, not a fault. The filters are the process's, so threads that fit enter none of
    their own: one leaving would restore them while another still fits."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="sklearn.gaussian_process")
        yield


def _fit(u: np.ndarray, y: np.ndarray, seed: int, kernel: Any = None) -> Any:
    with _quiet():
        return _gp(u.shape[1], seed, kernel).fit(u, y)


def predict(gp: Any, x: np.ndarray, chunk: int = 32768) -> np.ndarray:
    """The fitted process's mean at the rows of ``x``: ``GaussianProcessRegressor.predict`` for
    this module's kernel, with the distances from one matrix product (a Saltelli sample of 25
    inputs is 200,000 points: seven times faster than scikit-learn's pairwise distances)."""
    const, rbf = gp.kernel_.k1.k1.constant_value, gp.kernel_.k1.k2.length_scale
    train = gp.X_train_ / rbf
    t2 = (train**2).sum(axis=1)
    out = np.empty(len(x))
    for i in range(0, len(x), chunk):
        z = x[i : i + chunk] / rbf
        sq = np.maximum((z**2).sum(axis=1)[:, None] + t2[None, :] - 2 * z @ train.T, 0.0)
        # The white-noise term is zero between distinct points: only the smooth part predicts.
        out[i : i + chunk] = const * np.exp(-0.5 * sq) @ gp.alpha_
    return out * gp._y_train_std + gp._y_train_mean


def posterior(gp: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the smooth part of a fitted process at the rows of ``x``, on the
    response's scale: what the training points leave unknown about the function (the white-noise
    term, the simulation's randomness, is left out; hyperparameters at their estimates)."""
    from scipy.linalg import solve_triangular

    smooth = gp.kernel_.k1  # constant * RBF; k2 is the white noise
    ks = smooth(x, gp.X_train_)
    w = solve_triangular(gp.L_, ks.T, lower=True)
    cov = smooth(x) - w.T @ w
    scale = gp._y_train_std
    return (ks @ gp.alpha_) * scale + gp._y_train_mean, (cov + cov.T) / 2 * scale**2


def loo_q2(gp: Any) -> float:
    """Leave-one-out Q² of a fitted process (closed form: residual ``[K^-1 y]_i / [K^-1]_ii``)."""
    x, y = gp.X_train_, gp.y_train_  # y normalised by the regressor
    k = gp.kernel_(x) + gp.alpha * np.eye(len(x))
    kinv = np.linalg.inv(k)
    resid = (kinv @ y) / np.diag(kinv)
    return float(1 - (resid**2).sum() / ((y - y.mean()) ** 2).sum())


def _saltelli(dims: int, base: int, rng: np.random.Generator) -> np.ndarray:
    """Rows A, B and the k mixes AB_j (A with column j from B): ``(k + 2) * base`` points."""
    a, b = rng.random((base, dims)), rng.random((base, dims))
    mixes = []
    for j in range(dims):
        ab = a.copy()
        ab[:, j] = b[:, j]
        mixes.append(ab)
    return np.vstack([a, b, *mixes])


def _indices(f: np.ndarray, dims: int, base: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Saltelli's first-order and Jansen's total indices from predictions ``f`` at the rows of
    :func:`_saltelli` (``rows``: a resample of the base rows, the same in every block).

    The B rows' predictions are centred on the mean of the A and B rows, as SALib centres the
    responses: Saltelli's first-order estimator is unbiased whatever the mean, but its variance
    grows with the squared mean over the variance (a profit per order of about -13 with a spread
    of about 0.9 across the inputs widened its intervals from about 0.03 to 0.5). The A and AB
    rows enter only as their difference, which centring leaves as it is."""
    idx = np.arange(base) if rows is None else rows
    a, b = f[idx], f[base + idx]
    both = np.concatenate([a, b])
    var = np.var(both)
    b = b - both.mean()
    s1, st = np.empty(dims), np.empty(dims)
    for j in range(dims):
        ab = f[(2 + j) * base + idx]
        s1[j] = np.mean(b * (ab - a)) / var  # Saltelli 2010
        st[j] = 0.5 * np.mean((a - ab) ** 2) / var  # Jansen 1999
    return s1, st


def emulator_indices(
    u: np.ndarray,
    y: np.ndarray,
    *,
    base_samples: int = 16384,
    refits: int = 20,
    confidence: float = 0.95,
    seed: int = 0,
    threads: int = 1,
) -> EmulatorIndices:
    """First-order and total Sobol' indices of ``y`` from a Gaussian-process emulator.

    The interval of each index is ``estimate ± z se`` with ``se²`` the sum of

    * the emulator's part: a delete-``d`` jackknife over the training points (Shao & Wu 1989):
      ``refits`` fits, each to a random ``n - d`` of the ``n`` points (``d = max(√n + 1,
      n / 10)``), hyperparameters re-estimated, evaluated on the same Saltelli sample; variance
      ``(n - d) / (d · refits) Σ (θ_b − θ̄)²``. (A plain bootstrap would refit on about 63 % of
      the distinct points: a worse emulator every time, so its intervals would be off centre.)
    * the Monte Carlo part of the Saltelli estimators on the emulator: bootstrap over the base
      rows (cheap: predictions are reused).

    Args:
        u: training points on the unit cube (n x k: each input's probability ``u``).
        y: the response at those points.
        base_samples: ``N`` of the Saltelli sample evaluated on the emulator (it predicts
            ``N (k + 2)`` points, cheaply).
        refits: jackknife refits of the emulator for the intervals (0: no interval).
        confidence: level of the intervals.
        seed: seed of the subsets and the Saltelli sample.
        threads: jackknife refits run at once, each on its own thread (their predictions, most
            of the cost, are numpy and BLAS calls that let other threads run). The result is
            the same whatever the number: each refit's subset is drawn before any runs.

    Raises:
        ImportError: scikit-learn is not installed.
    """
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    # One BLAS thread: the matrices are a few hundred wide, where threads cost more than they
    # give, and on a busy machine they thrash (ten times slower measured on 2 shared cores).
    with threadpool_limits(limits=1):
        return _emulator_indices(u, y, base_samples, refits, confidence, seed, max(int(threads), 1))


def normal_z(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (1.96 at 0.95): the emulators' intervals
    are normal ones, mean ± z·sd."""
    from scipy import stats

    return float(stats.norm.ppf(0.5 + confidence / 2))


def _emulator_indices(
    u: np.ndarray, y: np.ndarray, base_samples: int, refits: int, confidence: float, seed: int, threads: int = 1
) -> EmulatorIndices:
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    n, dims = u.shape
    rng = np.random.default_rng(seed)
    gp = _fit(u, y, seed)
    q2 = loo_q2(gp)
    sample = _saltelli(dims, base_samples, rng)
    f = predict(gp, sample)
    s1, st = _indices(f, dims, base_samples)
    mc = [_indices(f, dims, base_samples, rng.integers(0, base_samples, base_samples)) for _ in range(100)]
    var1 = np.var([m[0] for m in mc], axis=0, ddof=1)
    vart = np.var([m[1] for m in mc], axis=0, ddof=1)
    if refits > 1:
        d = max(int(np.sqrt(n)) + 1, n // 10)
        subsets = [rng.choice(n, n - d, replace=False) for _ in range(refits)]

        def refit(keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            g = _gp(dims, seed, gp.kernel_).fit(u[keep], y[keep])  # (in _quiet below)
            return _indices(predict(g, sample), dims, base_samples)

        with _quiet():
            if threads > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(min(threads, refits)) as pool:
                    done = list(pool.map(refit, subsets))
            else:
                done = [refit(keep) for keep in subsets]
        jk1, jkt = [b[0] for b in done], [b[1] for b in done]
        scale = (n - d) / d
        var1 = var1 + scale * np.var(jk1, axis=0, ddof=1)
        vart = vart + scale * np.var(jkt, axis=0, ddof=1)
    z = normal_z(confidence)
    h1, ht = z * np.sqrt(var1), z * np.sqrt(vart)
    return EmulatorIndices(s1, s1 - h1, s1 + h1, st, st - ht, st + ht, q2, refits)
