"""What drives the answer: tornado diagrams, Sobol' indices and break-even values.

Each analysis looks at one *response*: a policy's metric, or the difference between two
policies (``policies=("a", "b")`` means ``a - b``: the question "does a beat b?"). All runs use
common random numbers, so a response changes between design points only because the inputs do.

* :func:`tornado`: one input at a time to the low and high ends of its declared range, the others
  at the scenario's values; inputs ranked by how far they swing the response.
* :func:`sobol_indices`: variance-based global sensitivity (Saltelli's design and estimators via
  SALib, [M5]): the first-order index of an input is the share of the response's variance it
  explains alone, the total index the share it has a hand in, interactions included; both with
  bootstrap confidence intervals. Needs the ``sensitivity`` extra (``pip install
  'returnsim[sensitivity]'``).
* :func:`breakeven`: the value of an input at which the difference between two policies changes
  sign, i.e. where the ranking flips, with the interval of values where the replications cannot
  tell which policy is ahead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..experiment.executors import available_cpus
from ..scenario import Scenario
from ..scenario.loader import as_scenario
from .designs import unit_design
from .errors import DecideError, check_metric, positive
from .inputs import Input, Variants, study_inputs
from .runner import StudyRunner, check_points, where_options
from .sobol_emulator import emulate, indices_table, training_points
from .sweep import check_policies, run_design

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Tornado", "tornado", "SobolIndices", "sobol_indices", "BreakEven", "breakeven", "response"]


def _policies(sc: Scenario, policies: str | Sequence[str]) -> list[str]:
    names = [policies] if isinstance(policies, str) else list(policies)
    if len(names) not in (1, 2):
        raise DecideError(f"a response is one policy, or two for their difference; got {names}")
    return check_policies(sc, names)


def response(runs: pd.DataFrame, metric: str, policies: Sequence[str]) -> pd.DataFrame:
    """The response per point and replication: a column ``value`` (the policy's metric, or the
    first policy's minus the second's, paired by replication)."""
    table = runs.pivot_table(index=["point", "replication"], columns="policy", values=metric, aggfunc="first")
    value = table[policies[0]] - table[policies[1]] if len(policies) == 2 else table[policies[0]]
    return value.rename("value").reset_index()


def _describe(metric: str, policies: Sequence[str]) -> str:
    return f"{metric} of {policies[0]}" if len(policies) == 1 else f"{metric}: {policies[0]} - {policies[1]}"


def _t(conf: float, n: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + conf / 2, n - 1)) if n > 1 else math.nan


# --------------------------------------------------------------------------------------------
# tornado
# --------------------------------------------------------------------------------------------


@dataclass
class Tornado:
    """One-at-a-time sensitivity of a response."""

    table: pd.DataFrame
    """One row per input, largest swing first: ``input, label, low, high, base, at_low,
    at_high`` (the response's mean there), ``change_low, change_high`` (paired changes from
    the base run with their ``_ci`` half-widths), ``swing`` and ``flips`` (for a difference:
    at one end of the range the other policy is ahead, by more than that end's confidence
    interval, so the ranking of the two policies flips)."""
    base: float
    """The response at the scenario's own values."""
    base_half_width: float
    """Confidence half-width of the response at any one point (pooled over points)."""
    metric: str
    policies: list[str]
    replications: int
    runs: pd.DataFrame
    method: str = "simulation"
    """How it was computed: ``"simulation"`` (each end of each range simulated) or
    ``"metamodel"`` (a linear metamodel of draws already run:
    :func:`~returnsim.decide.from_draws.tornado_from_draws`)."""
    fit: float | None = None
    """With a metamodel, its leave-one-out R² over the draws."""

    @property
    def title(self) -> str:
        return _describe(self.metric, self.policies)

    @property
    def how(self) -> str:
        """How it was computed, in a sentence."""
        if self.method == "simulation":
            return f"simulated at both ends of each input's range ({self.replications} replication(s) per point)"
        return (f"from a linear metamodel of the PSA's draws (leave-one-out R² {self.fit:.2f}), "
                "no new simulation")

    def flipping(self) -> list[str]:
        """Inputs whose range contains a value where the response changes sign."""
        return self.table.loc[self.table["flips"], "input"].tolist()


