"""The one-line answer, class by class, with its exact sentence rebuilt from the CSV files.

Each case is a made-up experiment whose verdict class is known by construction: a resolved
winner, a tie within the indifference zone, a selection the replications cannot finish, every
policy breaking an account-health target, and the paired-interval rule used before Kim &
Nelson's first stage. The expected sentence is written out from summary.csv and comparison.csv
as ``ExperimentResult.to_csv`` writes them (and, for the number of replications Kim & Nelson
spends, from the independent implementation in tests/oracles/kn.py), so a verdict that names
the wrong policy, quotes another number, or says "tied" for a resolved case fails.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from oracles import kn as ref
from scipy import stats

from returnsim.experiment import ExperimentResult
from returnsim.experiment.tasks import METRICS
from returnsim.output.answer import answer

METRIC = "policy_profit_per_order"


def _result(gaps: dict[str, float], n: int = 40, common: float = 1.0, own: float = 0.1, seed: int = 0,
            rdr: dict[str, float] | None = None) -> ExperimentResult:
    """Policy p's profit per order the returns policy changes in replication r: 10 + gap + shared noise + its own (every
    other metric 0, so no account-health target is broken unless ``rdr`` says so)."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, common, n)
    rows = []
    for p, mu in gaps.items():
        mine = rng.normal(0, own, n)
        for r in range(n):
            row = {"policy": p, "replication": r, "seed": 0, **dict.fromkeys(METRICS, 0.0),
                   METRIC: 10 + mu + shared[r] + mine[r]}
            if rdr is not None:
                row["rdr"] = rdr[p]
            rows.append(row)
    return ExperimentResult(runs=pd.DataFrame(rows), policies=list(gaps), seed=0, replications=n, scenario_hash="x")


