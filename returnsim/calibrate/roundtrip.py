"""Round trips: reports generated from known parameters, fitted back.

:func:`round_trip` compares one synthetic store's estimates with the truth: the scenario's own
values where the estimate is a function of the scenario (:func:`expected_estimates`), and, for
the policy's outcomes (label payers, claims, refunds, transit), the pooled estimates of
``reference`` other synthetic stores of the same scenario and policy. :func:`coverage` repeats
the draw and counts how often the 95 % intervals hold the scenario's values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..scenario import Scenario
from .calibration import calibrate
from .stats import Z95
from .synthetic import expected_estimates, synthetic_reports

__all__ = ["round_trip", "coverage"]

KEYS = ["parameter", "item_class"]


def _fit(scenario: Scenario, policy: str, seed: int, months: int, fba_share: float, shape: dict[str, Any]) -> pd.DataFrame:
    rep = synthetic_reports(scenario, policy, seed=seed, months=months, fba_share=fba_share, **shape)
    s = rep.sources()
    return calibrate(s["fba_returns"], s["mfn_returns"], s["orders"], s["classes"], s.get("repeat_purchases"), base=rep.scenario).estimates


def _truth(scenario: Scenario, months: int, shape: dict[str, Any]) -> pd.DataFrame:
    from .synthetic import _prepare_scenario

    sc = _prepare_scenario(scenario, months, shape.get("fixed_prices", False))
    return expected_estimates(sc, regime=shape.get("regime"), repeat_purchases=shape.get("repeat_purchases", False))


def round_trip(
    scenario: Scenario,
    policy: str = "seed",
    seed: int = 0,
    months: int = 12,
    reference: int = 4,
    fba_share: float = 0.4,
    **shape: Any,
) -> pd.DataFrame:
    """One synthetic store fitted back, beside the truth.

    ``shape``: how the reports are shaped (``fba_months``, ``fixed_prices``, ``label_gaps``,
    ``regime``, ``repeat_purchases``; see :func:`~returnsim.calibrate.synthetic_reports`).

    Returns:
        One row per estimate: ``parameter, item_class, estimate, ci_low, ci_high, n, true,
        truth`` (``scenario``, or ``reference`` for a mean over other stores, with its standard
        error ``true_se``), ``inside`` (the truth is inside the 95 % interval) and ``z`` (the
        difference over its standard error, which combines the interval's and the reference's).
    """
    fit = _fit(scenario, policy, seed, months, fba_share, shape)
    truth = _truth(scenario, months, shape)
    reason = fit["parameter"].str.startswith(("reason_share:", "disposition_share:"))
    out = fit.merge(truth, on=KEYS, how="left")
    # a reason the class does not have has a true share of 0
    out.loc[reason & out["true"].isna() & fit["parameter"].str.startswith("reason_share:"), "true"] = 0.0
    out["truth"] = np.where(out["true"].notna(), "scenario", "reference")
    out["true_se"] = 0.0
    todo = out["true"].isna()
    if todo.any() and reference > 0:
        refs = [_fit(scenario, policy, seed + 1000 + i, months, fba_share, shape) for i in range(reference)]
        pooled = pd.concat(refs).groupby(KEYS)["estimate"].agg(["mean", "std", "count"]).reset_index()
        pooled["se"] = pooled["std"] / np.sqrt(pooled["count"])
        merged = out.loc[todo, KEYS].merge(pooled, on=KEYS, how="left")
        out.loc[todo, "true"] = merged["mean"].to_numpy()
        out.loc[todo, "true_se"] = merged["se"].to_numpy()
    se_fit = (out["ci_high"] - out["ci_low"]) / (2 * Z95)
    se = np.sqrt(se_fit**2 + out["true_se"].fillna(0) ** 2)
    out["inside"] = (out["true"] >= out["ci_low"]) & (out["true"] <= out["ci_high"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = (out["estimate"] - out["true"]) / se
    return out


def coverage(
    scenario: Scenario,
    policy: str = "seed",
    draws: int = 40,
    seed: int = 0,
    months: int = 12,
    fba_share: float = 0.4,
    **shape: Any,
) -> pd.DataFrame:
    """How often the 95 % intervals hold the scenario's values over ``draws`` synthetic stores
    (``shape``: as for :func:`round_trip`).

    Returns:
        Per parameter family (the name before ``:``): ``checks`` (draws x parameters), ``covered``
        (the share), and ``lowest_plausible``, the least coverage a correct 95 % interval shows
        with probability 0.999 when the family's parameters are treated as one draw each
        (binomial with ``draws`` trials: conservative when they are correlated).
    """
    truth = _truth(scenario, months, shape)
    rows = []
    for d in range(draws):
        est = _fit(scenario, policy, seed + d, months, fba_share, shape).merge(truth, on=KEYS, how="inner")
        est["family"] = est["parameter"].str.split(":").str[0]
        est["covered"] = (est["true"] >= est["ci_low"]) & (est["true"] <= est["ci_high"])
        rows.append(est[["family", "parameter", "item_class", "covered"]].assign(draw=d))
    allr = pd.concat(rows)
    out = allr.groupby("family")["covered"].agg(checks="size", covered="mean").reset_index()
    out["lowest_plausible"] = stats.binom.ppf(0.001, draws, 0.95) / draws
    return out