def tornado(
    scenario: Scenario | str | Path | Mapping[str, Any],
    metric: str = "policy_profit_per_order",
    policies: str | Sequence[str] = "seed",
    *,
    inputs: Sequence[str] | Mapping[str, Any] | None = None,
    vary: Sequence[Any] | None = None,
    replications: int = 5,
    confidence: float = 0.95,
    noise: tuple[float, int] | None = None,
    **where: Any,
) -> Tornado:
    """One-at-a-time sensitivity of a policy's metric or of a difference between two policies.

    Args:
        scenario: a :class:`Scenario`, a path or a dict.
        metric: a KPI or ledger category.
        policies: one policy, or two for the difference ``first - second``.
        inputs, vary: the inputs (default: the scenario's ``[uncertainty]`` table).
        replications: replications per point (common random numbers across points).
        confidence: level of the confidence intervals of the changes.
        noise: with one replication, the response's standard deviation between replications
            at one point and its degrees of freedom, known from elsewhere (e.g. a selection's
            replications at the scenario's values): it sets the intervals (the changes' at
            ``√2`` times it, as if the two ends did not share random numbers: conservative).
        **where: ``seed``, ``store``, ``executor``, ``scheduler``, ``workers``, ``progress``.
    """
    import pandas as pd

    check_metric(metric)
    sc = as_scenario(scenario)
    names = _policies(sc, policies)
    replications = positive("replications", replications, integer=True)
    ins = study_inputs(sc, inputs, vary)
    variants = Variants(sc)
    variants.check(ins)
    rows: list[dict[str, float]] = [{}]
    for inp in ins:
        lo, hi = inp.swing
        rows += [{inp.path: lo}, {inp.path: hi}]
    design = pd.DataFrame(rows, columns=[i.path for i in ins], dtype=float)
    design.index.name = "point"
    with StudyRunner(desc="tornado", **where_options(where)) as runner:
        runs = run_design(runner, variants, design, names, replications)
    resp = response(runs, metric, names).pivot(index="replication", columns="point", values="value")
    base = resp[0]
    # Every point has the same policies on the same random numbers, so the replication noise of
    # the response is about the same everywhere: pool it over points (many more degrees of
    # freedom than a few replications give one point).
    if replications > 1:
        sd = math.sqrt(float(resp.var(ddof=1).mean()))
        sd_change = math.sqrt(float(resp.sub(base, axis=0).iloc[:, 1:].var(ddof=1).mean()))
        t = _t(confidence, resp.shape[1] * (replications - 1) + 1)
        half, half_change = t * sd / math.sqrt(replications), t * sd_change / math.sqrt(replications)
    elif noise is not None:
        half = _t(confidence, noise[1] + 1) * noise[0]
        half_change = half * math.sqrt(2)
    else:
        half = half_change = math.nan
    ends = [(float(resp[1 + 2 * j].mean()), float(resp[2 + 2 * j].mean()), half_change) for j in range(len(ins))]
    table = _tornado_table(ins, len(names) == 2, float(base.mean()), half, ends)
    return Tornado(table, float(base.mean()), half, metric, names, replications, runs)


def _tornado_table(
    ins: Sequence[Input], difference: bool, b: float, half: float, ends: Sequence[tuple[float, float, float]]
) -> pd.DataFrame:
    """The tornado's table from the response at the base (``b``, half-width ``half``) and, per
    input, at the low and high ends of its swing (with the changes' half-width)."""
    import pandas as pd

    out = []
    for inp, (at_lo, at_hi, half_change) in zip(ins, ends, strict=True):
        lo, hi = inp.swing
        # A reversal counts when the far end's difference is resolved by the replications.
        flips = difference and any(np.sign(at) != np.sign(b) and abs(at) > half for at in (at_lo, at_hi))
        out.append(
            {
                "input": inp.path,
                "label": inp.label,
                "low": lo,
                "high": hi,
                "base": inp.base,
                "at_low": at_lo,
                "at_high": at_hi,
                "change_low": at_lo - b,
                "change_high": at_hi - b,
                "change_ci": half_change,
                "swing": abs(at_hi - at_lo),
                "flips": bool(flips),
            }
        )
    return pd.DataFrame(out).sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Sobol' indices
