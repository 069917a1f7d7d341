"""KPIs summed as batches of requests settle, in memory that does not grow with the run.

Every KPI of a run is a count, a sum, an extreme, a quantile or a rate over rolling windows.
:class:`Tally` folds each settled batch into running counts and sums, the response time into a
:class:`~.sketch.QuantileSketch`, the account-health windows into per-day counts
(:class:`~.windows.DailyCounts`) and each customer's purchases after a return into totals, and
:meth:`Tally.kpis` turns them into the KPIs at the end. Only the 95th percentile is approximate
(to 0.01 % of its value); means may differ from a whole-run ``numpy.mean`` in the last digits,
because floats are summed batch by batch.

**Warm-up.** Requests of orders placed in the first ``warmup_days`` days, and the later
requests of their customers, are simulated (they load the desk) but left out of every KPI and of
the ledger; so are those days' orders. Desk utilisation counts agent time from the end of the
warm-up, and Amazon's rolling windows are those that start after it.
"""

from __future__ import annotations

import math

import numpy as np

from .. import amazon
from . import windows
from .demand import Orders, Requests
from .desk import Desk, OpenHours
from .ledger import Ledger
from .resolution import Resolved
from .sketch import QuantileSketch
from .world import HOURS_PER_DAY, OUTCOME, World

__all__ = ["Tally", "KPI_NAMES"]

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
    "message_on_time_rate",
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
    "fulfilment_cost_per_order",
    "cost_per_order",
    "repeat_purchase_rate",
    "post_return_spend_ratio",
    "retained_margin",
    "caused_margin",
    "caused_margin_per_order",
    "policy_profit_per_order",
)
"""Every KPI a run reports, in display order (documented in ``docs/model.md``). ``orders`` counts
every order placed in the horizon, including returners' repeat orders; ``demand_orders`` only the
scenario's own demand. Per-order money KPIs divide by ``demand_orders``, so policies that win
different numbers of repeat orders (and runs of different horizons) share a denominator: the
repeat orders a policy wins belong to its margin, not to its denominator.

``policy_profit_per_order`` is the part of profit per order a returns policy changes: the margin
the return experience causes (credited to the seller) less the return and fulfilment costs. Only
its differences between policies mean anything (``docs/kpis.md`` states the counterfactual)."""

_CANCELLED = [OUTCOME[o] for o in ("troubleshot", "kept_partial_refund", "exchanged", "replaced")]

FOLD = 4096
"""Settled requests buffered before they are folded into the totals (one vectorised pass for
many small batches; the buffer is a few columns of this many requests)."""

_COUNTS = (
    "requests",
    "cancelled",
    "returnless",
    "queued",
    "waited",
    "late",
    "escalated",
    "second_touch",
    "negative_feedback",
    "az_claim",
    "invalid",
    "rdr",
    "odr",
    "merchant",
    "messages",
    "messages_on_time",
)
_SUMS = ("response", "wait", "buyer_label")
_COLUMNS = (
    "request_time",
    "order_time",
    "in_window",
    "fba",
    "at_desk",
    "t_start",
    "t_review",
    "t_message",
    "t_answer",
    "t_follow",
    "escalated",
    "outcome",
    "late",
    "second_touch",
    "negative_feedback",
    "az_claim",
    "rejected",
    "rdr_defect",
    "odr_defect",
    "buyer_label",
)
"""What the KPIs read of a settled request (from ``Requests`` and ``Resolved``)."""


