"""Standalone HTML pages: the one Jinja machinery behind the comparison report
(:mod:`returnsim.output.report`) and the calibration fit report (:mod:`returnsim.calibrate.fitreport`).

A page is one file with no external resources: its template lives in the ``templates`` folder of
the package that owns it, every value is escaped (names in a page are user text), a missing
value is an error rather than an empty gap, and figures are embedded: inline SVG whose text
stays text (:func:`svg`; it scales with the screen and a browser can measure it), or PNG data
URIs (:func:`png`). Jinja and matplotlib are imported when a page is made, so importing
returnsim stays light.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from typing import Any

__all__ = ["template", "render", "png", "svg", "SVG_FONTS"]

SVG_FONTS = ["DejaVu Sans", "Verdana", "Arial", "Helvetica"]
"""Fonts an SVG figure names for its text, most alike first: matplotlib lays text out in DejaVu
Sans, and Verdana (as wide) stands in for it where a phone lacks it, so text keeps the room it was
given; every font is followed by the generic ``sans-serif``."""


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


_TAG = re.compile(r"<[^<>]+>")
_ID = re.compile(r'(\sid="|url\(#|xlink:href="#)([^"()]+)')


def svg(fig: Any) -> Any:
    """A matplotlib figure as inline SVG markup (a ``markupsafe.Markup``, put in a page as it
    is); closes the figure.

    Text stays text (``svg.fonttype = "none"``), so it is sharp at any size, searchable, and a
    browser can measure it. The ``<svg>`` keeps its ``viewBox`` and states its natural size in
    CSS pixels (1 pt = 4/3 px) and that width as its ``max-width``: the page's CSS makes it as
    wide as its box up to that, never wider than the figure was drawn. Ids are prefixed with a digest of the figure, so several figures
    on one page never share one (matplotlib numbers its ids per figure); the same figure gives
    the same markup (no date, no random ids).
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt
    from markupsafe import Markup

    buf = io.StringIO()
    try:
        with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "returnsim", "font.sans-serif": SVG_FONTS}):
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    finally:
        plt.close(fig)
    text = buf.getvalue()
    # The <svg> element on, without the XML prologue, DOCTYPE and RDF metadata: inline SVG in
    # HTML needs none of them.
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text[text.index("<svg"):], flags=re.S)
    prefix = "f" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8] + "-"
    # Only inside tags: text content cannot hold a raw "<" (matplotlib escapes it), so a label
    # that reads 'id="x"' is never rewritten.
    text = _TAG.sub(lambda tag: _ID.sub(lambda m: m[1] + prefix + m[2], tag[0]), text)
    head = re.match(r'<svg ([^>]*)width="([\d.]+)pt" height="([\d.]+)pt"', text)
    if head is None:  # pragma: no cover - matplotlib's SVG always starts so
        raise ValueError("matplotlib wrote an <svg> without its width and height in points")
    width, height = float(head[2]) * 4 / 3, float(head[3]) * 4 / 3
    text = (
        f'<svg {head[1]}width="{width:.0f}" height="{height:.0f}" '
        f'style="max-width:{width:.0f}px"' + text[head.end():]
    )
    return Markup(text.strip())
