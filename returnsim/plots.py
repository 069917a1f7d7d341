"""``returnsim.plots``: the figures of :mod:`returnsim.output.plots` under a short name, for
notebooks (``from returnsim import plots``)."""

from .output.plots import *  # noqa: F403
from .output.plots import __all__  # noqa: F401