# --------------------------------------------------------------------------------------------


@dataclass
class SobolIndices:
    """First-order and total Sobol' indices of a response, with bootstrap intervals."""

    table: pd.DataFrame
    """One row per input, largest total index first: ``input, label, S1, S1_low, S1_high, ST,
    ST_low, ST_high``."""
    metric: str
    policies: list[str]
    base_samples: int
    evaluations: int
    """Design points simulated: ``base_samples * (inputs + 2)`` by sampling, the training points
    with the emulator."""
    runs: pd.DataFrame
    method: str = "sampling"
    """``"sampling"`` (Saltelli's scheme on the simulation) or ``"emulator"`` (on a Gaussian
    process fitted to simulated points: :mod:`returnsim.decide.emulator`)."""
    fit: float | None = None
    """With the emulator, its leave-one-out Q² (the share of the response's variance over the
    training points it predicts out of sample)."""
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return _describe(self.metric, self.policies)


EMULATOR_THREADS = 4
"""Most threads the emulator's jackknife refits use (:func:`sobol_indices` with
``method="emulator"``): each holds the temporaries of its predictions, about 190 MB for the seed
scenario's 30 inputs (measured: 517 MB peak on one thread, 708 on two, 1,081 on four)."""


def sobol_indices(
    scenario: Scenario | str | Path | Mapping[str, Any],
    metric: str = "policy_profit_per_order",
    policies: str | Sequence[str] = "seed",
    *,
    inputs: Sequence[str] | Mapping[str, Any] | None = None,
    vary: Sequence[Any] | None = None,
    base_samples: int = 64,
    replications: int = 1,
    confidence: float = 0.95,
    bootstrap: int | None = None,
    method: str = "sampling",
    points: int | None = None,
    **where: Any,
) -> SobolIndices:
    """Sobol' first-order and total indices of a response (Saltelli's scheme, via SALib), on
    the simulation itself or on an emulator of it.

    Args:
        scenario: a :class:`Scenario`, a path or a dict.
        metric: a KPI or ledger category.
        policies: one policy, or two for the difference ``first - second``.
        inputs, vary: the inputs (default: the scenario's ``[uncertainty]`` table).
        base_samples: ``N`` of Saltelli's scheme (a power of two); by sampling, the study
            simulates ``N * (inputs + 2)`` points (with the emulator, see ``points``).
        replications: replications per point (common to all points: the response is a
            smooth function of the inputs rather than of the inputs and the noise).
        confidence: level of the bootstrap intervals.
        bootstrap: bootstrap resamples by sampling (default 200); with the emulator, the
            jackknife refits of it that give its part of the intervals (default 20).
        method: ``"sampling"`` (default): Saltelli's scheme run on the simulation.
            ``"emulator"``: a Gaussian process fitted to ``points`` simulated points of a Latin
            hypercube, Saltelli's estimators run on it with 16,384 base samples, intervals from
            a jackknife of the training points, its leave-one-out Q² in :attr:`SobolIndices.fit`
            (:mod:`returnsim.decide.emulator`; needs scikit-learn, in the ``sensitivity``
            extra).
        points: with the emulator, simulated training points (default ``8 * inputs``, at
            least 64).
        **where: ``seed``, ``store``, ``executor``, ``scheduler``, ``workers``, ``progress``.

    Raises:
        DecideError: SALib (or, with the emulator, scikit-learn) is not installed, fewer than
            two inputs, or an unknown method.
    """
    if method not in ("sampling", "emulator"):
        raise DecideError(f"method must be 'sampling' or 'emulator', got {method!r}")
    import pandas as pd

    check_metric(metric)
    sc = as_scenario(scenario)
    names = _policies(sc, policies)
    replications = positive("replications", replications, integer=True)
    ins = study_inputs(sc, inputs, vary)
    if len(ins) < 2:
        raise DecideError("Sobol' indices need at least two inputs")
    variants = Variants(sc)
    variants.check(ins)
    seed = int(where.get("seed", 0))
    problem = {"num_vars": len(ins), "names": [i.path for i in ins], "bounds": [[0.0, 1.0]] * len(ins)}
    if method == "emulator":
        n = training_points(points, len(ins))
        unit = unit_design("lhs", n, len(ins), seed)
    else:
        try:
            from SALib.analyze import sobol as sobol_analyze
            from SALib.sample import sobol as sobol_sample
        except ImportError:
            raise DecideError(
                "Sobol' indices need SALib, an optional extra: pip install 'returnsim[sensitivity]'"
            ) from None
        import warnings

        n = positive("base_samples", base_samples, integer=True, minimum=1)
        check_points(
            n * (len(ins) + 2), len(names) * replications, fix="use fewer base samples (each makes inputs + 2 points)"
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(power of 2|balance properties).*")
            unit = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    design = pd.DataFrame({inp.path: inp.values(unit[:, j]) for j, inp in enumerate(ins)})
    design.index.name = "point"
    with StudyRunner(desc=f"sobol ({method})", **where_options(where)) as runner:
        runs = run_design(runner, variants, design, names, replications)
    y = response(runs, metric, names).groupby("point")["value"].mean().sort_index().to_numpy()
    if method == "emulator":
        refits = positive("bootstrap", 20 if bootstrap is None else bootstrap, integer=True, minimum=0)
        # The emulator is fitted here, in this process: on as many cores as the runs were given,
        # at most EMULATOR_THREADS.
        threads = min(where.get("workers") or available_cpus(), EMULATOR_THREADS)
        table, fit, notes = emulate(ins, unit, y, refits=refits, confidence=confidence, seed=seed, threads=threads)
        return SobolIndices(table, metric, names, n, len(design), runs, method="emulator", fit=fit, notes=notes)
    si = sobol_analyze.analyze(
        problem, y, calc_second_order=False, num_resamples=200 if bootstrap is None else bootstrap,
        conf_level=confidence, seed=seed,
    )
    table = indices_table(ins, si["S1"], si["S1_conf"], si["ST"], si["ST_conf"])
    return SobolIndices(table, metric, names, n, len(design), runs)


# --------------------------------------------------------------------------------------------
# break-even values
# --------------------------------------------------------------------------------------------


@dataclass
class BreakEven:
    """Where the difference between two policies changes sign as one input moves."""

    input: str
    policies: list[str]
    metric: str
    value: float | None
    """The input value where ``first - second`` crosses zero (linear interpolation between
    levels); ``None`` if it does not cross inside the range."""
    interval: tuple[float, float] | None
    """Input values around the crossing where the difference's confidence interval (replication
    noise pooled over levels) includes zero: there the replications cannot say which policy is
    ahead."""
    base: float
    """The scenario's own value of the input."""
    curve: pd.DataFrame
    """One row per level: ``value`` (of the input), ``mean``, ``ci_low``, ``ci_high`` of the
    difference."""
    label: str = ""
    """The input's short name (its declared label, else its path)."""
    method: str = "simulated"
    """How the curve was computed: ``"simulated"`` or from a metamodel (with its fit)."""

    def describe(self) -> str:
        """One sentence for a report."""
        a, b = self.policies
        name = self.input if not self.label or self.label == self.input else f"{self.label} ({self.input})"
        if self.value is None:
            return f"{name}: the order of {a} and {b} does not change over {self.curve['value'].min():g}..{self.curve['value'].max():g}"
        side = "below" if self.curve["mean"].iloc[0] > 0 else "above"
        text = f"{name} = {self.value:.3g} (now {self.base:.3g}): {a} is ahead {side} it, {b} on the other side"
        if self.interval is not None:
            who = "the replications" if self.method == "simulated" else "the metamodel"
            text += f"; {who} cannot order them between {self.interval[0]:.3g} and {self.interval[1]:.3g}"
        if self.method != "simulated":
            text += f" ({self.method})"
        return text


def _crossing(x: np.ndarray, y: np.ndarray) -> float | None:
    for i in range(len(x) - 1):
        if y[i] == 0:
            return float(x[i])
        if y[i] * y[i + 1] < 0:
            return float(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))
    return float(x[-1]) if len(y) and y[-1] == 0 else None


