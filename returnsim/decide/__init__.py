"""How sure is the answer: selection with a guarantee, designs and sweeps, what drives the
answer, decisions under uncertainty, optimised levers and Pareto frontiers.

One concept per module, in the order a study uses them:

* :mod:`.errors`: :class:`DecideError` (a study asked wrongly) and the metrics' directions;
* :mod:`.inputs`: the numbers a study varies, and the scenario variants they make;
* :mod:`.designs`: grid, Latin hypercube, Sobol' and Halton designs;
* :mod:`.runner`: runs of many variants, resumable in the results store, on any executor;
* :mod:`.sweep`: :func:`sweep`, policies over a design as one tidy frame;
* :mod:`.samplers`, :mod:`.selection`: :func:`select_best`, Kim & Nelson's procedure;
* :mod:`.sensitivity`: :func:`tornado`, :func:`sobol_indices`, :func:`breakeven`;
* :mod:`.psa`: :func:`psa`: probability best, expected loss, EVPI and EVPPI;
* :mod:`.optimize`: :func:`optimize`, the best value of one or two levers;
* :mod:`.pareto`: :func:`pareto`, the frontier of candidates no other beats on every objective;
* :mod:`.assess`: :func:`assess`, what the report's "How sure is this?" section shows;
* :mod:`.health`: :func:`feasible`, Amazon's account-health targets as a constraint;
* :mod:`.latecause`, :mod:`.deskfix`: :func:`desk_fix`, why no policy meets them and the
  smallest desk change that does.

Like the experiment engine, these modules import pandas and scipy only when they are used, so
worker processes that only simulate start quickly.
"""

from .assess import Assessment, assess
from .designs import DESIGNS, make_design
from .deskfix import DeskChange, DeskFix, desk_changes, desk_fix
from .errors import DecideError
from .health import Feasibility, feasible
from .inputs import Input, study_inputs
from .optimize import Optimum, optimize
from .pareto import FRONTIERS, pareto
from .psa import PSA, psa
from .samplers import ModelSampler, NormalSampler, Sampler, TableSampler
from .selection import Selection, kn_select, replay, select_best
from .sensitivity import BreakEven, SobolIndices, Tornado, breakeven, sobol_indices, tornado
from .sweep import SweepResult, sweep

__all__ = [
    "select_best",
    "Selection",
    "kn_select",
    "replay",
    "Sampler",
    "NormalSampler",
    "TableSampler",
    "ModelSampler",
    "sweep",
    "SweepResult",
    "make_design",
    "DESIGNS",
    "Input",
    "study_inputs",
    "tornado",
    "Tornado",
    "sobol_indices",
    "SobolIndices",
    "breakeven",
    "BreakEven",
    "psa",
    "PSA",
    "optimize",
    "Optimum",
    "pareto",
    "FRONTIERS",
    "assess",
    "Assessment",
    "DecideError",
    "feasible",
    "Feasibility",
    "desk_fix",
    "DeskFix",
    "DeskChange",
    "desk_changes",
]
