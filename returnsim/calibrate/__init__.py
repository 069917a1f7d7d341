"""Your store from your own Amazon reports: readers, fits, a scenario writer and synthetic
reports for testing (``docs/calibrate.md``).

The flow follows the data:

* :mod:`.readers`: tolerant readers for the FBA customer returns report, the seller-fulfilled
  Returns report, the All Orders report (or orders per month), Brand Analytics' Repeat
  Purchase Behavior report and a SKU -> class mapping;
  every unreadable row or cell is reported with file, line, column and value;
* :mod:`.codes`: the editable table of Amazon's reason and disposition codes;
* :mod:`.prepare`: order ids replaced by codes, classes assigned, returns matched to orders;
* :mod:`.stats` and :mod:`.fits`: estimates with 95 % intervals and the rows behind each;
* :mod:`.calibration`: :func:`calibrate` and its :class:`Calibration` result;
* :mod:`.writer`: the calibrated scenario file (one table maps estimates to fields);
* :mod:`.summary` and :mod:`.fitreport`: the one-screen summary and the HTML fit report;
* :mod:`.synthetic`: realistic synthetic reports of a scenario's store, for round trips.
"""

from .._lazy import lazy_names
from .calibration import Calibration, CalibrationError, calibrate
from .codes import CodeTable

__all__ = [
    "calibrate",
    "CalibrationError",
    "Calibration",
    "CodeTable",
    "ReadProblem",
    "read_fba_returns",
    "read_mfn_returns",
    "read_orders",
    "read_classes",
    "read_repeat_purchases",
    "ReportError",
    "synthetic_reports",
    "SyntheticReports",
    "expected_estimates",
]

_LAZY = {
    "ReadProblem": "readers",
    "read_fba_returns": "readers",
    "read_mfn_returns": "readers",
    "read_orders": "readers",
    "read_classes": "readers",
    "read_repeat_purchases": "repeat",
    "ReportError": "readers",
    "synthetic_reports": "synthetic",
    "SyntheticReports": "synthetic",
    "expected_estimates": "synthetic",
}
"""Names whose modules need pandas or scipy, imported when first used (so `import returnsim`
stays light for the worker processes an experiment starts)."""


__getattr__, __dir__ = lazy_names(__name__, _LAZY)
