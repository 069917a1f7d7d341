"""One replication: wire demand, the desk, the decision chain and retention into a SimPy run.

The only contended resource is the desk, so it is the only part simulated event by event: agents
are SimPy processes, requests are rows of arrays that the agents pick up. Whatever follows the
first answer is a pure function of that answer's time, computed in vectorised batches. When
post-return purchases feed back into demand, the run advances in epochs (two weeks by default):
requests answered during an epoch are resolved at its end and the returns of their customers'
later purchases are scheduled on the desk. A follow-on request that would arrive before the end
of the epoch that created it is delivered at that end (counted as ``clamped_followons``); with a
purchase gap of months this is rare and shifts an arrival by less than an epoch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from .. import amazon
from ..scenario import OFFER_KINDS, RESOLUTIONS, Scenario
from ..scenario.rules import CONDITIONS, FAULTS, MARKETS
from . import windows
from .calendar import Calendar
from .columns import concat_rows, take_rows
from .demand import Requests, base_requests, build_requests
from .desk import Desk, OpenHours
from .inputs import simulation_inputs
from .ledger import ACTION, CATEGORIES, GRADE, PAYER, RECEIPT, Ledger, net_cost_per_request
from .plan import Plan, fba_mask, plan
from .resolution import DeskTimes, Resolved, resolve
from .retention import CustomerBook
from .world import HOURS_PER_DAY, OUTCOME, World

__all__ = ["simulate", "RunResult", "streams", "KPI_NAMES"]

KPI_NAMES = (
    "orders",
    "demand_orders",
    "return_requests",
    "return_rate",
    "cancel_rate",
    "returnless_rate",
    "response_hours_mean",
    "response_hours_p95",
    "desk_wait_hours_mean",
    "desk_wait_probability",
    "desk_utilization",
    "late_response_rate",
    "escalation_rate",
    "second_touch_rate",
    "negative_feedback_rate",
    "az_claim_rate",
    "invalid_rejection_rate",
    "rdr",
    "rdr_window_max",
    "rdr_windows_over_target",
    "odr",
    "odr_window_max",
    "odr_windows_over_target",
    "net_return_cost",
    "net_return_cost_per_order",
    "net_return_cost_per_return",
    "net_freight_cost",
    "repeat_purchase_rate",
    "post_return_spend_ratio",
    "retained_margin",
    "net_value_per_order",
)
"""Every KPI a run reports, in display order (documented in ``docs/model.md``). ``orders`` counts
every order placed in the horizon, including returners' repeat orders; ``demand_orders`` only the
scenario's own demand. Per-order money KPIs divide by ``demand_orders``, so policies that win
different numbers of repeat orders (and runs of different horizons) share a denominator: the
repeat orders a policy wins belong to its value, not to its denominator."""

STREAMS = ("orders", "requests", "followon")
"""Named random streams, spawned in this order from the run's seed sequence."""


