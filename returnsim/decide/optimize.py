"""Optimising policy levers: the best value of one or two numbers of a policy, with a CI.

A lever is any number of the scenario, usually of a policy: the give-away price threshold of a
disposition rule, the desk's staff, the value share of a partial-refund offer, a loss fee's
share. :func:`optimize` simulates a grid of lever values with common random numbers (every
value meets the same orders and buyers, so the curve is smooth where the truth is), then a finer
grid around the best value, and locates the optimum by a quadratic fitted around the best
point (an integer lever takes its best level). Its confidence interval is a bootstrap over
replications: replications are resampled together across lever values, which keeps the common
random numbers, and the optimum is located again in each resample; the interval spans at least
the final grid's spacing around the optimum, the resolution the curve was sampled at.

The curve it came from is returned too: a flat curve with a wide interval is itself an answer
(the lever hardly matters there).
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
from .inputs import Input, Variants, lever, parse_range
from .runner import StudyRunner, check_points, where_options
from .sweep import check_policies, run_design

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Optimum", "optimize"]

MAX_INTEGER_LEVELS = 60
"""An integer lever with at most this many values in its range has each of them simulated."""


@dataclass
class Optimum:
    """The best lever value(s) found, with confidence intervals and the curve."""

    policy: str
    metric: str
    goal: Goal
    levers: list[Input]
    value: dict[str, float]
    """Lever path -> its optimal value."""
    ci: dict[str, tuple[float, float]]
    """Lever path -> bootstrap confidence interval of the optimal value."""
    objective: float
    """The metric's mean at the simulated lever value nearest the optimum."""
    objective_ci: tuple[float, float]
    curve: pd.DataFrame
    """One row per lever value (or pair) simulated: the lever columns, ``mean``, ``ci_low``,
    ``ci_high`` of the metric, ``n`` replications."""
    replications: int
    confidence: float
    runs: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    """Anything the reader should know, e.g. an optimum at the edge of the range searched."""

    def describe(self) -> str:
        """The optimum in one line per lever."""
        parts = []
        for inp in self.levers:
            lo, hi = self.ci[inp.path]
            parts.append(f"{inp.path} = {self.value[inp.path]:.4g} ({self.confidence:.0%} CI {lo:.4g} to {hi:.4g})")
        best = "maximises" if self.goal == "max" else "minimises"
        text = (
            f"{'; '.join(parts)} {best} {self.metric} of {self.policy}: "
            f"{self.objective:.4g} ({self.objective_ci[0]:.4g} to {self.objective_ci[1]:.4g})"
        )
        return " ".join([text, *(f"({n})" for n in self.notes)])

    def __str__(self) -> str:
        return self.describe()


def _locate(x: np.ndarray, y: np.ndarray, integer: list[bool], steps: np.ndarray) -> np.ndarray:
    """The optimum of means ``y`` (higher is better) at lever values ``x`` (m x d): the best
    point, moved to the vertex of a quadratic fitted to its neighbours when that is a maximum
    lying among them (not for integer levers)."""
    i = int(np.argmax(y))
    best = x[i]
    if all(integer):
        return best.copy()
    near = np.all(np.abs(x - best) <= 1.5 * steps + 1e-12, axis=1)
    xs, ys = (x[near] - best) / steps, y[near]
    d = x.shape[1]
    if d == 1:
        if len(xs) < 3 or len(np.unique(xs)) < 3:
            return best.copy()
        c2, c1, _ = np.polyfit(xs[:, 0], ys, 2)
        if c2 >= 0:
            return best.copy()
        vertex = -c1 / (2 * c2)
        lo, hi = xs[:, 0].min(), xs[:, 0].max()
        return np.array([best[0] + float(np.clip(vertex, lo, hi)) * steps[0]])
    a, b = xs[:, 0], xs[:, 1]
    f = np.column_stack([np.ones_like(a), a, b, a * a, a * b, b * b])
    if len(ys) < 7:
        return best.copy()
    coef, *_ = np.linalg.lstsq(f, ys, rcond=None)
    hess = np.array([[2 * coef[3], coef[4]], [coef[4], 2 * coef[5]]])
    if not np.all(np.linalg.eigvalsh(hess) < 0):
        return best.copy()
    v = np.linalg.solve(hess, -coef[1:3])
    v = np.clip(v, xs.min(axis=0), xs.max(axis=0))
    out = best + v * steps
    for j, is_int in enumerate(integer):
        if is_int:
            out[j] = best[j]
    return out


