"""Names the calibration's tables share, and notes on names a seller gives (a module without
pandas, so it is cheap to import)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["ALL", "ESTIMATE_COLUMNS", "PROBLEM_COLUMNS", "look_alikes", "home_not_shipped_to"]

ALL = "all"
"""``item_class`` of store-wide estimates."""

ESTIMATE_COLUMNS = ["parameter", "item_class", "estimate", "ci_low", "ci_high", "n", "source"]
"""Columns of :attr:`Calibration.estimates <returnsim.calibrate.Calibration.estimates>`."""

PROBLEM_COLUMNS = ["file", "line", "column", "value", "problem"]
"""Columns of :attr:`Calibration.problems <returnsim.calibrate.Calibration.problems>`."""


def look_alikes(new: Iterable[str], known: Sequence[str]) -> str:
    """``; 'Apparel' looks like the scenario's 'apparel' ...`` for each of the class mapping's
    ``new`` class names that is one of ``known`` in another case or nearly (a typo): such a class
    is a new one, which takes none of the known class's settings."""
    lower = {k.lower(): k for k in known}
    out = []
    for c in new:
        near = lower.get(c.lower()) or next(iter(difflib.get_close_matches(c, list(known), n=1, cutoff=0.8)), None)
        if near is not None and near != c:
            out.append(f"; '{c}' looks like the scenario's '{near}': if it is that class, name it '{near}' in the class mapping")
    return "".join(out)


def home_not_shipped_to(home: str, countries: Mapping[str, int]) -> list[str]:
    """A note when no order ships to the home country given (``countries``: order lines by
    ship-to country): every order is then international, which a typo in ``--home-country``
    would do without an error."""
    total = sum(countries.values())
    if not total or countries.get(home, 0):
        return []
    top, n = max(countries.items(), key=lambda kv: kv[1])
    return [f"no order ships to {home}, the home country given: every order counts as international; {n / total:.0%} ship to {top}"]
