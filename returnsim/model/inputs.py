"""The arguments of :func:`~returnsim.model.simulate`, checked before anything runs.

A wrong argument is an error that names the argument, the value given and what is accepted,
never a numpy or SimPy error from deep inside a run. The scenario may be a :class:`Scenario`,
a path to a scenario file or a dict of its tables (:func:`~returnsim.scenario.as_scenario`).

``seed=None`` draws fresh entropy from the operating system and records it in
``RunResult.seed``: ``simulate(sc, p, seed=run.seed)`` repeats that run exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..scenario import Scenario
from ..scenario.limits import LIMIT
from ..scenario.loader import as_scenario
from .budget import check_run

__all__ = ["simulation_inputs", "check_seed", "MIN_EPOCH_DAYS"]

MIN_EPOCH_DAYS = 1 / 24
"""Shortest epoch accepted (an hour): follow-on purchases come weeks or months apart, and a
finer epoch only multiplies the work."""

Seed = int | tuple[int, ...] | np.random.SeedSequence


def check_seed(seed: Any, name: str = "seed") -> Seed:
    """A seed numpy's ``SeedSequence`` accepts, or a fresh one for ``None``.

    Returns:
        The seed as given (ints as ``int``), or for ``None`` the entropy of a fresh
        ``SeedSequence`` (an ``int``), which reproduces the run when passed back.

    Raises:
        TypeError, ValueError: naming ``name``, the value and what is accepted.
    """
    accepted = (
        f"{name} must be a non-negative integer, a tuple of them, a numpy SeedSequence, or None "
        "for fresh entropy"
    )
    if seed is None:
        entropy = np.random.SeedSequence().entropy
        assert isinstance(entropy, int)
        return entropy
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer | Sequence) or isinstance(seed, str | bytes):
        raise TypeError(f"{accepted}; got {type(seed).__name__} {seed!r:.60}")
    parts = [seed] if isinstance(seed, int | np.integer) else list(seed)
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, int | np.integer):
            raise TypeError(f"{accepted}; got {seed!r:.60}")
        if part < 0:
            raise ValueError(f"{accepted}; got {seed!r:.60}")
    if isinstance(seed, int | np.integer):
        return int(seed)
    if not parts:
        raise ValueError(f"{accepted}; got an empty {type(seed).__name__}")
    return tuple(int(p) for p in parts)


def simulation_inputs(
    scenario: Any, policy: Any, seed: Any, trace: Any, epoch_days: Any, allow_large: Any
) -> tuple[Scenario, Seed]:
    """Check :func:`~returnsim.model.simulate`'s arguments; the scenario validated and the seed
    to use (fresh entropy for ``None``).

    Raises:
        ScenarioError: the scenario file or dict is invalid.
        TypeError, ValueError, KeyError: an argument is wrong (the message names it).
        RunTooLarge: one replication would need more memory than is available.
    """
    sc = as_scenario(scenario)
    if not isinstance(policy, str):
        raise TypeError(
            f"policy must be the name of one of the scenario's policies ({', '.join(sc.policies)}); "
            f"got {type(policy).__name__} {policy!r:.60}"
        )
    sc.policy(policy)  # KeyError listing the policies
    for name, value in (("trace", trace), ("allow_large", allow_large)):
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{name} must be True or False, got {value!r:.60}")
    if (
        isinstance(epoch_days, bool)
        or not isinstance(epoch_days, int | float | np.integer | np.floating)
        or not (math.isfinite(epoch_days) and MIN_EPOCH_DAYS <= epoch_days <= LIMIT)
    ):
        raise ValueError(
            f"epoch_days must be a number of days from {MIN_EPOCH_DAYS:.4g} (an hour) to "
            f"{LIMIT:.0e}, got {epoch_days!r:.60}"
        )
    seed = check_seed(seed)
    check_run(sc, allow_large=bool(allow_large), trace=bool(trace))
    return sc, seed
