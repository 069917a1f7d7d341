"""Commands on scenario files themselves: ``init``, ``validate`` and ``schema``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # imported when a command runs: `returnsim --help` answers without them
    from ..scenario.starter import ItemSpec, StoreFacts

from ..files import write_text_atomically
from .common import UserError, check_writable, load, scenario_args

__all__ = ["register", "item_spec"]

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# init


def _number(text: str, what: str, lo: float, hi: float | None = None, integer: bool = False) -> float:
    """``text`` as a number in [lo, hi], or a ValueError that says what was expected."""
    try:
        value = float(text.strip().rstrip("%")) / (100 if text.strip().endswith("%") else 1)
    except ValueError:
        raise ValueError(f"{what}: expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{what}: expected a finite number, got {text!r}")
    if integer and value != int(value):
        raise ValueError(f"{what}: expected a whole number, got {text!r}")
    if value < lo or (hi is not None and value > hi):
        span = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
        raise ValueError(f"{what}: expected a number {span}, got {text!r}")
    return value


def item_spec(text: str) -> ItemSpec:
    """``NAME:PRICE:RETURN_RATE[:SHARE]`` (e.g. ``shoes:60:0.25:2``) -> an :class:`ItemSpec`.

    Also accepts spaces between the parts (``shoes 60 25%``), as typed at a question."""
    parts = [p.strip() for p in text.split(":")] if ":" in text else text.split()
    if len(parts) not in (3, 4):
        raise ValueError(
            f"item class {text.strip()!r}: expected NAME:PRICE:RETURN_RATE[:SHARE] (or the same "
            "parts separated by spaces), e.g. shoes:60:0.25 or shoes 60 0.25"
        )
    from ..scenario.starter import ItemSpec, check_item_name

    name = check_item_name(parts[0])
    price = _number(parts[1], f"price of {name}", 0.01)
    rate = _number(parts[2], f"return rate of {name}", 0, 1)
    share = _number(parts[3], f"share of {name}", 0.0) if len(parts) == 4 else 1.0
    if share <= 0:
        raise ValueError(f"share of {name}: expected a number above 0, got {parts[3]!r}")
    return ItemSpec(name, price, rate, share)


def _arg(convert: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a converter that raises ValueError with a plain message."""

    def parse(text: str) -> T:
        try:
            return convert(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def _ask(prompt: str, default: str, convert: Callable[[str], T]) -> T:
    """Ask until the answer converts; Enter takes the default."""
    while True:
        print(f"{prompt} [{default}]: ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:  # end of input: take the default
            print(file=sys.stderr)
            return convert(default)
        answer = line.strip() or default
        try:
            return convert(answer)
        except ValueError as err:
            print(f"  {err}", file=sys.stderr)


def _ask_items(default: list[ItemSpec]) -> list[ItemSpec]:
    shown = ", ".join(f"{i.name}:{i.price:g}:{i.return_rate:g}" for i in default)
    print(
        "What do you sell? One item class per line as NAME PRICE RETURN_RATE [SHARE],\n"
        "e.g. `shoes 60 0.25` (share: weight in the order mix, default 1); an empty line ends.",
        file=sys.stderr,
    )
    items: list[ItemSpec] = []
    while True:
        print(f"  item class {len(items) + 1}" + ("" if items else f" [{shown}]") + ": ",
              end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line.strip():
            return items or default
        try:
            item = item_spec(line)
        except ValueError as err:
            print(f"    {err}", file=sys.stderr)
            continue
        if any(i.name == item.name for i in items):
            print(f"    {item.name} is already listed", file=sys.stderr)
            continue
        items.append(item)


def _facts(args: argparse.Namespace) -> StoreFacts:
    from ..scenario.starter import StoreFacts

    d = StoreFacts()
    facts = StoreFacts(
        name=args.name or d.name,
        orders_per_day=args.orders_per_day if args.orders_per_day is not None else d.orders_per_day,
        international_share=(
            args.international_share if args.international_share is not None else d.international_share
        ),
        items=args.item or d.items,
        staff=args.staff if args.staff is not None else d.staff,
        hours=args.hours or d.hours,
        currency=args.currency or d.currency,
        marketplace=args.marketplace or d.marketplace,
    )
    names = [i.name for i in facts.items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UserError(f"--item: item class {', '.join(dup)} is given twice")
    if not args.ask:
        return facts
    print(f"A starter scenario for {args.file}. Press Enter to keep the value in brackets.",
          file=sys.stderr)
    facts.name = _ask("Store name", facts.name, lambda s: s)
    facts.orders_per_day = _ask("Orders a day", f"{facts.orders_per_day:g}",
                                lambda s: _number(s, "orders a day", 0.01))
    facts.international_share = _ask(
        "Share of orders from buyers abroad (0-1, e.g. 0.1)", f"{facts.international_share:g}",
        lambda s: _number(s, "share from abroad", 0, 1),
    )
    facts.items = _ask_items(facts.items)
    facts.staff = int(_ask("People answering return requests", str(facts.staff),
                           lambda s: _number(s, "staff", 1, integer=True)))
    facts.hours = _ask('Their hours ("24/7", or e.g. "mon-fri 9-17, sat 10-14")', facts.hours,
                       _valid_hours)
    facts.currency = _ask("Currency symbol", facts.currency, _valid_currency)
    facts.marketplace = _ask("Amazon marketplace (US, UK, DE, or none for your own shop)",
                             facts.marketplace, _valid_marketplace)
    return facts


def _valid_marketplace(text: str) -> str:
    from ..scenario.marketplace import MARKETPLACES

    found = {m.lower(): m for m in MARKETPLACES}.get(text.strip().lower())
    if found is None:
        raise ValueError(f"marketplace: expected one of {', '.join(MARKETPLACES)}, got {text!r}")
    return found


def _valid_hours(text: str) -> str:
    from ..scenario.starter import parse_hours

    parse_hours(text)
    return text


def _valid_currency(text: str) -> str:
    text = text.strip() or "$"
    if len(text) > 8 or any(not c.isprintable() for c in text):
        raise ValueError(f"currency: expected a short symbol such as $ or €, got {text!r}")
    return text


def cmd_init(args: argparse.Namespace) -> int:
    import tomllib

    from ..scenario import ScenarioError, load_scenario, parse_scenario

    path = Path(args.file)
    if path.suffix != ".toml":
        raise UserError(f"the scenario file should end in .toml, got {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder; name the scenario file to write, e.g. {path / 'my_store.toml'}")
    if path.exists() and not args.force:
        raise UserError(f"{path} exists; choose another name or add --force to overwrite it")
    if not path.parent.is_dir():
        raise UserError(f"no such folder: {path.parent}")
    check_writable(path, "init", "file")  # (a folder that cannot be written, such as /proc)
    facts = _facts(args)
    from ..scenario.starter import starter_toml

    text = starter_toml(facts, path.name)
    try:
        parse_scenario(tomllib.loads(text))  # before writing: never leave a broken file behind
    except ScenarioError as err:  # a bug in the template, not the user's doing
        raise RuntimeError(f"the starter scenario does not validate:\n{err}") from err
    write_text_atomically(path, text)
    sc = load_scenario(path)  # and as written
    print(
        f"wrote {path}: {sc.demand.orders_per_day:g} orders a day, {len(sc.catalog)} item "
        f"class{'es' if len(sc.catalog) > 1 else ''} ({', '.join(sc.catalog)}), "
        f"{sc.desk.staff} agent{'s' if sc.desk.staff > 1 else ''}, "
        f"{len(sc.policies)} policies ({', '.join(sc.policies)}); it validates.\n"
        f"Next: edit the lines marked \"assumed\", then\n"
        f"  returnsim run {path} --baseline seed"
    )
    return 0


# --------------------------------------------------------------------------------------------
# validate, schema


def cmd_validate(args: argparse.Namespace) -> int:
    sc = load(args)
    print(
        f"{args.scenario}: valid ({len(sc.catalog)} item classes, {len(sc.reasons)} reasons, "
        f"{len(sc.policies)} policies: {', '.join(sc.policies)})"
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from ..scenario import scenario_schema

    print(json.dumps(scenario_schema(), indent=2))
    return 0


def register(sub: Any) -> None:
    """Add ``init``, ``validate`` and ``schema`` to the ``returnsim`` subcommands."""
    sp = sub.add_parser(
        "init",
        help="write a commented starter scenario for your store",
        description="Write a commented starter scenario that validates at once. Give a few facts "
        "as options, or --ask to be asked; everything else is written out with its source or "
        "marked assumed.",
    )
    sp.add_argument("file", metavar="FILE", help="the scenario file to write, e.g. my_store.toml")
    sp.add_argument("--ask", action="store_true", help="ask for each fact (Enter keeps the default)")
    sp.add_argument("--name", help='store name (default "My store")')
    sp.add_argument("--orders-per-day", type=_arg(lambda s: _number(s, "--orders-per-day", 0.01)),
                    metavar="N", help="mean orders a day (default 50)")
    sp.add_argument("--international-share", type=_arg(lambda s: _number(s, "--international-share", 0, 1)),
                    metavar="S", help="share of orders from buyers abroad, 0-1 (default 0)")
    sp.add_argument("--item", action="append", type=_arg(item_spec), metavar="NAME:PRICE:RATE[:SHARE]",
                    help="an item class: mean price, return rate 0-1 and optional share of orders "
                    "(repeatable; default products:30:0.10)")
    sp.add_argument("--staff", type=_arg(lambda s: int(_number(s, "--staff", 1, integer=True))),
                    metavar="N", help="people answering return requests (default 1)")
    sp.add_argument("--hours", type=_arg(_valid_hours), metavar="HOURS",
                    help='desk hours: "24/7" or e.g. "mon-fri 9-17, sat 10-14" (default mon-fri 9-17)')
    sp.add_argument("--currency", type=_arg(_valid_currency), help="currency symbol (default $)")
    sp.add_argument("--marketplace", type=_arg(_valid_marketplace), metavar="CODE",
                    help="Amazon marketplace whose return rules apply: US, UK, DE, or none for a "
                    "store of your own (default US)")
    sp.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("validate", help="check a scenario file and list every problem")
    scenario_args(sp)
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sp.set_defaults(func=cmd_schema)
