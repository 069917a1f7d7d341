"""Where a selection procedure gets its observations: the model, a table, or known variates.

A :class:`Sampler` hands out observation ``j`` of any of its systems; observation ``j`` of every
system shares its random numbers (common random numbers), and asking again for the same ``j``
gives the same value. The selection procedure (:mod:`.selection`) only talks to this interface,
so the same code selects among policies of the model (:class:`ModelSampler`), replays a finished
experiment (:class:`TableSampler`), or is checked on cheap normal variates whose means and
correlations are known (:class:`NormalSampler`), where its probability of correct selection can
be measured over hundreds of macro-replications.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .errors import DecideError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..scenario import Scenario
    from .runner import StudyRunner

__all__ = ["Sampler", "NormalSampler", "TableSampler", "ModelSampler"]


@runtime_checkable
class Sampler(Protocol):
    """Observations of competing systems, with common random numbers across systems."""

    @property
    def systems(self) -> Sequence[str]:
        """Names of the systems (policies)."""
        ...

    @property
    def limit(self) -> int | None:
        """How many observations per system exist at most (``None``: as many as asked)."""
        ...

    def sample(self, systems: Sequence[str], start: int, stop: int) -> np.ndarray:
        """Observations ``start..stop-1`` of each named system: a ``len(systems) x (stop -
        start)`` float array."""
        ...


class NormalSampler:
    """Multivariate normal observations with known means and covariance.

    Observation ``j`` of all systems is one draw of ``N(means, cov)``, so a covariance with
    positive off-diagonal terms stands for common random numbers. Draws are made in order from
    one generator, so the values do not depend on how they are asked for.

    Args:
        means: the true mean of each system.
        cov: covariance matrix (or a vector of variances for independent systems).
        seed: seed of the generator.
        names: system names (default ``s0, s1, ...``).
    """

    def __init__(self, means: Sequence[float], cov: Any, seed: int = 0, names: Sequence[str] | None = None) -> None:
        self.means = np.asarray(means, dtype=float)
        k = len(self.means)
        c = np.asarray(cov, dtype=float)
        c = np.diag(c) if c.ndim == 1 else c
        if c.shape != (k, k):
            raise ValueError(f"cov must be {k} x {k}, got {c.shape}")
        self._chol = np.linalg.cholesky(c)
        self._rng = np.random.default_rng(seed)
        self._rows = np.empty((0, k))
        self._names = list(names) if names is not None else [f"s{i}" for i in range(k)]
        self._index = {n: i for i, n in enumerate(self._names)}

    @property
    def systems(self) -> list[str]:
        return self._names

    @property
    def limit(self) -> int | None:
        return None

    def sample(self, systems: Sequence[str], start: int, stop: int) -> np.ndarray:
        if stop > len(self._rows):
            z = self._rng.standard_normal((stop - len(self._rows), len(self.means)))
            self._rows = np.vstack([self._rows, self.means + z @ self._chol.T])
        cols = [self._index[s] for s in systems]
        return self._rows[start:stop, cols].T.copy()


class TableSampler:
    """Observations read from a tidy runs frame (``policy``, ``replication``, the metric).

    Observation ``j`` is the ``j``-th replication number present for *every* policy (sorted),
    so observations are paired by replication, hence by random streams.
    """

    def __init__(self, runs: pd.DataFrame, metric: str, policies: Sequence[str] | None = None) -> None:
        names = list(dict.fromkeys(runs["policy"].tolist())) if policies is None else list(policies)
        table = runs.pivot_table(index="replication", columns="policy", values=metric, aggfunc="first")
        missing = [p for p in names if p not in table.columns]
        if missing:
            raise DecideError(f"no runs of {', '.join(missing)}")
        table = table[names].dropna().sort_index()
        self._names = names
        self._values = table.to_numpy(dtype=float).T
        self._index = {n: i for i, n in enumerate(names)}

    @property
    def systems(self) -> list[str]:
        return self._names

    @property
    def limit(self) -> int:
        return int(self._values.shape[1])

    def sample(self, systems: Sequence[str], start: int, stop: int) -> np.ndarray:
        if stop > self.limit:
            raise DecideError(f"only {self.limit} replications of every policy are available")
        return self._values[[self._index[s] for s in systems], start:stop].copy()


class ModelSampler:
    """Observations of one metric from the simulation: observation ``j`` of a policy is its
    replication ``j`` (``SeedSequence([seed, j])``), run by a :class:`StudyRunner` (so on any
    executor, and read back from a results store when it is there)."""

    def __init__(self, scenario: Scenario, policies: Sequence[str], metric: str, runner: StudyRunner) -> None:
        self._names = list(policies)
        self.metric = metric
        self.runner = runner
        self.key = runner.add(scenario)
        """Scenario hash of the scenario the policies run in."""

    @property
    def systems(self) -> list[str]:
        return self._names

    @property
    def limit(self) -> int | None:
        return None

    def sample(self, systems: Sequence[str], start: int, stop: int) -> np.ndarray:
        tasks = [(self.key, p, j) for p in systems for j in range(start, stop)]
        got = self.runner.run(tasks)
        values = [float(got[t][self.metric]) for t in tasks]
        return np.asarray(values, dtype=float).reshape(len(systems), stop - start)

    def records(self) -> list[dict[str, Any]]:
        """Every run of these policies the runner has seen (simulated or read from the store)."""
        return [
            rec for (key, pol, _), rec in self.runner.results.items() if key == self.key and pol in self._names
        ]
