"""The scenario: one world and several named policies to compare.

A scenario file is TOML validated by the pydantic models of this package. The *world*
(:mod:`.world`, :mod:`.behaviour`) is what a seller cannot change quickly (demand, catalog,
markets, buyers' behaviour, fees and costs, the desk's size); a *policy* (:mod:`.policy`) is what
they choose (offers, who pays return freight, what happens to the goods, desk discipline). Every
model forbids unknown keys, so ``staf = 2`` is an error, not a silent default.

Defaults that come from a published figure say so in their description (the figures and their
sources are listed in ``docs/sources.md``); defaults with no published figure say "assumed".
Descriptions show up in ``returnsim schema``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from .. import amazon
from .behaviour import Buyer, Retention
from .desk import Desk
from .fields import Date, Strict, _choices, _err
from .marketplace import AmazonSettings
from .policy import Policy, resolve_extends
from .rules import Condition
from .uncertainty import Uncertainty, uncertainty_errors
from .world import Address, Costs, Demand, Fba, Health, ItemClass, Markets, Reason, Returns

__all__ = ["Scenario", "scenario_schema"]


class Scenario(Strict):
    """A world and the policies to compare in it. See the module docstring for units."""

    name: str = Field(default="scenario", description="the store or study, shown in reports")
    description: str = Field(default="", description="what the scenario describes, in plain words")
    currency: str = Field(
        default="$",
        min_length=1,
        max_length=8,
        description='how money is labelled in tables, charts and reports, e.g. "$", "€", "GBP "; '
        "amounts are never converted",
    )
    start_date: Date = Field(
        default=dt.date(2024, 1, 1),
        description="calendar date of t = 0; must be a Monday (the desk's week starts there)",
    )
    horizon_days: float = Field(
        gt=0,
        description="orders are placed in [0, horizon); every return from them is followed "
        "to its end (cohort accounting)",
    )
    warmup_days: int = Field(
        default=0,
        ge=0,
        description="whole days at the start whose orders are simulated but left out of every KPI "
        "and of the ledger, with their customers' later returns, so that the measured requests meet "
        "a desk that is already busy rather than empty; must be less than horizon_days",
    )
    amazon: AmazonSettings = Field(
        default_factory=AmazonSettings,
        description="the Amazon store whose returns rules apply (marketplace profile), the seller's "
        "plan and return address, and the inputs of refund at first scan and SAFE-T",
    )
    demand: Demand = Field(description="orders over time")
    markets: Markets = Field(description="where buyers live: domestic and international, with their shipping lanes")
    catalog: dict[str, ItemClass] = Field(min_length=1, description="item classes by name: price, weight, return rate, reason mix")
    reasons: dict[str, Reason] = Field(min_length=1, description="return reasons by name: fault and the condition items come back in")
    returns: Returns = Field(default_factory=Returns, description="timing and honesty of return requests")
    desk: Desk = Field(default_factory=Desk, description="the seller's response desk: staff, hours, handling times, wage")
    buyer: Buyer = Field(default_factory=Buyer, description="how buyers answer offers and fee requests, wait, and buy again")
    retention: Retention = Field(default_factory=Retention, description="satisfaction, feedback, claims and purchases after a return")
    costs: Costs = Field(default_factory=Costs, description="fees and unit costs of returns")
    fba: Fba = Field(default_factory=Fba, description="Fulfilled by Amazon: grades, grading time, refunds")
    health: Health = Field(default_factory=Health, description="account-health inputs: chargebacks, seller feedback, windows")
    addresses: dict[str, Address] = Field(default_factory=dict, description="places other than the origin returns may be sent to, by name")
    policies: dict[str, Policy] = Field(min_length=1, description="the policies to compare, by name")
    uncertainty: Uncertainty = Field(default_factory=dict, description="uncertain inputs: dotted path -> range or distribution with its source (returnsim.scenario.uncertainty)")

    @model_validator(mode="before")
    @classmethod
    def _extends(cls, data: Any) -> Any:
        if isinstance(data, dict) and "policies" in data:
            data = dict(data)
            data["policies"] = resolve_extends(data["policies"])
        return data

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        _apply_marketplace(self)
        errors = list(_cross_errors(self))
        if errors:
            raise ValidationError.from_exception_data("Scenario", errors)
        return self

    # Convenience -------------------------------------------------------------------------

    def misreport_target(self, reason: str | None = None) -> str | None:
        """The main seller-fault reason a misreporter states (the largest share of
        :meth:`misreport_mix`; the first listed on a tie). None: there is none, or ``reason`` is
        not the buyer's fault (only those are misreported)."""
        mix = self.misreport_mix(reason)
        return max(mix, key=lambda r: mix[r]) if mix else None

    def misreport_mix(self, reason: str | None = None) -> dict[str, float]:
        """The seller-fault reasons a misreporter states instead of ``reason`` (a buyer-fault
        reason), with the share of misreports each gets (summing to 1): the reason's own
        ``misreport_as`` if set; by default ``returns.misreport_as``, else ``not_as_described``
        if defined, else the first seller-fault reason. A single name is a mix of one. Empty:
        there is none, or ``reason`` is not the buyer's fault (only those are misreported)."""
        spec: str | dict[str, float] | None = None
        if reason is not None:
            r = self.reasons.get(reason)
            if r is None or r.fault != "buyer":
                return {}
            spec = r.misreport_as
        if spec is None:
            spec = self.returns.misreport_as
        if spec is None:
            sellers = [r for r, v in self.reasons.items() if v.fault == "seller"]
            spec = "not_as_described" if "not_as_described" in sellers else (sellers[0] if sellers else None)
        if spec is None:
            return {}
        return {spec: 1.0} if isinstance(spec, str) else {k: float(v) for k, v in spec.items() if v > 0}

    def policy(self, name: str) -> Policy:
        """The named policy, with a clear error listing the choices."""
        try:
            return self.policies[name]
        except KeyError:
            raise KeyError(
                f"no policy named '{name}'; this scenario has: {', '.join(self.policies)}"
            ) from None


