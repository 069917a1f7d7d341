"""Selecting the best policy with a guarantee: Kim & Nelson's fully sequential procedure (KN).

Comparing every policy with the same number of replications wastes most of them on policies
that are clearly worse, and a "best mean" verdict says nothing about how likely it is to be
wrong. KN (Kim & Nelson 2001, [M3] in ``docs/sources.md``) replicates only the policies still
in contention, one replication at a time, and drops a policy as soon as its running mean falls
far enough below another's. The distance it must fall shrinks as replications accumulate, and is
scaled by the variance of the *difference* between the two policies, so common random numbers,
which make that variance small, let it decide sooner.

The guarantee is of the indifference-zone kind: the user names the smallest difference ``δ``
worth acting on; if the best policy's mean is at least ``δ`` better than every other's, KN
selects it with probability at least the confidence asked for (for normally distributed
outputs; any correlation between policies, such as common random numbers, is allowed). Policies
closer than ``δ`` are equally good for the decision, and this module says so: those whose
estimated difference from the selected one is below ``δ`` are reported as *ties*, and those
whose paired confidence interval of the difference includes zero as *statistically
indistinguishable*. No winner is named over them.

The procedure (maximising; a minimised metric is negated first). With ``k`` systems,
confidence ``1 - α`` and first-stage size ``n0``::

    η  = ((2α / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2,    h² = 2 η (n0 - 1)
    S²_il = sample variance of X_ij - X_lj over the first n0 observations
    at r = n0, n0 + 1, ...: keep i if  X̄_i(r) >= X̄_l(r) - W_il(r)  for every other l kept, where
    W_il(r) = max(0, δ / (2r) (h² S²_il / δ² - r))
    stop when one system is left.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..experiment.store import ResultStore
from ..scenario import Scenario
from .errors import DecideError, Goal, check_metric, goal_of, positive
from .samplers import ModelSampler, Sampler, TableSampler

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..experiment import ExperimentResult

__all__ = ["Selection", "kn_select", "select_best", "replay", "kn_constants"]


def kn_constants(k: int, confidence: float, first_stage: int) -> tuple[float, float]:
    """KN's ``(η, h²)`` for ``k`` systems, confidence ``1 - α`` and first stage ``n0``."""
    alpha = 1.0 - confidence
    eta = 0.5 * ((2 * alpha / (k - 1)) ** (-2.0 / (first_stage - 1)) - 1.0)
    return eta, 2.0 * eta * (first_stage - 1)


@dataclass
class Selection:
    """The outcome of a selection: the policy selected, its ties and what it cost."""

    selected: str
    """The policy with the best mean among those left when the procedure stopped."""
    ties: list[str]
    """Policies not separated from the selected one by the indifference zone: their estimated
    difference is below ``indifference``, or the procedure stopped (at its budget) with them
    still in contention. No winner is named among the selected policy and its ties."""
    indistinguishable: list[str]
    """Policies whose paired confidence interval of the difference from the selected one
    includes zero."""
    table: pd.DataFrame
    """One row per policy: ``policy, mean, n, status, eliminated_at, eliminated_by,
    advantage, ci_low, ci_high``; ``advantage`` is how much better the selected policy is (in
    the metric's own units, positive = better, paired over the replications both have)."""
    metric: str
    goal: Goal
    indifference: float
    confidence: float
    first_stage: int
    h2: float
    """KN's ``h²``: a policy pair is settled by ``h² S²/δ²`` replications at the latest."""
    replications: dict[str, int]
    """Replications each policy took part in."""
    stopped: str
    """``"one_left"`` (the procedure's own end), ``"budget"`` (max replications reached with
    several policies still in contention) or ``"identical"`` (policies with identical outputs)."""
    guarantee: str
    """The guarantee in words (and whether it holds for this run)."""
    runs: pd.DataFrame | None = None
    """With the model: every replication the selection saw (all KPIs), tidy."""
    scenario_hash: str = ""
    seed: int = 0
    executor: str = ""
    computed: int = 0
    from_store: int = 0
    elapsed_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def total_replications(self) -> int:
        """Replications spent, over every policy."""
        return sum(self.replications.values())

    @property
    def resolved(self) -> bool:
        """A single policy is best by at least the indifference zone, as far as the data say."""
        return not self.ties and not self.indistinguishable

    @property
    def contenders(self) -> list[str]:
        """The selected policy and those no winner is named over."""
        return [self.selected, *dict.fromkeys(self.ties + self.indistinguishable)]

    def summary(self) -> str:
        """A few lines of plain text: what was selected, its ties, the cost, the guarantee."""
        lead = (
            f"selected {self.selected}"
            + (f"; tied within {self.indifference:g}: {', '.join(self.ties)}" if self.ties else "")
            + (
                f"; statistically indistinguishable: {', '.join(self.indistinguishable)}"
                if self.indistinguishable
                else ""
            )
        )
        spent = ", ".join(f"{p} {n}" for p, n in self.replications.items())
        return "\n".join(
            [
                f"{self.metric} ({'higher' if self.goal == 'max' else 'lower'} is better), "
                f"indifference zone {self.indifference:g}, confidence {self.confidence:.0%}",
                lead,
                f"replications: {self.total_replications} ({spent})",
                self.guarantee,
            ]
        )

    def __str__(self) -> str:
        return self.summary()

    def experiment(self) -> ExperimentResult:
        """The runs as an :class:`~returnsim.experiment.ExperimentResult` (summaries, paired
        comparisons, the report); policies dropped early have fewer replications."""
        from ..experiment import ExperimentResult

        if self.runs is None:
            raise ValueError("this selection was not run on the model: it has no runs")
        policies = list(self.replications)
        return ExperimentResult(
            runs=self.runs,
            policies=policies,
            seed=self.seed,
            replications=int(self.runs.groupby("policy").size().max()),
            scenario_hash=self.scenario_hash,
            executor=self.executor,
            computed=self.computed,
            from_store=self.from_store,
            elapsed_seconds=self.elapsed_seconds,
            notes=list(self.notes),
        )