def _levels(inp: Input, lo: float, hi: float, levels: int) -> np.ndarray:
    if inp.target.integer:
        lo_i, hi_i = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
        if hi_i - lo_i + 1 <= MAX_INTEGER_LEVELS:
            return np.arange(lo_i, hi_i + 1, dtype=float)
        return np.unique(np.rint(np.linspace(lo, hi, levels)))
    return np.linspace(lo, hi, levels)


def _count(inp: Input, lo: float, hi: float, levels: int) -> int:
    """How many values :func:`_levels` gives, at most, without making them."""
    if inp.target.integer:
        span = math.floor(hi + 1e-9) - math.ceil(lo - 1e-9) + 1
        return span if span <= MAX_INTEGER_LEVELS else min(levels, span)
    return levels


def optimize(
    scenario: Scenario | str | Path | Mapping[str, Any],
    policy: str,
    levers: Mapping[str, tuple[float, float]] | Sequence[str],
    metric: str = "policy_profit_per_order",
    *,
    goal: Goal | None = None,
    levels: int = 9,
    refine: int = 1,
    replications: int = 10,
    confidence: float = 0.95,
    bootstrap: int = 400,
    **where: Any,
) -> Optimum:
    """The best value of one or two numeric levers of a policy, with a confidence interval.

    Args:
        scenario: a :class:`Scenario`, a path or a dict.
        policy: the policy whose metric is optimised (its levers are usually its own fields,
            e.g. ``policies.giveaway_small.returnless.0.when.price_max``).
        levers: path -> ``(low, high)``, or ``"PATH=LOW:HIGH"`` strings; one or two.
        metric: a KPI or ledger category.
        goal: ``"max"`` or ``"min"`` (default: from the metric).
        levels: values per lever on each grid (an integer lever with a short range: every
            value).
        refine: rounds of a finer grid around the best value so far.
        replications: replications per lever value (shared by all values: common random
            numbers).
        confidence: level of the intervals.
        bootstrap: bootstrap resamples of the replications.
        **where: ``seed``, ``store``, ``executor``, ``scheduler``, ``workers``, ``progress``.

    Raises:
        DecideError: an unknown metric, policy or lever ("did you mean"), a range that makes
            the scenario invalid, fewer than 3 levels, more than two levers.
    """
    import pandas as pd

    check_metric(metric)
    direction = goal_of(metric, goal)
    sc = as_scenario(scenario)
    (name,) = check_policies(sc, [policy])
    pairs = [parse_range(t)[:3] for t in levers] if not isinstance(levers, Mapping) else [
        (p, *r) for p, r in levers.items()
    ]
    if not 1 <= len(pairs) <= 2:
        raise DecideError(f"optimise one or two levers at a time, got {len(pairs)}")
    levels = positive("levels", levels, integer=True, minimum=2)
    replications = positive("replications", replications, integer=True)
    if not isinstance(refine, int) or refine < 0:
        raise DecideError(f"refine must be a whole number >= 0, got {refine!r}")
    ins = [lever(sc, str(p), float(lo), float(hi)) for p, lo, hi in pairs]
    if len({i.path for i in ins}) != len(ins):
        raise DecideError("the same lever is named twice")
    variants = Variants(sc)
    variants.check(ins)
    bounds = [i.spec.support for i in ins]
    # every round's grid, at most, before the first is made (a round's grid is never larger)
    first = math.prod(_count(i, lo, hi, levels) for i, (lo, hi) in zip(ins, bounds, strict=True))
    check_points(first * (refine + 1), replications, "lever values", "use fewer levels or refine rounds")
    sign = 1.0 if direction == "max" else -1.0
    integer = [i.target.integer for i in ins]
    cols = [i.path for i in ins]

    done: dict[tuple[float, ...], np.ndarray] = {}  # lever values -> metric per replication
    runs_parts = []
    with StudyRunner(desc="optimise", **where_options(where)) as runner:
        windows = [(lo, hi) for lo, hi in bounds]
        steps = np.zeros(len(ins))
        for round_ in range(refine + 1):
            axes = [_levels(inp, lo, hi, levels) for inp, (lo, hi) in zip(ins, windows, strict=True)]
            steps = np.array([np.diff(a).min() if len(a) > 1 else 1.0 for a in axes])
            grid = pd.DataFrame(
                [list(v) for v in np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(ins), -1).T],
                columns=cols,
            )
            grid = grid[[tuple(r) not in done for r in grid.itertuples(index=False)]].reset_index(drop=True)
            if len(grid):
                grid.index.name = "point"
                part = run_design(runner, variants, grid, [name], replications)
                runs_parts.append(part.assign(round=round_))
                for _, g in part.groupby("point", sort=False):
                    key = tuple(float(g[c].iloc[0]) for c in cols)
                    done[key] = g.sort_values("replication")[metric].to_numpy(dtype=float)
            keys = list(done)
            x = np.array(keys, dtype=float)
            y = np.array([done[k].mean() for k in keys]) * sign
            best = x[int(np.argmax(y))]
            windows = [
                (max(b[0], best[j] - steps[j]), min(b[1], best[j] + steps[j]))
                for j, b in enumerate(bounds)
            ]
            if all(integer):
                break
    keys = list(done)
    x = np.array(keys, dtype=float)
    m = np.vstack([done[k] for k in keys]).T * sign  # replications x points, higher is better
    estimate = _locate(x, m.mean(axis=0), integer, steps)
    rng = np.random.default_rng(int(where.get("seed", 0)))
    boots = np.array(
        [_locate(x, m[rng.integers(0, replications, replications)].mean(axis=0), integer, steps)
         for _ in range(bootstrap)]
    )
    alpha = (1 - confidence) / 2
    ci = {}
    for j, c in enumerate(cols):
        lo, hi = float(np.quantile(boots[:, j], alpha)), float(np.quantile(boots[:, j], 1 - alpha))
        if not integer[j]:
            # The bootstrap sees the replications' noise, not how well a quadratic through grid
            # points spaced `step` apart locates the optimum between them: the interval spans
            # at least the grid spacing around the estimate.
            lo = max(bounds[j][0], min(lo, float(estimate[j] - steps[j] / 2)))
            hi = min(bounds[j][1], max(hi, float(estimate[j] + steps[j] / 2)))
        ci[c] = (lo, hi)
    from scipy import stats

    t = float(stats.t.ppf(0.5 + confidence / 2, replications - 1)) if replications > 1 else math.nan
    raw = m * sign
    means, sds = raw.mean(axis=0), raw.std(axis=0, ddof=1) if replications > 1 else np.full(len(keys), math.nan)
    half = t * sds / math.sqrt(replications)
    curve = pd.DataFrame(x, columns=cols)
    curve["mean"], curve["ci_low"], curve["ci_high"], curve["n"] = means, means - half, means + half, replications
    curve = curve.sort_values(cols, kind="stable").reset_index(drop=True)
    notes = [
        f"{c} is at the {'low' if estimate[j] <= bounds[j][0] else 'high'} end of the range searched: "
        "the best value may lie beyond it"
        for j, c in enumerate(cols)
        if estimate[j] <= bounds[j][0] or estimate[j] >= bounds[j][1]
    ]
    nearest = int(np.argmin(np.sum(((x - estimate) / np.where(steps > 0, steps, 1)) ** 2, axis=1)))
    return Optimum(
        policy=name,
        metric=metric,
        goal=direction,
        levers=ins,
        value={c: float(estimate[j]) for j, c in enumerate(cols)},
        ci=ci,
        objective=float(means[nearest]),
        objective_ci=(float(means[nearest] - half[nearest]), float(means[nearest] + half[nearest])),
        curve=curve,
        replications=replications,
        confidence=confidence,
        runs=pd.concat(runs_parts, ignore_index=True) if runs_parts else pd.DataFrame(),
        notes=notes,
    )