def _apply_marketplace(sc: Scenario) -> None:
    """Figures the scenario leaves unset come from its marketplace's profile (an explicit value is
    a per-market override): the manual-authorisation target, the window and the holiday window."""
    rules = sc.amazon.rules
    if "late_after_hours" not in sc.desk.model_fields_set:
        sc.desk.late_after_hours = rules.manual_response_hours
    if "window_days" not in sc.returns.model_fields_set:
        sc.returns.window_days = rules.return_window_days
    if "holiday_window" not in sc.returns.model_fields_set:
        sc.returns.holiday_window = rules.holiday_window


def _cross_errors(sc: Scenario) -> Iterator[InitErrorDetails]:
    reasons = list(sc.reasons)
    classes = list(sc.catalog)
    addresses = list(sc.addresses)

    if sc.start_date.weekday() != 0:
        yield _err(
            ("start_date",),
            sc.start_date.isoformat(),
            f"must be a Monday (t = 0 is Monday 00:00); {sc.start_date} is a "
            f"{sc.start_date.strftime('%A')}",
        )
    if sc.warmup_days >= sc.horizon_days:
        yield _err(
            ("warmup_days",),
            sc.warmup_days,
            f"must be less than horizon_days ({sc.horizon_days:g}): no order would be measured",
        )
    if sum(c.share for c in sc.catalog.values()) <= 0:
        yield _err(("catalog",), None, "at least one item class needs share > 0")
    for cname, cls in sc.catalog.items():
        for r in cls.reasons:
            if r not in sc.reasons:
                yield _err(("catalog", cname, "reasons", r), r, f"unknown reason; {_choices(r, reasons)}")
        # A stated FBA size tier must be the one Amazon's table gives the class's weight and sides.
        if cls.fba.size_tier is not None:
            why = amazon.size_tier_conflict(cls.fba.size_tier, cls.weight_lb, cls.dimensions_in)
            if why is not None:
                yield _err(("catalog", cname, "fba", "size_tier"), cls.fba.size_tier, f"contradicts weight_lb and dimensions_in: {why}")

    def seller_reason(loc: tuple[Any, ...], spec: str | dict[str, float]) -> Iterator[InitErrorDetails]:
        # One reason, or a mix of reasons with shares summing to 1.
        names = [spec] if isinstance(spec, str) else list(spec)
        if isinstance(spec, dict):
            if not spec:
                yield _err(loc, spec, "a misreport mix must name at least one seller-fault reason")
            elif abs(sum(spec.values()) - 1.0) > 1e-6:
                yield _err(loc, spec, f"misreport shares must sum to 1, got {sum(spec.values()):g}")
        for name in names:
            # A reason of a mix is named in the message: the path stops at the field, which
            # holds text or a table.
            which = "" if isinstance(spec, str) else f"'{name}': "
            if name not in sc.reasons:
                yield _err(loc, name, f"{which}unknown reason; {_choices(name, reasons)}")
            elif sc.reasons[name].fault != "seller":
                yield _err(
                    loc, name, f"{which}a misreported reason must be a seller-fault reason ('{name}' is {sc.reasons[name].fault} fault)"
                )

    liq_to = sc.costs.seller_liquidation.address
    if liq_to is not None:
        loc = ("costs", "seller_liquidation", "address")
        if liq_to not in sc.addresses:
            yield _err(loc, liq_to, f"unknown address; {_choices(liq_to, addresses)}")
        else:
            lanes = sc.addresses[liq_to].return_label
            for market in ("domestic", "international"):
                if getattr(sc.markets, market).share > 0 and market not in lanes:
                    yield _err(loc, liq_to, f"address '{liq_to}' has no return_label from {market} buyers, who may abandon units to it")
    if sc.returns.misreport_as is not None:
        yield from seller_reason(("returns", "misreport_as"), sc.returns.misreport_as)
    yield from _stated_mix_errors(sc)
    for rname, reason in sc.reasons.items():
        if reason.misreport_as is not None:
            yield from seller_reason(("reasons", rname, "misreport_as"), reason.misreport_as)
    for kind, resp in sc.buyer.offers.items():
        for r in resp.by_reason:
            if r not in sc.reasons:
                yield _err(("buyer", "offers", kind, "by_reason", r), r, f"unknown reason; {_choices(r, reasons)}")

    def check_when(loc: tuple[Any, ...], cond: Condition) -> Iterator[InitErrorDetails]:
        for key, names in cond.names().items():
            options = classes if key == "item_class" else reasons
            for i, n in enumerate(names):
                if n not in options:
                    yield _err((*loc, "when", key, i), n, f"unknown {key.replace('_', ' ')}; {_choices(n, options)}")

    actions = [
        "give_to_buyer",
        "return_to_origin",
        "return_to_address",
        *(f"return_to_address:{a}" for a in addresses),
        "abandon",
        "abandon:dispose",
        "abandon:liquidate",
        "abandon:in_place",
    ]
    rules = sc.amazon.rules
    for cname in sc.buyer.purchases_per_year_by_class:
        if cname not in sc.catalog:
            yield _err(("buyer", "purchases_per_year_by_class", cname), cname, f"unknown item class; {_choices(cname, classes)}")
    for pname, pol in sc.policies.items():
        base = ("policies", pname)
        if pol.auto_authorise is False and rules.auto_authorisation == "mandatory":
            yield _err(
                (*base, "auto_authorise"),
                False,
                f"{rules.name} authorises in-policy requests itself with a prepaid label [A8, A18]; "
                "a seller cannot opt out (leave auto_authorise unset, mark a class "
                "prepaid_exempt, or set amazon.marketplace = \"none\")",
            )
        for i, cname in enumerate(pol.fba_classes or []):
            if cname not in sc.catalog:
                yield _err((*base, "fba_classes", i), cname, f"unknown item class; {_choices(cname, classes)}")
        for table in ("offers", "freight", "disposition", "reject", "receipt"):
            for i, rule in enumerate(getattr(pol, table)):
                yield from check_when((*base, table, i), rule.when)
        for i, offer in enumerate(pol.offers):
            if offer.kind not in sc.buyer.offers:
                yield _err(
                    (*base, "offers", i, "kind"),
                    offer.kind,
                    f"buyer.offers has no response model for '{offer.kind}'",
                )
        for i, rule in enumerate(pol.disposition):
            if rule.address in sc.addresses and rule.action == "return_to_address":
                lanes = sc.addresses[rule.address].return_label
                markets = rule.when.market or [m for m in ("domestic", "international") if getattr(sc.markets, m).share > 0]
                missing = [m for m in markets if m not in lanes]
                if missing:
                    yield _err(
                        (*base, "disposition", i, "address"),
                        rule.address,
                        f"address has no return_label for {', '.join(missing)} buyers, but this "
                        f"rule can send their returns there; add the lane or restrict when.market",
                    )
            if "return_to_address" in (rule.candidates or []) and not sc.addresses:
                yield _err(
                    (*base, "disposition", i, "candidates"),
                    "return_to_address",
                    "the scenario defines no [addresses] to return to",
                )
            if rule.address is not None and rule.address not in sc.addresses:
                yield _err(
                    (*base, "disposition", i, "address"),
                    rule.address,
                    f"unknown address; {_choices(rule.address, addresses)}"
                    if addresses
                    else "unknown address; the scenario defines no [addresses]",
                )
            for j, cand in enumerate(rule.candidates or []):
                if cand not in actions:
                    yield _err(
                        (*base, "disposition", i, "candidates", j),
                        cand,
                        f"unknown action; {_choices(cand, actions)}",
                    )
    yield from uncertainty_errors(sc.uncertainty, sc)


