"""What happens to the goods of an authorised return, in two stages.

Before receipt, on what the seller knows then (stated reason and condition, price, market,
class), the policy's ``disposition`` table picks where the unit goes: ``give_to_buyer``
(returnless refund: no freight, nothing recovered, refund at once), ``return_to_origin``
(freight, inspection, then the second stage), ``return_to_address`` (a named address with its
own lane cost, handling fee and recovery), ``abandon`` (the unit goes to a returns centre to be
disposed of or liquidated, or is abandoned in place with no label). ``cost_optimal`` picks, per
return, the candidate with the highest expected net value to the seller, valued by the same
money rules as realised returns (``ledger.flows``); its implied give-away threshold is the
analytic break-even of ``analytic.giveaway_breakeven``.

At receipt at the origin, the inspection finds the true condition and the ``receipt`` table
decides: resell, liquidate or dispose (default: resell).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..scenario import Policy
from ..scenario.rules import RequestView, first_match
from .ledger import ABANDON, ACTION, RECEIPT
from .world import World

__all__ = ["Disposition", "Option", "choose_disposition", "candidate_options", "receipt_actions"]


@dataclass(frozen=True)
class Option:
    """One concrete disposition: an action, its address (-1: none) and abandon mode."""

    action: int
    address: int = -1
    abandon_mode: int = ABANDON["liquidate"]

    @property
    def label(self) -> str:
        names = {v: k for k, v in ACTION.items()}
        return names[self.action]


@dataclass
class Disposition:
    action: np.ndarray
    address: np.ndarray
    abandon_mode: np.ndarray
    """``ABANDON`` code (meaningful for ``abandon``)."""


Valuer = Callable[[np.ndarray, list[Option]], np.ndarray]
"""``value(selected, options)``: expected net value to the seller (credits - costs) of handling
the selected requests with each option, as an (options x selected) array; NaN where an option
is impossible (an address with no lane from the buyer's market)."""


def candidate_options(world: World, names: list[str] | None) -> list[Option]:
    """Expand ``cost_optimal`` candidate names into options (default: every option)."""
    addresses = world.address_names
    if names is None:
        names = ["give_to_buyer", "return_to_origin", "return_to_address", "abandon"]
    out: list[Option] = []
    for name in names:
        base, _, arg = name.partition(":")
        if base == "give_to_buyer":
            out.append(Option(ACTION["give_to_buyer"]))
        elif base == "return_to_origin":
            out.append(Option(ACTION["return_to_origin"]))
        elif base == "return_to_address":
            targets = [arg] if arg else addresses
            out += [Option(ACTION["return_to_address"], addresses.index(a)) for a in targets]
        elif base == "abandon":
            modes = [arg] if arg else ["liquidate", "dispose"]
            out += [Option(ACTION["abandon"], -1, ABANDON[m]) for m in modes]
    return out


def choose_disposition(
    world: World, policy: Policy, req: RequestView, value: Valuer
) -> Disposition:
    """Apply the disposition table; requests no rule matches return to origin."""
    n = len(req.price)
    rules = policy.disposition
    hit = first_match([r.when for r in rules], req, world.codes, world.match_cache)
    action = np.full(n, ACTION["return_to_origin"], dtype=np.int64)
    address = np.full(n, -1, dtype=np.int64)
    mode = np.full(n, ABANDON["liquidate"], dtype=np.int64)
    for i, rule in enumerate(rules):
        sel = hit == i
        if not sel.any():
            continue
        if rule.action == "cost_optimal":
            best = _best(world, sel, candidate_options(world, rule.candidates), value)
            action[sel], address[sel], mode[sel] = best
        else:
            action[sel] = ACTION[rule.action]
            if rule.address is not None:
                address[sel] = world.address_names.index(rule.address)
            mode[sel] = ABANDON[rule.abandon_mode]
    return Disposition(action=action, address=address, abandon_mode=mode)


def receipt_actions(world: World, policy: Policy, req: RequestView) -> np.ndarray:
    """Second stage at the origin (``RECEIPT`` codes): the first matching ``receipt`` rule on
    the true condition found at inspection (``req.condition``); no match: resell."""
    hit = first_match([r.when for r in policy.receipt], req, world.codes, world.match_cache)
    # By rule, then resell for no match: index -1 (no rule matched) picks the last entry. Made
    # once per policy rather than every batch.
    codes = world.per_policy(
        "receipt",
        policy,
        lambda: np.array([RECEIPT[r.action] for r in policy.receipt] + [RECEIPT["resell"]], dtype=np.int64),
    )
    return codes[hit]


def _best(
    world: World, sel: np.ndarray, options: list[Option], value: Valuer
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per selected request, the option of highest value (first listed wins ties)."""
    values = value(sel, options)
    values = np.where(np.isnan(values), -np.inf, values)
    k = np.argmax(values, axis=0)
    # A request no candidate can serve (only addresses without a lane from its market) goes
    # back to the origin rather than to nowhere.
    stuck = np.isneginf(values.max(axis=0))
    pick = np.array([[o.action, o.address, o.abandon_mode] for o in options], dtype=np.int64)[k]
    pick[stuck] = (ACTION["return_to_origin"], -1, ABANDON["liquidate"])
    return pick[:, 0], pick[:, 1], pick[:, 2]