def _csvs(res: ExperimentResult, baseline: str, tmp_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    res.to_csv(tmp_path, baseline)
    summary = pd.read_csv(tmp_path / "summary.csv").set_index(["policy", "metric"])
    compare = pd.read_csv(tmp_path / "comparison.csv").set_index(["policy", "metric"])
    return summary.xs(METRIC, level="metric"), compare.xs(METRIC, level="metric")


def money(x: float, sign: bool = False) -> str:
    return ("-" if x < 0 else "+" if sign else "") + f"${abs(x):,.2f}"


def _kn_total(res: ExperimentResult, delta: float = 0.05) -> tuple[int, list[int]]:
    """Replications Kim & Nelson spends on these runs (n0 = 20, 95 %), and who is left."""
    data = [res.runs[res.runs.policy == p].sort_values("replication")[METRIC].tolist() for p in res.policies]
    limit = len(data[0])
    trace = ref.kn([d + [math.nan] * 10_000 for d in data], delta, 0.05, 20)
    last = min(trace.last_r, limit)
    out = {i: min(r, limit) for i, r in trace.eliminated_at.items()}
    left = [i for i in range(len(data)) if i not in out or trace.eliminated_at[i] > limit]
    return sum(out.get(i, last) if i not in left else last for i in range(len(data))), left


def _gap(best: str, other: str, compare: pd.DataFrame, summary: pd.DataFrame, runner_up: bool) -> str:
    d = compare.loc[best]
    role = " (the runner-up)" if runner_up else ""
    return (f"{money(d['mean_diff'], True)} vs {other}{role} "
            f"(paired 95 % CI {money(d['ci_low'], True)} to {money(d['ci_high'], True)})")


def _lead(best: str, summary: pd.DataFrame) -> str:
    s = summary.loc[best]
    return f"best profit per order the returns policy changes, {money(s['mean'])} (95 % CI {money(s['ci_low'])} to {money(s['ci_high'])})"


def test_a_resolved_winner_is_named_with_its_numbers(tmp_path):
    res = _result({"a": 0.0, "b": 1.0, "c": -1.0})
    summary, compare = _csvs(res, "a", tmp_path)
    total, left = _kn_total(res)
    assert left == [1]  # KN ends with b alone (reference implementation)
    expected = (
        f"Answer: b: {_lead('b', summary)}, {_gap('b', 'a', compare, summary, False)}; a selection procedure "
        f"(Kim & Nelson, {total} replications in all) rules out each of the 2 other policies: it picks the best "
        "with at least 95% probability when the best leads by $0.05 or more."
    )
    a = answer(res, baseline="a")
    assert a.text("$") == expected
    assert a.resolved and a.tied == [] and a.best == "b"


def test_keeping_the_baseline_says_keep(tmp_path):
    res = _result({"a": 1.0, "b": 0.0, "c": -1.0})
    a = answer(res, baseline="a")
    res.to_csv(tmp_path, "b")  # differences from the runner-up, b
    compare = pd.read_csv(tmp_path / "comparison.csv").set_index(["policy", "metric"]).xs(METRIC, level="metric")
    d = compare.loc["a"]
    assert a.text("$").startswith("Answer: keep a: best profit per order the returns policy changes")
    assert (f"{money(d['mean_diff'], True)} vs b (the runner-up) (paired 95 % CI {money(d['ci_low'], True)} to "
            f"{money(d['ci_high'], True)})") in a.text("$")


def test_a_tie_within_the_indifference_zone_names_both_and_no_winner(tmp_path):
    res = _result({"a": 0.0, "b": 0.01, "c": -1.0})
    summary, compare = _csvs(res, "a", tmp_path)
    a = answer(res, baseline="a")
    best = a.best
    assert best in ("a", "b")
    other = "a" if best == "b" else "b"
    assert a.tied == [other]
    if best == "a":  # the best is the baseline: the gap is to the runner-up
        res.to_csv(tmp_path, "b")
        compare = pd.read_csv(tmp_path / "comparison.csv").set_index(["policy", "metric"]).xs(METRIC, level="metric")
        gap = _gap("a", "b", compare, summary, True)
    else:
        gap = _gap("b", "a", compare, summary, False)
    expected = (
        f"Answer: no clear winner on profit per order the returns policy changes: {best} ({money(summary.loc[best, 'mean'])}) and {other} "
        f"({money(summary.loc[other, 'mean'])}) are tied. They are within $0.05 of each other or statistically "
        f"indistinguishable, by Kim & Nelson's procedure. {best} has the best mean, {gap}."
    )
    assert a.text("$") == expected


def test_a_selection_the_replications_cannot_finish_says_so(tmp_path):
    # b leads by 0.08 > δ, but each policy's own noise is large: KN would need thousands of
    # replications (h² S² / δ²), and 40 are all there are.
    res = _result({"a": 0.0, "b": 0.08}, own=1.0, seed=3)
    summary, compare = _csvs(res, "a", tmp_path)
    total, left = _kn_total(res)
    assert len(left) == 2 and total == 80
    a = answer(res, baseline="a")
    assert a.selection.stopped == "budget" and a.selection.total_replications == total
    best = a.best
    other = "a" if best == "b" else "b"
    if best == "a":
        res.to_csv(tmp_path, "b")
        compare = pd.read_csv(tmp_path / "comparison.csv").set_index(["policy", "metric"]).xs(METRIC, level="metric")
    gap = _gap(best, other, compare, summary, best == "a")
    expected = (
        f"Answer: no clear winner on profit per order the returns policy changes: {best} ({money(summary.loc[best, 'mean'])}) and {other} "
        f"({money(summary.loc[other, 'mean'])}) are tied. They are within $0.05 of each other, or Kim & Nelson's "
        "procedure cannot separate them in 80 replications; `returnsim select` replicates until it can. "
        f"{best} has the best mean, {gap}."
    )
    assert a.text("$") == expected


def test_every_policy_breaking_a_target_is_warned_and_the_answer_says_so(tmp_path):
    res = _result({"a": 0.0, "b": 1.0}, rdr={"a": 0.12, "b": 0.10})  # 10 % is Amazon's RDR target
    a = answer(res, baseline="a")
    assert set(a.warnings) == {"a", "b"}
    assert [str(w) for w in a.warnings["b"]][0].startswith("b: return dissatisfaction rate 10.0% of return requests")
    assert " Note: b breaks an account-health target (below)." in a.text("$")
    # Every policy breaks it, so none is excluded and the answer says none meets it (issue 18).
    assert a.ranked == ["b", "a"] and "No policy meets Amazon's return dissatisfaction rate target" in a.text("$")
    fine = answer(_result({"a": 0.0, "b": 1.0}, rdr={"a": 0.0999, "b": 0.05}), baseline="a")
    assert fine.warnings == {} and "Note:" not in fine.text("$")


def test_before_the_first_stage_the_answer_uses_bonferroni_paired_intervals(tmp_path):
    # 8 replications (< 20): paired t intervals at 1 - 0.05/2 decide the ties, by hand.
    res = _result({"a": 0.0, "b": 0.3, "c": 0.25}, n=8, own=0.1, seed=2)
    summary, compare = _csvs(res, "a", tmp_path)
    runs = res.runs.pivot(index="replication", columns="policy", values=METRIC)
    best = summary["mean"].idxmax()
    tied = []
    for p in ("a", "b", "c"):
        if p == best:
            continue
        d = runs[best] - runs[p]
        half = stats.t.ppf(1 - 0.05 / 2 / 2, 7) * d.std(ddof=1) / math.sqrt(8)
        if d.mean() - half <= 0:
            tied.append(p)
    a = answer(res, baseline="a")
    assert a.selection is None and a.best == best and sorted(a.tied) == sorted(tied)
    text = a.text("$")
    if not tied:
        assert text == (f"Answer: {best}: {_lead(best, summary)}, {_gap(best, 'a', compare, summary, False)}; "
                        "it beats each of the 2 other policies (95 % joint confidence, 8 paired replications).")
    else:
        assert text.startswith("Answer: no clear winner on profit per order the returns policy changes: ")
        assert "The replications do not separate them at 95 % joint confidence; more replications may." in text


def test_one_replication_names_no_winner():
    res = _result({"a": 0.0, "b": 1.0}, n=1)
    text = answer(res, baseline="a").text("$")
    mean = res.runs.loc[res.runs.policy == "b", METRIC].iloc[0]
    assert text == ("Answer: one replication cannot say which policy is best; run at least 2 "
                    f"(highest profit per order the returns policy changes so far: b, {money(mean)}, with no interval yet).")


def test_the_paired_rule_is_bonferronis_not_the_per_comparison_level():
    # Three policies, 8 replications: b trails the best by 2.6 standard errors of the paired
    # difference. That clears a single 95 % interval (t(0.975, 7) = 2.365) but not the joint one
    # over k - 1 = 2 comparisons (t(1 - 0.025/2, 7) = 2.841): b is tied; c, far behind, is not.
    z = np.array([-1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5])
    z = (z - z.mean()) / z.std(ddof=1)
    sd = 0.2
    gap = 2.6 * sd / math.sqrt(8)
    assert stats.t.ppf(0.975, 7) < 2.6 < stats.t.ppf(1 - 0.025 / 2, 7)
    shared = np.linspace(-1, 1, 8)
    values = {"best": 10 + shared, "b": 10 + shared - gap - sd * z, "c": 10 + shared - 5.0 + 0.01 * z}
    rows = [{"policy": p, "replication": r, "seed": 0, **dict.fromkeys(METRICS, 0.0), METRIC: float(v[r])}
            for p, v in values.items() for r in range(8)]
    res = ExperimentResult(runs=pd.DataFrame(rows), policies=list(values), seed=0, replications=8, scenario_hash="x")
    a = answer(res, baseline="best")
    assert a.best == "best" and a.tied == ["b"] and not a.resolved
    assert a.text("$").startswith("Answer: no clear winner on profit per order the returns policy changes: best ($10.00) and b ")