def _check_confidence(confidence: Any, k: int) -> float:
    c = positive("confidence", confidence)
    if not (1.0 / k < c < 1.0):
        raise DecideError(f"confidence must be between 1/{k} (a guess among {k}) and 1, got {confidence!r}")
    return c


def kn_select(
    sampler: Sampler,
    indifference: float,
    confidence: float = 0.95,
    goal: Goal = "max",
    *,
    first_stage: int = 20,
    max_replications: int | None = None,
    batch: int = 1,
    metric: str = "value",
) -> Selection:
    """Kim & Nelson's fully sequential procedure on any :class:`~.samplers.Sampler`.

    Args:
        sampler: where observations come from (observation ``j`` of every system shares its
            random numbers).
        indifference: ``δ`` > 0, the smallest difference worth detecting, in the metric's units.
        confidence: ``1 - α``, between ``1/k`` and 1.
        goal: ``"max"`` or ``"min"``.
        first_stage: ``n0`` >= 2 observations of every system before screening starts (and from
            which the variances of differences are estimated); at most the sampler's limit.
        max_replications: stop here even if several systems are left (they are reported as
            ties and the guarantee is void); default: the sampler's limit, or none.
        batch: observations to request at once (spread over the systems left): more keeps a
            pool of workers busy, at the cost of a few observations of systems dropped meanwhile.
            Decisions are the same whatever the batch.
        metric: the metric's name, for the result.

    Returns:
        A :class:`Selection`.
    """
    import pandas as pd

    names = list(sampler.systems)
    k = len(names)
    if k < 1:
        raise DecideError("nothing to select from: no policies")
    delta = positive("indifference", indifference)
    if goal not in ("max", "min"):
        raise DecideError(f"goal must be 'max' or 'min', got {goal!r}")
    conf = _check_confidence(confidence, max(k, 2))
    n0 = positive("first_stage", first_stage, integer=True, minimum=1)
    cap = math.inf if max_replications is None else positive("max_replications", max_replications, integer=True)
    if sampler.limit is not None:
        cap = min(cap, sampler.limit)
        n0 = min(n0, sampler.limit)
    if n0 < 2:
        raise DecideError(f"a selection needs at least 2 replications of every policy; {int(min(cap, n0))} available")
    if cap < n0:
        raise DecideError(f"max_replications ({cap}) is below the first stage ({n0})")
    sign = 1.0 if goal == "max" else -1.0

    data: list[list[float]] = [[] for _ in names]

    def fetch(idx: list[int], upto: int) -> None:
        start = min(len(data[i]) for i in idx)
        stop = min(max(upto, start + 1), cap) if math.isfinite(cap) else max(upto, start + 1)
        values = sampler.sample([names[i] for i in idx], start, int(stop))
        for row, i in zip(values, idx, strict=True):
            data[i].extend(float(v) for v in row[len(data[i]) - start:])

    fetch(list(range(k)), n0)
    first = np.array([d[:n0] for d in data]) * sign
    diff = first[:, None, :] - first[None, :, :]
    s2 = diff.var(axis=2, ddof=1)  # n0 >= 2, checked above
    eta, h2 = kn_constants(k, conf, n0) if k > 1 else (0.0, 0.0)

    def w(i: int, j: int, r: int) -> float:
        """KN's allowance W_ij(r): how far i's mean may trail j's at r and stay in."""
        return max(0.0, delta / (2 * r) * (h2 * s2[i, j] / delta**2 - r))

    alive = list(range(k))
    sums = first.sum(axis=1)
    r = n0
    out: dict[int, tuple[int, int]] = {}
    stopped = "one_left"
    while True:
        means = sums / r
        keep = []
        for i in alive:
            beaten = [(means[j] - w(i, j, r) - means[i], j) for j in alive if j != i and means[i] < means[j] - w(i, j, r)]
            if beaten:
                out[i] = (r, max(beaten)[1])
            else:
                keep.append(i)
        alive = keep
        if len(alive) <= 1:
            break
        if all(s2[i, j] == 0 and means[i] == means[j] for i in alive for j in alive):
            stopped = "identical"  # the same output every time: nothing will ever separate them
            break
        if r >= cap:
            stopped = "budget"
            break
        lacking = [i for i in alive if len(data[i]) <= r]
        if lacking:
            fetch(lacking, r + max(1, math.ceil(batch / len(alive))))
        for i in alive:
            sums[i] += sign * data[i][r]
        r += 1

    final = sums / r
    best = max(alive, key=lambda i: final[i])
    used = {i: (out[i][0] if i in out else r) for i in range(k)}
    rows, ties, same = [], [], []
    from scipy import stats

    for i in range(k):
        n = used[i]
        x = np.asarray(data[i][:n]) * sign
        mean = float(np.asarray(data[i][:n]).mean())
        if i == best:
            rows.append((names[i], mean, n, "selected", math.nan, "", 0.0, 0.0, 0.0))
            continue
        m = min(n, used[best])
        d = np.asarray(data[best][:m]) * sign - x[:m]
        adv = float(d.mean())
        sd = float(d.std(ddof=1)) if m > 1 else math.nan
        half = float(stats.t.ppf(0.5 + conf / 2, m - 1) * sd / math.sqrt(m)) if m > 1 and sd > 0 else 0.0
        lo, hi = adv - half, adv + half
        if i in alive:
            status = "identical" if stopped == "identical" else "not resolved"
        else:
            status = "within δ" if adv < delta else "eliminated"
        if status != "eliminated":
            ties.append(names[i])
        if lo <= 0.0 <= hi:
            same.append(names[i])
        by = names[out[i][1]] if i in out else ""
        at = out[i][0] if i in out else math.nan
        rows.append((names[i], mean, n, status, at, by, adv, lo, hi))
    table = pd.DataFrame(
        rows, columns=["policy", "mean", "n", "status", "eliminated_at", "eliminated_by", "advantage", "ci_low", "ci_high"]
    )
    return Selection(
        selected=names[best],
        ties=ties,
        indistinguishable=same,
        table=table,
        metric=metric,
        goal=goal,
        indifference=delta,
        confidence=conf,
        first_stage=n0,
        h2=h2,
        replications={names[i]: used[i] for i in range(k)},
        stopped=stopped,
        guarantee=_guarantee(metric, goal, delta, conf, stopped, k),
    )


