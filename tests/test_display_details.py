"""Small things a reader sees: no "-0 ± 0", money with its currency, legends in plain words."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import returnsim as rs  # noqa: E402
from returnsim import plots  # noqa: E402
from returnsim.cli.decide import _amount  # noqa: E402
from returnsim.output.labels import OUTCOME_LABELS, fmt_interval  # noqa: E402


@pytest.mark.parametrize("mean,lo,hi", [(-0.0, -0.0, -0.0), (0.0, 0.0, 0.0), (-1e-9, -1e-9, -1e-9)])
def test_an_interval_of_nothing_prints_as_zero(mean, lo, hi):
    text = fmt_interval("net_return_cost", mean, lo, hi)
    assert text == "0" and "-" not in text and "±" not in text


def test_an_interval_keeps_its_sign_and_width():
    assert fmt_interval("policy_profit_per_order", -2.5, -2.6, -2.4).startswith("-2.5")
    assert "±" in fmt_interval("policy_profit_per_order", -2.5, -2.6, -2.4)


def test_select_prints_money_with_the_currency():
    assert _amount("policy_profit_per_order", 0.0329, "$") == "$0.0329"
    assert _amount("policy_profit_per_order", -2.481, "€") == "-€2.48"
    assert _amount("rdr", 0.0987, "$") == "9.87 %"
    assert _amount("rdr", 0.0123, "$", sign=True) == "+1.23 pp"


def test_outcome_legend_reads_in_words():
    sc = rs.load_scenario(rs.shipped("seed_policies.toml"), overrides={"horizon_days": 10})
    runs = {p: rs.simulate(sc, p, seed=0, trace=True) for p in ("seed", "cost_optimal")}
    ax = plots.outcome_mix(runs)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend and all("_" not in t for t in legend), legend
    assert OUTCOME_LABELS["returned_refund"] in legend
    plt.close("all")


def test_a_rate_just_below_a_target_does_not_read_as_the_target():
    from returnsim.amazon import target_breaches

    (w,) = target_breaches("p", {"odr": 0.00996, "odr_window_max": 0.0103, "odr_windows_over_target": 0.2})
    assert "averages 0.996%" in w and "reaches 1.0%" in w
    (w,) = target_breaches("p", {"odr": 0.0123})
    assert "1.2% of orders" in w


# -- compare(): variance_reduction is a number where it is defined, a missing value with a reason
# where it is not, never inf.


def _two_policies(a: list[float], b: list[float]):
    import pandas as pd

    rows = [("a", r, r, x) for r, x in enumerate(a)] + [("b", r, r, x) for r, x in enumerate(b)]
    return pd.DataFrame(rows, columns=["policy", "replication", "seed", "x"])


def test_variance_reduction_is_the_ratio_of_the_two_variances_where_defined():
    import numpy as np

    from returnsim.experiment.statistics import paired_differences

    a, b = [10.0, 12.0, 15.0, 11.0, 20.0], [10.5, 12.1, 15.9, 11.2, 20.8]
    row = paired_differences(_two_policies(a, b), "a").iloc[0]
    expected = (np.var(a, ddof=1) + np.var(b, ddof=1)) / np.var(np.subtract(b, a), ddof=1)
    assert row["variance_reduction"] == pytest.approx(expected, rel=1e-12)
    assert row["variance_reduction_note"] == ""


@pytest.mark.parametrize(
    "a,b",
    [
        ([10.0, 12.0, 15.0], [11.0, 13.0, 16.0]),  # b = a + 1: the paired difference never varies
        ([4.0, 4.0, 4.0], [4.0, 4.0, 4.0]),  # nothing varies at all
    ],
)
def test_zero_paired_variance_is_missing_with_its_reason_not_inf(a, b):
    import math

    from returnsim.experiment.statistics import VR_ZERO_PAIRED_VARIANCE, paired_differences

    row = paired_differences(_two_policies(a, b), "a").iloc[0]
    assert math.isnan(row["variance_reduction"]), row["variance_reduction"]
    assert row["variance_reduction_note"] == VR_ZERO_PAIRED_VARIANCE
    assert "zero paired variance" in VR_ZERO_PAIRED_VARIANCE


def test_one_replication_is_missing_with_its_reason():
    import math

    from returnsim.experiment.statistics import VR_ONE_REPLICATION, paired_differences

    row = paired_differences(_two_policies([10.0], [12.0]), "a").iloc[0]
    assert row["n"] == 1 and math.isnan(row["variance_reduction"])
    assert row["variance_reduction_note"] == VR_ONE_REPLICATION
    assert "one paired replication" in VR_ONE_REPLICATION


def test_comparison_csv_and_table_never_show_inf(tmp_path):
    import pandas as pd

    from returnsim.output.tables import comparison_table

    # A policy identical to the baseline pairs to a difference of exactly zero in every
    # replication: the case that used to write inf (or NaN with no reason).
    raw = rs.load_scenario(rs.shipped("seed_policies.toml"), overrides={"horizon_days": 10})
    data = raw.model_dump(mode="json", by_alias=True)
    data["policies"]["twin"] = data["policies"]["seed"]
    exp = rs.run_experiment(data, ["seed", "twin"], replications=3, seed=2, workers=1, progress=False)
    exp.to_csv(tmp_path, baseline="seed")
    text = (tmp_path / "comparison.csv").read_text()
    assert "inf" not in text.lower()
    comp = pd.read_csv(tmp_path / "comparison.csv")
    assert comp["variance_reduction"].isna().all()
    assert (comp["variance_reduction_note"].str.startswith("zero paired variance")).all()
    assert "inf" not in comparison_table(exp.compare("seed"))


# -- a difference that rounds to zero has no sign


@pytest.mark.parametrize(
    "name,mean,lo,hi,shown",
    [
        ("policy_profit_per_order", -0.0002, -0.0732, 0.0728, "0.000 ± 0.073"),
        ("policy_profit_per_order", 0.0002, -0.0728, 0.0732, "0.000 ± 0.073"),
        ("rdr", -0.00001, -0.0036, 0.0036, "0.00 pp ± 0.36"),
        ("policy_profit_per_order", -0.0, -0.0, -0.0, "0.000 ± 0.000"),
    ],
)
def test_a_difference_shown_as_zero_has_no_sign(name, mean, lo, hi, shown):
    from returnsim.output.labels import fmt_diff

    assert fmt_diff(name, mean, lo, hi, 3 if "pp" not in shown else 2) == shown


def test_a_difference_keeps_its_sign_when_its_digits_show_it():
    from returnsim.output.labels import fmt_diff

    assert fmt_diff("policy_profit_per_order", -0.0006, -0.07, 0.07, 3) == "-0.001 ± 0.070"
    assert fmt_diff("policy_profit_per_order", 0.683, 0.666, 0.700, 3) == "+0.683 ± 0.017"
    assert fmt_diff("rdr", -0.0333, -0.041, -0.0256) == "-3.33 pp ± 0.77"


# -- legends in words


def test_cost_breakdown_legend_reads_in_words():
    sc = rs.load_scenario(rs.shipped("seed_policies.toml"), overrides={"horizon_days": 10})
    exp = rs.run_experiment(sc, ["seed", "free_returns"], replications=2, seed=0, workers=1, progress=False)
    fig = plots.lab_dashboard(exp, "seed", "free_returns")
    texts = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    policies = {"seed", "free_returns"}
    assert texts and all("_" not in t for t in texts if t not in policies), texts
    plt.close("all")


# -- the README says what is true


def test_readme_names_chromium_since_make_test_installs_it():
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    test_needs = next(line for line in makefile.splitlines() if line.startswith("test:"))
    if "browser" in test_needs and "chromium" in makefile:
        assert "nothing else is needed" not in readme.lower()
        start = readme.index("make test")
        assert "chromium" in readme[start : start + 600].lower(), "README: make test installs chromium"


def test_readme_compare_line_says_where_significance_marks_appear(capsys):
    import re

    from conftest import ROOT, SEED_SCENARIO

    from returnsim.cli import main

    (line,) = [ln for ln in (ROOT / "README.md").read_text().splitlines() if ln.startswith("returnsim compare ")]
    command, _, comment = line.partition("#")
    mark = re.compile(r"\d \*{1,3}(\s|$)", re.M)  # a difference followed by its mark
    short = ["--set", "horizon_days=15", "--replications", "4", "--workers", "1", "--no-progress"]
    argv = [SEED_SCENARIO if a == "my_store.toml" else a for a in command.split()[1:]]
    marked = {}
    for full in (False, True):
        assert main([str(a) for a in argv] + short + (["--full"] if full else [])) == 0
        marked[full] = bool(mark.search(capsys.readouterr().out))
    if "*" in comment:
        # The README promises marks: they appear where it says (with --full only if it says so).
        assert marked[True], "compare --full prints no significance mark"
        assert ("--full" in comment) == (not marked[False]), (comment, marked)