def _stated_mix_errors(sc: Scenario) -> Iterator[InitErrorDetails]:
    """A stated reason mix must be reachable: misreporters move a share ``misreport_rate`` of
    each buyer-fault reason onto a seller-fault one, so the stated share of that seller-fault
    reason must be at least what the misreports put there."""
    q = sc.returns.misreport_rate
    if q <= 0:
        return
    for cname, cls in sc.catalog.items():
        if cls.reasons_are != "stated":
            continue
        inflow: dict[str, float] = {}
        for r, share in cls.reasons.items():
            for target, part in sc.misreport_mix(r).items():
                if target not in sc.reasons:
                    continue  # an unknown target is reported where it is named
                if q >= 1:
                    yield _err(("returns", "misreport_rate"), q, "must be below 1 when reason mixes are stated")
                    return
                inflow[target] = inflow.get(target, 0.0) + share * part * q / (1 - q)
        for target, need in inflow.items():
            have = cls.reasons.get(target, 0.0)
            if have + 1e-9 < need:
                yield _err(
                    ("catalog", cname, "reasons", target),
                    have,
                    f"stated share {have:g} is below the {need:.3g} that misreports alone put on "
                    f"'{target}' (returns.misreport_rate = {q:g}); raise it, lower the misreport "
                    "rate, or set reasons_are = 'true'",
                )


def scenario_schema() -> dict[str, Any]:
    """JSON Schema of scenario files (field descriptions carry defaults' sources)."""
    return Scenario.model_json_schema(by_alias=True)
