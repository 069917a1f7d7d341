"""Selecting the best with a guarantee: Kim & Nelson's KN on known variates and on the model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import minimal_raw
from scipy import stats

import returnsim as rs
from returnsim.decide import DecideError, NormalSampler, TableSampler, kn_select, replay
from returnsim.decide.selection import kn_constants


def _slippage(k: int, delta: float, sd: np.ndarray, rho: float, best_first: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The least favourable configuration: the best exactly delta ahead of k-1 equal others,
    with unequal variances and a common correlation (common random numbers)."""
    means = np.zeros(k)
    means[0 if best_first else k - 1] = delta
    cov = rho * np.outer(sd, sd)
    np.fill_diagonal(cov, sd**2)
    return means, cov


def _pcs_upper_bound(correct: int, n: int, level: float = 0.99) -> float:
    """One-sided upper confidence bound of a probability of correct selection (Clopper-Pearson)."""
    return float(stats.binomtest(correct, n).proportion_ci(2 * level - 1, method="exact").high)


@pytest.mark.parametrize("goal", ["max", "min"])
def test_pcs_meets_the_guarantee_in_the_slippage_configuration(goal):
    # 300 macro-replications of a case whose ranking is known: s0 is best by exactly delta.
    # The guarantee says P(correct) >= 0.95; the test fails only if the estimate is so low
    # that even its 99 % upper confidence bound is under 0.95.
    k, delta, macro = 5, 1.0, 300
    sd = np.array([2.0, 3.0, 4.0, 3.0, 2.0])
    means, cov = _slippage(k, delta, sd, rho=0.5)
    if goal == "min":
        means = -means
    correct = sum(
        kn_select(NormalSampler(means, cov, seed=m), delta, 0.95, goal, first_stage=10).selected == "s0"
        for m in range(macro)
    )
    assert _pcs_upper_bound(correct, macro) >= 0.95, f"PCS {correct / macro:.3f} over {macro} macro-replications"


def test_a_procedure_without_kns_allowance_would_fail_that_test():
    # The planted bug: screening with a quarter of h² (a continuation region too narrow).
    # The same PCS check must catch it, or the test above proves nothing.
    from returnsim.decide import selection as sel_mod

    k, delta, macro = 5, 1.0, 300
    means, cov = _slippage(k, delta, np.array([2.0, 3.0, 4.0, 3.0, 2.0]), rho=0.5)
    real = sel_mod.kn_constants
    try:
        sel_mod.kn_constants = lambda *a: (real(*a)[0], real(*a)[1] / 8)  # type: ignore[assignment]
        correct = sum(
            kn_select(NormalSampler(means, cov, seed=m), delta, 0.95, "max", first_stage=10).selected == "s0"
            for m in range(macro)
        )
    finally:
        sel_mod.kn_constants = real  # type: ignore[assignment]
    assert _pcs_upper_bound(correct, macro) < 0.95


def test_kn_constants_match_the_paper():
    # eta = ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2, h2 = 2 eta (n0 - 1), by hand:
    eta, h2 = kn_constants(k=2, confidence=0.95, first_stage=11)
    assert eta == pytest.approx(0.5 * (0.1 ** -0.2 - 1))
    assert h2 == pytest.approx(20 * eta)


def test_common_random_numbers_spend_fewer_replications():
    # Positive correlation makes differences less variable: KN must need fewer observations.
    k, delta = 4, 0.5
    sd = np.ones(k)
    spent = {}
    for rho in (0.0, 0.8):
        means, cov = _slippage(k, delta, sd, rho)
        spent[rho] = np.mean(
            [kn_select(NormalSampler(means, cov, seed=m), delta, first_stage=10).total_replications for m in range(40)]
        )
    assert spent[0.8] < 0.5 * spent[0.0]


def test_equal_means_are_reported_as_ties_not_as_a_winner():
    s = kn_select(NormalSampler([0.0, 0.0, -5.0], [1.0, 1.0, 1.0], seed=3), 0.5, first_stage=10)
    other = {"s0": "s1", "s1": "s0"}[s.selected]
    assert other in s.ties and not s.resolved
    assert "s2" not in s.ties and "s2" not in s.indistinguishable
    assert s.replications["s2"] == 10  # dropped at the first look


def test_a_clear_winner_is_resolved_with_few_replications():
    s = kn_select(NormalSampler([3.0, 0.0, 0.0], [1.0, 1.0, 1.0], seed=1), 0.5, first_stage=10)
    assert s.selected == "s0" and s.resolved and s.ties == [] and s.stopped == "one_left"
    row = s.table.set_index("policy").loc["s1"]
    assert row.status == "eliminated" and row.ci_low > 0


def test_identical_systems_stop_as_ties():
    class Same:
        systems = ["a", "b"]
        limit = None

        def sample(self, systems, start, stop):
            x = np.arange(start, stop, dtype=float) % 7
            return np.vstack([x for _ in systems])

    s = kn_select(Same(), 0.1, first_stage=5)
    assert s.stopped == "identical" and s.ties == ["b"] and s.total_replications == 10


