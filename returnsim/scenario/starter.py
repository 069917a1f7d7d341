"""A commented starter scenario from a few facts about a store (``returnsim init``).

A new seller knows a handful of numbers: orders a day, where buyers live, what they sell at
which price and how often it comes back, and who answers return requests when. :func:`starter_toml`
turns those into a complete scenario file in which every other figure is written out with its
source id (``docs/sources.md``) or the word "assumed", so the file is both valid at once and a
list of what to check. The file compares four policies a seller typically weighs: the article's
practice (``seed``), free returns, authorising everything at once, and returnless refunds for
cheap items, under the return rules of the store's Amazon marketplace.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

from .desk import WEEKDAYS

__all__ = ["ItemSpec", "StoreFacts", "starter_toml", "parse_hours", "DAYS"]

DAYS = WEEKDAYS
"""Weekday keys of opening hours, Monday first (the desk's own)."""


@dataclass(frozen=True)
class ItemSpec:
    """An item class: a name, a mean price (currency), a return rate (0..1) and a share of
    orders (normalised over all classes)."""

    name: str
    price: float
    return_rate: float
    share: float = 1.0


@dataclass
class StoreFacts:
    """What ``returnsim init`` asks for."""

    name: str = "My store"
    orders_per_day: float = 50.0
    international_share: float = 0.0
    items: list[ItemSpec] = field(default_factory=lambda: [ItemSpec("products", 30.0, 0.10)])
    staff: int = 1
    hours: str = "mon-fri 9-17"
    """``"24/7"`` or day ranges with hours, e.g. ``"mon-fri 9-17, sat 10-14"``."""
    currency: str = "$"
    marketplace: str = "US"
    """Amazon marketplace whose return rules apply (``returnsim.scenario.MARKETPLACES``), or
    ``"none"`` for a store of one's own."""


_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def check_item_name(name: str) -> str:
    """An item-class name usable as a TOML key without quotes (letters, digits, ``_``, ``-``)."""
    if not _NAME.match(name):
        raise ValueError(
            f"item class name {name!r}: use letters, digits, '_' or '-', starting with a letter"
        )
    return name


def parse_hours(text: str) -> dict[str, tuple[float, float]] | str:
    """``"24/7"`` or ``"mon-fri 9-17, sat 10:30-14"`` -> ``"24/7"`` or ``{day: (open, close)}``.

    Raises:
        ValueError: saying which part could not be read and what is expected.
    """
    text = text.strip().lower()
    if text in ("24/7", "24x7", "always"):
        return "24/7"
    out: dict[str, tuple[float, float]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s+(\d{1,2}(?::\d\d)?)\s*-\s*(\d{1,2}(?::\d\d)?)", part)
        if not m or m.group(1) not in DAYS or (m.group(2) and m.group(2) not in DAYS):
            raise ValueError(
                f"desk hours: cannot read {part!r}; expected \"24/7\" or day ranges with hours "
                "such as \"mon-fri 9-17, sat 10-14\" (days: mon tue wed thu fri sat sun)"
            )
        first, last = DAYS.index(m.group(1)), DAYS.index(m.group(2) or m.group(1))
        if last < first:
            raise ValueError(f"desk hours: {part!r} runs backwards; write e.g. mon-fri")
        open_, close = _hour(m.group(3)), _hour(m.group(4))
        if not 0 <= open_ < close <= 24:
            raise ValueError(f"desk hours: {part!r} must open before it closes, within 0-24")
        for d in DAYS[first : last + 1]:
            out[d] = (open_, close)
    if not out:
        raise ValueError('desk hours: expected "24/7" or e.g. "mon-fri 9-17"')
    return out


def _hour(text: str) -> float:
    h, _, m = text.partition(":")
    return int(h) + (int(m) / 60 if m else 0.0)


def _num(x: float) -> str:
    return f"{x:g}" if x == int(x) or abs(x) >= 1e-3 else repr(x)


def _first_monday(year: int) -> dt.date:
    jan1 = dt.date(year, 1, 1)
    return jan1 + dt.timedelta(days=(7 - jan1.weekday()) % 7)


def _c(code: str, comment: str = "") -> str:
    """A line of TOML with its comment aligned."""
    return f"{code:<32} # {comment}" if comment else code


# Stated reason mix of an item class without sizes (what buyers say, as Amazon's reports show):
# shares as in docs/sources.md [B15-B17] (~65 % buyer side, ~13 % not as described, ~9 % damaged
# or wrong item, the rest defective).
_REASON_MIX = {
    "defective": 0.15,
    "not_as_described": 0.10,
    "wrong_item": 0.04,
    "missing_parts": 0.03,
    "damaged_in_transit": 0.05,
    "no_longer_needed": 0.30,
    "better_price": 0.13,
    "ordered_by_mistake": 0.20,
}

_REASONS = """\
# --- return reasons: who is at fault follows Amazon's reason -> payer table [A16]; the
# condition items come back in is assumed.

[reasons.defective]
fault = "seller"
label = "Defective / does not work properly"
condition = { opened = 0.6, used = 0.3, damaged = 0.1 }

[reasons.not_as_described]
fault = "seller"
label = "Description was not accurate"
condition = { unopened = 0.3, opened = 0.6, used = 0.1 }

[reasons.wrong_item]
fault = "seller"
label = "Wrong item was sent"
condition = { unopened = 0.8, opened = 0.2 }

[reasons.missing_parts]
fault = "seller"
label = "Missing parts or accessories"
condition = { opened = 0.9, used = 0.1 }

[reasons.damaged_in_transit]
fault = "carrier"
label = "Damaged during shipping"
condition = { opened = 0.2, damaged = 0.8 }

[reasons.no_longer_needed]
fault = "buyer"
label = "No longer needed"
condition = { unopened = 0.5, opened = 0.4, used = 0.1 }

[reasons.better_price]
fault = "buyer"
label = "Better price available"
condition = { unopened = 0.8, opened = 0.2 }

[reasons.ordered_by_mistake]
fault = "buyer"
label = "Bought by mistake"
condition = { unopened = 0.7, opened = 0.3 }
"""

_POLICIES = """\
# --- policies to compare (`returnsim run {file} --baseline seed`) ---------------------------
# A policy is data: ordered rule tables, the first matching rule applies. A policy may
# `extends` another and change a few fields.

[policies.seed]
description = {seed_description}

[[policies.seed.offers]]
when = {{ reason = ["defective", "missing_parts"] }}
kind = "troubleshoot"

[[policies.seed.offers]]
when = {{ reason = ["damaged_in_transit", "wrong_item"] }}
kind = "replacement"

[[policies.seed.freight]]
when = {{ market = "international" }}
payer = "seller"                 # international return freight is always the seller's [A11]

[[policies.seed.freight]]
when = {{ fault = "seller" }}
payer = "seller"                 # [A9]

[[policies.seed.freight]]
when = {{ fault = "carrier" }}
payer = "carrier_claim"

[[policies.seed.freight]]
when = {{ fault = "buyer" }}
payer = "buyer"                  # deducted from the refund [A10]

[[policies.seed.disposition]]
when = {{ price_max = {giveaway:g} }}
action = "give_to_buyer"         # returnless refund below an assumed threshold; `returnsim.analytic.giveaway_breakeven` gives the break-even price

[[policies.seed.disposition]]
when = {{ condition = "damaged" }}
action = "abandon"
abandon_mode = "liquidate"

[[policies.seed.disposition]]
action = "return_to_origin"

[policies.free_returns]
extends = "seed"
description = "The seller pays every return label (carrier claims still filed)."
freight = [
  {{ when = {{ fault = "carrier" }}, payer = "carrier_claim" }},
  {{ payer = "seller" }},
]

[policies.auto_authorise]
extends = "seed"
description = "Every request authorised at once with a prepaid label; no messages, no offers."
auto_authorise = true
offers = []

[policies.cost_optimal]
extends = "seed"
description = "Per return, whatever the goods are worth most: give away, ship back or liquidate."
disposition = [{{ action = "cost_optimal" }}]
"""


def starter_toml(facts: StoreFacts, file_name: str = "my_store.toml", today: dt.date | None = None) -> str:
    """The text of a commented starter scenario for ``facts`` (valid as written)."""
    today = today or dt.date.today()
    start = _first_monday(today.year)
    items = facts.items or StoreFacts().items
    total = sum(i.share for i in items)
    hours = parse_hours(facts.hours)
    intl = facts.international_share
    mean_price = sum(i.share * i.price for i in items) / total
    giveaway = max(1, round(min(10.0, 0.3 * mean_price)))
    def q(text: str) -> str:  # a TOML basic string is a JSON string
        return json.dumps(text, ensure_ascii=False)


    lines = [
        f"# {facts.name}: a starter scenario written by `returnsim init` on {today}.",
        "#",
        "# Your answers are marked \"your answer\"; every other figure is a published one (an id such",
        "# as [A4] of returnsim's docs/sources.md) or marked \"assumed\": replace those with your own.",
        f"# Check the file with `returnsim validate {file_name}`; `returnsim schema` describes every",
        f"# field. Compare the policies at the end with `returnsim run {file_name} --baseline seed`.",
        "",
        f"name = {q(facts.name)}",
        f"description = {q(f'{facts.name}: {_num(facts.orders_per_day)} orders a day, {len(items)} item class' + ('es.' if len(items) > 1 else '.'))}",
        _c(f"currency = {q(facts.currency)}", "how money is labelled; amounts are never converted"),
        _c(f"start_date = {start.isoformat()}", "a Monday: the simulated week starts there"),
        _c("horizon_days = 365", "a year of orders; every return from them is followed to its end"),
        "",
        "# Amazon's rules for seller-fulfilled returns in this marketplace: prepaid labels authorised",
        "# by Amazon, refund at first scan, free fashion returns, SAFE-T claims [A18-A21].",
        "[amazon]",
        _c(f"marketplace = {q(facts.marketplace)}", "your answer (US, UK, DE, or none for your own shop)"),
        _c('seller_plan = "professional"', "individual sellers authorise every request themselves [A8]"),
        "",
        "[demand]",
        _c(f"orders_per_day = {_num(facts.orders_per_day)}", "your answer"),
        "# seasonality = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.3, 1.6]   # Jan..Dec multipliers (default: none)",
        "",
        "[markets.domestic]",
        _c(f"share = {_num(round(1 - intl, 6))}", "your answer (1 - the share from abroad)"),
        _c("return_label = { base = 7.50, per_lb = 0.75 }", "assumed: a prepaid ground label"),
        _c("outbound_label = { base = 5.50, per_lb = 0.60 }", "assumed: shipping a replacement"),
        _c("transit_days = { dist = \"lognormal\", mean = 4, cv = 0.4 }", "assumed"),
        "",
        "[markets.international]",
        _c(f"share = {_num(intl)}", "your answer"),
        _c("return_label = { base = 28.0, per_lb = 5.0 }", "assumed: an international return label"),
        _c("outbound_label = { base = 18.0, per_lb = 4.0 }", "assumed"),
        _c("transit_days = { dist = \"lognormal\", mean = 12, cv = 0.5 }", "assumed"),
        "",
        "# --- what you sell: price and return rate are your answers; the spread of prices, cost of",
        "# goods and weight are assumed. Reason mixes follow the shares of docs/sources.md [B15-B17].",
    ]
    mix = ", ".join(f"{k} = {v:g}" for k, v in _REASON_MIX.items())
    for item in items:
        lines += [
            "",
            f"[catalog.{check_item_name(item.name)}]",
            _c(f"share = {_num(round(item.share / total, 6))}", "your answer (share of orders)"),
            _c(f"price = {{ dist = \"lognormal\", mean = {_num(item.price)}, cv = 0.4 }}", "your mean price; spread assumed"),
            _c("unit_cost_share = 0.45", "assumed: cost of goods / price"),
            _c("weight_lb = 1.0", "assumed"),
            _c(f"return_rate = {_num(item.return_rate)}", "your answer"),
            _c('category = "other"', "clothing, shoes, jewelry, watches, handbags: free returns [A20]"),
            f"reasons = {{ {mix} }}",
        ]
    lines += ["", _REASONS]
    lines += [
        "[returns]",
        _c("window_days = 30", "Amazon's return window [A4]"),
        _c("misreport_rate = 0.1", "a tenth of buyer-fault returns state a seller-fault reason [B16, B18]"),
        'misreport_as = "not_as_described"',
        "",
        "[desk]",
        _c(f"staff = {facts.staff}", "your answer: people answering return requests"),
        _c("handling_minutes = { dist = \"lognormal\", mean = 12, cv = 0.6 }", "assumed"),
        _c("wage_per_hour = 20.0", "assumed: loaded cost of an agent hour"),
        _c("late_after_hours = 48", "Amazon counts a request late after 48 h [A1]"),
    ]
    if isinstance(hours, str):  # "24/7"
        lines.append(_c('hours = "24/7"', "your answer"))
    else:
        lines += ["", _c("[desk.hours]", "your answer: a day left out is closed")]
        lines += [f"{d} = [{_num(o)}, {_num(c)}]" for d, (o, c) in hours.items()]
    seed_description = q(
        "Answer fast, solve the real problem, the buyer pays the label for their own domestic "
        f"returns, give away items under {facts.currency}{giveaway:g}."
    )
    lines += ["", _POLICIES.format(file=file_name, seed_description=seed_description, giveaway=giveaway)]
    return "\n".join(lines)
