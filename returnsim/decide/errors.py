"""What a study can be asked wrongly, and the metrics it can rank by.

:class:`DecideError` is a mistake in a study's arguments (an indifference zone of zero, an
unknown metric or lever, a design with no points): the command line prints it without a
traceback. :func:`check_metric` and :func:`goal_of` say what may be ranked and in which
direction.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, Literal

__all__ = ["DecideError", "check_metric", "goal_of", "Goal", "positive", "did_you_mean"]

Goal = Literal["max", "min"]

_MAXIMISE = {
    "policy_profit_per_order",
    "caused_margin",
    "caused_margin_per_order",
    "repeat_purchase_rate",
    "post_return_spend_ratio",
    "cancel_rate",
    "recovered_value",
    "buyer_fees",
    "carrier_claims",
    "referral_fee_credits",
    "safet_reimbursements",
}
"""KPIs and ledger credits where more is better; every other cost, rate or time is better low."""

_NO_DIRECTION = {"orders", "demand_orders", "return_requests", "desk_utilization", "retained_margin"}
"""KPIs with no better direction: ranking by them needs an explicit goal."""


class DecideError(ValueError):
    """A study was asked something it cannot do; the message says what and what is expected."""


def did_you_mean(name: str, options: list[str] | tuple[str, ...]) -> str:
    """``did you mean 'x'? `` for a close match (empty otherwise)."""
    close = difflib.get_close_matches(str(name), list(options), n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def check_metric(metric: Any) -> str:
    """``metric`` if it is a KPI or ledger category of a run, else a :class:`DecideError`."""
    from ..experiment.tasks import METRICS

    if not isinstance(metric, str) or metric not in METRICS:
        raise DecideError(
            f"unknown metric {metric!r}; {did_you_mean(str(metric), METRICS)}"
            f"expected one of: {', '.join(METRICS)}"
        )
    return metric


def goal_of(metric: str, goal: str | None = None) -> Goal:
    """Whether ``metric`` is to be maximised or minimised (``goal`` overrides the default)."""
    check_metric(metric)
    if goal is not None:
        if goal not in ("max", "min"):
            raise DecideError(f"goal must be 'max' or 'min', got {goal!r}")
        return goal  # type: ignore[return-value]
    if metric in _NO_DIRECTION:
        raise DecideError(f"{metric} has no better direction: say goal='max' or goal='min'")
    return "max" if metric in _MAXIMISE else "min"


def positive(name: str, value: Any, *, integer: bool = False, minimum: float = 0.0) -> Any:
    """``value`` if it is a finite number above ``minimum`` (an int if ``integer``), else a
    :class:`DecideError` naming ``name``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if integer:
        ok = ok and float(value) == int(value)
    if not ok or not math.isfinite(float(value)) or not value > minimum:
        kind = "an integer" if integer else "a number"
        raise DecideError(f"{name} must be {kind} greater than {minimum:g}, got {value!r}")
    return int(value) if integer else float(value)
