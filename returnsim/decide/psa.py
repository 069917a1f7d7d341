"""Decision under uncertainty: probabilistic sensitivity analysis (PSA) and the value of
information.

The scenario's ``[uncertainty]`` table says which inputs are unknown and how unknown. A PSA draws
the inputs many times (a Latin hypercube by default), runs every policy at each draw with common
random numbers (the policies of a draw share replications; draws use replications of their own,
so averages over draws also average over the simulation's randomness), and asks, as decision
analysts in health economics do ([M6]):

* **probability best**: in what share of draws each policy comes out on top;
* **expected loss** (regret): how much worse than the best of each draw a policy does on average;
  the policy with the highest expected value has the smallest;
* **EVPI**, the expected value of perfect information: what knowing every input exactly would be
  worth, i.e. the expected loss of the policy one would choose today;
* **EVPPI**, the expected value of partial perfect information, per input or group of inputs:
  what learning just that input would be worth. It ranks the assumptions worth measuring first.
  Computed from the PSA sample itself by regression (Strong, Oakley & Brennan 2014, [M7]): the
  difference between each policy and the one chosen today is regressed on the input (the
  smoothest polynomial the data support, by the Bayesian information criterion; for a group,
  up to a full quadratic), and the value of information is the expected gain of choosing the
  best policy for each fitted value.

With net value per order, :meth:`PSA.acceptability` gives the probability each policy is best
against how much a dollar of retained margin is worth to the seller (a cost-effectiveness
acceptability curve, with "willingness to pay for retention" on the horizontal axis).

A draw's value is a mean over ``replications`` replications, so it carries some simulation
noise on top of the inputs' uncertainty; common random numbers keep the noise in *differences*
small.

Screening (``screen=``, what the report's "How sure is this?" uses): the draws run in stages, and
a policy whose probability of being best is negligible with confidence is simulated no more; the
rule is in :mod:`returnsim.decide.screening`, and :attr:`PSA.screened` says which policies were
screened after how many draws. The policies still in get the same values as in an unscreened PSA
with the same seed.

Emulator (``method="emulator"``): the statistics are computed over 10,000 draws of
Gaussian-process emulators trained on the simulated draws, when each emulator's leave-one-out
Q² passes a stated bar, with intervals that include the emulators' uncertainty; otherwise the
simulated PSA is returned with a note saying why (:mod:`returnsim.decide.psa_emulator`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..scenario import Scenario
from ..scenario.loader import as_scenario
from .errors import DecideError, Goal, check_metric, goal_of, positive
from .inputs import Input, Variants, study_inputs
from .runner import StudyRunner, where_options
from .screening import screen_out
from .sweep import check_policies, run_design

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["PSA", "psa", "conditional_means"]


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
    average (``v``: draws x policies, larger is better): EVPI, or EVPPI of fitted values."""
    return float(v.max(axis=1).mean() - v.mean(axis=0).max())


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

        def stat(f: np.ndarray) -> float:
            return max(0.0, _value_of_information(f))

        return stat(fitted), _bootstrap_ci(fitted, stat, self.confidence, np.random.default_rng(self.seed))

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


