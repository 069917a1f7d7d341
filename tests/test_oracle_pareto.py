"""The Pareto frontier against its definition: ties, duplicates, a constant objective, directions.

A candidate is dominated when another is at least as good on every objective and strictly
better on one; the frontier is every candidate that is not. Random cases use small integer means
so that ties are common, and the frontier is computed again by brute force from the definition.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from returnsim.decide import DecideError, pareto

OBJ = ["net_return_cost_per_order", "rdr", "repeat_purchase_rate"]


def _runs(means: dict[str, tuple[float, ...]], objectives: list[str], spread: float = 0.01) -> pd.DataFrame:
    """Two replications per candidate, at mean ± spread: the means are exact."""
    rows = []
    for name, m in means.items():
        for r, s in enumerate((-spread, spread)):
            rows.append({"policy": name, "replication": r, **{o: v + s for o, v in zip(objectives, m, strict=True)}})
    return pd.DataFrame(rows)


def _frontier(means: dict[str, tuple[float, ...]], goals: list[str]) -> dict[str, set[str]]:
    """name -> the candidates dominating it, by the definition."""
    sign = np.array([1.0 if g == "max" else -1.0 for g in goals])
    out = {}
    for i, mi in means.items():
        a = np.array(mi) * sign
        out[i] = {j for j, mj in means.items() if j != i and np.all(np.array(mj) * sign >= a)
                  and np.any(np.array(mj) * sign > a)}
    return out


@pytest.mark.parametrize("seed", range(30))
def test_frontier_is_the_definition_on_random_cases_with_ties(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 4))
    k = int(rng.integers(2, 9))
    goals = [str(g) for g in rng.choice(["min", "max"], d)]
    objs = OBJ[:d]
    means = {f"c{i}": tuple(float(v) for v in rng.integers(0, 4, d)) for i in range(k)}
    if rng.random() < 0.5:  # an exact duplicate of a candidate
        means["copy"] = means["c0"]
    front = pareto(_runs(means, objs), dict(zip(objs, goals, strict=True))).set_index("policy")
    truth = _frontier(means, goals)
    for name, by in truth.items():
        assert front.loc[name, "pareto"] == (not by), (name, means, goals)
        shown = set(filter(None, front.loc[name, "dominated_by"].split(", ")))
        assert shown == by, (name, means, goals)
    assert front["pareto"].any()  # a finite set always has a non-dominated member


def test_ties_and_duplicates_stay_on_the_frontier_together():
    means = {"a": (1.0, 5.0), "a_copy": (1.0, 5.0), "b": (2.0, 3.0), "worse": (2.0, 5.0)}
    front = pareto(_runs(means, OBJ[:2]), {OBJ[0]: "min", OBJ[1]: "min"}).set_index("policy")
    assert front["pareto"].to_dict() == {"a": True, "a_copy": True, "b": True, "worse": False}
    # Equal on one objective and worse on the other is dominated, by every such candidate.
    assert set(front.loc["worse", "dominated_by"].split(", ")) == {"a", "a_copy", "b"}


def test_a_constant_objective_leaves_the_best_on_the_other():
    # When every candidate ties on one objective, the frontier is the best on the other (all of
    # them if several share it).
    means = {"p": (3.0, 1.0), "q": (1.0, 1.0), "r": (1.0, 1.0), "s": (2.0, 1.0)}
    front = pareto(_runs(means, OBJ[:2]), {OBJ[0]: "min", OBJ[1]: "max"}).set_index("policy")
    assert front.index[front["pareto"]].tolist() == ["q", "r"]
    flipped = pareto(_runs(means, OBJ[:2]), {OBJ[0]: "max", OBJ[1]: "max"}).set_index("policy")
    assert flipped.index[flipped["pareto"]].tolist() == ["p"]


def test_one_objective_is_not_a_frontier():
    with pytest.raises(DecideError, match="at least two objectives"):
        pareto(_runs({"a": (1.0,)}, OBJ[:1]), {OBJ[0]: "min"})


def test_intervals_are_t_intervals_and_uncertain_means_overlapping_on_every_objective():
    from scipy import stats

    # Replications at mean ± 0.5: sd = 0.5·√2, half-width t(0.975, 1) · 0.5·√2 / √2 = 6.35.
    wide = _runs({"a": (1.0, 1.0), "b": (1.2, 1.2)}, OBJ[:2], spread=0.5)
    front = pareto(wide, {OBJ[0]: "min", OBJ[1]: "min"}).set_index("policy")
    half = stats.t.ppf(0.975, 1) * 0.5
    assert front.loc["a", f"{OBJ[0]}_high"] == pytest.approx(1.0 + half)
    assert front.loc["b", f"{OBJ[1]}_low"] == pytest.approx(1.2 - half)
    assert not front.loc["b", "pareto"] and front.loc["b", "uncertain"]
    narrow = pareto(_runs({"a": (1.0, 1.0), "b": (1.2, 1.2)}, OBJ[:2], spread=0.001), {OBJ[0]: "min", OBJ[1]: "min"})
    assert not narrow.set_index("policy").loc["b", "uncertain"]
    # Overlap on one objective only is not enough to call the domination uncertain.
    mixed = _runs({"a": (1.0, 1.0), "b": (1.2, 3.0)}, OBJ[:2], spread=0.05)
    mixed.loc[mixed.policy == "b", OBJ[0]] += [-0.3, 0.3]
    assert not pareto(mixed, {OBJ[0]: "min", OBJ[1]: "min"}).set_index("policy").loc["b", "uncertain"]


def test_the_frontier_does_not_depend_on_the_order_of_candidates():
    means = {f"c{i}": (float(i % 3), float((7 * i) % 4)) for i in range(8)}
    runs = _runs(means, OBJ[:2])
    goals = {OBJ[0]: "min", OBJ[1]: "max"}
    base = pareto(runs, goals).set_index("policy")["pareto"]
    for perm in itertools.islice(itertools.permutations(list(means)), 0, 200, 37):
        shuffled = pd.concat([runs[runs.policy == p] for p in perm])
        assert pareto(shuffled, goals).set_index("policy")["pareto"].sort_index().equals(base.sort_index())
