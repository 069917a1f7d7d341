"""returnsim select / sweep / optimize / psa from the command line, and the report's verdict."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.cli import main
from returnsim.experiment import ExperimentResult
from returnsim.output.answer import answer
from returnsim.output.headline import decision_text

SHORT = ["--set", "horizon_days=7", "--workers", "1", "--no-progress"]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_select_prints_the_selection_ties_and_guarantee(capsys):
    code, out, _ = _run(capsys, "select", str(SEED_SCENARIO), *SHORT, "--policy", "seed", "--policy", "free_returns",
                        "--policy", "strict_buyer_pays", "--indifference", "0.05", "--first-stage", "5")
    assert code == 0
    chosen = out.split("\nselected ")[1].split()[0].rstrip(";")
    row = next(line for line in out.splitlines() if line.startswith(chosen + " "))
    assert row.split()[3] == "selected" and "Guarantee (Kim & Nelson 2001, KN)" in out
    assert "replications:" in out and "eliminated" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["select", "--indifference", "0"], "indifference must be a number greater than 0"),
        (["select", "--indifference", "-0.1"], "indifference must be a number greater than 0"),
        (["select", "--metric", "policy_profit"], "did you mean 'policy_profit_per_order'"),
        (["select", "--policy", "sead"], "did you mean 'seed'"),
        (["optimize", "--policy", "giveaway_small", "--lever", "policies.giveaway_small.disposition.0.when.prise_max=5:40"],
         "did you mean 'price_max'"),
        (["optimize", "--policy", "giveaway_small", "--lever", "markets.domestic.share=0.5:1"],
         "makes the scenario invalid"),
        (["optimize", "--policy", "seed", "--lever", "desk.staff=0:3"], "outside what the field allows"),
        (["sweep", "--points", "0"], "a design needs at least 1 point"),
        (["sweep", "--vary", "desk.staff=1"], "expected PATH=LOW:HIGH"),
        (["sweep", "--input", "desk.staf"], "not in the scenario's [uncertainty] table"),
        (["psa", "--draws", "0"], "draws must be an integer greater than 1"),
    ],
)
def test_bad_arguments_exit_2_without_a_traceback(capsys, argv, message):
    # In-process: a new interpreter per case adds only its start-up (about a second each, ten
    # on a busy machine); an exception escaping main() would fail the test as a traceback would.
    command, *rest = argv
    try:
        code = main([command, str(SEED_SCENARIO), *SHORT, *rest])
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and message in err


def test_a_bad_argument_exits_2_without_a_traceback_from_a_real_process():
    # One end-to-end case: the exit status and stderr as a shell sees them.
    proc = subprocess.run(
        [sys.executable, "-m", "returnsim", "psa", str(SEED_SCENARIO), *SHORT, "--draws", "0"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "draws must be an integer greater than 1" in proc.stderr


def test_sweep_writes_one_row_per_point_policy_and_replication(capsys, tmp_path):
    out = tmp_path / "s.csv"
    code, text, _ = _run(capsys, "sweep", str(SEED_SCENARIO), *SHORT, "--design", "grid", "--points", "2",
                         "--vary", "desk.staff=1:2", "--vary", "costs.inspection=6:12:3", "--policy", "seed",
                         "--policy", "giveaway_small", "--out", str(out))
    assert code == 0 and "best at" in text
    runs = pd.read_csv(out)
    assert len(runs) == 2 * 3 * 2
    assert sorted(runs["desk.staff"].unique()) == [1, 2] and sorted(runs["costs.inspection"].unique()) == [6, 9, 12]


def test_optimize_and_psa_print_their_answers(capsys, tmp_path):
    lever = "policies.giveaway_small.disposition.0.when.price_max"
    code, out, _ = _run(capsys, "optimize", str(SEED_SCENARIO), *SHORT, "--policy", "giveaway_small", "--lever",
                        f"{lever}=5:45", "--levels", "3", "--refine", "0",
                        "--replications", "2", "--plot", str(tmp_path / "o.png"), "--out", str(tmp_path / "o.csv"))
    assert code == 0 and "maximises policy_profit_per_order of giveaway_small" in out
    assert (tmp_path / "o.png").stat().st_size > 5000
    # The printed curve is the CSV's, and the optimum printed is its best level's neighbourhood.
    curve = pd.read_csv(tmp_path / "o.csv")
    assert list(curve[lever]) == [5.0, 25.0, 45.0]
    for _, r in curve.iterrows():
        assert f"{r[lever]:.4g}  " in out and f"{r['mean']:.4g}" in out and f"{r.ci_low:.4g} to {r.ci_high:.4g}" in out
    best = curve.loc[curve["mean"].idxmax(), lever]
    shown = float(out.split(f"{lever} = ")[1].split()[0])
    assert abs(shown - best) <= 20.0 and 5.0 <= shown <= 45.0
    code, out, _ = _run(capsys, "psa", str(SEED_SCENARIO), *SHORT, "--draws", "6", "--policy", "seed",
                        "--policy", "free_returns", "--out", str(tmp_path / "psa"))
    assert code == 0 and "probability best" in out
    assert "expected value of perfect information" in out and "in the units of profit per order the returns policy changes ($)" in out
    # The numbers printed are those of the CSV files, and the EVPI is what the runs give:
    # mean over draws of the best policy's value, less the best mean (profit per order: higher is better).
    summary = pd.read_csv(tmp_path / "psa" / "psa_summary.csv").set_index("policy")
    for p, r in summary.iterrows():
        row = next(line for line in out.splitlines() if line.startswith(p + " "))
        assert f"{r['mean']:.4g}" in row and f"{r.p_best:.0%} ({r.p_best_low:.0%} to {r.p_best_high:.0%})" in row
    runs = pd.read_csv(tmp_path / "psa" / "psa_runs.csv")
    values = runs.pivot_table(index="point", columns="policy", values="policy_profit_per_order", aggfunc="mean")
    assert len(values) == 6
    evpi = values.max(axis=1).mean() - values.mean().max()
    assert f"expected value of perfect information: {evpi:.3g} (" in out
    assert (values.to_numpy().argmax(axis=1) == list(values.columns).index("seed")).mean() == summary.loc["seed", "p_best"]


# --------------------------------------------------------------------------------------------
# the verdict


def _result(gaps: dict[str, float], n: int = 40, noise: float = 1.0, seed: int = 0) -> ExperimentResult:
    """A made-up experiment: policy means of profit per order the returns policy changes, CRN-like shared noise."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0, noise, n)
    rows = []
    for p, mu in gaps.items():
        own = rng.normal(0, noise * 0.1, n)
        for r in range(n):
            rows.append({"policy": p, "replication": r, "seed": 0, "policy_profit_per_order": 10 + mu + common[r] + own[r],
                         "net_return_cost_per_order": 4 - mu + own[r]})
    return ExperimentResult(runs=pd.DataFrame(rows), policies=list(gaps), seed=0, replications=n, scenario_hash="x")


