"""Replay a seller's own year: the reports' orders and return requests through each policy.

:func:`replay` reads the reports (:mod:`.inputs`), runs an experiment whose demand is the
seller's own (:class:`~returnsim.model.replay_source.ReplaySource`) and puts what the reports
say happened beside the replay of the current policy (:mod:`.actuals`). See docs/replay.md.
"""

from __future__ import annotations

from .inputs import ReplayInputs, read_inputs
from .run import ReplayResult, replay

__all__ = ["replay", "ReplayResult", "ReplayInputs", "read_inputs"]
