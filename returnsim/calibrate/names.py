"""Names the calibration's tables share (a module without pandas, so it is cheap to import)."""

from __future__ import annotations

__all__ = ["ALL", "ESTIMATE_COLUMNS", "PROBLEM_COLUMNS"]

ALL = "all"
"""``item_class`` of store-wide estimates."""

ESTIMATE_COLUMNS = ["parameter", "item_class", "estimate", "ci_low", "ci_high", "n", "source"]
"""Columns of :attr:`Calibration.estimates <returnsim.calibrate.Calibration.estimates>`."""

PROBLEM_COLUMNS = ["file", "line", "column", "value", "problem"]
"""Columns of :attr:`Calibration.problems <returnsim.calibrate.Calibration.problems>`."""
