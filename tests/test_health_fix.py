"""Amazon's account-health targets as a constraint, and the desk fix (issue 18, item 6).

The rule (:func:`returnsim.decide.feasible`) is checked on hand-made replications; the fix
(:func:`returnsim.decide.desk_fix`) on the issue's small seller made by ``returnsim init``
(40 orders a day, one agent Monday-Friday 9-17), whose every policy breaks the return
dissatisfaction rate target, checked again by simulation with seeds the search never saw.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import returnsim as rs
from returnsim.amazon import RDR_TARGET
from returnsim.decide.deskfix import desk_changes
from returnsim.decide.health import feasible
from returnsim.decide.latecause import split_late
from returnsim.experiment.statistics import mean_ci
from returnsim.model.desk import OpenHours
from returnsim.output.answer import answer
from returnsim.scenario.starter import StoreFacts, starter_toml


def _runs(rates: dict[str, list[float]], odr: float = 0.005, value: dict[str, float] | None = None) -> pd.DataFrame:
    rows = []
    for p, xs in rates.items():
        for r, x in enumerate(xs):
            rows.append({"policy": p, "replication": r, "rdr": x, "odr": odr,
                         "policy_profit_per_order": (value or {}).get(p, 0.0) + 0.01 * r})
    return pd.DataFrame(rows)


def test_a_policy_breaking_a_target_is_set_aside_only_while_another_meets_every_one():
    runs = _runs({"cheap": [0.12, 0.13, 0.12], "safe": [0.05, 0.06, 0.05], "edge": [0.10, 0.10, 0.10]})
    f = feasible(runs)
    assert f.admissible == ["safe"]
    assert f.excluded == ["cheap", "edge"]  # at the target is not below it
    kept, _ = f.contest(runs)
    assert set(kept["policy"]) == {"safe"}
    _, _, _, lo, hi = mean_ci([0.12, 0.13, 0.12])
    assert f"cheap, with return dissatisfaction rate 12.3 % ({lo * 100:.1f}-{hi * 100:.1f} %) against a target below 10 %" in f.text()
    none = feasible(_runs({"a": [0.12, 0.12], "b": [0.11, 0.11]}))
    assert none.none_admissible and none.excluded == [] and none.contest(runs)[0] is runs
    assert none.text("b").startswith("No policy meets Amazon's return dissatisfaction rate target; b: return")


def test_the_answer_recommends_the_best_policy_that_meets_the_targets():
    runs = _runs({"cheap": [0.12] * 4, "safe": [0.05] * 4, "safer": [0.04] * 4},
                 value={"cheap": 1.0, "safe": 0.5, "safer": 0.0})
    a = answer(runs, metric="policy_profit_per_order")
    assert a.best == "safe" and "cheap" not in a.ranked
    assert "Not recommended while a policy meets every Amazon account-health target: cheap" in a.text()
    assert set(a.warnings) == {"cheap"}  # the excluded policy is still warned about
    # The seller's current policy, set aside, is still what the recommendation is measured against.
    kept = answer(runs, metric="policy_profit_per_order", baseline="cheap")
    assert kept.best == "safe" and kept.versus["cheap"][0] == pytest.approx(-0.5)
    assert "-$0.50 vs cheap (paired 95 % CI" in kept.text()


def test_the_confident_rule_judges_the_upper_end_of_the_interval_and_windows_on_request():
    runs = _runs({"p": [0.08, 0.11, 0.07, 0.12]})  # mean 9.5 %, interval reaching above 10 %
    runs["rdr_window_max"] = 0.13
    assert feasible(runs).admissible == ["p"]
    assert feasible(runs, rule="confident").admissible == []
    assert feasible(runs, windows=True).judged["p"].breaches == ("rdr_window_max",)


def test_late_answers_are_split_by_whether_their_wait_spans_a_closed_day():
    hours = OpenHours([(24 * d + 9, 24 * d + 17) for d in range(5)])  # Monday-Friday 9-17
    fri_18, tue_10 = 4 * 24 + 18, 1 * 24 + 10
    trace = pd.DataFrame({
        "warmup": False, "late": [True, True, False],
        "request_time": [fri_18, tue_10, tue_10],
        "response_hours": [7 * 24 + 9.5 - fri_18, 49.0, 1.0],  # Monday 9:30; Thursday 11:00
        "t_resolved": np.nan,
    })
    assert split_late(trace, hours) == (3, 1, 1)
    assert split_late(trace, None) == (3, 0, 2)  # a desk open 24/7 has no closed days


def test_desk_changes_are_tried_cheapest_first_and_cost_staff_times_hours():
    sc = _small_seller()
    changes = desk_changes(sc.desk)
    hours = [c.agent_hours for c in changes]
    assert hours == sorted(hours) and hours[0] == 4
    assert changes[0].label == "weekend cover Sat 10-14 (1 agent)"
    two = next(c for c in changes if c.label == "2 agents instead of 1")
    assert two.agent_hours == 40  # one more agent for the desk's 40 open hours a week
    varied = changes[0].apply(sc)
    assert varied.desk.hours.sat.open == 10 and varied.desk.hours.mon.close == 17


def _small_seller() -> rs.Scenario:
    """The issue's small seller from ``returnsim init``; as an individual seller it authorises
    every request itself [A8], so the weekend gap makes answers late."""
    text = starter_toml(StoreFacts(orders_per_day=40, staff=1, hours="mon-fri 9-17"), today=dt.date(2026, 1, 1))
    import tomllib

    raw = tomllib.loads(text)
    raw["amazon"]["seller_plan"] = "individual"
    raw["horizon_days"] = 240  # shorter runs, still four 60-day windows
    return rs.parse_scenario(raw)


def _rdr(sc: rs.Scenario, policy: str, seed: int, n: int = 10) -> tuple[float, float, float]:
    runs = rs.run_experiment(sc, [policy], n, seed, workers=1, progress=False).runs
    m, _, _, lo, hi = mean_ci(runs["rdr"].to_numpy(dtype=float))
    return m, lo, hi


@pytest.fixture(scope="module")
def small() -> rs.Scenario:
    return _small_seller()


@pytest.mark.slow
def test_the_small_seller_breaks_the_target_under_every_policy_and_the_answer_says_why(small):
    exp = rs.run_experiment(small, replications=8, seed=0, workers=1, progress=False)
    a = answer(exp)
    assert a.health.none_admissible
    fix = rs.desk_fix(small, a.best, replications=8, metric=a.metric, workers=1)
    a.health.fix = fix
    text = a.text()
    assert "No policy meets Amazon's return dissatisfaction rate target" in text
    assert "across the days the desk is closed, Sat and Sun" in text and "the smallest fix found: weekend cover" in text
    # The diagnosis: nearly every late answer waited across the weekend.
    assert fix.diagnosis.late_closed_days > 0.9 * fix.diagnosis.late
    # Checked with seeds the search never used: the fix meets the target with confidence and
    # the desk as it is does not come near it.
    found = fix.found
    assert found is not None and found.labour_per_order > 0
    assert _rdr(found.change.apply(small), a.best, seed=101)[2] < RDR_TARGET
    assert _rdr(small, a.best, seed=101)[1] > RDR_TARGET


@pytest.mark.slow
def test_the_search_passes_over_cheaper_changes_that_do_not_meet_the_target(small):
    # Without weekend cover, longer weekdays (cheaper) leave the weekend gap: the search must
    # reject them and stop at the first change that opens the weekend.
    changes = [c for c in desk_changes(small.desk) if "cover" not in c.label]
    fix = rs.desk_fix(small, "free_returns", replications=8, candidates=changes, workers=1)
    found = fix.found
    assert found is not None and found.change.label == "every day 9-17 with 2 agents"
    assert len(fix.tried) > 1 and all(not t.judgement.admissible for t in fix.tried[:-1])
    assert [t.change.agent_hours for t in fix.tried] == sorted(t.change.agent_hours for t in fix.tried)
    # Independent seeds: the largest rejected change still breaks the target, the fix meets it.
    smaller = fix.tried[-2].change
    assert _rdr(smaller.apply(small), "free_returns", seed=202)[1] > RDR_TARGET
    assert _rdr(found.change.apply(small), "free_returns", seed=202)[2] < RDR_TARGET


@pytest.mark.slow
def test_desk_fix_on_the_command_line_prints_the_cause_the_fix_and_what_was_tried(tmp_path, capsys):
    from returnsim.cli import main

    path = tmp_path / "small.toml"
    path.write_text(starter_toml(StoreFacts(orders_per_day=40, staff=1, hours="mon-fri 9-17"), today=dt.date(2026, 1, 1)))
    common = [str(path), "--set", "amazon.seller_plan=individual", "--set", "horizon_days=240", "--workers", "1"]
    assert main(["desk-fix", *common, "--replications", "4", "--max-candidates", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "No policy meets Amazon's return dissatisfaction rate target" in out and "the cause: " in out
    assert "desk as it is" in out and "weekend cover Sat 10-14 (1 agent)" in out
    # a mistake is a plain message and status 2, never a traceback
    assert main(["desk-fix", *common, "--fix-policy", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--fix-policy 'nope' is not in the scenario; expected one of: seed" in err and "Traceback" not in err
