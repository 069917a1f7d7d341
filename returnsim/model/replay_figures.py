"""What a replay's requests come to, in the terms of the seller-fulfilled Returns report.

A replay (:mod:`.replay_source`) takes each request of the seller's reports as it happened; for
the policy the seller ran, what the replay gives for the requests of the seller-fulfilled Returns
report should match what that report records. :class:`ReplayFigures` sums those figures as a run
settles its batches (``simulate(..., observe=figures)``), so they come out of the experiment's
own replications: no trace, no second run. The same per-request arithmetic reads a trace
(:func:`reported_money`), so the sums can be checked against one.

Each figure is what the report's column means: the amount refunded net of what was deducted from
it (fees and labels the buyer paid), the return labels the seller paid (not a replacement's
outbound postage), A-to-z claims, SAFE-T reimbursements, and the share of requests resolved with
a returnless refund. Only the reported requests themselves count (generation 0, from the
seller-fulfilled report), not the returns of the purchases they lead to.
"""

from __future__ import annotations

import numpy as np

from .demand import Requests
from .replay_source import ReplayDemand, customer_rows
from .resolution import Resolved
from .world import OUTCOME, World

__all__ = ["REPLAY_FIGURES", "ReplayFigures", "reported_money"]

REPLAY_FIGURES: tuple[str, ...] = (
    "replay_refunds",
    "replay_seller_labels",
    "replay_az_claims",
    "replay_safet_reimbursements",
    "replay_returnless_share",
)
"""Per-replication figures of a replay run (columns of its ``runs``, after the KPIs and ledger
categories), over the requests of the seller-fulfilled Returns report: money in the scenario's
currency, claims a count, the returnless share a fraction of those requests."""

_RESHIPPED = np.array([OUTCOME["exchanged"], OUTCOME["replaced"]])


def reported_money(
    world: World,
    *,
    refunds: np.ndarray,
    partial_refunds: np.ndarray,
    buyer_fees: np.ndarray,
    seller_freight: np.ndarray,
    fba: np.ndarray,
    buyer_paid_label: np.ndarray,
    outcome: np.ndarray,
    item_class: np.ndarray,
    market: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per request: the amount refunded as the Returns report records it (refunds and partial
    refunds less the fees and labels deducted from them, never below zero) and the return label
    the seller paid (``seller_freight`` is the return label plus a replacement's outbound
    postage, :mod:`.ledger`; zero where the buyer paid the label). Money in the scenario's
    currency; ``outcome`` as ``OUTCOME`` codes, ``item_class`` and ``market`` as indices."""
    refunded = np.clip(refunds + partial_refunds - buyer_fees, 0.0, None)
    reship = np.isin(outcome, _RESHIPPED)
    k = np.asarray(item_class, dtype=np.int64)
    mk = np.asarray(market, dtype=np.int64)
    postage = np.where(fba, world.fba_fulfilment_fee[k], world.outbound_label[mk, 0] + world.outbound_label[mk, 1] * world.weight_lb[k])
    label = seller_freight - np.where(reship, postage, 0.0)
    return refunded, np.where(buyer_paid_label, 0.0, label)


class ReplayFigures:
    """Running sums of :data:`REPLAY_FIGURES` over one replication (``observe=`` of
    :func:`~.simulation.simulate`); :meth:`reset` before each run.

    Args:
        world: the compiled scenario the replay runs.
        demand: the replayed requests; those not dated by their arrival (``arrival`` False)
            are the seller-fulfilled Returns report's.
    """

    def __init__(self, world: World, demand: ReplayDemand) -> None:
        self.world = world
        # Whether each customer number's request is a row of the seller-fulfilled report.
        self._reported = ~np.asarray(demand.arrival, dtype=bool)[customer_rows(demand)]
        self.reset()

    def reset(self) -> None:
        """Start the sums again (a new replication)."""
        self._refunds = 0.0
        self._labels = 0.0
        self._claims = 0
        self._safet = 0.0
        self._returnless = 0
        self._requests = 0

    def __call__(self, req: Requests, res: Resolved, measured: np.ndarray | None = None) -> None:
        """Add a settled batch: the reported requests among it (generation 0 of a
        seller-fulfilled row, and counted, if ``measured`` says which are)."""
        own = req.generation == 0
        pick = own & self._reported[np.where(own, req.customer, 0)]
        if measured is not None:
            pick &= measured
        if not pick.any():
            return
        f = res.flows
        refunded, label = reported_money(
            self.world,
            refunds=f["refunds"][pick],
            partial_refunds=f["partial_refunds"][pick],
            buyer_fees=f["buyer_fees"][pick],
            seller_freight=f["seller_freight"][pick],
            fba=res.fba[pick],
            buyer_paid_label=res.buyer_paid_label[pick],
            outcome=res.outcome[pick],
            item_class=req.item_class[pick],
            market=req.market[pick],
        )
        self._refunds += float(refunded.sum())
        self._labels += float(label.sum())
        self._claims += int(np.count_nonzero(res.az_claim[pick]))
        self._safet += float(f["safet_reimbursements"][pick].sum())
        self._returnless += int(np.count_nonzero(res.outcome[pick] == OUTCOME["returnless_refund"]))
        self._requests += int(np.count_nonzero(pick))

    def figures(self) -> dict[str, float]:
        """The sums so far, by :data:`REPLAY_FIGURES` name (the share NaN without a reported
        request)."""
        n = self._requests
        return {
            "replay_refunds": self._refunds,
            "replay_seller_labels": self._labels,
            "replay_az_claims": float(self._claims),
            "replay_safet_reimbursements": self._safet,
            "replay_returnless_share": self._returnless / n if n else float("nan"),
        }
