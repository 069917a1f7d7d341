"""The simulation's money against an independent oracle, for every seed policy.

``tests/oracles/cost.py`` derives the expected money of a return from docs/model.md alone (its
own rule matching, branch enumeration and money rules; nothing from ``returnsim.model`` or
``returnsim.analytic``), for a desk that is never congested. Two checks:

* **Closed form**: the expectation per return request, summed over every request world with its
  probability, lies inside the 99 % Student-t interval of the simulated mean over replications.
* **Request by request**: for each simulated request, the oracle's expectation given what demand
  drew for it (class, market, price, reasons, conditions, grade, window, time since the order)
  against the money the simulation booked. The differences have mean zero whatever the world, so
  the noise left is only the decisions' (offers accepted or not, fees, timing): a much sharper
  check, category by category, of every rule that moves money.

The seed scenario is run with an ample desk (24/7, 40 agents; a few requests a day never queue)
and without post-return purchases, which is what the oracle assumes; both are checked on the
runs, so the comparison cannot pass by assuming them wrongly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import AMPLE, SEED_SCENARIO
from oracles import cost
from scipy import stats

import returnsim as rs

POLICIES = [
    "seed",
    "free_returns",
    "strict_buyer_pays",
    "giveaway_small",
    "international_to_domestic_address",
    "cost_optimal",
    "auto_authorise",
    "move_apparel_to_fba",
]


@pytest.fixture(scope="module")
def ample() -> rs.Scenario:
    return rs.load_scenario(SEED_SCENARIO, overrides=AMPLE)


def test_every_seed_policy_is_covered(ample):
    assert sorted(POLICIES) == sorted(ample.policies)


def half_width(x: np.ndarray, level: float) -> float:
    return float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
def test_closed_form_cost_per_return_inside_the_simulations_ci(ample, policy):
    """12 replications of a year: the oracle's expected net cost per return lies inside their
    99 % confidence interval."""
    expected = cost.expected_per_return(ample, policy)["net"]
    runs = [rs.simulate(ample, policy, seed=(21, r)).kpis for r in range(12)]
    assert all(k["desk_wait_hours_mean"] == 0 and k["escalation_rate"] == 0 for k in runs)
    x = np.array([k["net_return_cost_per_return"] for k in runs])
    half = half_width(x, 0.99)
    assert abs(x.mean() - expected) <= half, (
        f"{policy}: oracle {expected:.3f}, simulation {x.mean():.3f} ± {half:.3f} (99 % CI)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
def test_money_request_by_request_matches_the_oracle(ample, policy):
    """Realised minus expected money per request, pooled over 4 replications of a year: for net
    cost and for every ledger category, the mean difference lies inside its confidence interval
    (99.9 % for the 14 comparisons together, Bonferroni); a category whose difference has no
    spread (fully decided by the request's world) agrees to a millionth of a dollar."""
    oracle = cost.AmpleStaffOracle(ample, policy)
    diffs: dict[str, list[np.ndarray]] = {c: [] for c in ("net", *cost.CATEGORIES)}
    for r in range(4):
        run = rs.simulate(ample, policy, seed=(5, r), trace=True)
        tr = run.trace
        assert (tr.wait_hours.fillna(0) == 0).all() and not tr.escalated.any()  # empty: never at the desk
        want = oracle.expected_flows(cost.world_from_trace(ample, tr))
        diffs["net"].append(tr.net_cost.to_numpy() - want["net"])
        for c in cost.CATEGORIES:
            diffs[c].append(tr[c].to_numpy() - want[c])
    level = 1 - 0.001 / len(diffs)
    report, bad = [], []
    for c, parts in diffs.items():
        d = np.concatenate(parts)
        half = half_width(d, level) if d.std() > 1e-9 else 1e-6
        report.append(f"{c}: {d.mean():+.4f} ± {half:.4f}")
        if abs(d.mean()) > half:
            bad.append(report[-1])
    assert not bad, f"{policy}: " + "; ".join(bad)
