"""The seller's desk in a scenario: staff, opening hours, holidays, handling times and wage.

What :mod:`returnsim.model.desk` simulates is declared here: how many agents answer return
requests, when they are on duty (``"24/7"`` or hours per weekday), the days the desk is closed,
how long a first answer, a second touch and an investigation take, and what an agent hour costs.
Durations in minutes, hours after midnight for opening times, money in the scenario's currency.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WrapValidator, model_validator

from .distributions import Fixed, Lognormal
from .fields import Date, Dist, NonNeg, Share, Strict
from .kinds import ByKind

__all__ = ["DayHours", "WeekHours", "WEEKDAYS", "Hours", "Investigation", "Desk"]


class DayHours(Strict):
    open: float = Field(ge=0, le=24, description="opening time, hours after midnight (0-24)")
    close: float = Field(ge=0, le=24, description="closing time, hours after midnight (0-24), after open")

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)) and len(v) == 2:
            return {"open": v[0], "close": v[1]}
        return v

    @model_validator(mode="after")
    def _ordered(self) -> DayHours:
        if not self.close > self.open:
            raise ValueError(f"close ({self.close}) must be after open ({self.open})")
        return self


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WeekHours(Strict):
    """Opening hours per weekday as ``[open, close]`` in hours (e.g. ``mon = [9, 17]``);
    a day left out is closed."""

    mon: DayHours | None = Field(default=None, description="Monday's [open, close], hours after midnight; left out: closed")
    tue: DayHours | None = Field(default=None, description="Tuesday's [open, close], hours after midnight; left out: closed")
    wed: DayHours | None = Field(default=None, description="Wednesday's [open, close], hours after midnight; left out: closed")
    thu: DayHours | None = Field(default=None, description="Thursday's [open, close], hours after midnight; left out: closed")
    fri: DayHours | None = Field(default=None, description="Friday's [open, close], hours after midnight; left out: closed")
    sat: DayHours | None = Field(default=None, description="Saturday's [open, close], hours after midnight; left out: closed")
    sun: DayHours | None = Field(default=None, description="Sunday's [open, close], hours after midnight; left out: closed")

    @model_validator(mode="after")
    def _some(self) -> WeekHours:
        if all(getattr(self, d) is None for d in WEEKDAYS):
            raise ValueError("the desk must be open at least one day a week")
        return self

    def intervals(self) -> list[tuple[float, float]]:
        """Open intervals within a week, in hours from Monday 00:00."""
        out = []
        for i, d in enumerate(WEEKDAYS):
            h = getattr(self, d)
            if h is not None:
                out.append((24.0 * i + h.open, 24.0 * i + h.close))
        return out


Hours = Annotated[
    Literal["24/7"] | WeekHours,
    WrapValidator(ByKind(("24/7",), WeekHours, '"24/7" or a table of opening hours per weekday '
                         "such as {mon = [9, 17], tue = [9, 17]}")),
]
"""``"24/7"`` or a :class:`WeekHours` table."""


class Investigation(Strict):
    """Checking the buyer's real reason when the stated one blames the seller."""

    detect_probability: Share = Field(
        default=0.5, description="chance a misreported reason is revealed (assumed)"
    )
    minutes: Dist = Field(default=Fixed(value=10), description="extra agent time per investigated request, minutes (assumed)")


class Desk(Strict):
    """The seller's response desk."""

    staff: int = Field(default=2, ge=1, strict=True, description="agents answering return requests")
    hours: Hours = Field(
        default="24/7", description='"24/7" or opening hours per weekday'
    )
    handling_minutes: Dist = Field(
        default=Lognormal(mean_=12, cv=0.5), description="agent time per request (assumed)"
    )
    follow_up_minutes: Dist = Field(
        default=Fixed(value=3),
        description="agent time of a second touch: acting on a buyer's reply to an offer or fee "
        "request, paying a partial refund, dispatching an exchange (assumed); queued on the desk",
    )
    holidays: list[Date] = Field(
        default_factory=list,
        description="dates the desk is closed; also not business days for the refund clock",
    )
    investigation: Investigation = Field(
        default_factory=Investigation, description="checking the real reason of seller-fault claims"
    )
    wage_per_hour: NonNeg = Field(default=20.0, description="loaded cost of an agent hour, in the scenario's currency (assumed)")
    late_after_hours: float = Field(
        default=48,
        gt=0,
        description="no authorise/close within this many hours is a late response (Amazon [A1])",
    )
    service_quality: Share = Field(
        default=0.5, description="ability and attitude of the desk, a score from 0 to 1 (assumed)"
    )
