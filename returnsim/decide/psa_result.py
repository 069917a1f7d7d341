"""The result of a probabilistic sensitivity analysis (:class:`PSA`), and the regression behind
its EVPPI (:func:`conditional_means`). The study that makes it: :func:`returnsim.decide.psa.psa`,
whose module says what each statistic means."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DecideError, Goal
from .inputs import Input

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["PSA", "conditional_means"]

# --------------------------------------------------------------------------------------------
# regression: E[y | x] at the sample points
# --------------------------------------------------------------------------------------------


def _candidates(x: np.ndarray) -> list[np.ndarray]:
    """Nested polynomial bases in the standardised inputs, simplest first: a constant; for one
    input, degrees 1 to 4 (at most its distinct values less one); for several, linear,
    with squares, with pairwise products."""
    z = _standardise(x)
    n, p = z.shape
    one = np.ones((n, 1))
    out = [one]
    if p == 1:
        distinct = len(np.unique(z[:, 0]))
        for degree in range(1, min(4, distinct - 1) + 1):
            out.append(np.hstack([one, *(z**d for d in range(1, degree + 1))]))
    else:
        out.append(np.hstack([one, z]))
        out.append(np.hstack([one, z, z**2]))
        pairs = [(z[:, i] * z[:, j])[:, None] for i in range(p) for j in range(i + 1, p)]
        out.append(np.hstack([one, z, z**2, *pairs]))
    return [f for f in out if f.shape[1] <= max(1, n // 4)]


def _value_of_information(v: np.ndarray) -> float:
    """Expected value of knowing which column is best in each row, over choosing the best on
    average (``v``: draws x policies, larger is better): EVPI, or EVPPI of fitted values. Never
    negative (a row's best is at least each column's value), so a rounding hair below zero is 0."""
    return max(0.0, float(v.max(axis=1).mean() - v.mean(axis=0).max()))


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def conditional_means(x: np.ndarray, y: np.ndarray, others: np.ndarray | None = None) -> np.ndarray:
    """Regression estimate of ``E[y | x]`` at each sample point (``x``: n x p inputs).

    The smoothest of nested polynomial models in ``x`` that the data support, chosen by the
    Bayesian information criterion: an input that does not move ``y`` gets a constant fit (and
    so no value of information), where a flexible smoother would chase the noise left by the
    other inputs and overstate it. ``others`` (the remaining inputs, drawn independently of
    ``x``) enter every model linearly and are then averaged out: this removes what a chance
    correlation in the sample between ``x`` and an influential other input would otherwise
    attribute to ``x``.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float).reshape(len(y), -1)
    n = len(y)
    adjust = np.empty((n, 0))
    if others is not None and others.shape[1] and n > 2 * (others.shape[1] + x.shape[1] + 5):
        adjust = _standardise(np.asarray(others, dtype=float))
    best: tuple[float, np.ndarray] | None = None
    for f in _candidates(x):
        full = np.hstack([f, adjust])
        beta, *_ = np.linalg.lstsq(full, y, rcond=None)
        rss = float(((y - full @ beta) ** 2).sum())
        bic = n * math.log(max(rss, 1e-300) / n) + full.shape[1] * math.log(n)
        if best is None or bic < best[0]:
            # The others are centred, so averaging them out leaves the x part of the fit.
            best = (bic, f @ beta[: f.shape[1]])
    assert best is not None
    return best[1]


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------


