"""Amazon's fee rules against Amazon's own worked examples, to the cent (docs/sources.md)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from returnsim import amazon


@pytest.mark.parametrize(
    "grade, published",
    [("like_new", 16.62), ("very_good", 14.07), ("good", 12.80), ("acceptable", 11.52)],
)
def test_grade_and_resell_worked_example(grade: str, published: float):
    """[F5]: a $30 item, 3.35 lb large standard, fulfilment fee $5.80, referral 15 %."""
    got = amazon.grade_and_resell_recovery(30.0, grade, "large_standard", 0.15, 5.80)
    assert got == published


def test_grade_and_resell_rounds_each_fee_half_up():
    # Like new: 28.50 - 1.80 - 5.80 - 4.275; unrounded this is 16.625, which would round to 16.63:
    # Amazon's 16.62 needs the referral fee rounded to 4.28 first.
    assert amazon.cents(Decimal("28.50") - Decimal("1.80") - Decimal("5.80") - Decimal("4.275")) == 16.63
    assert amazon.grade_and_resell_recovery(30.0, "like_new", "large_standard", 0.15, 5.80) == 16.62


def test_grade_and_resell_rejects_grades_it_does_not_resell():
    with pytest.raises(ValueError, match="unsellable"):
        amazon.grade_and_resell_recovery(30.0, "unsellable", "large_standard", 0.15, 5.80)


def test_refund_admin_fee_worked_examples():
    """[A14]: item A $300 + $40 shipping + $5 gift wrap -> 20 % x 15 % x $345 = $10.35, capped at
    $5; item B $50 + $5 + $2 -> $1.71; the full refund of both lines pays $6.71."""
    a = amazon.refund_admin_fee(300 + 40 + 5, 0.15)
    b = amazon.refund_admin_fee(50 + 5 + 2, 0.15)
    assert a == 5.00
    assert b == 1.71
    assert a + b == pytest.approx(6.71, abs=1e-12)


def test_returns_processing_fee_units_above_threshold():
    """[F7]: 1,000 units shipped, 120 returned, threshold 10 % -> 20 units pay the fee."""
    assert amazon.returns_processing_units(1000, 120, 0.10) == 20
    assert amazon.returns_processing_units(1000, 100, 0.10) == 0  # at the threshold: nothing
    assert amazon.returns_processing_units(24, 24, 0.10) == 0  # under 25 units shipped: exempt
    assert amazon.returns_processing_units(25, 5, 0.10) == 3  # 2 allowed (floor of 2.5)
    assert amazon.returns_processing_units(1000, 120, 0.10, new_selection_waiver=50) == 0


@pytest.mark.parametrize(
    "tier, weight, fee",
    [
        ("small_standard", 0.3, 2.12),
        ("small_standard", 0.7, 2.23),
        ("small_standard", 1.0, 2.32),
        ("large_standard", 0.3, 2.40),
        ("large_standard", 1.5, 2.96),
        ("large_standard", 3.0, 3.41),
        ("large_standard", 5.0, 3.81),  # $3.41 + $0.20 x 2 lb
    ],
)
def test_apparel_returns_processing_fee_rate_card(tier: str, weight: float, fee: float):
    assert amazon.apparel_returns_processing_fee(tier, weight) == fee


@pytest.mark.parametrize("weight, fee", [(0.5, 0.84), (0.8, 1.53), (2.0, 2.27), (3.0, 3.95)])
def test_removal_and_disposal_fee_by_weight(weight: float, fee: float):
    """[F1] from January 2026; 3 lb: $2.89 + $1.06 x 1 lb."""
    assert amazon.removal_fee(weight) == fee


def test_target_breaches_judges_the_mean_and_the_worst_window():
    ok = {"rdr": 0.05, "rdr_window_max": 0.08, "odr": 0.004, "odr_window_max": 0.006}
    assert amazon.target_breaches("p", ok) == []
    mean_over = amazon.target_breaches("p", {**ok, "rdr": 0.12})
    assert len(mean_over) == 1 and "return dissatisfaction rate 12.0%" in mean_over[0]
    window_over = amazon.target_breaches("p", {**ok, "odr_window_max": 0.013, "odr_windows_over_target": 0.25})
    assert len(window_over) == 1 and "worst 60-day window" in window_over[0] and "25%" in window_over[0]
    assert amazon.target_breaches("p", {"rdr": float("nan")}) == []


def test_the_ledgers_refund_admin_fee_agrees_with_the_rule_to_the_cent():
    charges = np.round(np.linspace(0.01, 400.0, 40001), 2)
    exact = np.array([amazon.refund_admin_fee(float(c), 0.15) for c in charges[::97]])
    np.testing.assert_array_equal(amazon.refund_admin_fees(charges[::97], 0.15), exact)


def test_returns_processing_share_is_the_units_above_the_threshold():
    # 12 % returned against a 10 % threshold: 2 of every 12 returned units pay.
    assert amazon.returns_processing_share(0.12, 0.10) == pytest.approx(2 / 12)
    assert amazon.returns_processing_units(1000, 120, 0.10) / 120 == pytest.approx(2 / 12)
    assert amazon.returns_processing_share(0.05, 0.10) == 0.0
    assert amazon.returns_processing_share(0.25, 0.0) == 1.0  # apparel: every unit
