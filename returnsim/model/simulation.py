"""One replication: wire demand, the desk, the decision chain and retention into a SimPy run.

The only contended resource is the desk, so it is the only part simulated event by event, on the
SimPy clock (its agents' events are ordered as a SimPy process per agent would order them; see
:mod:`.desk`); requests are rows of arrays that the agents pick up. Whatever follows the first
answer is a pure function of that answer's time, computed in vectorised batches.

The run advances in epochs (two weeks by default). The scenario's orders and their requests are
drawn as the clock reaches them (:mod:`.stream`); requests whose desk work ended during an epoch
are collected at its end and settled: their money goes into the ledger and their KPIs into
running totals (:mod:`.tally`), and they are forgotten, so memory follows the requests in
progress, not the horizon; the per-request trace is kept only when asked for. When post-return
purchases feed back into demand, the returns of the settled customers' later purchases are
scheduled on the desk at the end of the epoch that collected the request. A follow-on request
that would arrive before the end of that epoch is delivered at that end (counted as
``clamped_followons``); with a purchase gap of months this is rare and shifts an arrival by less
than an epoch.

A settlement costs a few hundred numpy calls whatever its size, so collected requests wait until
one of them could lead to a request before the next epoch ends (a bound known before settling,
:meth:`.retention.CustomerBook.earliest_order`) or ``FOLD_REQUESTS`` wait, and are then settled
in one batch. Their later purchases get the times, ids and clamping of settling every epoch
(``SETTLE_LATE = False``), and feeds land requests where a feed started on time would, so the
trace is the same bit for bit; the run stops with an error if a request ever came before its
bound. Later purchases likewise wait to become requests until one of them could be requested
before the next epoch ends (``demand.earliest_request_h``), and are then handed to the desk in
one table, with the ids, clamping and arrival instants of handing them over every epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from ..scenario import OFFER_KINDS, RESOLUTIONS, Scenario
from ..scenario.rules import CONDITIONS, FAULTS, MARKETS
from .calendar import Calendar
from .columns import concat_rows, take_rows
from .demand import Customers, Requests, build_requests, earliest_request_h
from .desk import Desk, OpenHours
from .inflight import InFlight, Rows
from .inputs import simulation_inputs
from .ledger import ACTION, CATEGORIES, GRADE, PAYER, RECEIPT, Ledger, net_cost_per_request
from .plan import RETURNLESS, Plan, fba_mask, plan
from .replay_source import ReplayDemand, ReplaySource
from .resolution import DeskTimes, Resolved, resolve
from .retention import CustomerBook, FollowOns
from .stream import RequestStream
from .tally import KPI_NAMES, Tally
from .world import HOURS_PER_DAY, World

__all__ = ["simulate", "RunResult", "streams", "KPI_NAMES"]

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
    """Money by category for the seller, over the whole cohort (after the warm-up, if any)."""
    trace: Any = None
    """A pandas DataFrame with one row per request (only with ``trace=True``); its rows outside
    the warm-up (column ``warmup``) sum to the ledger."""
    diagnostics: dict[str, float] = field(default_factory=dict)
    """Bookkeeping useful for validation: queue area, clamped follow-ons, simulated span (the end
    of the last epoch), the most requests handed to the desk and not yet settled, seen at the
    settlements (``peak_in_progress``), and the desk's per-request slots (``desk_slots``): the
    last two follow the store's volume, not the horizon."""


