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
    assert fmt_interval("net_value_per_order", -2.5, -2.6, -2.4).startswith("-2.5")
    assert "±" in fmt_interval("net_value_per_order", -2.5, -2.6, -2.4)


def test_select_prints_money_with_the_currency():
    assert _amount("net_value_per_order", 0.0329, "$") == "$0.0329"
    assert _amount("net_value_per_order", -2.481, "€") == "-€2.48"
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
