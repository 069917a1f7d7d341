"""Decision under uncertainty: probabilistic sensitivity analysis (PSA) and the value of
information.

The scenario's ``[uncertainty]`` table says which inputs are unknown and how unknown. A PSA draws
the inputs many times (a Latin hypercube by default), runs every policy at each draw with common
random numbers (the policies of a draw share replications; draws use replications of their own,
so averages over draws also average over the simulation's randomness), and asks, as decision
analysts in health economics do ([M6]):

* **probability best**: in what share of draws each policy comes out on top;
* **expected loss** (regret): how much worse than the best of each draw a policy does on average;
  the policy with the highest expected value has the smallest;
* **EVPI**, the expected value of perfect information: what knowing every input exactly would be
  worth, i.e. the expected loss of the policy one would choose today;
* **EVPPI**, the expected value of partial perfect information, per input or group of inputs:
  what learning just that input would be worth. It ranks the assumptions worth measuring first.
  Computed from the PSA sample itself by regression (Strong, Oakley & Brennan 2014, [M7]): the
  difference between each policy and the one chosen today is regressed on the input (the
  smoothest polynomial the data support, by the Bayesian information criterion; for a group,
  up to a full quadratic), and the value of information is the expected gain of choosing the
  best policy for each fitted value.

With profit per order (``policy_profit_per_order``), :meth:`PSA.acceptability` gives the
probability each policy is best against how much a dollar of the margin the return experience
causes is worth to the seller (a cost-effectiveness acceptability curve, with "willingness to
pay for retention" on the horizontal axis).

A draw's value is a mean over ``replications`` replications, so it carries some simulation
noise on top of the inputs' uncertainty; common random numbers keep the noise in *differences*
small.

Screening (``screen=``, what the report's "How sure is this?" uses): the draws run in stages, and
a policy whose probability of being best is negligible with confidence is simulated no more; the
rule is in :mod:`returnsim.decide.screening`, and :attr:`PSA.screened` says which policies were
screened after how many draws. The policies still in get the same values as in an unscreened PSA
with the same seed.

Emulator (``method="emulator"``): the statistics are computed over 10,000 draws of
Gaussian-process emulators trained on the simulated draws, when each emulator's leave-one-out
Q² passes a stated bar, with intervals that include the emulators' uncertainty; otherwise the
simulated PSA is returned with a note saying why (:mod:`returnsim.decide.psa_emulator`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..scenario import Scenario
from ..scenario.loader import as_scenario
from .errors import DecideError, Goal, check_metric, goal_of, positive
from .inputs import Variants, study_inputs
from .psa_result import PSA, conditional_means
from .runner import StudyRunner, where_options
from .screening import screen_out
from .sweep import check_policies, run_design

__all__ = ["PSA", "psa", "conditional_means"]


def psa(
    scenario: Scenario | str | Path | Mapping[str, Any],
    draws: int = 200,
    policies: Sequence[str] | None = None,
    metric: str = "policy_profit_per_order",
    *,
    goal: Goal | None = None,
    inputs: Sequence[str] | Mapping[str, Any] | None = None,
    vary: Sequence[Any] | None = None,
    replications: int = 1,
    design: str = "lhs",
    design_seed: int | None = None,
    confidence: float = 0.95,
    screen: float | None = None,
    stage: int = 16,
    loss_tolerance: float | None = None,
    method: str = "sampling",
    min_fit: float | None = None,
    **where: Any,
) -> PSA:
    """Probabilistic sensitivity analysis over the scenario's declared uncertain inputs.

    Args:
        scenario: a :class:`Scenario`, a path or a dict.
        draws: draws of the inputs.
        policies: the policies compared (default: all).
        metric: the metric ranked (default ``policy_profit_per_order``, profit per order the returns policy changes).
        goal: ``"max"`` or ``"min"`` (default: from the metric).
        inputs, vary: the inputs (default: the scenario's ``[uncertainty]`` table).
        replications: replications per draw and policy (policies share them; draws do not).
        design: how draws are made: ``"lhs"`` (default), ``"sobol"``, ``"halton"`` or
            ``"random"``.
        design_seed: seed of the draws (default: ``seed``).
        confidence: level of the intervals reported (and of the screening bound).
        screen: screen out policies whose probability of being best is, with ``confidence``,
            below this (e.g. 0.01; the rule: :mod:`returnsim.decide.screening`). ``None``
            (default): every policy runs every draw.
        stage: with ``screen``, draws run between screenings.
        loss_tolerance: with ``screen``, the largest expected excess over the others a
            screened policy may have, in the metric's units (default: 0.1 % of the mean
            absolute best value of a draw).
        method: ``"sampling"`` (default): the statistics over the simulated draws.
            ``"emulator"``: over 10,000 draws of Gaussian-process emulators trained on the
            simulated draws, when every emulator's leave-one-out Q² is at least ``min_fit``;
            otherwise the simulated PSA, with a note saying why
            (:mod:`returnsim.decide.psa_emulator`; needs scikit-learn, in the
            ``sensitivity`` extra).
        min_fit: with the emulator, the leave-one-out Q² each emulator needs (default
            :data:`~returnsim.decide.emulator.MIN_Q2`, 0.9, assumed).
        **where: ``seed``, ``store``, ``executor``, ``scheduler``, ``workers``, ``progress``.
    """
    import pandas as pd

    from .designs import make_design, unit_design

    check_metric(metric)
    direction = goal_of(metric, goal)
    sc = as_scenario(scenario)
    names = check_policies(sc, policies)
    if len(names) < 2:
        raise DecideError("a PSA compares at least two policies")
    draws = positive("draws", draws, integer=True, minimum=1)
    replications = positive("replications", replications, integer=True)
    stage = positive("stage", stage, integer=True, minimum=3)
    if screen is not None and not (isinstance(screen, (int, float)) and 0 < screen < 1):
        raise DecideError(f"screen must be a probability in (0, 1) or None, got {screen!r}")
    if method not in ("sampling", "emulator"):
        raise DecideError(f"method must be 'sampling' or 'emulator', got {method!r}")
    if min_fit is not None and not (isinstance(min_fit, (int, float)) and not isinstance(min_fit, bool) and min_fit <= 1):
        raise DecideError(f"min_fit must be a leave-one-out Q² of at most 1, got {min_fit!r}")
    if design == "grid":
        raise DecideError("a PSA draws its points: use lhs, sobol, halton or random, not grid")
    ins = study_inputs(sc, inputs, vary)
    variants = Variants(sc)
    variants.check(ins)
    seed = int(where.get("seed", 0))
    design_seed = seed if design_seed is None else design_seed
    plan = make_design(ins, design, draws, design_seed, what="draws")
    unit = unit_design(design, draws, len(ins), design_seed)  # the uniforms make_design mapped
    active, screened, parts = list(names), {}, []
    step = draws if screen is None else stage
    with StudyRunner(desc="PSA", **where_options(where)) as runner:
        for first in range(0, draws, step):
            part = plan.iloc[first : first + step]
            parts.append(run_design(runner, variants, part, active, replications, crn="independent", first=first))
            done = first + len(part)
            if screen is None or done >= draws:
                continue
            so_far = pd.concat(parts).pivot_table(index="point", columns="policy", values=metric, aggfunc="mean")
            v = so_far[active].to_numpy(dtype=float)
            for j in screen_out(v if direction == "max" else -v, screen, confidence, loss_tolerance):
                screened[active[j]] = done
            active = [p for p in active if p not in screened]
    runs = pd.concat(parts, ignore_index=True)
    values = runs.pivot_table(index="point", columns="policy", values=metric, aggfunc="mean", dropna=False)
    values = values.reindex(columns=names)
    values.columns = pd.Index(names, name="policy")
    out = PSA(
        values=values,
        inputs=plan,
        specs=ins,
        metric=metric,
        goal=direction,
        policies=names,
        replications=replications,
        runs=runs,
        confidence=confidence,
        seed=seed,
        screened=screened,
        unit=unit,
    )
    if method == "sampling":
        return out
    from .emulator import MIN_Q2
    from .psa_emulator import emulate_psa

    return emulate_psa(out, unit, min_fit=MIN_Q2 if min_fit is None else min_fit, seed=seed)
