"""The teaching figures of returnsim.plots draw what they promise (issue 12, item 4)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import SEED_SCENARIO  # noqa: E402

import returnsim as rs  # noqa: E402
from returnsim import analytic, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sc():
    return rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 14})


def _line(ax, gid):
    (line,) = [x for x in ax.get_lines() if x.get_gid() == gid]
    return line


def test_erlang_c_curve_draws_the_formula_and_the_points():
    t = pd.DataFrame({"staff": [1, 2, 3], "erlang_wait_probability": [0.8, 0.3, 0.1],
                      "sim_wait_probability": [0.78, 0.31, 0.09],
                      "sim_wait_probability_low": [0.7, 0.25, 0.05], "sim_wait_probability_high": [0.85, 0.35, 0.12]})
    ax = plots.erlang_c_curve(t)
    np.testing.assert_allclose(_line(ax, "erlang").get_ydata(), [0.8, 0.3, 0.1])
    assert ax.get_ylim()[0] == 0


def test_late_by_staff_one_line_per_schedule():
    t = pd.DataFrame({"staff": [1, 2, 1, 2], "hours": ["24/7", "24/7", "weekdays", "weekdays"],
                      "late": [0.1, 0.0, 0.3, 0.2]})
    ax = plots.late_by_staff(t)
    np.testing.assert_allclose(_line(ax, "late:weekdays").get_ydata(), [0.3, 0.2])
    assert ax.get_ylim()[0] == 0


def test_decision_hours_by_weekday_are_the_trace_quantiles(sc):
    tr = rs.simulate(sc, "seed", seed=0, trace=True).trace
    ax = plots.decision_hours_by_weekday({"seed": tr}, quantiles=(0.5,))
    day = (tr["request_time"] // 24 % 7).astype(int)
    hours = tr["t_decision"] - tr["request_time"]
    expected = [hours[day == d].quantile(0.5) if (day == d).any() else np.nan for d in range(7)]
    np.testing.assert_allclose(_line(ax, "seed:q0.5").get_ydata(), expected)
    assert _line(ax, "late_after").get_ydata()[0] == 48


def test_late_by_weekday_with_nothing_late_is_not_an_empty_chart(sc):
    tr = rs.simulate(sc, "seed", seed=0, trace=True).trace.assign(late=False)
    ax = plots.late_by_weekday({"seed": tr})
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] > 0
    assert any(t.get_gid() == "none_late" for t in ax.texts)


def test_giveaway_breakeven_crosses_at_the_analytic_price(sc):
    ax = plots.giveaway_breakeven(sc, "electronics", "opened")
    p_star = analytic.giveaway_breakeven(sc, "electronics", "opened")
    assert _line(ax, "breakeven").get_xdata()[0] == pytest.approx(p_star)
    flat, rising = ax.get_lines()[:2]
    assert np.interp(p_star, rising.get_xdata(), rising.get_ydata()) == pytest.approx(flat.get_ydata()[0], rel=1e-6)


def test_breakeven_rises_with_weeks_for_a_decaying_class(sc):
    ax = plots.breakeven_vs_weeks(sc, ["electronics"], weeks=[0, 4, 8])
    y = _line(ax, "breakeven:electronics").get_ydata()
    assert y[0] == pytest.approx(analytic.giveaway_breakeven(sc, "electronics", "opened"))
    assert y[8 // 4] == pytest.approx(analytic.giveaway_breakeven(sc, "electronics", "opened", weeks_to_resale=8))
    assert y[0] < y[1] < y[2]


def test_study_ratios_bars_are_the_means():
    ax = plots.study_ratios({"paid": (0.12, 0.10, 0.14), "free": (2.7, 2.6, 2.8)},
                            {"paid": (0, 0.25), "free": (1.58, 4.57)})
    np.testing.assert_allclose([p.get_height() for p in ax.containers[0].patches], [0.12, 2.7])


def test_freight_vs_margin_and_break_even_curves():
    per = pd.DataFrame({"policy": ["a", "a", "b", "b"], "metric": ["f", "m"] * 2,
                        "mean": [1.0, 2.0, 1.5, 3.0], "ci_low": [0.9, 1.8, 1.4, 2.7], "ci_high": [1.1, 2.2, 1.6, 3.3]})
    ax = plots.freight_vs_margin(per, freight="f", margin="m")
    assert [c.get_label() for c in ax.containers] == ["a", "b"]
    curve = pd.DataFrame({"spend": [10, 100, 1000], "diff": [-1, 0.5, 3], "ci_low": [-1.2, 0.2, 2.5], "ci_high": [-0.8, 0.8, 3.5]})
    ax = plots.break_even_curves({"calibrated": curve}, crossings={"calibrated": 50.0}, assumed=400)
    np.testing.assert_allclose(_line(ax, "curve:calibrated").get_ydata(), [-1, 0.5, 3])


def test_lab_dashboard(sc):
    exp = rs.run_experiment(sc, ["seed", "free_returns"], replications=3, seed=0, progress=False, workers=1)
    fig = plots.lab_dashboard(exp, "seed", "free_returns", currency="€")
    assert len(fig.axes) >= 4
    rdr_ax = fig.axes[1]
    assert _line(rdr_ax, "rdr_target").get_xdata()[0] == 0.10
    d = exp.compare("seed", ["policy_profit_per_order"]).set_index("policy").loc["free_returns", "mean_diff"]
    title = fig.axes[3].get_title()
    # The difference in the scenario's currency as a seller writes it, on two real lines.
    assert f"{'-' if d < 0 else '+'}€{abs(d):.2f} vs seed" in title
    assert len(title.split("\n")) == 2 and "\\n" not in title
