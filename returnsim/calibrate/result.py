"""What a calibration found: the data of a :class:`~returnsim.calibrate.Calibration`.

The writers (:mod:`.writer`, :mod:`.summary`, :mod:`.fitreport`) read this and nothing above it;
:mod:`.calibration` fits the reports into it and adds the methods that call the writers, so the
package's imports point one way: result <- writers <- calibration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..scenario.world import Returns
from .codes import CodeTable
from .names import ALL

# pandas is imported where the reports are read and fitted, so `import returnsim` (and every
# worker process an experiment starts) does not load it.
if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..scenario import Scenario
    from .fits import Details, Prepared
    from .stats import DistributionFit

__all__ = ["CalibrationData"]


def _frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()


@dataclass
class CalibrationData:
    """What :func:`~returnsim.calibrate.calibrate` found in the reports (the fields of a
    :class:`~returnsim.calibrate.Calibration`)."""

    estimates: pd.DataFrame
    """Tidy: ``parameter, item_class, estimate, ci_low, ci_high, n, source`` (95 % intervals;
    ``n`` rows behind each; ``item_class == "all"`` for store-wide figures). Parameter names are
    listed in ``docs/calibrate.md``."""
    problems: pd.DataFrame
    """Every row or cell that could not be read: ``file, line, column, value, problem``."""
    unknown_codes: pd.DataFrame
    """Codes and values the code table does not know: ``report, column, code, rows``."""
    notes: list[str]
    """What else a seller should know (rows left out, matching, assumptions)."""
    info: dict[str, Any]
    """``home_country``, ``classes_from``, ``price_bands``."""
    details: Details = field(repr=False)
    codes: CodeTable = field(repr=False)
    source_names: dict[str, str] = field(default_factory=dict)
    """Report kind -> file name."""
    rows: pd.DataFrame = field(default_factory=lambda: _frame())
    """Per report: rows in the file and rows used."""
    delay_fit: DistributionFit | None = field(default=None, repr=False)
    """The delivery -> request delay fitted with ``returns`` (the assumed delivery time and window)."""
    returns: Returns = field(default_factory=Returns, repr=False)
    writer_notes: list[str] = field(default_factory=list)
    """What writing the last scenario (``Calibration.to_scenario``) left for the seller to check."""
    _prepared: Prepared | None = field(default=None, repr=False)

    def estimate(self, parameter: str, item_class: str = ALL) -> float:
        """One estimate by name (NaN if the reports did not support it)."""
        e = self.estimates
        hit = e[(e["parameter"] == parameter) & (e["item_class"] == item_class)]
        return float(hit["estimate"].iat[0]) if len(hit) else float("nan")

    def _label_weights(self, sc: Scenario) -> dict[str, float]:
        """Mean item weight (lb; base scenario's class weights) of labelled MFN returns per market."""
        p = self._prepared
        if p is None or p.mfn is None or "label_cost" not in p.mfn:
            return {}
        m = p.mfn[(p.mfn["label_cost"] > 0) & p.mfn["market"].notna()]
        fallback = next(iter(sc.catalog.values())).weight_lb
        w = m["item_class"].map(lambda c: sc.catalog[c].weight_lb if c in sc.catalog else fallback)
        return {str(k): float(v) for k, v in w.groupby(m["market"]).mean().items()}
