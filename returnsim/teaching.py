"""Helpers for the teaching notebooks: checking a student's answer to an exercise.

Each exercise in ``notebooks/teaching/`` has an answer cell (``answer_1 = None`` in a student's
copy, the solution in ``notebooks/instructor/``) and a cell that calls :func:`check` with the value
the notebook computes itself. :func:`check` says whether the answer is right and never fails a
student's notebook; with ``RETURNSIM_EXPECT_SOLUTIONS=1`` (the tests, running the instructor's
copies) a wrong or missing answer raises, so a solution that stops matching the model is caught.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

__all__ = ["check", "shipped"]


def shipped(relative: str, start: str | Path | None = None) -> Path:
    """A file shipped with returnsim, e.g. ``shipped("scenarios/seed_policies.toml")``.

    The same as :func:`returnsim.shipped` (found inside the installed package, wherever the
    notebook runs); ``start`` is ignored and kept so older notebooks still run.
    """
    from .shipped import shipped as _shipped

    return _shipped(relative)


def check(answer: Any, expected: Any, *, rel: float = 0.02, abs_tol: float = 0.0, hint: str = "") -> None:
    """Is ``answer`` right? Prints the verdict (returns nothing, so a notebook shows only that).

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