def _guarantee(metric: str, goal: str, delta: float, conf: float, stopped: str, k: int) -> str:
    better = "higher" if goal == "max" else "lower"
    text = (
        f"Guarantee (Kim & Nelson 2001, KN): if the best policy's mean {metric} is at least "
        f"{delta:g} {better} than every other's, the procedure selects it with probability at "
        f"least {conf:.0%} (outputs taken as normally distributed; common random numbers "
        "allowed). Policies closer than that are treated as equally good."
    )
    if k == 1:
        return "Only one policy: nothing to select."
    if stopped == "budget":
        text += " This run stopped at its replication budget with several policies still in contention: the guarantee does not apply to its choice among them."
    if stopped == "identical":
        text += " Some policies gave identical results in every replication: they are reported as ties."
    return text


def select_best(
    scenario: Scenario | str | Path | Mapping[str, Any],
    policies: Sequence[str] | None = None,
    metric: str = "policy_profit_per_order",
    indifference: float = 0.05,
    confidence: float = 0.95,
    *,
    goal: Goal | None = None,
    first_stage: int = 20,
    max_replications: int = 2000,
    seed: int = 0,
    store: str | Path | ResultStore | None = None,
    executor: Executor | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> Selection:
    """Select the best policy of a scenario with KN and common random numbers.

    Args:
        scenario: a :class:`Scenario`, a path to a scenario file, or a dict.
        policies: policies to choose from (default: all).
        metric: a KPI or ledger category (``returnsim.experiment.METRICS``).
        indifference: the smallest difference worth acting on, in the metric's units (e.g.
            0.05 for five cents of profit per order). Must be > 0.
        confidence: probability of selecting the best when it is at least ``indifference``
            better than the rest.
        goal: ``"max"`` or ``"min"`` (default: from the metric: costs and defect rates are
            minimised, value and retention maximised).
        first_stage: replications of every policy before any is dropped (``n0`` >= 2).
        max_replications: budget per policy; policies still in contention there are reported
            as ties.
        seed: base seed; replication ``r`` of every policy uses ``SeedSequence([seed, r])``.
        store: a results store: replications already there (from ``run_experiment`` with the
            same scenario and seed, or an interrupted selection) are reused, new ones committed.
        executor, scheduler, workers: where to run (as for ``run_experiment``).
        progress: a bar only where someone watches (``None``, default), always, or never.

    Returns:
        A :class:`Selection`.

    Raises:
        DecideError: an indifference zone <= 0, an unknown metric or policy, a confidence
            outside (1/k, 1).
    """
    import pandas as pd

    from ..experiment.tasks import METRICS
    from ..scenario.loader import as_scenario
    from .runner import StudyRunner
    from .sweep import check_policies

    started = time.perf_counter()
    check_metric(metric)
    positive("indifference", indifference)
    sc = as_scenario(scenario)
    names = check_policies(sc, policies)
    direction = goal_of(metric, goal)
    with StudyRunner(seed, executor=executor, scheduler=scheduler, workers=workers, store=store,
                     progress=progress, desc="selection") as runner:
        sampler = ModelSampler(sc, names, metric, runner)
        parallel = runner.backend.executor is not None or runner.backend.workers > 1
        result = kn_select(
            sampler, indifference, confidence, direction, first_stage=first_stage,
            max_replications=max_replications, batch=4 * runner.backend.workers if parallel else 1,
            metric=metric,
        )
        # The replications the procedure used: a pool runs whole batches ahead, and what it
        # simulated past the stop stays in the store but is no part of this selection.
        used = [r for r in sampler.records() if int(r["replication"]) < result.replications[r["policy"]]]
        recs = sorted(used, key=lambda r: (names.index(r["policy"]), int(r["replication"])))
        runs = pd.DataFrame(
            {
                "policy": [r["policy"] for r in recs],
                "replication": np.array([int(r["replication"]) for r in recs], dtype=np.int64),
                "seed": np.array([int(r["seed"]) for r in recs], dtype=np.int64),
                **{m: np.array([float(r[m]) for r in recs]) for m in METRICS},
            }
        )
        result.runs = runs
        result.scenario_hash = sampler.key
        result.seed = runner.seed
        result.executor = runner.executor_name
        result.computed = runner.computed
        result.from_store = runner.from_store
    result.elapsed_seconds = time.perf_counter() - started
    return result


def replay(
    runs: pd.DataFrame,
    metric: str = "policy_profit_per_order",
    indifference: float = 0.05,
    confidence: float = 0.95,
    *,
    goal: Goal | None = None,
    first_stage: int = 20,
    policies: Sequence[str] | None = None,
) -> Selection:
    """KN run on replications already made (a ``runs`` frame of an experiment).

    KN's decisions at replication ``r`` use only the first ``r`` replications, so running it on
    a finished experiment is the same procedure, as long as it ends before the data do. When
    it does not, the policies still in contention are reported as not resolved (ties): the
    replications available do not separate them.
    """
    check_metric(metric)
    return kn_select(
        TableSampler(runs, metric, policies), indifference, confidence, goal_of(metric, goal),
        first_stage=first_stage, metric=metric,
    )
