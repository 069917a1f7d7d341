"""Pareto frontiers: the candidates no other beats on every objective at once.

When cost and customer outcomes pull apart (a cheaper policy that answers later, or keeps fewer
customers), there is no single best policy, only a frontier of policies where cutting cost
further costs something else. A candidate is *dominated* when another is at least as good on
every objective and better on one; the frontier is the rest. Candidates are policies of an
experiment, the lever values of an optimisation, the points of a sweep: anything with a column
that names them in a tidy runs frame.

Means decide domination; each objective's confidence interval is reported beside it, and a
domination whose intervals overlap on every objective is flagged as ``uncertain``: more
replications could move that candidate onto the frontier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DecideError, check_metric, goal_of

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["pareto", "FRONTIERS"]

FRONTIERS: dict[str, dict[str, str]] = {
    "cost_vs_rdr": {"net_return_cost_per_order": "min", "rdr": "min"},
    "cost_vs_retention": {"net_return_cost_per_order": "min", "repeat_purchase_rate": "max"},
}
"""The two frontiers a seller looks at first: net cost per order against Amazon's Return
Dissatisfaction Rate, and against the share of returners who buy again."""


def pareto(
    runs: Any,
    objectives: Mapping[str, str] | Sequence[str] = ("net_return_cost_per_order", "rdr"),
    by: str = "policy",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Which candidates are on the Pareto frontier of ``objectives``.

    Args:
        runs: a tidy runs frame (or anything with a ``runs`` frame: an experiment, a selection,
            a sweep) with one row per candidate and replication.
        objectives: metric -> ``"min"``/``"max"``, or metric names (direction from the metric).
        by: the column naming candidates (``"policy"``; ``"point"`` for a sweep).
        confidence: level of the intervals.

    Returns:
        One row per candidate: ``by``, per objective its ``mean``, ``ci_low`` and ``ci_high``
        (columns ``<metric>``, ``<metric>_low``, ``<metric>_high``), ``pareto`` (on the
        frontier), ``dominated_by`` (candidates that dominate it) and ``uncertain``.
    """
    import pandas as pd
    from scipy import stats

    frame = getattr(runs, "runs", runs)
    if not isinstance(frame, pd.DataFrame):
        raise DecideError("pareto needs a tidy runs frame, or a result that has one")
    goals = dict(objectives) if isinstance(objectives, Mapping) else {m: goal_of(m) for m in objectives}
    if len(goals) < 2:
        raise DecideError("a Pareto frontier needs at least two objectives")
    for m, g in goals.items():
        check_metric(m)
        if g not in ("min", "max"):
            raise DecideError(f"objective {m}: expected 'min' or 'max', got {g!r}")
        if m not in frame.columns:
            raise DecideError(f"objective {m} is not a column of the runs")
    if by not in frame.columns:
        raise DecideError(f"no column {by!r} to name candidates by")
    grouped = frame.groupby(by, sort=False)
    out = pd.DataFrame({by: list(grouped.groups)})
    lows, highs = {}, {}
    for m in goals:
        agg = grouped[m].agg(["mean", "std", "count"])
        t = stats.t.ppf(0.5 + confidence / 2, np.maximum(agg["count"] - 1, 1))
        half = np.where(agg["count"] > 1, t * agg["std"] / np.sqrt(agg["count"]), np.nan)
        out[m] = agg["mean"].to_numpy()
        out[f"{m}_low"] = (agg["mean"] - half).to_numpy()
        out[f"{m}_high"] = (agg["mean"] + half).to_numpy()
        lows[m], highs[m] = out[f"{m}_low"].to_numpy(), out[f"{m}_high"].to_numpy()
    signed = np.column_stack([out[m].to_numpy() * (1 if g == "max" else -1) for m, g in goals.items()])
    names = out[by].tolist()
    dominated_by: list[list[Any]] = []
    uncertain = []
    for i in range(len(out)):
        better = [
            j for j in range(len(out))
            if j != i and np.all(signed[j] >= signed[i]) and np.any(signed[j] > signed[i])
        ]
        dominated_by.append([names[j] for j in better])
        overlap = any(
            all(lows[m][i] <= highs[m][j] and lows[m][j] <= highs[m][i] for m in goals) for j in better
        )
        uncertain.append(bool(better) and overlap)
    out["pareto"] = [not d for d in dominated_by]
    out["dominated_by"] = [", ".join(map(str, d)) for d in dominated_by]
    out["uncertain"] = uncertain
    return out