def breakeven(
    scenario: Scenario | str | Path | Mapping[str, Any],
    path: str,
    policies: Sequence[str],
    metric: str = "policy_profit_per_order",
    *,
    low: float | None = None,
    high: float | None = None,
    levels: int = 9,
    replications: int = 5,
    confidence: float = 0.95,
    noise: tuple[float, int] | None = None,
    **where: Any,
) -> BreakEven:
    """The value of one input at which ``policies[0] - policies[1]`` changes sign.

    Args:
        scenario: a :class:`Scenario`, a path or a dict.
        path: the input (declared in ``[uncertainty]``, or any number with ``low`` and ``high``).
        policies: the two policies.
        metric: a KPI or ledger category.
        low, high: the range searched (default: the input's declared swing).
        levels: evenly spaced values simulated over the range.
        replications: replications per level (common random numbers across levels).
        confidence: level of the difference's confidence intervals.
        noise: with one replication, the difference's standard deviation between replications
            and its degrees of freedom, known from elsewhere (as for :func:`tornado`).
        **where: ``seed``, ``store``, ``executor``, ``scheduler``, ``workers``, ``progress``.
    """
    import pandas as pd

    check_metric(metric)
    sc = as_scenario(scenario)
    names = list(policies)
    if len(names) != 2:
        raise DecideError(f"a break-even compares two policies, got {names}")
    names = check_policies(sc, names)
    levels = positive("levels", levels, integer=True, minimum=1)
    replications = positive("replications", replications, integer=True)
    if low is None and high is None and path in sc.uncertainty:
        inp = study_inputs(sc, [path])[0]
    else:
        if low is None or high is None:
            raise DecideError(f"{path} is not in [uncertainty]: give low and high")
        inp = study_inputs(sc, vary=[(path, low, high)])[0]
    variants = Variants(sc)
    variants.check([inp])
    grid = inp.grid(levels)
    design = pd.DataFrame({inp.path: grid})
    design.index.name = "point"
    with StudyRunner(desc="break-even", **where_options(where)) as runner:
        runs = run_design(runner, variants, design, names, replications)
    resp = response(runs, metric, names).pivot(index="replication", columns="point", values="value")
    mean = resp.mean().to_numpy()
    if replications > 1:
        # The same two policies on the same random numbers at every level: the replication
        # noise of the difference is pooled over levels, as in the tornado.
        t = _t(confidence, resp.shape[1] * (replications - 1) + 1)
        half = np.full(len(grid), t * math.sqrt(float(resp.var(ddof=1).mean())) / math.sqrt(replications))
    elif noise is not None:
        half = np.full(len(grid), _t(confidence, noise[1] + 1) * noise[0])
    else:
        half = np.zeros(len(grid))
    return _breakeven(inp, names, metric, grid, mean, half)


def _breakeven(
    inp: Input, names: list[str], metric: str, grid: np.ndarray, mean: np.ndarray, half: np.ndarray
) -> BreakEven:
    """The crossing and the unsure interval of a difference known along a grid of values."""
    import pandas as pd

    curve = pd.DataFrame({"value": grid.astype(float), "mean": mean, "ci_low": mean - half, "ci_high": mean + half})
    x = curve["value"].to_numpy()
    cross = _crossing(x, mean)
    interval = None
    if cross is not None:
        # The stretch around the crossing where the difference's interval includes zero.
        fine = np.linspace(x[0], x[-1], 2001)
        unsure = (np.interp(fine, x, curve["ci_low"]) <= 0) & (np.interp(fine, x, curve["ci_high"]) >= 0)
        i = int(np.argmin(np.abs(fine - cross)))
        if unsure[i]:
            left, right = i, i
            while left > 0 and unsure[left - 1]:
                left -= 1
            while right < len(fine) - 1 and unsure[right + 1]:
                right += 1
            interval = (float(fine[left]), float(fine[right]))
    return BreakEven(inp.path, names, metric, cross, interval, inp.base, curve, inp.label)
