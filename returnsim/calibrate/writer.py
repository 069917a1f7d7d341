"""From estimates to a scenario file: fitted values where the reports say something, the base
scenario's values elsewhere.

The base file is edited in place with tomlkit, so its layout and comments survive; every value
replaced gets a comment naming the report, the rows used and the 95 % interval. :data:`TARGETS`
is the one table of which estimate goes to which scenario field (and which estimates are only
reported, and why): when the scenario schema changes, this is the table to update.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import tomlkit
from tomlkit.items import Table

from ..scenario import Scenario, load_scenario
from .fits import MONTHS
from .names import ALL, look_alikes
from .stats import fit_request_delay

if TYPE_CHECKING:  # pragma: no cover
    from .result import CalibrationData

__all__ = ["TARGETS", "REPORTED_ONLY", "write_scenario", "feasible_misreport_rate", "assumed_paths"]


@dataclass(frozen=True)
class Target:
    """Estimates (by parameter name or prefix) and the scenario field they set.

    A target with ``estimate`` set is written by one generic step (:func:`_write_scalars`): the
    store-wide estimate of that name, through ``flip`` (``1 - x``), goes to ``path`` *if the
    scenario schema has that field* (fields other parts of returnsim are adding appear here
    before they exist: until then the estimate is reported, not written), and its interval goes
    into ``[uncertainty]``."""

    parameters: str
    path: str
    how: str
    estimate: str | None = None
    flip: bool = False


TARGETS: tuple[Target, ...] = (
    Target("orders_per_day", "demand.orders_per_day", "mean orders a day (de-seasonalised when a whole year is covered)"),
    Target("seasonality:<month>", "demand.seasonality", "orders a day in each calendar month over the yearly mean"),
    Target("international_share", "markets.international.share, markets.domestic.share", "share of order lines shipped outside the home country"),
    Target("order_share", "catalog.<class>.share", "share of order lines of each class"),
    Target("price_mean, price_cv", "catalog.<class>.price", "lognormal or gamma, whichever has the higher likelihood"),
    Target("return_rate", "catalog.<class>.return_rate", "returned order lines / order lines of the cohort"),
    Target("reason_share:<reason>", "catalog.<class>.reasons (+ reasons.<reason>)", "stated mix, written as stated (reasons_are = \"stated\"); returns.misreport_rate capped where it would need more seller-fault claims than reported (feasible_misreport_rate)"),
    Target("in_policy_share", "returns.out_of_window_rate", "1 - in-policy share"),
    Target("request_delay_days_mean", "returns.request_delay_days", "delivery -> request, fitted through returns.delivery_days"),
    Target("label_cost_mean:any:<market>", "markets.<market>.return_label.base", "mean label cost less per_lb x mean weight"),
    Target("request_to_delivery_days_mean:<market>", "markets.<market>.transit_days", "request -> delivery less returns.ship_days (mean)"),
    Target("repeat_purchases_per_year", "buyer.purchases_per_year.mean", "store-wide repeat purchases of the same ASIN a year (a lower bound on purchases with the seller); the base's family and cv kept", "repeat_purchases_per_year"),
    Target("rfs_share", "amazon.rfs_excluded_share", "1 - refunds at first scan among the refunds that could have been", "rfs_share", flip=True),
    Target("safet_approval_rate", "amazon.safet.approval_probability", "approved over decided SAFE-T claims", "safet_approval_rate"),
    Target("safet_reimbursed_share", "amazon.safet.reimbursed_share", "reimbursed amount over the order amount of approved claims", "safet_reimbursed_share"),
)
"""Which estimate sets which scenario field: the one place to update when the schema changes."""

REPORTED_ONLY: dict[str, str] = {
    "label_buyer_paid_share": "an outcome of the freight rules (a policy), not an input: compare it with a run of the policy closest to yours",
    "label_cost_mean:<payer>": "shown for checking; the lanes are set from the cost of all labels of a market",
    "az_claim_rate": "an outcome of the desk and policy: compare it with the az_claim_rate KPI of a run",
    "refund_to_order_share": "an outcome of the policy's fees and deductions: compare with a run",
    "disposition_share:<code>": "FBA's warehouse grades; the scenario has no grade table yet (issue 9 adds one)",
    "request_to_delivery_days_mean": "store-wide; the lanes use the per-market figures",
    "returnless_share": "an outcome of the policy's returnless rules: compare it with a run",
    "replacement_share": "an outcome of the policy's offers: compare it with a run",
    "safet_claim_rate": "the seller's own choice to file claims: compare it with the policy's",
}
"""Estimates that are shown but not written, with the reason."""


def _g(x: float) -> str:
    return f"{x:,.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2g}"


def _ci(row: pd.Series) -> str:
    lo, hi = row["ci_low"], row["ci_high"]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no CI"
    return f"95 % CI {_g(lo)}-{_g(hi)}"


def feasible_misreport_rate(stated: dict[str, float], sc: Scenario) -> float:
    """The largest ``returns.misreport_rate`` a *stated* reason mix allows.

    Reports show stated reasons, and the model reads a class's mix as stated (``reasons_are =
    "stated"``), undoing misreports to find the true mix: a buyer-fault reason ``b`` stated with
    share ``s_b`` had true share ``s_b / (1 - q)``, of which ``q / (1 - q) * s_b`` was stated as
    its misreport target ``m``. That is only possible while ``s_m >= q / (1 - q) * sum of s_b``
    over the reasons misreported as ``m`` (each weighted by its misreport mix's share on ``m``),
    i.e. ``q <= s_m / (s_m + sum s_b)``.
    """
    landing: dict[str, float] = {}
    for r, s in stated.items():
        # A mix of targets puts its share of each misreport on each of them.
        for target, part in (sc.misreport_mix(r) if s > 0 else {}).items():
            landing[target] = landing.get(target, 0.0) + s * part
    limit = 1.0
    for target, buyer_share in landing.items():
        s_m = stated.get(target, 0.0)
        limit = min(limit, s_m / (s_m + buyer_share))
    return limit


def _mix_toml(mix: dict[str, float]) -> Any:
    keys = [k for k, v in sorted(mix.items(), key=lambda kv: -kv[1]) if round(v, 4) > 0]
    vals = {k: round(mix[k], 4) for k in keys}
    if keys:
        rest = round(1.0 - sum(vals[k] for k in keys[1:]), 6)
        vals[keys[0]] = rest
    t = tomlkit.inline_table()
    t.update(vals)
    return t


def _set(table: Any, key: str, value: Any, comment: str) -> None:
    item = tomlkit.item(value) if not hasattr(value, "comment") else value
    item.comment(comment)
    table[key] = item


def _dist_toml(family: str, mean: float, cv: float) -> Any:
    t = tomlkit.inline_table()
    if family == "fixed":  # one value (a fixed list price): the schema's degenerate distribution
        t.update({"dist": "fixed", "value": round(mean, 4)})
    else:
        t.update({"dist": family, "mean": round(mean, 4), "cv": round(cv, 4)})
    return t


def _base_text(base: str | Path | Scenario) -> tuple[str, Scenario, str]:
    if isinstance(base, Scenario):
        raw = base.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return tomlkit.dumps(raw), base, base.name
    path = Path(base)
    return path.read_text(encoding="utf-8"), load_scenario(path), path.name


def _est(e: pd.DataFrame, parameter: str, item_class: str = ALL) -> pd.Series | None:
    hit = e[(e["parameter"] == parameter) & (e["item_class"] == item_class)]
    return None if hit.empty else hit.iloc[0]


def write_scenario(cal: CalibrationData, base: str | Path | Scenario) -> tuple[str, list[str]]:
    """The calibrated scenario as TOML text, and the notes on what was done."""
    text, sc, base_name = _base_text(base)
    doc = tomlkit.parse(text)
    e = cal.estimates
    src = cal.source_names
    notes: list[str] = []
    unc: list[tuple[str, float, pd.Series, bool]] = []
    """Fitted values whose interval goes into [uncertainty]: (path, value written, row, flipped)."""

    def names(source: str) -> str:
        return " + ".join(src.get(k, k) for k in source.split("+"))

    def why(row: pd.Series, what: str = "fitted") -> str:
        return f"{what}: {names(row['source'])}, {int(row['n']):,} rows, {_ci(row)}"

    # demand -----------------------------------------------------------------------------
    demand = doc.setdefault("demand", tomlkit.table())
    season_rows = e[e["parameter"].str.startswith("seasonality:")]
    opd = _est(e, "orders_per_day")
    if len(season_rows) == 12:
        by = dict(zip(season_rows["parameter"].str.split(":").str[1], season_rows["estimate"], strict=True))
        arr = tomlkit.item([round(by[m], 3) for m in MONTHS])
        arr.comment(f"fitted: {names(season_rows.iloc[0]['source'])}, {int(season_rows['n'].sum()):,} orders; CIs in the fit report")
        demand["seasonality"] = arr
        if opd is not None:
            _set(demand, "orders_per_day", round(float(opd["estimate"]), 2), why(opd))
            unc.append(("demand.orders_per_day", float(opd["estimate"]), opd, False))
    elif opd is not None:
        covered = cal.details.month_days
        season = np.asarray(sc.demand.seasonality, float)
        weights = np.array([covered.get(m + 1, 0.0) for m in range(12)])
        scale = float(weights @ season / weights.sum()) if weights.sum() > 0 else 1.0
        value = float(opd["estimate"]) / scale
        _set(demand, "orders_per_day", round(value, 2), why(opd) + f"; divided by the base seasonality over the months covered ({scale:.3g})")
        notes.append("fewer than 12 months of orders: seasonality kept from the base")

    # markets ----------------------------------------------------------------------------
    markets = doc.setdefault("markets", tomlkit.table())
    intl = _est(e, "international_share")
    if intl is not None:
        s = round(float(intl["estimate"]), 4)
        _set(markets["international"], "share", s, why(intl))
        _set(markets["domestic"], "share", round(1 - s, 6), "fitted: 1 - international share")
    label_lb = cal._label_weights(sc)
    for market in ("domestic", "international"):
        row = _est(e, f"label_cost_mean:any:{market}")
        if row is not None and market in label_lb:
            lane = getattr(sc.markets, market).return_label
            new_base = max(float(row["estimate"]) - lane.per_lb * label_lb[market], 0.0)
            label = tomlkit.inline_table()
            label.update({"base": round(new_base, 2), "per_lb": lane.per_lb})
            _set(markets[market], "return_label", label, why(row) + f" (mean label; base = mean - per_lb x {label_lb[market]:.3g} lb)")
        row = _est(e, f"request_to_delivery_days_mean:{market}")
        if row is not None:
            old = getattr(sc.markets, market).transit_days
            fam = old.dist if getattr(old, "dist", None) in ("lognormal", "gamma") else "lognormal"
            cv = float(getattr(old, "cv", 0.5))
            mean = max(float(row["estimate"]) - sc.returns.ship_days.mean, 0.5)
            _set(markets[market], "transit_days", _dist_toml(fam, mean, cv), why(row) + f" less returns.ship_days ({sc.returns.ship_days.mean:.3g} d); assumes requests authorised at once (prepaid labels [A8]); cv from the base")

    # catalog ----------------------------------------------------------------------------
    catalog = doc.setdefault("catalog", tomlkit.table())
    fitted = sorted(set(e.loc[e["item_class"] != ALL, "item_class"]))
    per_class = bool(fitted)
    classes = fitted or list(sc.catalog)
    defaults = next(iter(sc.catalog.values()))
    needed_reasons: set[str] = set()
    misreport_cap = 1.0
    """The largest misreport rate every fitted stated mix allows."""
    for cls in classes:
        if cls not in catalog:
            t = tomlkit.table()
            like = sc.catalog.get(cls, defaults)
            for key in ("unit_cost_share", "weight_lb", "value_decay_per_week"):
                _set(t, key, getattr(like, key), f"assumed: not in the reports (from the base's class '{next(iter(sc.catalog))}')")
            catalog[cls] = t
        t = catalog[cls]
        row = _est(e, "order_share", cls)
        if row is not None:
            _set(t, "share", round(float(row["estimate"]), 4), why(row))
        fit = cal.details.price_fits.get(cls)
        pm = _est(e, "price_mean", cls)
        if fit is not None and pm is not None:
            if fit.family == "fixed":
                how = "one list price on every line"
            else:
                ll = f"; log-likelihood {', '.join(f'{f} {v:,.1f}' for f, v in fit.loglik.items())}" if fit.loglik else "; fewer than 10 lines: lognormal of their mean and cv"
                how = f"mean {_ci(pm)}, cv CI {_g(fit.cv_ci[0])}-{_g(fit.cv_ci[1])}{ll}"
            _set(t, "price", _dist_toml(fit.family, fit.mean, fit.cv), f"fitted: {names(pm['source'])}, {fit.n:,} order lines, {how}")
        row = _est(e, "return_rate", cls) if per_class else None
        if row is not None:
            _set(t, "return_rate", round(float(row["estimate"]), 4), why(row))
            unc.append((f"catalog.{cls}.return_rate", float(row["estimate"]), row, False))
        elif not per_class and (overall := _est(e, "return_rate")) is not None:
            base_all = sum(c.share * c.return_rate for c in sc.catalog.values()) / sum(c.share for c in sc.catalog.values())
            old = sc.catalog[cls].return_rate if cls in sc.catalog else base_all
            value = min(old * float(overall["estimate"]) / base_all, 1.0) if base_all > 0 else float(overall["estimate"])
            _set(t, "return_rate", round(value, 4), why(overall) + " (store-wide; the base's class rates scaled to it)")
        mix_rows = e[e["parameter"].str.startswith("reason_share:") & (e["item_class"] == (cls if per_class else ALL))]
        if not mix_rows.empty:
            stated = dict(zip(mix_rows["parameter"].str.split(":").str[1], mix_rows["estimate"], strict=True))
            ext = _scenario_with_reasons(sc, stated, cal)
            needed_reasons |= {r for r, v in stated.items() if v > 0}
            written = _mix_toml(stated)
            # the cap of the mix as written (its shares rounded): the cap of the fitted shares
            # could allow a rate the written mix cannot hold, and the scenario failed validation
            misreport_cap = min(misreport_cap, feasible_misreport_rate({k: float(v) for k, v in written.items()}, ext))
            cis = ", ".join(f"{p.split(':')[1]} {_g(lo)}-{_g(hi)}" for p, lo, hi in zip(mix_rows["parameter"], mix_rows["ci_low"], mix_rows["ci_high"], strict=True))
            what = "fitted stated mix" + (" (store-wide)" if not per_class else "")
            _set(t, "reasons", written, f"{what}: {names(mix_rows.iloc[0]['source'])}, {int(mix_rows.iloc[0]['n']):,} returns; stated shares 95 % CI: {cis}")
            _set(t, "reasons_are", "stated", "Amazon's reports give the reasons buyers stated")
        if cls not in sc.catalog:  # a new class: what the reports did not give, from the base
            like = sc.catalog.get(cls, defaults)
            for key in ("price", "return_rate", "reasons", "reasons_are"):
                if key not in t:
                    value = getattr(like, key)
                    value = value.model_dump(mode="json", by_alias=True) if hasattr(value, "model_dump") else value
                    _set(t, key, tomlkit.item(value), f"assumed: not in the reports (from the base's class '{next(iter(sc.catalog))}')")
    if per_class:
        for cls in sc.catalog:
            if cls not in fitted and cls in catalog:
                _set(catalog[cls], "share", 0.0, "not in your reports: share 0 (kept so rules naming it still work)")
        new = [c for c in fitted if c not in sc.catalog]
        if new and str(cal.info.get("classes_from", "")).startswith("mapping"):
            # (said on screen, not only in the file's comments: a class renamed by mistake
            # loses its category, FBA settings and the rules that name it, without an error)
            gone = [c for c in sc.catalog if c not in fitted]
            one, q = len(new) == 1, lambda names: ", ".join(f"'{c}'" for c in names)
            notes.append(
                f"the class mapping's {'class' if one else 'classes'} {q(new)} {'is' if one else 'are'} not in the base "
                f"scenario: {'a new class' if one else 'new classes'}, with the fields the reports do not give from the "
                f"base's '{next(iter(sc.catalog))}'"
                + (f"; the base's {q(gone)} {'gets' if len(gone) == 1 else 'get'} share 0" if gone else "")
                + look_alikes(new, gone)
            )

    # reasons the base lacks -----------------------------------------------------------
    reasons_t = doc.setdefault("reasons", tomlkit.table())
    for r in sorted(needed_reasons - set(sc.reasons)):
        info = cal.codes.reasons[r]
        t = tomlkit.table()
        _set(t, "fault", info.fault, f"Amazon's reason -> payer table [A16] ({cal.codes.source})")
        t["label"] = info.label
        cond = tomlkit.inline_table()
        cond.update(info.condition)
        _set(t, "condition", cond, "assumed (code table default)")
        reasons_t[r] = t

    # returns ----------------------------------------------------------------------------
    returns = doc.setdefault("returns", tomlkit.table())
    if sc.returns.misreport_rate > misreport_cap:
        capped = math.floor(misreport_cap * 1e4) / 1e4
        _set(returns, "misreport_rate", capped, f"capped from {sc.returns.misreport_rate:g}: the reports show too few seller-fault claims for more misreporting")
        notes.append(f"returns.misreport_rate: {sc.returns.misreport_rate:g} in the base needs more seller-fault claims than your reports show; capped at {capped:g}")
    row = _est(e, "in_policy_share")
    if row is not None:
        flipped = row.copy()
        flipped["ci_low"], flipped["ci_high"] = 1 - row["ci_high"], 1 - row["ci_low"]
        _set(returns, "out_of_window_rate", round(1 - float(row["estimate"]), 4), why(flipped, "fitted (1 - in-policy share)"))
        unc.append(("returns.out_of_window_rate", 1 - float(row["estimate"]), row, True))
    delays = cal.details.delays
    if len(delays):
        fit, dropped = fit_request_delay(delays, cal.details.delay_day_resolution, sc.returns.delivery_days, sc.returns.window_days)
        if fit is not None:
            ll = ", ".join(f"{f} {v:,.1f}" for f, v in fit.loglik.items())
            _set(
                returns,
                "request_delay_days",
                _dist_toml(fit.family, fit.mean, fit.cv),
                f"fitted: {src.get('mfn_returns', 'mfn_returns')}, {fit.n:,} in-policy requests, order -> request less returns.delivery_days; "
                f"mean 95 % CI {_g(fit.mean_ci[0])}-{_g(fit.mean_ci[1])}, cv CI {_g(fit.cv_ci[0])}-{_g(fit.cv_ci[1])}; log-likelihood {ll}",
            )
            if dropped:
                notes.append(f"{dropped} requests later than delivery + window allows were left out of the delay fit")

    unc.extend(_write_scalars(doc, sc, e, why, notes))
    _write_uncertainty(doc, sc, unc, why)

    # name and provenance ----------------------------------------------------------------
    doc["name"] = f"{sc.name} (calibrated)"
    used = ", ".join(f"{k} {v}" for k, v in src.items())
    doc["description"] = f"Calibrated from {used} on {dt.date.today().isoformat()}; base: {base_name}."
    header = tomlkit.comment(
        "Calibrated by returnsim calibrate. Lines marked 'fitted' come from your reports (report, rows, 95 % CI);"
    )
    _drop_stale_comments(doc)
    out = tomlkit.dumps(doc)
    lead = (
        f"{header.as_string().rstrip()}\n# everything else is the base scenario's ({base_name}). Order ids, buyer comments and names are never written here.\n"
    )
    return lead + out, notes


def _table_at(doc: Any, sc: Scenario, parts: list[str]) -> Any:
    """The table at ``parts`` in the document; where the file leaves it out, it is created with
    the base scenario's values (a table may have fields without defaults)."""
    node, model = doc, sc
    for key in parts:
        model = model[key] if isinstance(model, dict) else getattr(model, key)
        if key not in node:
            node[key] = tomlkit.item(model.model_dump(mode="json", by_alias=True, exclude_none=True)) if hasattr(model, "model_dump") else tomlkit.table()
        node = node[key]
    return node


def _write_scalars(doc: Any, sc: Scenario, e: pd.DataFrame, why: Any, notes: list[str]) -> list[tuple[str, float, pd.Series, bool]]:
    """Write every :data:`TARGETS` entry with an ``estimate`` whose field the schema has; note
    the others. Returns what goes into ``[uncertainty]``."""
    from ..scenario.uncertainty import PathError, resolve_path

    out = []
    for target in TARGETS:
        if target.estimate is None or (row := _est(e, target.estimate)) is None:
            continue
        value = 1 - float(row["estimate"]) if target.flip else float(row["estimate"])
        try:
            resolve_path(sc, target.path)
        except PathError:
            notes.append(f"{target.estimate} {_g(float(row['estimate']))} ({_ci(row)}): reported only, the scenario has no field {target.path} yet")
            continue
        parts = target.path.split(".")
        comment = why(row, "fitted" + (f" (1 - {target.estimate})" if target.flip else ""))
        parent = sc
        for key in parts[:-1]:
            parent = parent[key] if isinstance(parent, dict) else getattr(parent, key)
        if isinstance(getattr(parent, "dist", None), str):  # a distribution's parameter: write it whole
            dist = parent.model_dump(mode="json", by_alias=True)
            dist[parts[-1]] = round(value, 4)
            item = tomlkit.inline_table()
            item.update(dist)
            _set(_table_at(doc, sc, parts[:-2]), parts[-2], item, comment + "; " + target.how)
        else:
            _set(_table_at(doc, sc, parts[:-1]), parts[-1], round(value, 4), comment)
        out.append((target.path, value, row, target.flip))
    return out


def _write_uncertainty(doc: Any, sc: Scenario, fitted: list[tuple[str, float, pd.Series, bool]], why: Any) -> None:
    """The fitted values' 95 % intervals as ``[uncertainty]`` entries (normal, sd from the
    interval's width, truncated to what the field allows), replacing the base's assumed ranges,
    so that ``psa`` and ``select`` vary them as much as the seller's data leave them uncertain."""
    from ..scenario.uncertainty import PathError, resolve_path
    from .stats import Z95

    table = None
    for path, value, row, flipped in fitted:
        lo, hi = float(row["ci_low"]), float(row["ci_high"])
        sd = (hi - lo) / (2 * Z95)
        if not (np.isfinite(sd) and sd > 0):
            continue
        try:
            field = resolve_path(sc, path)
        except PathError:
            continue
        entry = tomlkit.inline_table()
        if lo > 0 and value > 0 and field.low >= 0 and not np.isfinite(field.high):
            # a positive quantity's interval is wide on the log scale (a rate's is skewed)
            sdlog = (math.log(hi) - math.log(lo)) / (2 * Z95)
            entry.update({"dist": "lognormal", "mean": round(value, 6), "cv": float(f"{math.sqrt(math.expm1(sdlog * sdlog)):.4g}")})
        else:
            entry.update({"dist": "normal", "mean": round(value, 6), "sd": float(f"{sd:.4g}")})
            # truncated to the field's bounds (an open bound, "> 0", just inside it)
            tiny = 1e-9 * max(abs(value), 1.0)
            if np.isfinite(field.low):
                entry["low"] = field.low + tiny if field.low_open else field.low
            if np.isfinite(field.high):
                entry["high"] = field.high - tiny if field.high_open else field.high
        entry["source"] = why(row, "fitted" + (" (1 - x)" if flipped else ""))
        if table is None:
            table = doc.setdefault("uncertainty", tomlkit.table())
        table[path] = entry


def _scenario_with_reasons(sc: Scenario, stated: dict[str, float], cal: CalibrationData) -> Scenario:
    """The base scenario with the reasons the code table adds (for misreport targets)."""
    missing = [r for r in stated if r not in sc.reasons]
    if not missing:
        return sc
    from ..scenario import Reason

    ext = sc.model_copy(deep=True)
    for r in missing:
        info = cal.codes.reasons[r]
        ext.reasons[r] = Reason.model_validate({"fault": info.fault, "condition": info.condition, "label": info.label})
    return ext


def _drop_stale_comments(node: Any) -> None:
    """Remove an "assumed" comment line standing right above a value that is now fitted."""
    body = node.value.body if isinstance(node, Table) else node.body
    keep: list[Any] = []
    for key, item in body:
        if key is not None and "fitted" in (getattr(item.trivia, "comment", "") or ""):
            while keep and keep[-1][0] is None and isinstance(keep[-1][1], tomlkit.items.Comment) and "assumed" in keep[-1][1].as_string().lower():
                keep.pop()
        if isinstance(item, Table):
            _drop_stale_comments(item)
        keep.append((key, item))
    body[:] = keep


def assumed_paths(toml_text: str) -> list[str]:
    """Dotted paths of the values whose comment says "assumed" in a scenario file."""
    doc = tomlkit.parse(toml_text)
    out: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        items = node.value.body if isinstance(node, Table) else node.body
        for key, item in items:
            if key is None:
                continue
            path = f"{prefix}{key.key}"
            comment = getattr(item.trivia, "comment", "") or ""
            if "assumed" in comment.lower():
                out.append(path)
            if isinstance(item, Table) or hasattr(item, "body") and not isinstance(item, tomlkit.items.InlineTable):
                if isinstance(item, Table):
                    walk(item, path + ".")
                elif isinstance(item, tomlkit.items.AoT):
                    continue
                elif hasattr(item, "value") and isinstance(getattr(item, "value", None), tomlkit.container.Container):
                    walk(item, path + ".")

    walk(doc, "")
    return out

