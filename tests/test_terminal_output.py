"""What ``returnsim run`` / ``compare`` print: the answer first, honest about ties, account-health
warnings, percentage points, no rate interval below 0, brief by default (issue 12, item 8)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import SEED_SCENARIO
from scipy import stats

from returnsim.cli import main
from returnsim.experiment import ExperimentResult
from returnsim.output.answer import answer
from returnsim.output.labels import fmt_diff, fmt_interval
from returnsim.output.tables import experiment_text, summary_tables

SHORT = ["--set", "horizon_days=20", "--workers", "1", "--no-progress"]


def _result(columns: dict[str, dict[str, np.ndarray]]) -> ExperimentResult:
    """An ExperimentResult from ``{policy: {metric: values per replication}}``."""
    rows = []
    for policy, metrics in columns.items():
        n = len(next(iter(metrics.values())))
        for r in range(n):
            rows.append({"policy": policy, "replication": r, "seed": 0, **{m: float(v[r]) for m, v in metrics.items()}})
    runs = pd.DataFrame(rows)
    return ExperimentResult(runs=runs, policies=list(columns), seed=0, replications=n, scenario_hash="x" * 64)


Z = np.array([-1.5, -1.0, -0.6, -0.3, 0.0, 0.0, 0.3, 0.6, 1.0, 1.5])
Z = (Z - Z.mean()) / Z.std(ddof=1)  # mean 0, sd 1 exactly: differences with a chosen t statistic
BASE = np.linspace(2.0, 4.0, 10)


def _with_t(t: float) -> np.ndarray:
    """Values whose paired difference from BASE has t statistic ``t`` (n = 10)."""
    return BASE + t / np.sqrt(10) + Z


def test_resolved_answer_names_the_winner_and_the_gap():
    res = _result({"seed": {"policy_profit_per_order": BASE}, "better": {"policy_profit_per_order": _with_t(8.0)}})
    a = answer(res, baseline="seed")
    assert a.best == "better" and a.resolved and a.tied == []
    text = a.text("€")
    assert text.startswith("Answer: better: best profit per order the returns policy changes")
    assert f"+€{8.0 / np.sqrt(10):.2f} vs seed" in text and "beats the other policy" in text


def test_joint_confidence_makes_a_close_call_a_tie():
    # t = 2.5 with 9 degrees of freedom: significant for one comparison at 95 % (2.262) but not
    # at the 97.5 % each of two comparisons needs for 95 % joint confidence (2.685).
    assert stats.t.ppf(0.975, 9) < 2.5 < stats.t.ppf(1 - 0.025 / 2, 9)
    close = {"seed": {"policy_profit_per_order": BASE}, "a": {"policy_profit_per_order": _with_t(2.5)}}
    assert answer(_result(close)).resolved  # two policies: one comparison
    three = {**close, "worse": {"policy_profit_per_order": BASE - 5 + Z}}
    a = answer(_result(three), baseline="seed")
    assert a.best == "a" and a.tied == ["seed"] and not a.resolved
    text = a.text()
    assert text.startswith("Answer: no clear winner on profit per order the returns policy changes: a ($") and "tied" in text
    assert "worse" not in text.split("tied")[0]


def test_costs_and_defect_rates_are_better_when_lower():
    res = _result({"seed": {"net_return_cost_per_order": BASE}, "cheap": {"net_return_cost_per_order": _with_t(-9.0)}})
    a = answer(res, "net_return_cost_per_order", baseline="seed")
    assert a.best == "cheap" and a.resolved and "-$" in a.text()


def test_one_replication_is_never_an_answer():
    res = _result({"seed": {"policy_profit_per_order": np.array([1.0])}, "b": {"policy_profit_per_order": np.array([2.0])}})
    a = answer(res)
    assert not a.resolved and "cannot say" in a.text()


def test_health_warnings_in_plain_words():
    n = 5
    res = _result(
        {
            "seed": {"policy_profit_per_order": BASE[:n], "rdr": np.full(n, 0.04), "odr": np.full(n, 0.004)},
            "harsh": {"policy_profit_per_order": BASE[:n] + 1, "rdr": np.full(n, 0.14), "odr": np.full(n, 0.02)},
        }
    )
    text = experiment_text(res, baseline="seed")
    health = text.split("Account health:")[1].split("\n\n")[0]
    assert "harsh: return dissatisfaction rate 14.0% of return requests is at or above Amazon's target of 10%" in health
    assert "harsh: order defect rate 2.0% of orders" in health
    assert "seed" not in health
    # harsh has the higher value but breaks Amazon's targets while seed meets them: not recommended
    # (issue 18); the warnings above still name it.
    assert text.splitlines()[0].startswith("Answer: only one policy meets every Amazon target (seed)")
    assert "Not recommended while a policy meets every Amazon account-health target: harsh" in text.splitlines()[0]


def test_rates_never_shown_below_zero_and_differences_in_pp():
    assert fmt_interval("az_claim_rate", 0.001, -0.002, 0.004) == "0.10 % (0.00 to 0.40 %)"
    assert fmt_interval("policy_profit_per_order", 0.5, -0.2, 1.2) == "0.500 ± 0.700"  # money may be negative
    assert fmt_diff("rdr", -0.0333, -0.041, -0.0256) == "-3.33 pp ± 0.77"
    # Every share cell of a real summary table is non-negative, whatever the spread.
    res = _result({"seed": {"az_claim_rate": np.array([0.0, 0.0, 0.0, 0.01]), "rdr": np.array([0.0, 0.02, 0.0, 0.0])}})
    table = summary_tables(res.summary(["az_claim_rate", "rdr"]), ["seed"])
    for line in table.splitlines():
        if line.startswith(("A-to-z claims", "return dissatisfaction rate")):
            assert not re.search(r"-\d", line), line


def test_cli_brief_by_default_full_on_request(capsys):
    argv = ["run", str(SEED_SCENARIO), *SHORT, "--replications", "3", "--policy", "seed",
            "--policy", "free_returns", "--baseline", "seed",
            "--set", "retention.negative_feedback.intercept=0"]  # half the buyers complain
    assert main(argv) == 0
    out = capsys.readouterr().out
    body = out.split("\n\n", 1)[1]
    assert body.startswith("Answer")
    assert "Account health:" in body and "return dissatisfaction rate" in body and "target of 10%" in body
    assert "Cost breakdown" not in body and "--full" in body
    assert main([*argv, "--full"]) == 0
    full = capsys.readouterr().out
    assert "Cost breakdown" in full and "Paired differences" in full and " pp " in full


@pytest.mark.parametrize("flags", [["--brief", "--full"]])
def test_brief_and_full_exclude_each_other(capsys, flags):
    with pytest.raises(SystemExit):
        main(["run", str(SEED_SCENARIO), *flags])
    assert "not allowed with" in capsys.readouterr().err
