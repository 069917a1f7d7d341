"""The experiment engine's precision rounds and its store, recomputed by hand from the runs.

With ``target_half_width``, ``run_experiment`` adds replications in rounds. The rule it documents:
after a round of ``n`` replications whose worst 95 % half-width ``h`` exceeds the target ``g``,
half-widths shrink like ``1/√n``, so the next round is ``⌈1.1 n (h/g)²⌉`` (a 10 % margin, since
the t quantile and the sd move too), at least ``n + 1``, at most ``4 n`` and at most
``max_replications``. Each round's size is recomputed here from the replications the result
holds (Student t from scipy), so a projection that is off by a square, a margin or a cap fails.
"""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest
from conftest import MMC_SCENARIO
from scipy import stats

import returnsim as rs

METRIC = "desk_wait_hours_mean"


def _half_width(runs: pd.DataFrame, policy: str, n: int) -> float:
    x = runs[(runs["policy"] == policy) & (runs["replication"] < n)][METRIC].to_numpy()
    return float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))


def _next_round(runs: pd.DataFrame, policies: list[str], n: int, goal: float, cap: int) -> int:
    worst = max(_half_width(runs, p, n) for p in policies)
    assert worst > goal  # otherwise there is no next round
    return min(cap, 4 * n, max(n + 1, math.ceil(1.1 * n * (worst / goal) ** 2)))


# Rounds of these cases (seed 7): 0.03 -> [5, 20, 34] and 0.035 -> [2, 8, 24, 28] end on the
# projection itself, not on a cap; 0.02 -> [4, 16, 40] ends at max_replications.
@pytest.mark.parametrize(("goal", "first", "cap"), [(0.03, 5, 200), (0.02, 4, 40), (0.035, 2, 200)])
def test_each_round_is_the_projection_computed_by_hand(goal, first, cap):
    sc = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 5})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rs.run_experiment(sc, replications=first, seed=7, workers=1, progress=False,
                                target_half_width={METRIC: goal}, max_replications=cap)
    rounds = res.rounds
    assert rounds[0] == first and len(rounds) >= 2
    for n, nxt in zip(rounds, rounds[1:], strict=False):
        assert nxt == _next_round(res.runs, res.policies, n, goal, cap), (rounds, n)
    last = rounds[-1]
    met = max(_half_width(res.runs, p, last) for p in res.policies) <= goal
    assert res.stopped_reason == ("target_reached" if met else "max_replications")
    assert met or last == cap
    assert any(issubclass(w.category, rs.experiment.PrecisionWarning) for w in caught) == (not met)


def test_a_projection_is_capped_at_four_times_the_round():
    # A target a hundred times tighter than one round gives: (h/g)² ~ 10⁴, capped at 4 n.
    sc = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 3})
    with pytest.warns(rs.experiment.PrecisionWarning, match="max_replications=40"):
        res = rs.run_experiment(sc, ["fifo"], replications=3, seed=1, workers=1, progress=False,
                                target_half_width={METRIC: 1e-4}, max_replications=40)
    assert res.rounds == [3, 12, 40]


def test_resume_reads_only_rows_of_the_same_scenario_seed_and_policies(tmp_path):
    store = tmp_path / "runs.sqlite"
    sc = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 3})
    kw = dict(workers=1, progress=False, store=store)
    both = rs.run_experiment(sc, ["fifo", "deadline"], replications=3, seed=4, **kw)
    assert both.computed == 6
    # One of the two policies: its 3 rows are read back, the other's are not in the result.
    one = rs.run_experiment(sc, ["deadline"], replications=5, seed=4, **kw)
    assert (one.from_store, one.computed) == (3, 2)
    assert set(one.runs["policy"]) == {"deadline"} and len(one.runs) == 5
    fresh = rs.run_experiment(sc, ["deadline"], replications=5, seed=4, workers=1, progress=False)
    pd.testing.assert_frame_equal(one.runs, fresh.runs)
    # Another seed or another scenario reads nothing.
    assert rs.run_experiment(sc, ["deadline"], replications=2, seed=5, **kw).from_store == 0
    longer = rs.load_scenario(MMC_SCENARIO, {"horizon_days": 4})
    assert rs.run_experiment(longer, ["deadline"], replications=2, seed=4, **kw).from_store == 0
