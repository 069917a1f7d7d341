"""The warm-up: orders of the first ``warmup_days`` days load the desk but are not measured.

A desk that starts empty answers its first requests faster than it will once it is busy: the
early requests bias the desk's KPIs. ``scenarios/validation/mmc_desk.toml`` makes the desk an
M/M/c queue whose steady-state mean wait is Erlang C's Wq, so the bias of a short run, and its
removal by a warm-up, can be measured against an exact value. The second test checks that a
warm-up changes what is measured, not what is simulated.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MMC_SCENARIO, SEED_SCENARIO, minimal_raw
from scipy import stats

import returnsim as rs
from returnsim.analytic import erlang_c
from returnsim.model import windows
from returnsim.model.ledger import COSTS, CREDITS

STAFF, PER_DAY, MINUTES = 2, 76.8, 30.0  # offered load 0.8 per agent; the queue relaxes in ~a day


def replicate(measured_days: float, warmup_days: int, n: int = 200) -> list[dict[str, float]]:
    sc = rs.load_scenario(
        MMC_SCENARIO,
        overrides={
            "desk.staff": STAFF,
            "demand.orders_per_day": PER_DAY,
            "desk.handling_minutes.mean": MINUTES,
            "horizon_days": measured_days + warmup_days,
            "warmup_days": warmup_days,
        },
    )
    return [rs.simulate(sc, "fifo", seed=(23, r)).kpis for r in range(n)]


def ci(x: np.ndarray, level: float = 0.99) -> tuple[float, float]:
    return stats.t.interval(level, len(x) - 1, x.mean(), stats.sem(x))


def test_a_warmup_removes_the_empty_start_bias_of_the_desk():
    """One measured day from an empty desk: the mean wait is well below Erlang C's Wq (the
    replications' 99 % interval lies under it). The same day after a 7-day warm-up: Wq is inside
    the interval, utilisation is the offered load, and only that day's requests are counted."""
    _, wq = erlang_c(PER_DAY / 24, 60 / MINUTES, STAFF)
    cold = replicate(1.0, 0)
    warm = replicate(1.0, 7)
    cold_wait = np.array([k["desk_wait_hours_mean"] for k in cold])
    warm_wait = np.array([k["desk_wait_hours_mean"] for k in warm])
    lo, hi = ci(cold_wait)
    assert hi < wq, f"no empty-start bias seen: 99 % CI [{lo:.3f}, {hi:.3f}] h, Wq {wq:.3f} h"
    lo, hi = ci(warm_wait)
    assert lo <= wq <= hi, f"warm-up left a bias: 99 % CI [{lo:.3f}, {hi:.3f}] h, Wq {wq:.3f} h"
    bias = stats.ttest_ind(cold_wait, warm_wait, equal_var=False).confidence_interval(0.99)
    assert bias.high < 0  # the warm-up raised the measured wait: what it removed was a real bias
    rho = PER_DAY / 24 * MINUTES / 60 / STAFF
    lo, hi = ci(np.array([k["desk_utilization"] for k in warm]))
    assert lo <= rho <= hi, f"utilisation over the measured period [{lo:.3f}, {hi:.3f}], offered {rho:.3f}"
    lo, hi = ci(np.array([k["return_requests"] for k in warm]))
    assert lo <= PER_DAY <= hi  # one day of requests, not eight


@pytest.fixture(scope="module")
def with_and_without():
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 120})
    warm = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 120, "warmup_days": 21})
    return rs.simulate(sc, "seed", seed=5, trace=True), rs.simulate(warm, "seed", seed=5, trace=True)


def test_a_warmup_changes_what_is_measured_not_what_is_simulated(with_and_without):
    """Same seed with and without a warm-up: the same requests meet the same desk (identical
    traces); the warm-up rows are exactly the requests of customers whose first order came in
    the warm-up days, and the ledger and KPIs are those of the other rows."""
    cold, warm = with_and_without
    trace = cold.trace
    assert trace.drop(columns="warmup").equals(warm.trace.drop(columns="warmup"))
    assert not trace.warmup.any()
    first_order = trace[trace.generation == 0].set_index("customer").order_time
    early = trace.customer.map(first_order) < 21 * 24.0
    assert early.any() and (~early).any() and (early & (trace.generation > 0)).any()
    np.testing.assert_array_equal(warm.trace.warmup.to_numpy(), early.to_numpy())
    kept = trace[~early]
    for c in COSTS + CREDITS:
        assert warm.ledger[c] == pytest.approx(kept[c].sum(), abs=0.005), c
    k = warm.kpis
    assert k["return_requests"] == len(kept)
    assert k["response_hours_mean"] == pytest.approx(kept.response_hours.mean(), rel=1e-12)
    assert k["response_hours_p95"] == pytest.approx(np.percentile(kept.response_hours, 95), rel=1e-4)
    queued = kept[kept.wait_hours.notna()]  # what reached the desk (docs/kpis.md)
    assert (queued.fba == False).all() and (kept.fba | kept.auto_authorised | kept.wait_hours.notna()).all()  # noqa: E712
    assert k["desk_wait_hours_mean"] == pytest.approx(queued.wait_hours.mean(), rel=1e-12)
    assert k["late_response_rate"] == pytest.approx(kept.late.mean(), rel=1e-12)
    assert k["rdr"] == pytest.approx(kept.rdr_defect[~kept.fba].mean(), rel=1e-12)  # seller-fulfilled [A5]
    assert k["net_return_cost"] == pytest.approx(kept.net_cost.sum(), abs=0.01)
    assert k["demand_orders"] < cold.kpis["demand_orders"]
    # RDR windows are periods of time: those that start after the warm-up, every request in them.
    later = trace[(trace.request_time >= 21 * 24.0) & ~trace.fba]
    rates = windows.rolling_rates(later.request_time - 21 * 24.0, later.rdr_defect, None, 60)
    assert (k["rdr_window_max"], k["rdr_windows_over_target"]) == windows.summary(rates, 0.10)
    # ... and without a warm-up, every window from day 0 (the two differ in what they read).
    seller = trace[~trace.fba]
    rates_cold = windows.rolling_rates(seller.request_time, seller.rdr_defect, None, 60)
    assert (cold.kpis["rdr_window_max"], cold.kpis["rdr_windows_over_target"]) == windows.summary(rates_cold, 0.10)
    assert len(rates_cold) > len(rates)


@pytest.mark.parametrize(
    "value, words",
    [(30, "less than horizon_days"), (45, "less than horizon_days"), (-1, "greater than or equal to 0"), (2.5, "integer")],
)
def test_warmup_days_must_be_whole_days_inside_the_horizon(value, words):
    with pytest.raises(rs.ScenarioError) as err:
        rs.parse_scenario(minimal_raw(warmup_days=value))
    assert "warmup_days" in str(err.value) and words in str(err.value)
