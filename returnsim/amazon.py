"""Amazon's rules as pure functions and constants, each with its source in ``docs/sources.md``.

Account-health targets and how a policy's KPIs are judged against them live here, so the model,
the terminal tables and the HTML report all judge by the same rule. (The fee rules of Amazon's
returns, Grade and Resell, refund administration, returns processing, removal and disposal, are
added here as pure functions used by the ledger.)
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["RDR_TARGET", "ODR_TARGET", "LATE_AFTER_HOURS", "HealthWarning", "target_breaches"]

RDR_TARGET = 0.10
"""Return Dissatisfaction Rate target: below 10 % of return requests [A5]."""

ODR_TARGET = 0.01
"""Order Defect Rate target: below 1 % of orders [A6]."""

LATE_AFTER_HOURS = 48.0
"""A return request not authorised, refunded or closed within 48 hours is late [A1]."""


class HealthWarning(str):
    """A plain-words warning that a policy breaks one of Amazon's account-health targets."""


def target_breaches(policy: str, kpis: Mapping[str, float]) -> list[HealthWarning]:
    """Plain-words warnings for every account-health target ``kpis`` break.

    ``kpis`` maps KPI names to values (a run's ``kpis`` or a policy's means over replications).
    A KPI that is missing or NaN is not judged.
    """
    out: list[HealthWarning] = []
    checks = (
        ("rdr", RDR_TARGET, "return dissatisfaction rate", "return requests"),
        ("odr", ODR_TARGET, "order defect rate", "orders"),
    )
    for key, target, name, per in checks:
        value = kpis.get(key)
        if value is None or value != value:
            continue
        if value >= target:
            out.append(
                HealthWarning(
                    f"{policy}: {name} {value:.1%} of {per} is at or above Amazon's target of "
                    f"{target:.0%}; Amazon may restrict a seller's account for this"
                )
            )
    return out
