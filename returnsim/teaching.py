"""Helpers for the teaching notebooks: checking a student's answer to an exercise.

Each exercise in ``notebooks/teaching/`` has an answer cell (``answer_1 = None`` in a student's
copy, the solution in ``notebooks/instructor/``) and a cell that calls :func:`check` with the
exercise's name and the notebook's objects, e.g. ``check("desk-2", answer_2, staffing=staffing)``.
The right answer is computed here (:data:`EXERCISES`), so the check cell shows neither the
value nor its expression. :func:`check` says right or wrong, with a hint, and never fails a
student's notebook; with ``RETURNSIM_EXPECT_SOLUTIONS=1`` (the tests, running the instructor's
copies) a wrong or missing answer raises, so a solution that stops matching the model is caught.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EXERCISES", "Exercise", "check", "shipped", "verdict"]


def shipped(relative: str, start: str | Path | None = None) -> Path:
    """A file shipped with returnsim, e.g. ``shipped("scenarios/seed_policies.toml")``.

    The same as :func:`returnsim.shipped` (found inside the installed package, wherever the
    notebook runs); ``start`` is ignored and kept so older notebooks still run.
    """
    from .shipped import shipped as _shipped

    return _shipped(relative)


def verdict(answer: Any, expected: Any, *, rel: float = 0.02, abs_tol: float = 0.0, hint: str = "") -> None:
    """Is ``answer`` right? Prints the verdict and, if wrong, the hint; never ``expected``.

    Args:
        answer: the student's answer (``None``: not answered yet).
        expected: the right answer: a number (compared within ``rel`` relative and ``abs_tol``
            absolute tolerance) or anything else (compared with ``==``; strings ignore case and
            surrounding spaces).
        rel: relative tolerance for numbers (default 2 %: rounding in a hand calculation).
        abs_tol: absolute tolerance for numbers.
        hint: shown when the answer is not right.

    Raises:
        AssertionError: only with ``RETURNSIM_EXPECT_SOLUTIONS=1``, when the answer is wrong or
            missing.
    """
    strict = os.environ.get("RETURNSIM_EXPECT_SOLUTIONS") == "1"
    if answer is None:
        print("Not answered yet: replace None with your answer and run the cell again.")
        if strict:
            raise AssertionError("the solution cell left the answer empty")
        return
    if isinstance(expected, str):
        ok = str(answer).strip().lower() == expected.strip().lower()
    elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            ok = math.isclose(float(answer), float(expected), rel_tol=rel, abs_tol=abs_tol)
        except (TypeError, ValueError):
            ok = False
    else:
        ok = bool(answer == expected)
    shown = _show(answer)
    if ok:
        print(f"Correct: {shown}.")
        return
    print(f"Not yet: {shown} is not the answer." + (f" Hint: {hint}" if hint else ""))
    if strict:
        raise AssertionError(f"solution {shown} does not match {_show(expected)}")


def _show(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value):,.6g}"
    return repr(value) if not isinstance(value, str) else value


@dataclass(frozen=True)
class Exercise:
    """One exercise of a teaching notebook: how its right answer is computed, and a hint.

    The expected value is computed here, from the objects the notebook passes to :func:`check`,
    so the notebook's check cell shows neither the value nor the expression that computes it.
    """

    expected: Callable[..., Any]
    """The right answer, from the notebook's objects (keyword arguments of :func:`check`)."""
    hint: str
    """What to think about when the answer is wrong: the idea, never the computation."""
    rel: float = 0.02
    """Relative tolerance for numbers (2 %: rounding in a hand calculation)."""
    abs_tol: float = 0.0
    """Absolute tolerance for numbers."""


def _breakeven(sc: Any, item_class: str, condition: str, **kw: Any) -> float:
    from .analytic import giveaway_breakeven

    return float(giveaway_breakeven(sc, item_class, condition, **kw))


def _multiplier(sc: Any, s: float) -> float:
    m = sc.retention.repeat_multiplier
    return float(m.maximum / (1 + math.exp(-(m.intercept + m.per_satisfaction * s))))


def _cheapest(summary: Any) -> str:
    cost = summary[summary.metric == "net_return_cost_per_order"].set_index("policy")["mean"]
    return str(cost.drop("cost_optimal").idxmin())


def _late(staffing: Any, hours: str, staff: int) -> float:
    return float(staffing.set_index(["hours", "staff"])["late"][(hours, staff)])


