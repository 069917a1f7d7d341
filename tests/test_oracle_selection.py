"""Kim & Nelson's procedure checked step by step against the paper's formulas.

The probability-of-correct-selection test (tests/test_decide_selection.py) shows the guarantee
holds; it cannot show that the procedure stops as soon as the paper says it may. Here the
screening is computed by hand from h² and W_il(r) (Kim & Nelson 2001, [M3]) on observations
chosen so that every number is exact, and the procedure's requests are recorded observation by
observation: which systems it asks for at each r is the set it kept after screening at r. A
second, independent implementation of KN (tests/oracles/kn.py) is compared with it on random
cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles import kn as ref

from returnsim.decide import NormalSampler, kn_select
from returnsim.decide.selection import kn_constants


class Recorder:
    """Fixed observations ``data[i][j]``; remembers every request ``(systems, start, stop)``."""

    def __init__(self, data: list[list[float]]) -> None:
        self.data = np.asarray(data, dtype=float)
        self.systems = [f"s{i}" for i in range(len(data))]
        self.limit = None
        self.calls: list[tuple[tuple[str, ...], int, int]] = []

    def sample(self, systems, start, stop):
        self.calls.append((tuple(systems), start, stop))
        return self.data[[self.systems.index(s) for s in systems], start:stop]

    def kept_after(self) -> dict[int, list[str]]:
        """r -> systems asked for observation r + 1 (index r): those kept at r (batch 1)."""
        return {start: list(systems) for systems, start, stop in self.calls[1:] if stop == start + 1}


# --------------------------------------------------------------------------------------------
# two systems, by hand


def _two(sign: float = 1.0) -> list[list[float]]:
    # A - B over the first stage: -1.5, 0.5, 2.5 (mean 0.5, S² = (4 + 0 + 4) / 2 = 4), then
    # A leads by exactly 0.5 at every later observation. Halves and quarters: exact floats.
    a = [-1.5, 0.5, 2.5] + [0.5] * 20
    b = [0.0] * 23
    return [[sign * v for v in a], [sign * v for v in b]]


@pytest.mark.parametrize("goal", ["max", "min"])
def test_two_systems_are_screened_at_the_replication_the_paper_gives(goal):
    # k = 2, 1 - α = 0.75, n0 = 3: η = ½ ((2·0.25/1)^(-2/2) - 1) = ½ (2 - 1) = 0.5 and
    # h² = 2 η (n0 - 1) = 2. With δ = 1 and S² = 4: W(r) = 1/(2r) (2·4 - r) = 4/r - 0.5.
    #   r = 3: W = 0.8333 > 0.5, B stays;
    #   r = 4: W = 0.5 = the gap: B stays (the paper keeps i when X̄_i ≥ X̄_l - W);
    #   r = 5: W = 0.3 < 0.5: B is eliminated, A is selected after 5 + 5 observations.
    sampler = Recorder(_two(1.0 if goal == "max" else -1.0))
    s = kn_select(sampler, 1.0, 0.75, goal, first_stage=3)
    assert s.h2 == 2.0
    assert sampler.kept_after() == {3: ["s0", "s1"], 4: ["s0", "s1"]}
    assert s.selected == "s0" and s.stopped == "one_left"
    assert s.replications == {"s0": 5, "s1": 5}
    row = s.table.set_index("policy").loc["s1"]
    # Eliminated at 5 by s0, but A's lead (paired over the 5 observations: 2.5 / 5 = 0.5) is
    # under δ = 1, so B is reported as a tie, not as beaten.
    assert (row.eliminated_at, row.eliminated_by) == (5, "s0")
    assert row.advantage == pytest.approx((-1.5 + 0.5 + 2.5 + 0.5 + 0.5) / 5)
    assert row.status == "within δ" and s.ties == ["s1"] and not s.resolved


def test_kn_constants_are_the_papers_for_exact_cases():
    # η = ½ ((2α/(k-1))^(-2/(n0-1)) - 1), h² = 2 η (n0 - 1), worked by hand:
    assert kn_constants(2, 0.75, 3) == (0.5, 2.0)  # (0.5)^-1 = 2
    assert kn_constants(5, 0.5, 3) == (1.5, 6.0)  # (2·0.5/4)^-1 = 4
    assert kn_constants(3, 0.9, 5) == pytest.approx(((0.1) ** -0.5 - 1) / 2 * np.array([1, 8]))


# --------------------------------------------------------------------------------------------
# five systems, by hand

C5 = [3.0, 2.8, 2.5, 1.2, 0.0]
E5 = [(0, 0, 0), (-1, 0, 1), (-2, 0, 2), (0, 0, 0), (1, 0, -1)]


def _five(n: int = 30) -> list[list[float]]:
    """System i: its mean C5[i] plus a first-stage wobble E5[i] (summing to zero), then exactly
    C5[i]: its running mean is C5[i] at every r >= 3, and S²_il = var(E5[i] - E5[l])."""
    return [[C5[i] + E5[i][j] if j < 3 else C5[i] for j in range(n)] for i in range(5)]


def test_five_systems_are_screened_replication_by_replication():
    # k = 5, 1 - α = 0.5, n0 = 3: η = ½ ((2·0.5/4)^-1 - 1) = 1.5, h² = 6; δ = 1, so
    # W_il(r) = 1/(2r) (6 S²_il - r) = 3 S²_il / r - 0.5 (at least 0). The wobbles give
    # S² = 0 for (s0, s3); 1 for (s0, s1), (s0, s4), (s1, s2), (s1, s3), (s3, s4); 4 for
    # (s0, s2), (s1, s4), (s2, s3); 9 for (s2, s4).
    #   r = 3 (W = 0 | 0.5 | 3.5 | 8.5 for S² = 0 | 1 | 4 | 9):
    #     s4 trails s0 by 3 > 0.5: out (by s0, its largest excess 2.5; s3 also beats it by 0.5)
    #     s3 trails s0 by 1.8 > 0: out; s2 trails s0 by 0.5 < 3.5 and s1 by 0.3 < 0.5: stays
    #     s1 trails s0 by 0.2 < 0.5: stays
    #   r = 4 (W = 0.25 | 2.5): s2 trails s1 by 0.3 > 0.25: out; s1 trails s0 by 0.2: stays
    #   r = 5 (W = 0.1): s1 trails s0 by 0.2 > 0.1: out. s0 is selected.
    sampler = Recorder(_five())
    s = kn_select(sampler, 1.0, 0.5, "max", first_stage=3)
    assert s.h2 == 6.0
    assert sampler.kept_after() == {3: ["s0", "s1", "s2"], 4: ["s0", "s1"]}
    assert s.replications == {"s0": 5, "s1": 5, "s2": 4, "s3": 3, "s4": 3}
    assert s.total_replications == 20
    t = s.table.set_index("policy")
    assert t["eliminated_at"].drop("s0").to_dict() == {"s1": 5, "s2": 4, "s3": 3, "s4": 3}
    assert t["eliminated_by"].drop("s0").to_dict() == {"s1": "s0", "s2": "s1", "s3": "s0", "s4": "s0"}
    # s1 and s2 trail by less than δ: ties, not beaten; s3 and s4 by more: eliminated.
    assert s.selected == "s0" and s.ties == ["s1", "s2"] and not s.resolved
    assert t["status"].to_dict() == {"s0": "selected", "s1": "within δ", "s2": "within δ", "s3": "eliminated",
                                     "s4": "eliminated"}
    # The reference implementation agrees, allowance by allowance.
    trace = ref.kn(_five(), 1.0, 0.5, 3)
    assert trace.eliminated_at == {3: 3, 4: 3, 2: 4, 1: 5}
    assert trace.allowance[(1, 0, 4)] == pytest.approx(0.25) and trace.allowance[(0, 3, 3)] == 0.0
    assert trace.allowance[(4, 2, 3)] == pytest.approx(8.5)


def test_five_systems_with_a_larger_indifference_zone_stop_sooner():
    # δ = 2: W_il(r) = 2/(2r) (6 S² / 4 - r) = 1.5 S² / r - 1: at r = 3, W = 0 for S² <= 2:
    # s1 (0.2 behind s0, S² = 1) and s3 (S² = 0) are out at once, s2 by s1 (0.3, S² = 1),
    # s4 by s0 (W = 0 for S² = 1), leaving s0 after the first stage. s1, s2 and s3 trail by
    # less than δ = 2: ties; s4 by 3: eliminated.
    s = kn_select(Recorder(_five()), 2.0, 0.5, "max", first_stage=3)
    assert s.replications == {"s0": 3, "s1": 3, "s2": 3, "s3": 3, "s4": 3}
    assert s.table.set_index("policy")["eliminated_by"].to_dict() == {"s0": "", "s1": "s0", "s2": "s1", "s3": "s0",
                                                                      "s4": "s0"}
    assert s.ties == ["s1", "s2", "s3"] and not s.resolved


# --------------------------------------------------------------------------------------------
# the reference implementation on random cases


@pytest.mark.parametrize("seed", range(12))
def test_kn_select_matches_an_independent_implementation(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    n0 = int(rng.integers(3, 12))
    conf = float(rng.choice([0.8, 0.9, 0.95]))
    delta = float(rng.choice([0.2, 0.5, 1.0]))
    means = rng.normal(0, 0.6, k)
    sd = rng.uniform(0.5, 2.0, k)
    rho = float(rng.uniform(0, 0.8))
    cov = rho * np.outer(sd, sd)
    np.fill_diagonal(cov, sd**2)
    normal = NormalSampler(means, cov, seed=seed)
    data = normal.sample(normal.systems, 0, 4000)
    recorder = Recorder(data.tolist())
    s = kn_select(recorder, delta, conf, "max", first_stage=n0)
    trace = ref.kn(data.tolist(), delta, 1 - conf, n0)
    assert s.h2 == pytest.approx(trace.h2, rel=1e-12)
    assert {int(p[1:]): v for p, v in s.table.set_index("policy")["eliminated_at"].dropna().items()} == trace.eliminated_at
    kept = recorder.kept_after()
    for r, alive in trace.alive_after.items():
        if len(alive) > 1:
            assert kept[r] == [f"s{i}" for i in alive], r
    assert set(kept) == {r for r, alive in trace.alive_after.items() if len(alive) > 1}
    (winner,) = trace.alive_after[trace.last_r]
    assert s.selected == f"s{winner}"
    assert s.total_replications == sum(trace.eliminated_at.values()) + trace.last_r
    assert not math.isnan(s.h2)
