"""Summaries, confidence intervals and paired comparisons of replications.

A replication is one draw from the distribution of a policy's outcome; its mean over
replications estimates the expected outcome, and a Student-t interval says how far that estimate
may be from the truth. Comparing two policies is sharper when both were run on the *same* random
streams (common random numbers): the differences replication by replication cancel the noise the
two share, like weighing two parcels on the same scale rather than on two different ones. The
paired comparison reports that gain as ``variance_reduction``: the variance of the difference of
two independent replications, ``var(a) + var(b)``, over the variance of the paired difference,
``var(a - b)``. It is how many times more unpaired replications the same precision would cost.
It is defined only where both variances are: with fewer than two paired replications there is
no variance, and when the paired difference is the same in every replication (zero paired
variance) the ratio has no finite value. There it is missing (NaN, an empty cell in
comparison.csv), never ``inf``, and ``variance_reduction_note`` says why.

Everything here works on a tidy ``runs`` DataFrame (one row per policy and replication), so it
serves experiments, stores and hand-made frames alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "KEY_COLUMNS",
    "metric_columns",
    "mean_ci",
    "summarize",
    "paired_differences",
    "significance_mark",
    "undefined_notes",
]

KEY_COLUMNS = ("policy", "replication", "seed")
"""Columns of a runs frame that identify a run rather than measure it."""

SUMMARY_COLUMNS = ["policy", "metric", "mean", "sd", "n", "ci_low", "ci_high"]
COMPARE_COLUMNS = [
    "policy",
    "baseline",
    "metric",
    "n",
    "mean_diff",
    "sd_diff",
    "ci_low",
    "ci_high",
    "p_value",
    "var_paired",
    "var_unpaired",
    "variance_reduction",
    "variance_reduction_note",
]

# Why variance_reduction is missing (NaN): its two variances need two replications, and its
# ratio needs a paired difference that varies.
VR_NO_REPLICATION = "no paired replication"
VR_ONE_REPLICATION = "one paired replication: no variance to compare"
VR_ZERO_PAIRED_VARIANCE = (
    "zero paired variance: the difference is the same in every replication, so the ratio has no finite value"
)


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """The numeric columns of a runs frame other than its keys, in frame order."""
    return [
        c
        for c in runs.columns
        if c not in KEY_COLUMNS and c != "scenario_hash" and pd.api.types.is_numeric_dtype(runs[c])
    ]


def _policies(runs: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(runs["policy"].tolist()))


def mean_ci(values: Any, confidence: float = 0.95) -> tuple[float, float, int, float, float]:
    """Mean, sample sd, n and the Student-t confidence interval of the non-NaN values.

    With fewer than two values the sd and the interval are NaN; with zero spread the interval
    is the single point.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return (math.nan, math.nan, 0, math.nan, math.nan)
    m = float(x.mean())
    if n < 2:
        return (m, math.nan, 1, math.nan, math.nan)
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        return (m, 0.0, n, m, m)
    from scipy import stats  # here, not at import: scipy.stats costs commands ~0.6 s to start

    lo, hi = stats.t.interval(confidence, n - 1, loc=m, scale=sd / math.sqrt(n))
    return (m, sd, n, float(lo), float(hi))


def summarize(
    runs: pd.DataFrame, metrics: Sequence[str] | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """Per policy and metric: ``mean, sd, n, ci_low, ci_high`` (Student-t, ``confidence``).

    Rows follow the policies' order of appearance in ``runs``, then ``metrics`` order.
    """
    metrics = list(metrics) if metrics is not None else metric_columns(runs)
    rows = []
    for pol in _policies(runs):
        part = runs[runs["policy"] == pol]
        for m in metrics:
            mean, sd, n, lo, hi = mean_ci(part[m].to_numpy(dtype=float), confidence)
            rows.append((pol, m, mean, sd, n, lo, hi))
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out["n"] = out["n"].astype("int64")
    return out


def _paired_stats(d: np.ndarray, a: np.ndarray, b: np.ndarray, confidence: float) -> tuple:
    n = len(d)
    if n < 2:
        mean = float(d.mean()) if n else math.nan
        why = VR_ONE_REPLICATION if n else VR_NO_REPLICATION
        return (n, mean, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, why)
    mean = float(d.mean())
    # A difference the same in every replication up to rounding (a fixed fee; a replay's
    # recorded amounts) has no variance, whatever the rounding of its mean says (scipy would warn
    # of catastrophic cancellation).
    var_p = 0.0 if np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())) else float(d.var(ddof=1))
    var_u = float(a.var(ddof=1) + b.var(ddof=1))
    sd = math.sqrt(var_p)
    if sd == 0.0:
        lo = hi = mean
        p = 1.0 if mean == 0.0 else 0.0
    else:
        from scipy import stats

        test = stats.ttest_rel(a, b)
        ci = test.confidence_interval(confidence)
        lo, hi, p = float(ci.low), float(ci.high), float(test.pvalue)
    if var_p > 0:
        vr, why = var_u / var_p, ""
    else:
        vr, why = math.nan, VR_ZERO_PAIRED_VARIANCE
    return (n, mean, sd, lo, hi, p, var_p, var_u, vr, why)


