"""``returnsim select`` prints what ``rs.select_best`` decides with the documented defaults.

The CLI tests of tests/test_decide_cli.py check exit codes, headings and statuses; here the
numbers are compared: the command run with its defaults (indifference 0.05, confidence 95 %,
first stage 20) must print the summary and table of the in-process selection called with those
values, so a wrong default or a mistranslated option fails.
"""

from __future__ import annotations

from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.cli import main
from returnsim.output.labels import fmt_money

POLICIES = ["seed", "free_returns", "strict_buyer_pays"]


def test_select_with_defaults_prints_the_selection_of_the_documented_defaults(capsys):
    argv = ["select", str(SEED_SCENARIO), "--set", "horizon_days=7", "--workers", "1", "--no-progress",
            "--max-replications", "24"]
    for p in POLICIES:
        argv += ["--policy", p]
    assert main(argv) == 0
    out = capsys.readouterr().out
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 7})
    sel = rs.select_best(sc, POLICIES, "policy_profit_per_order", 0.05, 0.95, first_stage=20, max_replications=24,
                         seed=0, progress=False, workers=1)
    assert sel.summary() in out
    for _, r in sel.table.iterrows():
        line = next(x for x in out.splitlines() if x.startswith(r.policy + " "))
        cells = line.split()
        assert cells[1] == fmt_money(r["mean"], sc.currency) and cells[2] == str(int(r.n)), line
    assert "indifference zone 0.05, confidence 95%" in out