def _bootstrap_ci(samples: np.ndarray, stat: Any, confidence: float, rng: np.random.Generator, b: int = 500) -> tuple[float, float]:
    n = len(samples)
    vals = np.array([stat(samples[rng.integers(0, n, n)]) for _ in range(b)])
    lo, hi = np.quantile(vals, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


@dataclass
class PSA:
    """A probabilistic sensitivity analysis: policies' values over draws of the inputs."""

    values: pd.DataFrame
    """One row per draw, one column per policy: the metric (mean over replications)."""
    inputs: pd.DataFrame
    """One row per draw, one column per input path."""
    specs: list[Input]
    metric: str
    goal: Goal
    policies: list[str]
    replications: int
    runs: pd.DataFrame
    """Every run, tidy (as a sweep's)."""
    confidence: float = 0.95
    seed: int = 0
    notes: list[str] = field(default_factory=list)
    screened: dict[str, int] = field(default_factory=dict)
    """Policies screened out (see :mod:`returnsim.decide.screening`) -> the draws they ran;
    their columns of :attr:`values` are empty (NaN) after those draws."""
    unit: Any = None
    """The draws on the unit cube (draws x inputs: each input's probability ``u``, of which
    :attr:`inputs` holds the values), what an emulator of the draws is fitted on."""

    # -- basics ---------------------------------------------------------------------------------

    @property
    def draws(self) -> int:
        return len(self.values)

    def _signed(self) -> np.ndarray:
        """Values with "higher is better" whatever the goal (draws x policies); a draw a
        screened policy did not run is ``-inf`` for it (never best, never chosen)."""
        v = self.values.to_numpy(dtype=float)
        v = v if self.goal == "max" else -v
        return np.where(np.isnan(v), -np.inf, v)

    @property
    def survivors(self) -> list[str]:
        """The policies run at every draw (all of them without screening)."""
        return [p for p in self.policies if p not in self.screened]

    @property
    def chosen(self) -> str:
        """The policy with the best expected value (the choice under today's uncertainty)."""
        return self.policies[int(np.argmax(self._signed().mean(axis=0)))]

    def summary(self) -> pd.DataFrame:
        """Per policy: ``draws`` (fewer for a screened policy: its statistics are over the draws
        it ran), ``mean`` (with ``ci_low``, ``ci_high`` over draws), ``p_best`` (with a
        Clopper-Pearson interval ``p_best_low``, ``p_best_high``) and ``expected_loss`` (the
        mean shortfall from the best policy of each draw, in the metric's units)."""
        import pandas as pd
        from scipy import stats

        v = self._signed()
        best = v.argmax(axis=1)
        loss = v.max(axis=1, keepdims=True) - v
        rows = []
        for j, p in enumerate(self.policies):
            ran = np.isfinite(v[:, j])
            n = int(ran.sum())
            raw = self.values[p].to_numpy(dtype=float)[ran]
            t = float(stats.t.ppf(0.5 + self.confidence / 2, n - 1)) if n > 1 else math.nan
            half = t * raw.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
            wins = int((best[ran] == j).sum())
            ci = stats.binomtest(wins, n).proportion_ci(self.confidence, method="exact")
            rows.append((p, n, raw.mean(), raw.mean() - half, raw.mean() + half, wins / n, ci.low, ci.high, loss[ran, j].mean()))
        cols = ["policy", "draws", "mean", "ci_low", "ci_high", "p_best", "p_best_low", "p_best_high", "expected_loss"]
        return pd.DataFrame(rows, columns=cols)

    @property
    def evpi(self) -> float:
        """Expected value of perfect information, per unit of the metric (e.g. per order):
        the expected loss of the policy with the best expected value."""
        return _value_of_information(self._signed())

    def evpi_ci(self) -> tuple[float, float]:
        """Bootstrap interval of :attr:`evpi` over draws."""
        rng = np.random.default_rng(self.seed)
        return _bootstrap_ci(self._signed(), _value_of_information, self.confidence, rng)

    # -- value of information -------------------------------------------------------------------

    def _evppi(self, columns: Sequence[str]) -> tuple[float, tuple[float, float]]:
        # Screened policies are left out: they are, with confidence, not worth choosing.
        v = self._signed()[:, [self.policies.index(p) for p in self.survivors]]
        ref = int(np.argmax(v.mean(axis=0)))
        x = self.inputs[list(columns)].to_numpy(dtype=float)
        rest = self.inputs.drop(columns=list(columns)).to_numpy(dtype=float)
        fitted = np.zeros_like(v)
        for j in range(v.shape[1]):
            if j != ref:
                fitted[:, j] = conditional_means(x, v[:, j] - v[:, ref], rest)

        rng = np.random.default_rng(self.seed)
        return _value_of_information(fitted), _bootstrap_ci(fitted, _value_of_information, self.confidence, rng)

    def evppi(self, groups: Mapping[str, Sequence[str]] | None = None, by_group: bool = True) -> pd.DataFrame:
        """Expected value of partial perfect information per input, and per group.

        Args:
            groups: name -> input paths to value together (default: the ``group`` declared in
                the ``[uncertainty]`` table, for groups of two or more inputs).
            by_group: also report the groups.

        Returns:
            One row per input (then per group), largest first: ``name, inputs, evppi,
            ci_low, ci_high`` (bootstrap over draws, regression fit held fixed) and
            ``share_of_evpi``.
        """
        import pandas as pd

        if groups is None:
            declared: dict[str, list[str]] = {}
            for inp in self.specs:
                if inp.spec.group:
                    declared.setdefault(inp.spec.group, []).append(inp.path)
            groups = {g: ps for g, ps in declared.items() if len(ps) > 1}
        rows = []
        evpi = self.evpi
        for inp in self.specs:
            value, (lo, hi) = self._evppi([inp.path])
            rows.append((inp.label, "input", inp.path, value, lo, hi))
        if by_group:
            for name, paths in groups.items():
                unknown = [p for p in paths if p not in self.inputs.columns]
                if unknown:
                    raise DecideError(f"group {name}: {', '.join(unknown)} not among the PSA's inputs")
                value, (lo, hi) = self._evppi(paths)
                rows.append((name, "group", ", ".join(paths), value, lo, hi))
        out = pd.DataFrame(rows, columns=["name", "kind", "inputs", "evppi", "ci_low", "ci_high"])
        out["share_of_evpi"] = out["evppi"] / evpi if evpi > 0 else math.nan
        return out.sort_values(["kind", "evppi"], ascending=[False, False], kind="stable").reset_index(drop=True)

    # -- willingness to pay ---------------------------------------------------------------------

    def acceptability(self, wtp: Sequence[float] | np.ndarray | None = None) -> pd.DataFrame:
        """Probability each policy is best when a dollar of caused margin is worth ``wtp``
        dollars to the seller: value = ``wtp * caused margin per order - cost per order``
        (``wtp = 1`` is policy profit per order). Rows: ``wtp``; columns: policies."""
        import pandas as pd

        wtp = np.linspace(0.0, 2.0, 21) if wtp is None else np.asarray(wtp, dtype=float)
        runs = self.runs.assign(
            _rm=self.runs["caused_margin_per_order"],
            _cost=self.runs["cost_per_order"],
        )
        means = runs.groupby(["point", "policy"], sort=False)[["_rm", "_cost"]].mean()
        rm = means["_rm"].unstack("policy")[self.policies].to_numpy()
        cost = means["_cost"].unstack("policy")[self.policies].to_numpy()
        rows = []
        for lam in wtp:
            # A draw a screened policy did not run (NaN) never makes it best.
            best = np.nan_to_num(lam * rm - cost, nan=-np.inf).argmax(axis=1)
            rows.append([float((best == j).mean()) for j in range(len(self.policies))])
        out = pd.DataFrame(rows, columns=self.policies, index=pd.Index(wtp, name="wtp"))
        return out