def _verdict(res: ExperimentResult) -> str:
    return answer(res, baseline=res.policies[0]).text("$")


def test_verdict_names_a_winner_only_when_the_replications_resolve_it():
    """With 40 replications (past KN's first stage) the answer rests on Kim & Nelson; a policy
    a cent ahead of another is tied with it, one a dollar ahead wins."""
    clear = _verdict(_result({"a": 0.0, "b": 1.0, "c": -1.0}))
    assert clear.startswith("Answer: b: best profit per order the returns policy changes") and "Kim & Nelson" in clear
    close = _verdict(_result({"a": 0.0, "b": 0.01, "c": -1.0}))
    assert close.startswith("Answer: no clear winner on profit per order the returns policy changes: ")
    named = close.split(" are tied")[0].split(": ", 2)[2]
    assert sorted(x.split(" (")[0] for x in named.replace(" and ", ", ").split(", ")) == ["a", "b"]
    assert "Kim & Nelson" in close


def test_verdict_falls_back_to_paired_intervals_before_the_first_stage():
    few = _verdict(_result({"a": 0.0, "b": 1.0, "c": -1.0}, n=8))
    assert few.startswith("Answer: b: best profit per order the returns policy changes") and "joint confidence" in few
    assert "Kim & Nelson" not in few


def test_report_with_an_assessment_says_how_sure(capsys, tmp_path):
    out = tmp_path / "r.html"
    code, text, _ = _run(capsys, "select", str(SEED_SCENARIO), *SHORT, "--policy", "seed", "--policy", "free_returns",
                         "--policy", "giveaway_small", "--first-stage", "5", "--max-replications", "8",
                         "--report", str(out), "--draws", "6", "--tornado-replications", "2")
    assert code == 0 and f"wrote {out}" in text
    html = out.read_text(encoding="utf-8")
    sure = html[html.index('id="how-sure"'):]
    assert "probability best" in sure and "Knowing every uncertain input exactly" in sure
    assert "What would change the answer" in sure and '<div class="chart" role="img" aria-label="tornado diagram"><svg ' in sure
    # The verdict is the answer of the selection the command made (the same call in-process
    # gives the same replications), sentence for sentence: not just any verdict.
    import html as html_lib

    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 7})
    sel = rs.select_best(sc, ["seed", "free_returns", "giveaway_small"], first_stage=5, max_replications=8,
                         progress=False, workers=1)
    from returnsim.output.policy_labels import policy_label_map

    names = policy_label_map(sc, sel.experiment().policies)
    expected = decision_text(sel.experiment(), sc, "seed", "$", selection=sel, names=names)
    shown = html_lib.unescape(html[html.index('<p class="answer">') + len('<p class="answer">'):].split("</p>")[0])
    # ... and the same paragraph goes on with the assessment's probability best.
    assert shown.startswith(expected) and " is best in " in shown[len(expected):]
    assert ("no clear winner" in shown) == (not sel.resolved)


def test_the_assessment_pool_is_one_whose_workers_end_with_their_parent(monkeypatch):
    # `select --report` assesses on its own pool; it must be the engine's kind, whose workers
    # exit when a killed parent leaves them (it was a bare ProcessPoolExecutor).
    import importlib
    from concurrent.futures import ThreadPoolExecutor

    from returnsim.decide import select_best
    from returnsim.experiment import executors

    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 7})
    sel = select_best(sc, ["seed", "free_returns"], first_stage=5, max_replications=6, progress=False, workers=1)
    assess_module = importlib.import_module("returnsim.decide.assess")  # the module, not the function
    made: list[int] = []
    monkeypatch.setattr(assess_module, "process_pool", lambda n: made.append(n) or ThreadPoolExecutor(n))
    assess_module.assess(sc, sel, draws=4, tornado_replications=1, workers=2, progress=False)
    assert made == [2]
    pool = executors.process_pool(1)
    try:
        assert pool._initializer is executors.WATCH_INITIALIZER
    finally:
        pool.shutdown()
