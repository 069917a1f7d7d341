"""Policies: what a seller chooses. Ordered rule tables (offers, freight, disposition, rejection)
and desk levers; a policy may ``extends`` another and change a few fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

from .fields import OfferKind, Share, Strict, _choices, _err
from .limits import check_text
from .rules import Condition

__all__ = [
    "LABEL_MAX_LENGTH",
    "default_label",
    "policy_labels",
    "OfferRule",
    "FreightRule",
    "DispositionRule",
    "RejectRule",
    "ReceiptRule",
    "ReturnlessRule",
    "Policy",
    "resolve_extends",
]

LABEL_MAX_LENGTH = 40
"""Longest policy label, in characters (assumed: a label is a chart's row name; at 40
characters two lines of a phone-width chart still leave the bars most of its width)."""

_ACRONYMS = {"fifo": "FIFO", "fba": "FBA", "mfn": "MFN", "eu": "EU", "uk": "UK", "us": "US", "de": "DE", "rdr": "RDR", "odr": "ODR"}
"""Words of policy ids a reader knows in capitals."""


class OfferRule(Strict):
    """Make ``kind`` to requests matching ``when``; ``value_share`` is a partial refund's share
    of the price."""

    when: Condition = Field(default_factory=Condition, description="which requests the rule applies to; {} (empty) matches all")
    kind: OfferKind = Field(description="troubleshoot, partial_refund (keep it for a share of the price), exchange or replacement")
    value_share: Share = Field(default=0.0, description="a partial refund as a share of the price (0-1)")

    @model_validator(mode="after")
    def _value(self) -> OfferRule:
        if self.kind == "partial_refund" and self.value_share <= 0:
            raise ValueError("a partial_refund offer needs value_share > 0")
        return self


class FreightRule(Strict):
    """Who pays the return label for requests matching ``when``.

    ``seller``: the seller. ``buyer``: deducted from the refund (with a restocking fee of
    ``fee_share`` of the price if set). ``carrier_claim``: the seller, who recovers
    ``costs.carrier_claim_share`` from the carrier. ``negotiate``: the seller asks the buyer
    for ``ask`` (a loss fee of ``fee_share`` of the price, or the freight); if the buyer refuses,
    the seller pays.
    """

    when: Condition = Field(default_factory=Condition, description="which requests the rule applies to; {} (empty) matches all")
    payer: Literal["seller", "buyer", "carrier_claim", "negotiate"] = Field(
        description="who pays the return label: seller, buyer (deducted from the refund), carrier_claim (seller, recovering from the carrier) or negotiate"
    )
    ask: Literal["loss_fee", "freight"] = Field(default="loss_fee", description="what a negotiate rule asks the buyer for")
    fee_share: Share = Field(default=0.0, description="restocking or loss fee as a share of the price (0-1; Amazon allows up to 0.5 [A13])")
    label_payer: Literal["seller", "buyer"] = Field(
        default="seller",
        description="negotiate with ask = loss_fee: who pays the label whatever the buyer answers "
        "(buyer: the loss fee comes on top of the buyer-paid label, so an item asked a fee never "
        "gets easier terms than one that is not)",
    )


class DispositionRule(Strict):
    """What happens to the goods of returns matching ``when``."""

    when: Condition = Field(default_factory=Condition, description="which requests the rule applies to; {} (empty) matches all")
    action: Literal[
        "give_to_buyer", "return_to_origin", "return_to_address", "abandon", "cost_optimal"
    ] = Field(description="what happens to the goods; cost_optimal picks, per return, the option of highest expected value")
    address: str | None = Field(default=None, description="for return_to_address, and only for it: a name of [addresses.*]")
    abandon_mode: Literal["dispose", "liquidate", "in_place"] = Field(
        default="liquidate",
        description="abandon: the unit goes to a returns centre to be disposed of or liquidated, "
        "or is abandoned in place (no label, nothing recovered, the buyer keeps or discards it)",
    )
    candidates: list[str] | None = Field(
        default=None,
        description="cost_optimal: actions to choose from (default: all, every address)",
    )

    @model_validator(mode="after")
    def _address(self) -> DispositionRule:
        if self.action == "return_to_address" and not self.address:
            raise ValueError("return_to_address needs an address")
        if self.address and self.action != "return_to_address":
            # The goods of any other action do not go to a named address: an address here would
            # be silently ignored by the parcel's route (or priced as if it went there).
            raise ValueError(
                f"address = {self.address!r} is only for action = 'return_to_address' (this rule's action is "
                f"{self.action!r}); remove the address, or make the action return_to_address"
            )
        return self


class ReceiptRule(Strict):
    """Second-stage disposition of a unit received at the origin, decided on its true condition
    (``when = {condition = ...}`` at receipt is what the inspection found, not what the buyer
    stated): resell it, liquidate it, or dispose of it."""

    when: Condition = Field(default_factory=Condition, description="which requests the rule applies to; {} (empty) matches all")
    action: Literal["resell", "liquidate", "dispose"] = Field(description="what to do with the unit received")


class RejectRule(Strict):
    """Reject requests matching ``when`` (e.g. ``{in_window = false}``). Rejecting an
    in-window request is an invalid rejection (Amazon RDR)."""

    when: Condition = Field(default_factory=Condition, description="which requests the rule applies to; {} (empty) matches all")


class ReturnlessRule(Strict):
    """A returnless resolution as the seller sets it up in Amazon's return settings [A12]: an
    in-window request matching ``when`` is resolved at once, before anyone authorises it, and
    the buyer keeps the item."""

    when: Condition = Field(default_factory=Condition, description="which requests the rule applies to (price, item class, reason, ...); {} (empty) matches all")
    resolution: Literal["refund", "replacement"] = Field(
        default="refund",
        description="refund: the price refunded, the item kept; replacement: a new unit sent, the item kept",
    )


class Policy(Strict):
    """How the seller handles returns. Tables are ordered: the first matching rule applies."""

    extends: str | None = Field(default=None, description="start from this policy's fields")
    label: str | None = Field(
        default=None,
        description=f"the policy's name for readers, in charts, tables and reports (one line, 1 to "
        f"{LABEL_MAX_LENGTH} characters), e.g. \"Give away items under $25\"; not inherited through "
        "extends. Default: the id in words (giveaway_small -> \"Giveaway small\"); two policies that "
        "would read alike are each followed by their id",
    )
    description: str = Field(default="", description="what the policy is, in plain words (shown beside its name)")
    auto_authorise: bool | None = Field(
        default=None,
        description="who authorises in-policy requests of classes not exempt from prepaid labels: "
        "Amazon, at once, with a prepaid label (true), or the seller, after review (false). "
        "Default: the marketplace's rule (amazon.marketplace; mandatory in the US, UK and DE "
        "[A8, A18], where false is refused; none: the seller). Under auto-authorisation offers "
        "go out as buyer-seller messages and count only if the buyer reads them before dropping "
        "the parcel off; no rejection, investigation or fee negotiation",
    )
    authorise_at_deadline: bool = Field(
        default=True,
        description="a rule set in advance: a request not authorised by the late threshold (the "
        "buyer has not answered an offer or fee request, or the desk has not acted on the answer) "
        "is authorised then automatically; an offer not yet accepted lapses",
    )
    discipline: Literal["fifo", "deadline"] = Field(
        default="fifo",
        description="fifo, or deadline: oldest request still answerable in time first",
    )
    follow_up_priority: Literal["before_new", "arrival", "after_new"] = Field(
        default="before_new",
        description="second touches (acting on a buyer's reply, dispatching an exchange) queue on "
        "the same desk as new requests: before them, in arrival order, or after them (assumed "
        "default: before, since their 48 h clock has been running longest)",
    )
    fba_classes: list[str] | None = Field(
        default=None,
        description="item classes fulfilled by Amazon under this policy (default: the catalog's "
        "own `fulfilment`); e.g. ['apparel'] to compare moving a class to FBA",
    )
    per_order_fee: float = Field(
        default=0.0,
        ge=0,
        description="a fee per order of the store's own demand that the policy adds, in the "
        "scenario's currency (e.g. a returns programme or badge charged per order; default none), "
        "counted in fulfilment_cost_per_order",
    )
    investigate: bool = Field(
        default=False, description="check the real reason of seller-fault claims"
    )
    offers: list[OfferRule] = Field(default_factory=list, description="targeted offers instead of a refund; the first matching rule applies")
    freight: list[FreightRule] = Field(
        default_factory=list, description="no matching rule: the seller pays"
    )
    disposition: list[DispositionRule] = Field(
        default_factory=list,
        description="decided before receipt, on what the seller knows then (stated reason and "
        "condition, price, market, class); no matching rule: return_to_origin",
    )
    receipt: list[ReceiptRule] = Field(
        default_factory=list,
        description="at receipt at the origin, on the true condition: resell, liquidate or "
        "dispose; no matching rule: resell",
    )
    reject: list[RejectRule] = Field(default_factory=list, description="requests to reject; rejecting an in-window request is an invalid rejection [A5]")
    returnless: list[ReturnlessRule] = Field(
        default_factory=list,
        description="returnless resolutions set in Amazon's return settings [A12]: in-window "
        "seller-fulfilled requests that match are refunded (or replaced) at once and the buyer "
        "keeps the item, with no desk work, offer or label; the first matching rule applies",
    )

    @field_validator("label")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        # A label is one line of a chart's row names: no line breaks, never blank, and short
        # enough to leave a phone-width chart room for its bars.
        if value is None:
            return None
        check_text(value, name=True)
        text = value.strip()
        if not text:
            raise ValueError("a label must not be empty: leave it out for the default (the id in words)")
        if len(text) > LABEL_MAX_LENGTH:
            raise ValueError(f"a label of at most {LABEL_MAX_LENGTH} characters (it names a chart's row); this one has {len(text)}")
        return text


def default_label(policy_id: str) -> str:
    """A policy's id in words, its label when the scenario gives none:
    ``"move_apparel_to_fba"`` -> ``"Move apparel to FBA"``."""
    words = [w for w in policy_id.replace("-", "_").split("_") if w]
    if not words:
        return policy_id
    words = [_ACRONYMS.get(w.lower(), w) for w in words]
    first = words[0]
    words[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(words)


def policy_labels(policies: dict[str, Policy]) -> dict[str, str]:
    """Each policy's label: its own, else :func:`default_label` of its id. No two policies read
    alike: where two would (a policy copied with its label, or ``a_b`` beside ``a-b``), each of
    them is followed by its id, ``"Free return labels (twin)"``."""
    out = {name: p.label or default_label(name) for name, p in policies.items()}
    count: dict[str, int] = {}
    for text in out.values():
        count[text.casefold()] = count.get(text.casefold(), 0) + 1
    return {name: text if count[text.casefold()] == 1 else f"{text} ({name})" for name, text in out.items()}


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Deep merge for ``extends``: tables merge key by key, anything else is replaced."""
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "when":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def resolve_extends(policies: Any) -> Any:
    """Expand ``extends`` chains in a raw ``policies`` table (before validation).

    Chains of any length are followed without recursion; an ``extends`` that is not the name of
    another policy, or a chain that loops, is an error at that ``extends``.
    """
    if not isinstance(policies, dict):
        return policies
    errors: list[InitErrorDetails] = []
    done: dict[str, Any] = {}

    def parent_of(name: str) -> str | None:
        """The policy ``name`` extends, or None (no extends, or a bad one: reported here)."""
        raw = policies[name]
        if not isinstance(raw, dict) or raw.get("extends") is None:
            return None
        base = raw["extends"]
        loc = ("policies", name, "extends")
        others = [str(p) for p in policies if p != name]
        if not isinstance(base, str):
            errors.append(_err(loc, base, "expected the name of another policy of this scenario"))
        elif base not in policies:
            errors.append(_err(loc, base, f"no policy named '{base}'; {_choices(base, others)}"))
        else:
            return base
        return None

    for start in policies:
        chain: list[str] = []  # start, its parent, its grandparent ... until one is known
        on_chain: set[str] = set()
        name: str | None = start
        while name is not None and name not in done:
            if name in on_chain:
                loop = [*chain[chain.index(name) :], name]
                errors.append(
                    _err(
                        ("policies", chain[-1], "extends"),
                        name,
                        "extends chain loops: " + " -> ".join(loop),
                    )
                )
                for n in chain:
                    done.setdefault(n, policies[n])
                break
            chain.append(name)
            on_chain.add(name)
            name = parent_of(name)
        # Merge from the known end of the chain back to its start.
        for child in reversed(chain):
            if child in done:
                continue
            raw = policies[child]
            base = raw.get("extends") if isinstance(raw, dict) else None
            parent = done.get(base) if isinstance(base, str) and base != child else None
            # A label names one policy: a child starts from its parent's fields but not its name.
            inherited = {k: v for k, v in parent.items() if k != "label"} if isinstance(parent, dict) else None
            done[child] = _merge(inherited, raw) if inherited is not None else raw
    if errors:
        raise ValidationError.from_exception_data("Scenario", errors)
    return done