class Tally:
    """Running totals of a run's KPIs (see the module docstring).

    Args:
        world: the compiled scenario.
        warmup_days: whole days at the start whose orders are left out of the KPIs.
    """

    def __init__(self, world: World, warmup_days: int = 0) -> None:
        self.world = world
        self.warmup_days = int(warmup_days)
        self.n = dict.fromkeys(_COUNTS, 0)
        self.sum = dict.fromkeys(_SUMS, 0.0)
        self.response = QuantileSketch()
        self.first_queued = math.inf
        """Earliest request time of a request that queued at the desk (any cohort)."""
        self.last_desk_work = -math.inf
        """Latest first answer or second touch of a request that queued (any cohort)."""
        self.rdr_days = windows.DailyCounts()
        """Requests and RDR defects by request day (any cohort: windows are periods of time)."""
        self.odr_days = windows.DailyCounts()
        """Requests' own ODR defects by order day (any cohort)."""
        self._buffer: list[tuple[np.ndarray | None, list[np.ndarray]]] = []
        self._buffered = 0

    def add(self, req: Requests, res: Resolved, measured: np.ndarray | None = None) -> None:
        """Fold in a batch of settled requests.

        Args:
            req, res: the requests and how they were settled (same order).
            measured: per request, whether it counts in the KPIs (None: all do).
        """
        cols = [getattr(req, c) if hasattr(req, c) else getattr(res, c) for c in _COLUMNS]
        self._buffer.append((measured, cols))
        self._buffered += len(req)
        if self._buffered >= FOLD:
            self._fold()

    def _fold(self) -> None:
        if not self._buffer:
            return
        if all(m is None for m, _ in self._buffer):
            measured = None
        else:
            measured = np.concatenate(
                [np.ones(len(c[0]), dtype=bool) if m is None else m for m, c in self._buffer]
            )
        c = dict(zip(_COLUMNS, (np.concatenate(col) for col in zip(*(b[1] for b in self._buffer), strict=True)), strict=True))
        self._buffer, self._buffered = [], 0
        queued = c["at_desk"]
        if queued.any():
            self.first_queued = min(self.first_queued, float(c["request_time"][queued].min()))
            # The desk's last task: an answer, a second touch, or a message (auto-authorised
            # requests are answered by Amazon at once; the desk writes their offers later).
            last = np.fmax(np.fmax(c["t_answer"], c["t_follow"]), c["t_message"])[queued]
            if not np.isnan(last).all():
                self.last_desk_work = max(self.last_desk_work, float(np.nanmax(last)))
        # The Return Dissatisfaction Rate covers seller-fulfilled returns only [A5].
        seller = ~c["fba"]
        self.rdr_days.add(c["request_time"][seller], c["rdr_defect"][seller])
        self.odr_days.add(c["order_time"], c["odr_defect"])
        if measured is not None:
            c = {k: v[measured] for k, v in c.items()}
        n, s = self.n, self.sum
        n["requests"] += len(c["outcome"])
        out = c["outcome"]
        n["cancelled"] += int(np.count_nonzero(np.isin(out, _CANCELLED)))
        n["returnless"] += int(np.count_nonzero(out == OUTCOME["returnless_refund"]))
        # The desk's messages to auto-authorised buyers (their offers), against the marketplace's
        # message response target.
        sent = ~np.isnan(c["t_message"])
        n["messages"] += int(np.count_nonzero(sent))
        target = self.world.rules.message_response_hours + 1e-9
        n["messages_on_time"] += int(np.count_nonzero(sent & (c["t_message"] - c["request_time"] <= target)))
        response = c["t_answer"] - c["request_time"]
        s["response"] += float(response.sum())
        self.response.add(response)
        # The desk's queue of first touches (Erlang A's customers): time until an agent picks a
        # request up, or until its buyer gives up; Amazon's own requests never queue here.
        queued = c["at_desk"]
        if queued.any():
            left = np.where(c["escalated"], c["t_answer"], c["t_start"])
            left = np.where(np.isnan(c["t_review"]), left, c["t_review"])
            wait = (left - c["request_time"])[queued]
            n["queued"] += len(wait)
            n["waited"] += int(np.count_nonzero(wait > 1e-12))
            s["wait"] += float(wait.sum())
        for key, col in (
            ("late", "late"),
            ("escalated", "escalated"),
            ("second_touch", "second_touch"),
            ("negative_feedback", "negative_feedback"),
            ("az_claim", "az_claim"),
            ("odr", "odr_defect"),
        ):
            n[key] += int(np.count_nonzero(c[col]))
        n["merchant"] += int(np.count_nonzero(~c["fba"]))
        n["rdr"] += int(np.count_nonzero(c["rdr_defect"] & ~c["fba"]))
        n["invalid"] += int(np.count_nonzero(c["rejected"] & c["in_window"]))
        s["buyer_label"] += float(c["buyer_label"].sum())

    def kpis(
        self,
        ledger: Ledger,
        orders: Orders,
        customers: dict[str, float],
        simulated_all: float,
        desk: Desk,
        hours: OpenHours | None,
        margin: float,
        fulfilment: float,
    ) -> dict[str, float]:
        """The KPIs (``KPI_NAMES``) from the totals.

        Args:
            ledger: money of the measured requests.
            orders: the scenario's own orders per day (warm-up days included).
            customers: the measured customers' totals (:meth:`.retention.CustomerBook.summary`).
            simulated_all: purchases placed as orders inside the horizon by every customer.
            desk: the desk, for its agent time.
            hours: its opening hours (None: 24/7).
            margin: margin of a kept order (money).
            fulfilment: outbound cost of an order of the scenario's own demand under the policy
                (fulfilment fees, outbound labels and handling, per-order fees; money).
        """
        self._fold()
        n, s = self.n, self.sum
        w = self.warmup_days
        h = self.world.scenario.health
        staff = self.world.scenario.desk.staff
        n_req = n["requests"]
        n_demand = int(orders.per_day[w:].sum())
        n_orders = n_demand + int(customers["simulated"])
        k: dict[str, float] = dict.fromkeys(KPI_NAMES, float("nan"))
        k["orders"] = float(n_orders)
        k["demand_orders"] = float(n_demand)
        k["return_requests"] = float(n_req)
        k["return_rate"] = n_req / n_orders if n_orders else float("nan")
        cost = ledger.net_return_cost
        k["net_return_cost"] = cost
        k["net_return_cost_per_order"] = cost / n_demand if n_demand else float("nan")
        k["retained_margin"] = customers["expected"] * margin
        # Only the purchases the return experience causes are credited: the expected purchases
        # at the post-return rate less those at the base rate the buyer had anyway (M = 1), and
        # only the seller's share of them (the rest of the goodwill accrues to the marketplace).
        share = self.world.scenario.retention.seller_share
        caused = share * margin * (customers["expected"] - customers["base"])
        k["caused_margin"] = caused
        # Defined without any return (issue 22: no returns left them NaN); the per-return
        # ratios below stay NaN, "not defined", and statistics count them as missing.
        if n_demand:
            k["caused_margin_per_order"] = caused / n_demand
            k["fulfilment_cost_per_order"] = fulfilment
            k["cost_per_order"] = k["net_return_cost_per_order"] + fulfilment
            k["policy_profit_per_order"] = k["caused_margin_per_order"] - k["cost_per_order"]
        k["net_freight_cost"] = ledger["seller_freight"] - s["buyer_label"]
        if n_req == 0:
            return k
        k["net_return_cost_per_return"] = cost / n_req
        k["cancel_rate"] = n["cancelled"] / n_req
        k["returnless_rate"] = n["returnless"] / n_req
        k["response_hours_mean"] = s["response"] / n_req
        k["response_hours_p95"] = self.response.quantile(0.95)
        if n["queued"]:
            k["desk_wait_hours_mean"] = s["wait"] / n["queued"]
            k["desk_wait_probability"] = n["waited"] / n["queued"]
            t0 = max(self.first_queued, w * HOURS_PER_DAY)
            t1 = self.last_desk_work
            open_h = t1 - t0 if hours is None else hours.open_hours_between(t0, t1)
            busy = desk.busy_hours - desk.busy_before
            # Time past closing finishing a task is available time too: busy <= available.
            available = staff * open_h + desk.overtime_hours
            u = busy / available if busy > 0 and available > 0 else 0.0
            # busy <= available holds exactly (every busy hour is an open hour or overtime), but
            # the two are sums of different terms: where both are almost all overtime (a desk
            # open for seconds a week), rounding leaves u a few ulps above 1. A real excess is
            # far larger, and is kept to be seen.
            k["desk_utilization"] = 1.0 if 1.0 < u <= 1.0 + 1e-9 else u
        k["late_response_rate"] = n["late"] / n_req
        k["escalation_rate"] = n["escalated"] / n_req
        k["second_touch_rate"] = n["second_touch"] / n_req
        k["message_on_time_rate"] = n["messages_on_time"] / n["messages"] if n["messages"] else float("nan")
        k["negative_feedback_rate"] = n["negative_feedback"] / n_req
        k["az_claim_rate"] = n["az_claim"] / n_req
        k["invalid_rejection_rate"] = n["invalid"] / n_req
        k["rdr"] = n["rdr"] / n["merchant"] if n["merchant"] else float("nan")
        # ODR on orders, one defect per order: returned orders' own defects, kept orders' defects
        # (the scenario's own demand drawn per day, repeat orders at the same rate in expectation).
        p_kept = h.kept_order_defect_rate
        kept_repeat = max(int(customers["simulated"]) - (n_req - int(customers["customers"])), 0)
        defects = float(n["odr"]) + float(orders.kept_defects[w:].sum()) + p_kept * kept_repeat
        k["odr"] = defects / n_orders if n_orders else float("nan")
        # Windows are periods of time: every request dated in them counts, whatever its cohort;
        # repeat orders scale the order denominator as over the whole run.
        all_demand = orders.total
        all_orders = all_demand + int(simulated_all)
        scale = all_orders / all_demand if all_demand else 1.0
        rdr_w = windows.request_rates(self.rdr_days.defects, self.rdr_days.items, h.rdr_window_days, start_day=w)
        odr_w = windows.order_rates(
            self.odr_days.defects,
            orders.per_day * scale,
            h.odr_window_days,
            extra=orders.kept_defects,
            start_day=w,
        )
        k["rdr_window_max"], k["rdr_windows_over_target"] = windows.summary(rdr_w, amazon.RDR_TARGET)
        k["odr_window_max"], k["odr_windows_over_target"] = windows.summary(odr_w, amazon.ODR_TARGET)
        pre = customers["pre"]
        n_cust = customers["customers"]
        k["repeat_purchase_rate"] = customers["repeat_buyers"] / n_cust if n_cust else float("nan")
        k["post_return_spend_ratio"] = customers["post"] / pre if pre > 0 else float("nan")
        return k
