"""The result of an experiment: a tidy frame of replications and what it says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..files import write_atomically
from .tasks import METRICS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ExperimentResult"]


@dataclass
class ExperimentResult:
    """Replications of several policies of one scenario, and what they say."""

    runs: pd.DataFrame
    """Tidy frame: ``policy, replication, seed`` and one column per KPI and ledger category;
    rows by policy (in the order given), then replication. Run ``(policy, r)`` used
    ``SeedSequence([seed, r])``."""
    policies: list[str]
    """Policies in the order given."""
    seed: int
    """Base seed of the experiment."""
    replications: int
    """Replications per policy."""
    scenario_hash: str
    """SHA-256 of the validated scenario's canonical JSON (the store's key)."""
    stopped_reason: str = "replications"
    """``"replications"`` (the number asked for), ``"target_reached"`` (every target half-width
    met) or ``"max_replications"`` (the cap was hit before the targets were met)."""
    target_half_width: dict[str, float] | None = None
    """The precision targets asked for, if any."""
    executor: str = "serial"
    """Where the replications ran (``serial``, ``processes(2)``, ``dask(tcp://...)``...)."""
    computed: int = 0
    """Replications simulated by this call."""
    from_store: int = 0
    """Replications read back from the store instead of simulated."""
    elapsed_seconds: float = 0.0
    """Wall-clock time of the call."""
    notes: list[str] = field(default_factory=list)
    """Anything the caller should know (e.g. why a cap was hit)."""
    rounds: list[int] = field(default_factory=list)
    """Replications per policy after each round (one round without ``target_half_width``)."""

    def summary(self, metrics: Sequence[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
        """Per policy and metric: ``mean, sd, n, ci_low, ci_high`` (Student-t interval)."""
        from .statistics import summarize

        return summarize(self.runs, metrics if metrics is not None else list(METRICS), confidence)

    def compare(
        self,
        baseline: str | None = None,
        metrics: Sequence[str] | None = None,
        confidence: float = 0.95,
    ) -> pd.DataFrame:
        """Paired differences ``policy - baseline`` (default: the first policy).

        See :func:`returnsim.analysis.paired_differences` for the columns, which include the
        paired-t ``p_value`` and the ``variance_reduction`` common random numbers bought.
        """
        from .statistics import paired_differences

        baseline = self.policies[0] if baseline is None else baseline
        if baseline not in self.policies:
            raise KeyError(f"unknown baseline {baseline!r}; policies: {', '.join(self.policies)}")
        return paired_differences(
            self.runs, baseline, metrics if metrics is not None else list(METRICS), confidence
        )

    def to_store(self, store: str | Path | Any, scenario: Any) -> int:
        """Commit every replication of ``runs`` to a results store (a path or an open
        :class:`~returnsim.experiment.ResultStore`), keyed as ``run_experiment`` keys them, so
        the same experiment with ``store=`` reads them back instead of simulating. Returns how
        many rows were new.

        Args:
            store: the store file (created if missing) or an open store.
            scenario: the scenario the experiment ran (its hash must be ``scenario_hash``).
        """
        from .fingerprint import model_version
        from .store import ResultStore, scenario_hash

        if scenario_hash(scenario) != self.scenario_hash:
            raise ValueError("scenario is not the one this experiment ran (its hash differs)")
        st = store if isinstance(store, ResultStore) else ResultStore(store)
        try:
            st.add_scenario(scenario)
            records = self.runs.to_dict("records")
            return st.add_runs(self.scenario_hash, model_version(), records, METRICS)
        finally:
            if st is not store:
                st.close()

    def half_widths(self, metrics: Sequence[str], confidence: float = 0.95) -> pd.DataFrame:
        """Per policy and metric, the confidence interval's half-width."""
        s = self.summary(metrics, confidence)
        s["half_width"] = (s["ci_high"] - s["ci_low"]) / 2
        return s[["policy", "metric", "n", "half_width"]]

    def _frames(self, baseline: str | None) -> dict[str, pd.DataFrame]:
        frames = {"runs": self.runs, "summary": self.summary()}
        if len(self.policies) > 1:
            frames["comparison"] = self.compare(baseline)
        return frames

    def to_csv(self, directory: str | Path, baseline: str | None = None) -> list[Path]:
        """Write ``runs.csv``, ``summary.csv`` and (with two or more policies) ``comparison.csv``.

        Floats are written with 17 significant digits, so they read back exactly. A policy
        name a spreadsheet would run as a formula (``=...``, ``+...``, ``-...``, ``@...``) is
        written with a leading ``'`` (:func:`returnsim.text.csv_cell`).
        """
        from ..text import csv_safe

        return self._write(
            directory,
            baseline,
            "csv",
            lambda df, path: csv_safe(df).to_csv(path, index=False, float_format="%.17g"),
        )

    def to_parquet(self, directory: str | Path, baseline: str | None = None) -> list[Path]:
        """Like :meth:`to_csv`, as Parquet files (needs ``pyarrow``)."""
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError(
                "ExperimentResult.to_parquet needs pyarrow, which is not installed "
                "(pip install pyarrow); to_csv works without it"
            ) from None
        return self._write(directory, baseline, "parquet", lambda df, path: df.to_parquet(path, index=False, engine="pyarrow"))

    def _write(self, directory: str | Path, baseline: str | None, ext: str, write: Any) -> list[Path]:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self._frames(baseline).items():
            # whole or absent: a failed write leaves the previous file, never a cut one
            paths.append(write_atomically(out / f"{name}.{ext}", partial(write, df)))
        return paths
