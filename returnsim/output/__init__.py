"""What people look at: terminal tables, matplotlib figures and the standalone HTML report.

* :mod:`.tables`: plain-text tables of KPIs, costs and paired differences;
* :mod:`.plots`: figures for notebooks and the report;
* :mod:`.report`: the HTML report (a Jinja2 template, charts embedded, no network needed).

Only :mod:`.plots` is imported with the package (it imports matplotlib lazily); the report
brings pandas and Jinja2 when it is used.
"""

from . import plots

__all__ = ["plots"]
