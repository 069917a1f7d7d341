"""One replication: wire demand, the desk, the decision chain and retention into a SimPy run.

The only contended resource is the desk, so it is the only part simulated event by event: agents
are SimPy processes, requests are rows of arrays that the agents pick up. Whatever follows the
first answer is a pure function of that answer's time, computed in vectorised batches. When
post-return purchases feed back into demand, the run advances in epochs (a week by default):
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

from ..scenario import OFFER_KINDS, RESOLUTIONS, Scenario
from ..scenario.rules import CONDITIONS, FAULTS, MARKETS
from .demand import Requests, base_requests, build_requests
from .desk import Desk, OpenHours
from .inputs import simulation_inputs
from .ledger import ACTION, CATEGORIES, PAYER, Ledger, net_cost_per_request
from .resolution import Resolved, investigated_mask, resolve
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
    "negative_feedback_rate",
    "az_claim_rate",
    "invalid_rejection_rate",
    "rdr",
    "odr_contribution",
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


class _Store:
    """Requests of a run: the base table plus follow-ons appended as they appear."""

    def __init__(self, base: Requests) -> None:
        self.base = base
        self.n_base = len(base)
        self.extra: list[Requests] = []
        self._extra: Requests | None = None

    def __len__(self) -> int:
        return self.n_base + sum(len(p) for p in self.extra)

    def add(self, part: Requests) -> None:
        self.extra.append(part)
        self._extra = None

    def take(self, ids: np.ndarray) -> Requests:
        """The requests with these ids, in the order given."""
        if not self.extra or ids.max(initial=-1) < self.n_base:
            return self.base.take(ids)
        if self._extra is None:
            self._extra = Requests.concat(self.extra)
        if ids.min() >= self.n_base:
            return self._extra.take(ids - self.n_base)
        low = ids < self.n_base
        merged = Requests.concat([self.base.take(ids[low]), self._extra.take(ids[~low] - self.n_base)])
        return merged.take(_positions(ids, self.n_base))

    def all(self) -> Requests:
        return Requests.concat([self.base, *self.extra]) if self.extra else self.base


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
    epoch_days: float = 7.0,
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
    n_orders, base, customers = base_requests(world, rng["orders"], rng["requests"])
    store = _Store(base)
    horizon_h = scenario.horizon_days * HOURS_PER_DAY
    feedback = scenario.retention.feedback_into_demand
    book = CustomerBook(world, customers, horizon_h, feedback)

    env = simpy.Environment()
    request_time = base.request_time.tolist()
    service = _service(world, pol, base).tolist()
    desk_cfg = scenario.desk
    hours = None if desk_cfg.hours == "24/7" else OpenHours(desk_cfg.hours.intervals())
    desk = Desk(
        env,
        0 if pol.auto_authorise else desk_cfg.staff,
        hours,
        pol.discipline,
        desk_cfg.late_after_hours,
        request_time,
        service,
        instant=pol.auto_authorise,
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
        if not desk.answered:
            continue
        desk_ids = desk.answered
        desk.answered = []
        ids = np.asarray(desk_ids, dtype=np.int64)
        resolved += len(ids)
        req = store.take(ids)
        start, answer = desk.start, desk.answer
        t_start = np.array([start[i] for i in desk_ids])
        t_answer = np.array([answer[i] for i in desk_ids])
        batch = resolve(world, pol, req, t_start, t_answer)
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
            store.add(new)
            request_time.extend(new.request_time.tolist())
            service.extend(_service(world, pol, new).tolist())
            desk.extend(len(new))
            env.process(desk.feed(range(first, first + len(new))))

    ids = np.concatenate(done_ids) if done_ids else np.empty(0, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    all_req = store.all()
    res = Resolved.concat(done).take(order) if done else None
    post = book.close()
    n_all_orders = n_orders + book.extra_orders
    kpis = _kpis(world, all_req, res, ledger, desk, post, customers, n_all_orders, n_orders, scenario.desk.staff, hours)
    diagnostics = {
        "queue_area": desk.queue_area,
        "busy_hours": desk.busy_hours,
        "end_time": env.now,
        "clamped_followons": clamped,
        "followon_requests": len(all_req) - len(base),
    }
    out = RunResult(policy=policy, seed=seed, kpis=kpis, ledger=dict(ledger), diagnostics=diagnostics)
    if trace:
        out.trace = _trace(world, all_req, res)
    return out


def _service(world: World, pol, req: Requests) -> np.ndarray:
    """Agent hours per request: handling plus any investigation."""
    return req.handling_h + req.investigate_h * investigated_mask(world, pol, req)


def _kpis(world, req, res, ledger, desk, post, customers, n_orders, n_demand, staff, hours) -> dict[str, float]:
    n = len(req)
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
    wait = res.t_start - req.request_time
    k["response_hours_mean"] = float(response.mean())
    k["response_hours_p95"] = float(np.percentile(response, 95))
    k["desk_wait_hours_mean"] = float(wait.mean())
    k["desk_wait_probability"] = float((wait > 1e-12).mean())
    # Share of the agents' open hours spent answering, from the first request to the last
    # answer (the cohort's run-in before any request would dilute it).
    t0, t1 = float(req.request_time.min()), float(res.t_answer.max())
    open_h = t1 - t0 if hours is None else hours.open_hours_between(t0, t1)
    k["desk_utilization"] = desk.busy_hours / (staff * open_h) if desk.busy_hours > 0 and open_h > 0 else 0.0
    k["late_response_rate"] = float(res.late.mean())
    k["negative_feedback_rate"] = float(res.negative_feedback.mean())
    k["az_claim_rate"] = float(res.az_claim.mean())
    invalid = res.rejected & req.in_window
    k["invalid_rejection_rate"] = float(invalid.mean())
    k["rdr"] = float((res.negative_feedback | res.late | invalid).mean())
    k["odr_contribution"] = float((res.negative_feedback | res.az_claim).sum() / n_orders)
    pre = customers.pre_count.sum()
    k["repeat_purchase_rate"] = float((post["post_count"] > 0).mean()) if len(post["post_count"]) else float("nan")
    k["post_return_spend_ratio"] = float(post["post_count"].sum() / pre) if pre > 0 else float("nan")
    retained = float(post["expected_post"].sum() * world.margin_per_kept_order)
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

    payer_names = list(PAYER)
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
            "action": cat(res.action, action_names),
            "address": cat(res.address, world.address_names) if world.address_names else pd.NA,
            "t_start": res.t_start,
            "t_answer": res.t_answer,
            "t_decision": res.t_decision,
            "t_refund": res.t_refund,
            "t_resolved": res.t_resolved,
            "wait_hours": res.t_start - req.request_time,
            "response_hours": res.t_answer - req.request_time,
            "late": res.late,
            "p_accept": res.p_accept,
            "satisfaction": res.satisfaction,
            "negative_feedback": res.negative_feedback,
            "az_claim": res.az_claim,
        }
    )
    for c in CATEGORIES:
        df[c] = res.flows[c]
    df["net_cost"] = net_cost_per_request(res.flows)
    df.index.name = "request"
    return df