def simulate(
    scenario: Scenario | str | Path | Mapping[str, Any],
    policy: str,
    seed: int | tuple[int, ...] | np.random.SeedSequence | None = 0,
    trace: bool = False,
    *,
    epoch_days: float = 14.0,
    allow_large: bool = False,
    source: ReplayDemand | None = None,
    observe: Callable[[Requests, Resolved, np.ndarray | None], None] | None = None,
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
        source: a seller's own orders and requests to replay instead of the scenario's drawn
            demand (:mod:`.replay_source`); the scenario's start date and horizon must cover
            its days.
        observe: called with every settled batch of requests, how they were settled and
            which count (``None``: all; as :meth:`.tally.Tally.add` takes them), to sum what
            the KPIs do not carry without keeping a trace (a replay's figures beside the
            seller's reports, :mod:`.replay_figures`); it must not change the arrays.

    Returns:
        A :class:`RunResult` with ``kpis`` and ``ledger`` (money in the scenario's currency).

    Raises:
        ScenarioError: the scenario file or dict is invalid.
        TypeError, ValueError, KeyError: an argument is wrong (the message names it).
        RunTooLarge: the run would not fit in memory (see ``allow_large``).
    """
    scenario, seed = simulation_inputs(scenario, policy, seed, trace, epoch_days, allow_large)
    if observe is not None and not callable(observe):
        raise TypeError(f"observe must be a function of (requests, resolved, measured) or None, got {type(observe).__name__}")
    pol = scenario.policy(policy)
    world = World(scenario)
    rng = streams(seed)
    stream: RequestStream | ReplaySource = (
        RequestStream(world, rng["orders"], rng["requests"])
        if source is None
        else ReplaySource(world, source, rng["orders"], rng["requests"])
    )
    horizon_h = scenario.horizon_days * HOURS_PER_DAY
    feedback = scenario.retention.feedback_into_demand
    book = CustomerBook(world, horizon_h, feedback, stream.followon_rows)
    desk_cfg = scenario.desk
    calendar = Calendar(scenario.start_date, desk_cfg.holidays)
    warmup = scenario.warmup_days
    # Customers are numbered by their order's day: those of the warm-up days come first.
    first_measured = stream.first_customer(warmup)

    env = simpy.Environment()
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
        request_time=[],
        service=[],
        patience=[],
        follow_delay=[],
        follow_service=[],
        follow_priority=pol.follow_up_priority,
        measure_from=warmup * HOURS_PER_DAY,
    )
    inflight = InFlight()

    def admit(ids: np.ndarray, req: Requests, cust: Customers) -> list[int]:
        """Plan requests, hand them to the desk and keep their rows; returns their slots."""
        pl = plan(world, pol, req)
        due = book.earliest_order(cust, req.customer, req.generation, req.request_time)
        slots = desk.add(**_desk_inputs(world, pol, req, pl))
        inflight.add(Rows(ids=ids, req=req, plan=pl, cust=cust, due=due), slots)
        return slots

    # The scenario's requests reach the desk as one stream of slots, each part drawn and
    # admitted when the desk has delivered the previous one.
    parts = iter(stream.next_part, None)
    env.process(desk.feed(chain.from_iterable(admit(p.ids, p.req, p.cust) for p in parts)))

    ledger = Ledger()
    tally = Tally(world, warmup)
    kept: list[tuple[np.ndarray, Requests, Resolved, np.ndarray]] = []
    done: list[tuple[list[int], float]] = []
    """Slots of the requests whose desk work is over, not yet settled, with the end of the epoch
    that collected them (the desk keeps their slots until then)."""
    waiting = 0
    soonest = np.inf
    """The earliest return request any request in ``done`` could lead to
    (``CustomerBook.earliest_order``)."""
    arriving: list[tuple[float, FollowOns]] = []
    """Later purchases of settled requests, with the end of the epoch that collected the
    request: where a run settling every epoch would have scheduled them."""
    deferred: list[list[tuple[float, FollowOns]]] = []
    """Epochs' ``arriving`` not yet turned into requests: none of them can be requested before
    the next epoch ends (``demand.earliest_request_h``), so they wait to be built and handed to
    the desk with later ones, in one batch (each batch costs a few hundred numpy calls)."""
    deferred_due = np.inf
    """The earliest any purchase in ``deferred`` can be requested (hours)."""
    deferred_rows = 0
    clamped = 0
    followons = 0
    collected = 0
    resolved = 0
    settlements = 0
    in_progress = 0

    def collect(slots: list[int], epoch_end: float) -> None:
        """Take the requests whose desk work is over: they wait in ``done`` to be settled."""
        nonlocal collected, waiting, soonest
        collected += len(slots)
        waiting += len(slots)
        soonest = min(soonest, inflight.soonest(slots))
        done.append((slots, epoch_end))

    def settle() -> None:
        """Settle every collected request in one batch: money, KPIs, their customers' later
        purchases (kept in ``arriving`` until the epoch ends), and forget them."""
        nonlocal resolved, settlements, waiting, soonest
        slots = [i for d in done for i in d[0]] if len(done) > 1 else done[0][0]
        ends = [(end, len(d)) for d, end in done]
        done.clear()
        rows = inflight.take(slots)
        get = itemgetter(*slots) if len(slots) > 1 else lambda lst: (lst[slots[0]],)
        times = DeskTimes(
            start=np.array(get(desk.start), dtype=float),
            answer=np.array(get(desk.answer), dtype=float),
            abandoned=np.array(get(desk.abandoned), dtype=float),
            follow_done=np.array(get(desk.follow_done), dtype=float),
        )
        desk.release(slots)
        resolved += len(slots)
        settlements += 1
        waiting, soonest = 0, np.inf
        req = rows.req
        batch = resolve(world, pol, req, rows.plan, times, calendar)
        measured = req.customer >= first_measured
        ledger.add(batch.flows if first_measured == 0 else {c: v[measured] for c, v in batch.flows.items()})
        counted = None if first_measured == 0 else measured
        new = book.resolve(
            rng["followon"], rows.cust, req.customer, req.generation, batch.t_resolved, batch.multiplier, counted,
            read=np.isfinite(rows.due),
        )
        tally.add(req, batch, counted)
        if observe is not None:
            observe(req, batch, counted)
        if trace:
            kept.append((rows.ids, req, batch, measured))
        if len(new):
            # Each purchase goes with the epoch of its request's collection (the customer of a
            # later purchase is that of the generation-0 request that placed it).
            if len(ends) == 1:
                arriving.append((ends[0][0], new))
            else:
                end_of_row = np.repeat([e for e, _ in ends], [n for _, n in ends])
                first = np.flatnonzero(req.generation == 0)
                by_customer = np.argsort(req.customer[first], kind="stable")
                parent = first[by_customer[np.searchsorted(req.customer[first][by_customer], new.customer)]]
                end_of = end_of_row[parent]
                for e in np.unique(end_of).tolist():
                    arriving.append((e, take_rows(new, end_of == e)))

    epoch_h = epoch_days * HOURS_PER_DAY
    folds = _folds_per_epoch(world, epoch_days)
    while collected < stream.total + followons + deferred_rows or done:
        # Collect `folds` times an epoch (once for a small store). Settlement waits while no
        # unsettled request can place a purchase before the next epoch ends and fewer than
        # FOLD_REQUESTS wait (memory follows the requests in progress); the purchases are then
        # placed exactly as if each request had been settled at the end of its own epoch.
        # (SimPy leaves its stop event in the queue, so peek() is never empty here.)
        start = env.now
        for fold in range(1, folds + 1):
            end = start + epoch_h
            env.run(until=end if fold == folds else start + fold * epoch_h / folds)
            if fold == folds:
                desk.sweep()
            slots = desk.collect()
            if slots:
                collect(slots, end)
            in_progress = max(in_progress, stream.released + followons - resolved)
            if done and (
                waiting >= FOLD_REQUESTS
                or (fold == folds and (not SETTLE_LATE or soonest < end + epoch_h))
                or (fold == folds and collected == stream.total + followons + deferred_rows)
            ):
                settle()
        if arriving:
            deferred.append(arriving)
            deferred_rows += sum(len(f) for _, f in arriving)
            for _, f in arriving:
                at = f.order_time + earliest_request_h(world, f.uniforms)
                deferred_due = min(deferred_due, float(at.min(initial=np.inf)))
            arriving = []
        # Requested after the next epoch ends (a relative hair for rounding): they wait, to be
        # handed over with the feeds of their own epochs, at the instants those would give.
        if not deferred or (SETTLE_LATE and deferred_due - 1e-9 * (1.0 + abs(deferred_due)) > env.now + epoch_h):
            continue
        # The returns of later purchases: one table for all, in the order (and with the ids and
        # clamping) of one table per deferred batch and collecting epoch, scheduled where a run
        # settling every epoch would have scheduled them.
        groups = sorted({(b, e) for b, batch in enumerate(deferred) for e, _ in batch})
        parts_by = [[f for e, f in deferred[b] if e == g] for b, g in groups]
        deferred, deferred_due, deferred_rows = [], np.inf, 0
        new = concat_rows([f for fs in parts_by for f in fs])
        group = np.repeat(np.arange(len(groups)), [sum(len(f) for f in fs) for fs in parts_by])
        reqs = build_requests(world, new.uniforms, new.order_time, new.customer, new.generation)
        own_end = np.asarray([g for _, g in groups])[group]
        late = reqs.request_time < own_end
        clamped += int(late.sum())
        reqs.request_time = np.maximum(reqs.request_time, own_end)
        if reqs.request_time.min() < env.now:
            raise RuntimeError(
                "a later purchase's return was due before its request was settled "
                f"({reqs.request_time.min():.6g} h < {env.now:.6g} h): CustomerBook.earliest_order is not a bound"
            )
        order = np.lexsort((reqs.request_time, group))
        reqs, group = reqs.take(order), group[order]
        ids = stream.total + followons + np.arange(len(reqs))
        followons += len(reqs)
        slots = admit(ids, reqs, Customers.none(len(reqs)))
        cuts = np.searchsorted(group, np.arange(1, len(groups))).tolist()
        for (_, g), part in zip(groups, np.split(np.asarray(slots), cuts), strict=True):
            env.process(desk.feed(part.tolist(), origin=g))

    fba_classes = fba_mask(world, pol, np.arange(len(world.class_names)))
    margin = world.margin_per_kept_order(fba_classes)
    fulfilment = world.fulfilment_cost_per_order(fba_classes) + pol.per_order_fee
    kpis = tally.kpis(ledger, stream.orders, book.summary(), book.simulated_all, desk, hours, margin, fulfilment)
    diagnostics = {
        "queue_area": desk.queue_area,
        "busy_hours": desk.busy_hours,
        "desk_visits": desk.visits,
        "end_time": env.now,
        "clamped_followons": clamped,
        "followon_requests": followons,
        "peak_in_progress": in_progress,
        "settlements": settlements,
        "desk_slots": desk.capacity,
    }
    out = RunResult(policy=policy, seed=seed, kpis=kpis, ledger=dict(ledger), diagnostics=diagnostics)
    if trace:
        out.trace = _trace_of(world, kept)
    return out


FOLD_REQUESTS = 4096
"""About how many requests one settlement handles in a large store (see ``_folds_per_epoch``):
also the most collected requests that wait to be settled."""

SETTLE_LATE = True
"""Settle collected requests only when one of them could place a purchase before the next epoch
ends (False: at the end of every epoch, as before; the numbers are the same, tests compare)."""


def _folds_per_epoch(world: World, epoch_days: float) -> int:
    """How many times an epoch settles the requests whose desk work is over: once for a small
    store (as many requests as ``FOLD_REQUESTS`` or fewer an epoch), more often for a large one,
    at most once a day, so that settled requests do not pile up for a whole epoch."""
    sc = world.scenario
    expected = sc.demand.orders_per_day * max(sc.demand.seasonality) * world.overall_return_rate * epoch_days
    return int(min(max(1, math.ceil(expected / FOLD_REQUESTS)), max(1, math.floor(epoch_days))))


def _desk_inputs(world: World, pol, req: Requests, pl: Plan) -> dict[str, list]:
    """What the desk needs per request, from the seller's plan (lists indexed like ``req``)."""
    sc = world.scenario
    # Only a buyer waiting for a first answer gives up: not for auto-authorised requests (Amazon
    # authorised them), nor for Amazon's own.
    instant = pl.at_once  # (a property computed on each read: read once)
    patience = np.where(pl.auto | instant, math.inf, req.patience_h)
    follow_delay = np.where(pl.asked, req.reply_h, np.nan)
    deadline = req.request_time + sc.desk.late_after_hours
    lapse_at = deadline if pol.authorise_at_deadline else np.full(len(req), math.inf)
    # A message to an auto-authorised buyer matters only until the parcel is handed over.
    lapse_at = np.where(pl.auto, req.request_time + req.ship_h, lapse_at)
    # No desk touch at all (``instant``): Amazon's requests, returnless resolutions, and
    # auto-authorised ones with nothing to send.
    return {
        "request_time": req.request_time.tolist(),
        "service": (req.handling_h + req.investigate_h * pl.investigated).tolist(),
        "patience": patience.tolist(),
        "follow_delay": follow_delay.tolist(),
        "follow_service": req.follow_up_h.tolist(),
        "lapse_at": lapse_at.tolist(),
        "instant": instant.tolist(),
    }


def _trace_of(world: World, kept: list[tuple[np.ndarray, Requests, Resolved, np.ndarray]]):
    """The trace of every settled batch, one row per request in id order (the order requests
    were created), with whether each was in the warm-up."""
    if not kept:
        return _trace(world, None, None)
    ids = np.concatenate([k[0] for k in kept])
    order = np.argsort(ids, kind="stable")
    req = concat_rows([k[1] for k in kept]).take(order)
    res = Resolved.concat([k[2] for k in kept]).take(order)
    df = _trace(world, req, res)
    df.insert(2, "warmup", ~np.concatenate([k[3] for k in kept])[order])
    return df


def _trace(world: World, req: Requests | None, res: Resolved | None):
    import pandas as pd

    if req is None or res is None:
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
            "fee_share": res.fee_share,
            "auto_authorised": res.auto,
            "returnless_rule": cat(res.returnless, list(RETURNLESS)),
            "refund_at_first_scan": res.refund_at_first_scan,
            "safet_claim": res.safet_claim,
            "safet_granted": res.safet_granted,
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
            "t_message": res.t_message,
            "t_drop_off": res.t_drop_off,
            "t_decision": res.t_decision,
            "t_follow": res.t_follow,
            "t_receive": res.t_receive,
            "t_refund": res.t_refund,
            "t_resolved": res.t_resolved,
            # Until an agent picked the request (or the offer's message) up, or its buyer gave
            # up; none for a request that never reached the desk.
            "wait_hours": np.where(
                res.at_desk,
                np.where(np.isnan(res.t_review), np.where(res.escalated, res.t_answer, res.t_start), res.t_review),
                np.nan,
            )
            - req.request_time,
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