def paired_differences(
    runs: pd.DataFrame,
    baseline: str,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Paired differences ``policy - baseline`` per policy and metric.

    Replications are matched by their ``replication`` number (and so by random streams, when the
    runs used common random numbers); a pair where either value is NaN is dropped. Columns:
    ``policy, baseline, metric, n, mean_diff, sd_diff, ci_low, ci_high`` (Student t),
    ``p_value`` (two-sided paired t test of a zero mean difference), ``var_paired``
    (``var(a - b)``), ``var_unpaired`` (``var(a) + var(b)``, the variance of the difference of two
    independent replications), ``variance_reduction`` (their ratio: how many times more
    unpaired replications the same precision would cost) and ``variance_reduction_note``
    (empty where the ratio is defined; otherwise why it is missing, NaN: fewer than two paired
    replications, or zero paired variance; it is never ``inf``).

    Raises:
        KeyError: ``baseline`` has no runs.
    """
    policies = _policies(runs)
    if baseline not in policies:
        raise KeyError(f"baseline policy {baseline!r} has no runs; policies: {', '.join(policies)}")
    metrics = list(metrics) if metrics is not None else metric_columns(runs)
    base = runs[runs["policy"] == baseline].set_index("replication")
    rows = []
    for pol in policies:
        if pol == baseline:
            continue
        other = runs[runs["policy"] == pol].set_index("replication")
        reps = other.index.intersection(base.index).sort_values()
        for m in metrics:
            a = other.loc[reps, m].to_numpy(dtype=float)
            b = base.loc[reps, m].to_numpy(dtype=float)
            ok = ~(np.isnan(a) | np.isnan(b))
            a, b = a[ok], b[ok]
            rows.append((pol, baseline, m, *_paired_stats(a - b, a, b, confidence)))
    out = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
    out["n"] = out["n"].astype("int64")
    return out


def significance_mark(p: float) -> str:
    """``***`` below 0.001, ``**`` below 0.01, ``*`` below 0.05, else empty."""
    if p != p:  # NaN
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


# Why a KPI of one replication is not defined (NaN): the count it divides by was zero.
_NO_ORDERS = "no order in the measured days"
_NO_REQUESTS = "no return request in the measured days"
_UNDEFINED_BECAUSE = {
    "return_rate": _NO_ORDERS,
    "net_return_cost_per_order": _NO_ORDERS,
    "caused_margin_per_order": _NO_ORDERS,
    "fulfilment_cost_per_order": _NO_ORDERS,
    "cost_per_order": _NO_ORDERS,
    "policy_profit_per_order": _NO_ORDERS,
    "desk_wait_hours_mean": "no request queued at the desk",
    "desk_wait_probability": "no request queued at the desk",
    "desk_utilization": "no request queued at the desk",
    "repeat_purchase_rate": "no returning customer",
    "post_return_spend_ratio": "no returning customer who had bought before",
    "message_on_time_rate": "no offer sent as a message to an auto-authorised buyer",
    "rdr": "no seller-fulfilled return request",
    "replay_returnless_share": "no request of a seller-fulfilled Returns report replayed",
}


def undefined_notes(runs: pd.DataFrame) -> list[str]:
    """One line per reason a KPI is not defined (NaN) in some replications: which KPIs, which
    policies in how many replications, and that means and intervals use the others.

    A ratio with nothing to divide by is missing, never a number: these lines say why, so a
    table's "-" or a CSV's empty cell is explained where the results are read."""
    if runs.empty:
        return []
    by_reason: dict[str, tuple[list[str], dict[str, int]]] = {}
    n_of = runs.groupby("policy", sort=False).size()
    for metric in metric_columns(runs):
        missing = runs[metric].isna()
        if not missing.any():
            continue
        reason = _UNDEFINED_BECAUSE.get(metric, _NO_REQUESTS)
        metrics, counts = by_reason.setdefault(reason, ([], {}))
        metrics.append(metric)
        for pol, k in runs.loc[missing, "policy"].value_counts(sort=False).items():
            counts[str(pol)] = max(counts.get(str(pol), 0), int(k))
    out = []
    for reason, (metrics, counts) in by_reason.items():
        where = ", ".join(f"{p} {k} of {int(n_of[p])}" for p, k in counts.items())
        out.append(
            f"not defined ({reason}): {', '.join(metrics)} in some replications ({where}); "
            "they are missing (empty in runs.csv), and means and intervals use the other replications"
        )
    return out
