"""Checks beyond the schema: scenarios nothing can be learned from, and values that are valid but
unlikely to be meant.

Two kinds of finding, both about a validated :class:`~returnsim.scenario.Scenario`:

* :func:`nothing_to_learn` lists why a run could not say anything about return handling (no
  item class is ever returned; fewer than one return request expected in the measured days).
  :func:`~returnsim.scenario.parse_scenario` refuses such a scenario, because every ratio per
  return would be "not defined" and the money per order would be that of a store without
  returns.
* :func:`plausibility_warnings` lists values a careless unit slip produces (grams typed as
  pounds, days as hours, a percentage as a share); ``returnsim validate`` and ``run`` print
  them without stopping, since each can be meant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .problems import Problem

if TYPE_CHECKING:
    from .schema import Scenario

__all__ = ["nothing_to_learn", "plausibility_warnings", "expected_requests", "HEAVY_LB", "QUICK_LATE_HOURS", "HIGH_RETURN_RATE"]

HEAVY_LB = 150.0
"""Heaviest plausible unit, pounds (assumed: the largest parcel common carriers accept). A
450 lb accessory is most likely 450 g typed as pounds."""

QUICK_LATE_HOURS = 12.0
"""Shortest plausible ``desk.late_after_hours`` (assumed; Amazon counts a response late after
48 hours [A1] and recommends answering within 24 [A2]). 2 is most likely 2 days typed as hours."""

HIGH_RETURN_RATE = 0.6
"""Highest plausible return rate of an item class (assumed: twice the apparel rates of [B14],
"often above 30 %")."""


def expected_requests(sc: Scenario) -> float:
    """Return requests expected in the measured days of one replication (before repeat
    purchases): orders a day x mean seasonal multiplier x measured days x the catalog's
    share-weighted return rate."""
    shares = [c.share for c in sc.catalog.values()]
    total = sum(shares)
    rate = sum(c.share * c.return_rate for c in sc.catalog.values()) / total if total > 0 else 0.0
    season = list(sc.demand.seasonality)
    mean_season = sum(season) / len(season) if season else 1.0
    measured_days = max(float(sc.horizon_days) - float(sc.warmup_days), 0.0)
    return float(sc.demand.orders_per_day) * mean_season * measured_days * rate


def nothing_to_learn(sc: Scenario) -> list[Problem]:
    """Why a run of ``sc`` could not measure return handling (empty if it can)."""
    if all(c.return_rate == 0 or c.share == 0 for c in sc.catalog.values()):
        rates = {name: c.return_rate for name, c in sc.catalog.items()}
        return [
            Problem(
                "catalog.*.return_rate",
                rates,
                "at least one item class sold with a return rate above 0: with no returns there is "
                "nothing about return handling to measure, and every cost per return is undefined",
            )
        ]
    expected = expected_requests(sc)
    if expected < 1.0:
        return [
            Problem(
                "demand.orders_per_day",
                sc.demand.orders_per_day,
                f"enough orders for at least one return request in the measured "
                f"{float(sc.horizon_days) - float(sc.warmup_days):g} days; {expected:.3g} expected "
                "(raise demand.orders_per_day or horizon_days)",
            )
        ]
    return []


def plausibility_warnings(sc: Scenario) -> list[Problem]:
    """Values that validate but are unlikely to be meant, each with the likely slip."""
    out: list[Problem] = []
    for name, c in sc.catalog.items():
        if c.weight_lb > HEAVY_LB:
            grams = c.weight_lb / 453.59237
            out.append(
                Problem(
                    f"catalog.{name}.weight_lb",
                    c.weight_lb,
                    f"a unit over {HEAVY_LB:g} lb is unusual; if this is grams, "
                    f"{c.weight_lb:g} g is weight_lb = {grams:.3g}",
                )
            )
        # Exactly 1 (every order returned) is a modelling device, as in the queueing checks of
        # scenarios/validation/; a slip gives an odd share such as 0.8 or 0.95.
        if HIGH_RETURN_RATE < c.return_rate < 1.0:
            out.append(
                Problem(
                    f"catalog.{name}.return_rate",
                    c.return_rate,
                    f"more than {HIGH_RETURN_RATE:.0%} of orders returned is unusual (apparel: often "
                    "above 30 % [B14]); a share is written 0-1, e.g. 8 % as 0.08",
                )
            )
    late = sc.desk.late_after_hours
    if late < QUICK_LATE_HOURS:
        out.append(
            Problem(
                "desk.late_after_hours",
                late,
                f"a response late after under {QUICK_LATE_HOURS:g} hours is unusual (Amazon: 48 hours "
                f"[A1]); if this is days, {late:g} days is late_after_hours = {late * 24:g}",
            )
        )
    return out