def psa(
    scenario: Scenario | str | Path | Mapping[str, Any],
    draws: int = 200,
    policies: Sequence[str] | None = None,
    metric: str = "policy_profit_per_order",
    *,
    goal: Goal | None = None,
    inputs: Sequence[str] | Mapping[str, Any] | None = None,
    vary: Sequence[Any] | None = None,
    replications: int = 1,
    design: str = "lhs",
    design_seed: int | None = None,
    confidence: float = 0.95,
    screen: float | None = None,
    stage: int = 16,
    loss_tolerance: float | None = None,
    method: str = "sampling",
    min_fit: float | None = None,
    **where: Any,
) -> PSA:
    """Probabilistic sensitivity analysis over the scenario's declared uncertain inputs.

    Args:
        scenario: a :class:`Scenario`, a path or a dict.
        draws: draws of the inputs.
        policies: the policies compared (default: all).
        metric: the metric ranked (default net value per order).
        goal: ``"max"`` or ``"min"`` (default: from the metric).
        inputs, vary: the inputs (default: the scenario's ``[uncertainty]`` table).
        replications: replications per draw and policy (policies share them; draws do not).
        design: how draws are made: ``"lhs"`` (default), ``"sobol"``, ``"halton"`` or
            ``"random"``.
        design_seed: seed of the draws (default: ``seed``).
        confidence: level of the intervals reported (and of the screening bound).
        screen: screen out policies whose probability of being best is, with ``confidence``,
            below this (e.g. 0.01; the rule: :mod:`returnsim.decide.screening`). ``None``
            (default): every policy runs every draw.
        stage: with ``screen``, draws run between screenings.
        loss_tolerance: with ``screen``, the largest expected excess over the others a
            screened policy may have, in the metric's units (default: 0.1 % of the mean
            absolute best value of a draw).
        method: ``"sampling"`` (default): the statistics over the simulated draws.
            ``"emulator"``: over 10,000 draws of Gaussian-process emulators trained on the
            simulated draws, when every emulator's leave-one-out Q² is at least ``min_fit``;
            otherwise the simulated PSA, with a note saying why
            (:mod:`returnsim.decide.psa_emulator`; needs scikit-learn, in the
            ``sensitivity`` extra).
        min_fit: with the emulator, the leave-one-out Q² each emulator needs (default
            :data:`~returnsim.decide.emulator.MIN_Q2`, 0.9, assumed).
        **where: ``seed``, ``store``, ``executor``, ``scheduler``, ``workers``, ``progress``.
    """
    import pandas as pd

    from .designs import make_design

    check_metric(metric)
    direction = goal_of(metric, goal)
    sc = as_scenario(scenario)
    names = check_policies(sc, policies)
    if len(names) < 2:
        raise DecideError("a PSA compares at least two policies")
    draws = positive("draws", draws, integer=True, minimum=1)
    replications = positive("replications", replications, integer=True)
    stage = positive("stage", stage, integer=True, minimum=3)
    if screen is not None and not (isinstance(screen, (int, float)) and 0 < screen < 1):
        raise DecideError(f"screen must be a probability in (0, 1) or None, got {screen!r}")
    if method not in ("sampling", "emulator"):
        raise DecideError(f"method must be 'sampling' or 'emulator', got {method!r}")
    if min_fit is not None and not (isinstance(min_fit, (int, float)) and not isinstance(min_fit, bool) and min_fit <= 1):
        raise DecideError(f"min_fit must be a leave-one-out Q² of at most 1, got {min_fit!r}")
    if design == "grid":
        raise DecideError("a PSA draws its points: use lhs, sobol, halton or random, not grid")
    ins = study_inputs(sc, inputs, vary)
    variants = Variants(sc)
    variants.check(ins)
    seed = int(where.get("seed", 0))
    design_seed = seed if design_seed is None else design_seed
    plan = make_design(ins, design, draws, design_seed)
    active, screened, parts = list(names), {}, []
    step = draws if screen is None else stage
    with StudyRunner(desc="PSA", **where_options(where)) as runner:
        for first in range(0, draws, step):
            part = plan.iloc[first : first + step]
            parts.append(run_design(runner, variants, part, active, replications, crn="independent", first=first))
            done = first + len(part)
            if screen is None or done >= draws:
                continue
            so_far = pd.concat(parts).pivot_table(index="point", columns="policy", values=metric, aggfunc="mean")
            v = so_far[active].to_numpy(dtype=float)
            for j in screen_out(v if direction == "max" else -v, screen, confidence, loss_tolerance):
                screened[active[j]] = done
            active = [p for p in active if p not in screened]
    runs = pd.concat(parts, ignore_index=True)
    values = runs.pivot_table(index="point", columns="policy", values=metric, aggfunc="mean", dropna=False)
    values = values.reindex(columns=names)
    values.columns = pd.Index(names, name="policy")
    out = PSA(
        values=values,
        inputs=plan,
        specs=ins,
        metric=metric,
        goal=direction,
        policies=names,
        replications=replications,
        runs=runs,
        confidence=confidence,
        seed=seed,
        screened=screened,
    )
    if method == "sampling":
        return out
    from .designs import unit_design
    from .emulator import MIN_Q2
    from .psa_emulator import emulate_psa

    # The same uniforms make_design mapped to the draws: the emulators work on this scale.
    unit = unit_design(design, draws, len(ins), design_seed)
    return emulate_psa(out, unit, min_fit=MIN_Q2 if min_fit is None else min_fit, seed=seed)