def streams(seed: int | tuple[int, ...] | np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One generator per named stream, from ``SeedSequence(seed)`` spawned in a fixed order."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, ss.spawn(len(STREAMS)), strict=True)}


@dataclass
class RunResult:
    """The outcome of one replication of one policy."""

    policy: str
    seed: Any
    kpis: dict[str, float]
    """KPIs by name (``KPI_NAMES``)."""
    ledger: dict[str, float]
    """Money by category for the seller, over the whole cohort."""
    trace: Any = None
    """A pandas DataFrame with one row per request (only with ``trace=True``)."""
    diagnostics: dict[str, float] = field(default_factory=dict)
    """Bookkeeping useful for validation: queue area, clamped follow-ons, simulated span."""


@dataclass
class _Rows:
    """Requests with the seller's pre-receipt plan for them, row by row."""

    req: Requests
    plan: Plan

    def __len__(self) -> int:
        return len(self.req)


class _Store:
    """Requests of a run: the base table plus follow-ons appended as they appear."""

    def __init__(self, base: _Rows) -> None:
        self.base = base
        self.n_base = len(base)
        self.extra: list[_Rows] = []
        self._extra: _Rows | None = None

    def __len__(self) -> int:
        return self.n_base + sum(len(p) for p in self.extra)

    def add(self, part: _Rows) -> None:
        self.extra.append(part)
        self._extra = part if self._extra is None else concat_rows([self._extra, part])

    def take(self, ids: np.ndarray) -> _Rows:
        """The rows with these ids, in the order given."""
        if self._extra is None or ids.max(initial=-1) < self.n_base:
            return take_rows(self.base, ids)
        if ids.min() >= self.n_base:
            return take_rows(self._extra, ids - self.n_base)
        low = ids < self.n_base
        merged = concat_rows([take_rows(self.base, ids[low]), take_rows(self._extra, ids[~low] - self.n_base)])
        return take_rows(merged, _positions(ids, self.n_base))

    def all(self) -> Requests:
        return self.base.req if self._extra is None else Requests.concat([self.base.req, self._extra.req])


def _positions(ids: np.ndarray, n_base: int) -> np.ndarray:
    """Where each of ``ids`` lands when base ids are taken first, then the others."""
    low = np.flatnonzero(ids < n_base)
    high = np.flatnonzero(ids >= n_base)
    pos = np.empty(len(ids), dtype=np.int64)
    pos[low] = np.arange(len(low))
    pos[high] = len(low) + np.arange(len(high))
    return pos


def simulate(
    scenario: Scenario | str | Path | Mapping[str, Any],
    policy: str,
    seed: int | tuple[int, ...] | np.random.SeedSequence | None = 0,
    trace: bool = False,
    *,
    epoch_days: float = 14.0,
    allow_large: bool = False,
) -> RunResult:
    """Simulate one replication of ``policy`` in ``scenario``.

    Args:
        scenario: a validated scenario (``load_scenario``), a path to a scenario file, or a
            dict of its tables.
        policy: the name of one of its policies.
        seed: a non-negative int, a tuple of them or a ``numpy.random.SeedSequence``; the same
            seed gives the same numbers, and the same orders and requests under every policy.
            ``None`` draws fresh entropy, recorded in ``RunResult.seed`` to repeat the run.
        trace: also return a per-request DataFrame in ``RunResult.trace``.
        epoch_days: how often post-return purchases are fed back into demand (days, at least
            an hour).
        allow_large: run even if the replication is estimated to need more memory than is
            available (:mod:`returnsim.model.budget`).

    Returns:
        A :class:`RunResult` with ``kpis`` and ``ledger`` (money in the scenario's currency).

    Raises:
        ScenarioError: the scenario file or dict is invalid.
        TypeError, ValueError, KeyError: an argument is wrong (the message names it).
        RunTooLarge: the run would not fit in memory (see ``allow_large``).
    """
    scenario, seed = simulation_inputs(scenario, policy, seed, trace, epoch_days, allow_large)
    pol = scenario.policy(policy)
    world = World(scenario)
    rng = streams(seed)
    orders, base, customers = base_requests(world, rng["orders"], rng["requests"])
    base_plan = plan(world, pol, base)
    store = _Store(_Rows(base, base_plan))
    horizon_h = scenario.horizon_days * HOURS_PER_DAY
    feedback = scenario.retention.feedback_into_demand
    book = CustomerBook(world, customers, horizon_h, feedback)
    desk_cfg = scenario.desk
    calendar = Calendar(scenario.start_date, desk_cfg.holidays)

    env = simpy.Environment()
    inputs = _desk_inputs(world, pol, base, base_plan)
    hours = (
        None
        if desk_cfg.hours == "24/7"
        else OpenHours(desk_cfg.hours.intervals(), calendar.holiday_index)
    )
    desk = Desk(
        env,
        desk_cfg.staff,
        hours,
        pol.discipline,
        desk_cfg.late_after_hours,
        follow_priority=pol.follow_up_priority,
        **inputs,
    )
    env.process(desk.feed(range(len(base))))

    ledger = Ledger()
    done_ids: list[np.ndarray] = []
    done: list[Resolved] = []
    clamped = 0
    epoch_h = epoch_days * HOURS_PER_DAY if feedback else math.inf
    resolved = 0
    while resolved < len(store):
        if math.isinf(epoch_h):
            env.run()
        else:
            # (SimPy leaves its stop event in the queue, so peek() is never empty here.)
            env.run(until=env.now + epoch_h)
            desk.sweep()
        if not desk.answered:
            continue
        desk_ids = desk.answered
        desk.answered = []
        ids = np.asarray(desk_ids, dtype=np.int64)
        resolved += len(ids)
        rows_ = store.take(ids)
        req = rows_.req
        times = DeskTimes(
            start=np.array([desk.start[i] for i in desk_ids]),
            answer=np.array([desk.answer[i] for i in desk_ids]),
            abandoned=np.array([desk.abandoned[i] for i in desk_ids]),
            follow_done=np.array([desk.follow_done[i] for i in desk_ids]),
        )
        batch = resolve(world, pol, req, rows_.plan, times, calendar)
        ledger.add(batch.flows)
        done_ids.append(ids)
        done.append(batch)
        t_order, cust, gen, rows = book.resolve(
            rng["followon"], req.customer, req.generation, batch.t_resolved, batch.multiplier
        )
        if len(t_order):
            new = build_requests(world, rows, t_order, cust, gen)
            late = new.request_time < env.now
            clamped += int(late.sum())
            new.request_time = np.maximum(new.request_time, env.now)
            order = np.argsort(new.request_time, kind="stable")
            new = new.take(order)
            first = len(store)
            new_plan = plan(world, pol, new)
            store.add(_Rows(new, new_plan))
            for key, values in _desk_inputs(world, pol, new, new_plan).items():
                getattr(desk, key).extend(values)
            desk.extend(len(new))
            env.process(desk.feed(range(first, first + len(new))))

    ids = np.concatenate(done_ids) if done_ids else np.empty(0, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    all_req = store.all()
    res = Resolved.concat(done).take(order) if done else None
    post = book.close()
    n_all_orders = orders.total + book.extra_orders
    fba_classes = fba_mask(world, pol, np.arange(len(world.class_names)))
    margin = world.margin_per_kept_order(fba_classes)
    kpis = _kpis(world, all_req, res, ledger, desk, post, customers, orders, n_all_orders, margin, hours, book)
    diagnostics = {
        "queue_area": desk.queue_area,
        "busy_hours": desk.busy_hours,
        "desk_visits": desk.visits,
        "end_time": env.now,
        "clamped_followons": clamped,
        "followon_requests": len(all_req) - len(base),
    }
    out = RunResult(policy=policy, seed=seed, kpis=kpis, ledger=dict(ledger), diagnostics=diagnostics)
    if trace:
        out.trace = _trace(world, all_req, res)
    return out


def _desk_inputs(world: World, pol, req: Requests, pl: Plan) -> dict[str, list]:
    """What the desk needs per request, from the seller's plan (lists indexed like ``req``)."""
    sc = world.scenario
    # Only a buyer waiting for a first answer gives up: not for auto-authorised requests,
    # whose first touch is a review off the 48 h clock, nor for Amazon's own.
    patience = np.where(pl.auto | pl.fba, math.inf, req.patience_h)
    follow_delay = np.where(pl.asked, req.reply_h, np.nan)
    deadline = req.request_time + sc.desk.late_after_hours
    lapse_at = deadline if pol.authorise_at_deadline else np.full(len(req), math.inf)
    return {
        "request_time": req.request_time.tolist(),
        "service": (req.handling_h + req.investigate_h * pl.investigated).tolist(),
        "patience": patience.tolist(),
        "follow_delay": follow_delay.tolist(),
        "follow_service": req.follow_up_h.tolist(),
        "lapse_at": lapse_at.tolist(),
        "instant": pl.fba.tolist(),
    }


def _kpis(world, req, res, ledger, desk, post, customers, orders, n_orders, margin, hours, book) -> dict[str, float]:
    n = len(req)
    n_demand = orders.total
    staff = world.scenario.desk.staff
    k: dict[str, float] = dict.fromkeys(KPI_NAMES, float("nan"))
    k["orders"] = float(n_orders)
    k["demand_orders"] = float(n_demand)
    k["return_requests"] = float(n)
    k["return_rate"] = n / n_orders if n_orders else float("nan")
    cost = ledger.net_return_cost
    k["net_return_cost"] = cost
    k["net_return_cost_per_order"] = cost / n_demand if n_demand else float("nan")
    if n == 0 or res is None:
        return k
    out = res.outcome
    k["net_return_cost_per_return"] = cost / n
    k["net_freight_cost"] = ledger["seller_freight"] - float(res.buyer_label.sum())
    k["cancel_rate"] = float(np.isin(out, [OUTCOME[o] for o in ("troubleshot", "kept_partial_refund", "exchanged", "replaced")]).mean())
    k["returnless_rate"] = float((out == OUTCOME["returnless_refund"]).mean())
    response = res.t_answer - req.request_time
    k["response_hours_mean"] = float(response.mean())
    k["response_hours_p95"] = float(np.percentile(response, 95))
    # The desk's queue of first touches (Erlang A's customers): time until an agent picks a
    # request up, or until its buyer gives up; Amazon's own requests never queue here.
    queued = ~res.fba
    if queued.any():
        left = np.where(res.escalated, res.t_answer, res.t_start)
        left = np.where(np.isnan(res.t_review), left, res.t_review)
        wait = (left - req.request_time)[queued]
        k["desk_wait_hours_mean"] = float(wait.mean())
        k["desk_wait_probability"] = float((wait > 1e-12).mean())
        t0 = float(req.request_time[queued].min())
        t1 = float(np.nanmax(np.fmax(res.t_answer, res.t_follow)[queued]))
        open_h = t1 - t0 if hours is None else hours.open_hours_between(t0, t1)
        k["desk_utilization"] = desk.busy_hours / (staff * open_h) if desk.busy_hours > 0 and open_h > 0 else 0.0
    k["late_response_rate"] = float(res.late.mean())
    k["escalation_rate"] = float(res.escalated.mean())
    k["second_touch_rate"] = float(res.second_touch.mean())
    k["negative_feedback_rate"] = float(res.negative_feedback.mean())
    k["az_claim_rate"] = float(res.az_claim.mean())
    invalid = res.rejected & req.in_window
    k["invalid_rejection_rate"] = float(invalid.mean())
    k["rdr"] = float(res.rdr_defect.mean())
    # ODR on orders, one defect per order: returned orders' own defects, kept orders' defects
    # (the scenario's own demand drawn per day, repeat orders at the same rate in expectation).
    h = world.scenario.health
    p_kept = 1 - (1 - h.chargeback_rate) * (1 - h.negative_seller_feedback_rate)
    kept_repeat = max(book.extra_orders - (n - len(customers.rate_pre)), 0)
    defects = float(res.odr_defect.sum()) + float(orders.kept_defects.sum()) + p_kept * kept_repeat
    k["odr"] = defects / n_orders if n_orders else float("nan")
    scale = n_orders / n_demand if n_demand else 1.0
    rdr_w = windows.rolling_rates(req.request_time, res.rdr_defect, None, h.rdr_window_days)
    odr_w = windows.rolling_rates(
        req.order_time, res.odr_defect, orders.per_day * scale, h.odr_window_days, extra=orders.kept_defects
    )
    k["rdr_window_max"], k["rdr_windows_over_target"] = windows.summary(rdr_w, amazon.RDR_TARGET)
    k["odr_window_max"], k["odr_windows_over_target"] = windows.summary(odr_w, amazon.ODR_TARGET)
    pre = customers.pre_count.sum()
    k["repeat_purchase_rate"] = float((post["post_count"] > 0).mean()) if len(post["post_count"]) else float("nan")
    k["post_return_spend_ratio"] = float(post["post_count"].sum() / pre) if pre > 0 else float("nan")
    retained = float(post["expected_post"].sum() * margin)
    k["retained_margin"] = retained
    k["net_value_per_order"] = (retained - cost) / n_demand
    return k


def _trace(world: World, req: Requests, res: Resolved | None):
    import pandas as pd

    if res is None:
        return pd.DataFrame()

    def cat(codes: np.ndarray, names) -> pd.Categorical:
        """Names for integer codes; code -1 (none) becomes missing."""
        return pd.Categorical.from_codes(np.asarray(codes), categories=list(names))

    payer_names = list(PAYER)  # -1 (FBA: Amazon's label) becomes missing
    action_names = list(ACTION)
    df = pd.DataFrame(
        {
            "customer": req.customer,
            "generation": req.generation,
            "item_class": cat(req.item_class, world.class_names),
            "market": cat(req.market, MARKETS),
            "price": req.price,
            "order_time": req.order_time,
            "request_time": req.request_time,
            "true_reason": cat(req.true_reason, world.reason_names),
            "stated_reason": cat(req.stated_reason, world.reason_names),
            "reason": cat(res.reason, world.reason_names),
            "fault": cat(world.reason_fault[res.reason], FAULTS),
            "condition": cat(req.condition, CONDITIONS),
            "stated_condition": cat(req.stated_condition, CONDITIONS),
            "fba": res.fba,
            "grade": cat(np.where(res.fba, req.grade, -1), list(GRADE)),
            "in_window": req.in_window,
            "investigated": res.investigated,
            "disputed": res.disputed,
            "rejected": res.rejected,
            "offer": cat(res.offer, OFFER_KINDS),
            "accepted": res.accepted,
            "outcome": cat(res.outcome, RESOLUTIONS),
            "payer": cat(res.payer, payer_names),
            "fee_accepted": res.fee_accepted,
            "buyer_paid_label": res.buyer_paid_label,
            "buyer_label": res.buyer_label,
            "lapsed": res.lapsed,
            "escalated": res.escalated,
            "second_touch": res.second_touch,
            "action": cat(res.action, action_names),
            "receipt": cat(res.receipt, list(RECEIPT)),
            "address": cat(res.address, world.address_names) if world.address_names else pd.NA,
            "t_start": res.t_start,
            "t_review": res.t_review,
            "t_answer": res.t_answer,
            "t_decision": res.t_decision,
            "t_follow": res.t_follow,
            "t_receive": res.t_receive,
            "t_refund": res.t_refund,
            "t_resolved": res.t_resolved,
            "wait_hours": np.where(res.escalated, res.t_answer, res.t_start) - req.request_time,
            "response_hours": res.t_answer - req.request_time,
            "late": res.late,
            "p_accept": res.p_accept,
            "satisfaction": res.satisfaction,
            "negative_feedback": res.negative_feedback,
            "negative_seller_feedback": res.negative_seller_feedback,
            "az_claim": res.az_claim,
            "claim_not_denied": res.claim_not_denied,
            "chargeback": res.chargeback,
            "rdr_defect": res.rdr_defect,
            "odr_defect": res.odr_defect,
            "labor_hours": res.labor_hours,
        }
    )
    for c in CATEGORIES:
        df[c] = res.flows[c]
    df["net_cost"] = net_cost_per_request(res.flows)
    df.index.name = "request"
    return df