def _saturday_late(trace: Any) -> float:
    return float(trace.loc[(trace["request_time"] // 24 % 7) == 5, "late"].mean())


def _margin_per_freight(diff: Any, policy: str = "free_returns") -> float:
    d = diff.xs(policy, level="policy")["mean_diff"]
    return float(d["retained_margin_per_order"] / d["freight_per_order"])


EXERCISES: dict[str, Exercise] = {
    # notebooks/instructor/01_disposition_and_time_value.ipynb
    "disposition-1": Exercise(
        lambda sc: _breakeven(sc, "accessories", "unopened"),
        "the break-even is the price at which taking the item back costs as much as it recovers; "
        "for an unopened accessory, check which share limits what a resold unit is worth to you.",
    ),
    "disposition-2": Exercise(
        lambda sc: _breakeven(sc, "electronics", "opened", payer="seller")
        - _breakeven(sc, "electronics", "opened", payer="buyer"),
        "when the buyer pays the label, one of the costs of taking the item back disappears; "
        "compare the two break-even prices (the table of section 2).",
    ),
    "disposition-3": Exercise(
        lambda sc: _breakeven(sc, "electronics", "opened", weeks_to_resale=6)
        - _breakeven(sc, "electronics", "opened", weeks_to_resale=3),
        "a resold unit loses value every week it waits; compare the break-even at the slow and "
        "at the fast process (section 3 shows the function's time argument).",
    ),
    "disposition-4": Exercise(
        lambda summary: _cheapest(summary),
        "read the chart: the lowest net return cost per order among the thresholds "
        "(cost_optimal is not a threshold).",
    ),
    # notebooks/instructor/02_desk_and_account_health.ipynb
    "desk-1": Exercise(
        lambda mmc: analytic_erlang_c(mmc.demand.orders_per_day / 24, 60 / 24, 3),
        "the arrival rate is unchanged; a shorter handling time raises the number of requests one "
        "agent answers per hour. Section 1 names the function for the chance of waiting.",
    ),
    "desk-2": Exercise(
        lambda staffing: _late(staffing, "weekdays 9-17", 1)
        - _late(staffing, "weekdays 9-17", int(staffing["staff"].max())),
        "take two rows of the staffing table for the same schedule and subtract; the answer is a "
        "share, so 2 percentage points is 0.02.",
        abs_tol=1e-9,
    ),
    "desk-3": Exercise(
        lambda trace: _saturday_late(trace),
        "select the requests whose weekday is Saturday, then take the share of them that were late.",
        abs_tol=1e-9,
    ),
    # notebooks/instructor/03_who_pays_the_label.ipynb
    "label-1": Exercise(
        lambda sc: _multiplier(sc, sc.retention.satisfaction.buyer_paid_freight) / _multiplier(sc, 0.0),
        "evaluate the multiplier twice, once with the label's effect on satisfaction and once at "
        "s = 0, and divide; a factor below 1 means fewer purchases.",
    ),
    "label-2": Exercise(
        lambda diff: _margin_per_freight(diff),
        "both numbers are paired differences of free_returns against seed, per order; the answer "
        "is a ratio, margin over freight.",
    ),
    "label-3": Exercise(
        lambda label, gap, margin: label / (gap["calibrated"] * margin),
        "use the calibrated row of the gap table with the rule of thumb above; the answer is in "
        "the scenario's currency.",
    ),
}
"""Every exercise of the teaching notebooks, by the name its check cell passes."""


def analytic_erlang_c(arrivals_per_hour: float, per_agent_hour: float, agents: int) -> float:
    """Erlang C's probability of waiting (a helper of exercise ``desk-1``)."""
    from .analytic import erlang_c

    return float(erlang_c(arrivals_per_hour, per_agent_hour, agents)[0])


def check(exercise: str, answer: Any, **given: Any) -> None:
    """Is ``answer`` to ``exercise`` right? Prints "Correct" or "Not yet" with a hint, never the
    expected value (returns nothing, so a notebook shows only the verdict).

    Args:
        exercise: the exercise's name in :data:`EXERCISES`, e.g. ``"desk-2"``.
        answer: the student's answer (``None``: not answered yet).
        **given: the notebook's objects the right answer is computed from (e.g. ``sc=sc``).

    Raises:
        KeyError: an unknown exercise (the message lists the known ones).
        AssertionError: only with ``RETURNSIM_EXPECT_SOLUTIONS=1``, when the answer is wrong or
            missing.
    """
    if exercise not in EXERCISES:
        raise KeyError(f"check(exercise={exercise!r}): no such exercise; known: {', '.join(EXERCISES)}")
    ex = EXERCISES[exercise]
    expected = ex.expected(**given)
    log = os.environ.get("RETURNSIM_CHECK_LOG")
    if log:  # the tests: which values a student's copy must never print
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"exercise": exercise, "expected": expected}) + "\n")
    verdict(answer, expected, rel=ex.rel, abs_tol=ex.abs_tol, hint=ex.hint)
