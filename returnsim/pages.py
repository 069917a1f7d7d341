"""Standalone HTML pages: the one Jinja machinery behind the comparison report
(:mod:`returnsim.output.report`) and the calibration fit report (:mod:`returnsim.calibrate.fitreport`).

A page is one file with no external resources: its template lives in the ``templates`` folder of
the package that owns it, every value is escaped (names in a page are user text), a missing
value is an error rather than an empty gap, and figures are PNGs embedded as data URIs.
Jinja and matplotlib are imported when a page is made, so importing returnsim stays light.
"""

from __future__ import annotations

import base64
import io
from typing import Any

__all__ = ["template", "render", "png"]


def template(package: str, name: str) -> Any:
    """The Jinja template ``name`` of ``package``'s ``templates`` folder (a ``jinja2.Template``).

    Args:
        package: the owning package, e.g. ``"returnsim.output"``.
        name: the file name in its ``templates`` folder, e.g. ``"report.html.j2"``.
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,  # every name in a page is user text
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(name)


def render(package: str, name: str, **context: Any) -> str:
    """The HTML text of :func:`template` ``(package, name)`` filled with ``context``."""
    return str(template(package, name).render(**context))


def png(fig: Any, dpi: int = 110) -> str:
    """A matplotlib figure as a PNG data URI (``dpi`` dots per inch); closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
