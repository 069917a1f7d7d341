"""The independent money oracle against the simulation, for every policy of a scenario.

    python tools/oracle_table.py                       # the seed scenario, as tests/test_oracle_cost.py
    python tools/oracle_table.py --replications 40     # tighter intervals

Prints, per policy: the oracle's closed-form expected net cost per return request
(``tests/oracles/cost.py``, written from docs/model.md without the model's decision or money
code), the simulated mean over replications with its 99 % Student-t interval, and the
request-by-request check: the mean of (money the simulation booked - the oracle's expectation
given the request's world) with its 99 % interval. The desk is made ample (24/7, 40 agents) and
post-return purchases do not feed back, as the oracle assumes.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from oracles import cost  # noqa: E402

import returnsim as rs  # noqa: E402

AMPLE = {"desk.hours": "24/7", "desk.staff": 40, "retention.feedback_into_demand": False}


def half(x: np.ndarray) -> float:
    return float(stats.t.ppf(0.995, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "seed_policies.toml"))
    ap.add_argument("--replications", type=int, default=12, help="replications of the closed-form check")
    ap.add_argument("--traced", type=int, default=4, help="replications of the request-by-request check")
    args = ap.parse_args()
    sc = rs.load_scenario(args.scenario, overrides=AMPLE)
    print(f"{'policy':36s} {'oracle':>8s} {'simulated (99 % CI)':>22s}  {'request by request: sim - oracle':>34s}")
    for policy in sc.policies:
        try:
            oracle = cost.AmpleStaffOracle(sc, policy)
        except cost.NotCovered as why:
            print(f"{policy:36s} not covered: {why}")
            continue
        expected = cost.expected_per_return(sc, policy)["net"]
        x = np.array([rs.simulate(sc, policy, seed=(21, r)).kpis["net_return_cost_per_return"] for r in range(args.replications)])
        d = []
        for r in range(args.traced):
            tr = rs.simulate(sc, policy, seed=(5, r), trace=True).trace
            d.append(tr.net_cost.to_numpy() - oracle.expected_flows(cost.world_from_trace(sc, tr))["net"])
        diff = np.concatenate(d)
        inside = "inside" if abs(x.mean() - expected) <= half(x) else "OUTSIDE"
        print(
            f"{policy:36s} {expected:8.3f} {x.mean():10.3f} ± {half(x):5.3f} {inside:7s}"
            f"  {diff.mean():+8.4f} ± {half(diff):.4f} ({len(diff)} requests)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