def test_budget_stop_voids_the_guarantee_and_reports_ties():
    s = kn_select(NormalSampler([0.0, 0.01], [1.0, 1.0], seed=0), 0.01, first_stage=10, max_replications=30)
    assert s.stopped == "budget" and len(s.ties) == 1
    assert "does not apply" in s.guarantee
    assert max(s.replications.values()) == 30


def test_decisions_do_not_depend_on_the_batch():
    means, cov = _slippage(5, 0.7, np.array([1.0, 2.0, 1.5, 1.0, 2.0]), 0.3)
    one = kn_select(NormalSampler(means, cov, seed=9), 0.7, first_stage=10, batch=1)
    many = kn_select(NormalSampler(means, cov, seed=9), 0.7, first_stage=10, batch=13)
    assert one.selected == many.selected
    assert one.replications == many.replications
    assert one.table["eliminated_at"].equals(many.table["eliminated_at"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"indifference": 0}, "indifference must be a number greater than 0"),
        ({"indifference": -1}, "indifference"),
        ({"confidence": 0.2}, "between 1/3"),
        ({"confidence": 1.0}, "confidence"),
        ({"first_stage": 1}, "first_stage must be an integer greater than 1"),
        ({"goal": "best"}, "goal"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, match):
    args = {"indifference": 0.5, "confidence": 0.95, "first_stage": 10, "goal": "max"}
    args.update(kwargs)
    sampler = NormalSampler([0, 0, 0], [1, 1, 1])
    with pytest.raises(DecideError, match=match):
        kn_select(sampler, args.pop("indifference"), args.pop("confidence"), args.pop("goal"), **args)


def test_unknown_metric_says_did_you_mean(minimal):
    with pytest.raises(DecideError, match="did you mean 'policy_profit_per_order'"):
        rs.select_best(rs.parse_scenario(minimal), metric="policy_profit_per_ordr", progress=False)


def test_replay_on_too_few_replications_names_no_winner():
    import pandas as pd

    rng = np.random.default_rng(0)
    runs = pd.DataFrame(
        {
            "policy": ["a"] * 6 + ["b"] * 6,
            "replication": list(range(6)) * 2,
            "policy_profit_per_order": np.r_[rng.normal(1.0, 1, 6), rng.normal(1.02, 1, 6)],
        }
    )
    s = replay(runs, indifference=0.01, first_stage=5)
    assert s.stopped == "budget" and s.ties and s.total_replications == 12
    assert TableSampler(runs, "policy_profit_per_order").limit == 6


# --------------------------------------------------------------------------------------------
# on the model


def _two_payers() -> rs.Scenario:
    """Free returns cost the seller exactly the labels buyers would otherwise pay: a ranking by
    net return cost known in advance (buyer pays < seller pays), plus an exact copy."""
    raw = minimal_raw(
        horizon_days=20,
        catalog={"widget": {"share": 1.0, "price": {"dist": "uniform", "low": 20, "high": 60}, "weight_lb": 1.0,
                            "return_rate": 0.3, "reasons": {"no_longer_needed": 1.0}}},
        policies={
            "buyer_pays": {"freight": [{"payer": "buyer"}]},
            "seller_pays": {"freight": [{"payer": "seller"}]},
            "also_buyer_pays": {"extends": "buyer_pays"},
        },
    )
    return rs.parse_scenario(raw)


def test_select_best_on_the_model_finds_the_known_best_and_reports_the_copy_as_a_tie():
    sc = _two_payers()
    s = rs.select_best(sc, metric="net_return_cost_per_order", indifference=0.05, progress=False, workers=1)
    assert s.goal == "min"
    assert s.selected in ("buyer_pays", "also_buyer_pays")
    copy = {"buyer_pays": "also_buyer_pays", "also_buyer_pays": "buyer_pays"}[s.selected]
    assert s.ties == [copy] and s.stopped == "identical"
    assert s.table.set_index("policy").loc["seller_pays", "status"] == "eliminated"
    # The runs are an experiment: paired by replication, one row per policy and replication.
    exp = s.experiment()
    assert set(exp.runs["policy"]) == {"buyer_pays", "seller_pays", "also_buyer_pays"}
    assert len(exp.runs) == s.total_replications
    # Common random numbers: the copy's numbers are the same, replication by replication.
    a = exp.runs[exp.runs.policy == "buyer_pays"].set_index("replication")["net_return_cost_per_order"]
    b = exp.runs[exp.runs.policy == "also_buyer_pays"].set_index("replication")["net_return_cost_per_order"]
    assert a.equals(b)


def test_select_best_reuses_a_store(tmp_path):
    sc = _two_payers()
    store = tmp_path / "s.sqlite"
    first = rs.select_best(sc, ["buyer_pays", "seller_pays"], "net_return_cost_per_order", 0.05,
                           progress=False, workers=1, store=store)
    again = rs.select_best(sc, ["buyer_pays", "seller_pays"], "net_return_cost_per_order", 0.05,
                           progress=False, workers=1, store=store)
    assert again.computed == 0 and again.from_store == first.total_replications
    assert again.table.equals(first.table)
    assert math.isfinite(first.h2) and first.first_stage == 20
