"""Hostile input, searched by Hypothesis: a clear error naming a field, or a finite run.

A valid scenario (the seed scenario, shortened, with every distribution family and every
optional table written out) is mutated at one place: any leaf replaced by a hostile value (NaN,
infinities, 1e308, booleans, numbers in quotes, control characters, ``None``, empty and huge
containers, deep nesting), any table or list replaced by another kind of thing, an unknown key
with a hostile name added, or the whole file written in another encoding. Each case must end in
exactly one of:

* ``error``: a :class:`~returnsim.ScenarioError` whose every problem names a path of the
  scenario in printable text without pydantic's jargon, one of them the mutated place (or a
  table around it, or inside it);
* ``refused``: :class:`~returnsim.model.RunTooLarge` before the run starts, naming the fields
  that make it large (the memory available is set to 300 MB so that a run the test could not
  afford is refused as a small machine would refuse it);
* ``ran``: one replication that finishes (a 120 s watchdog guards against hangs; it is not a
  speed claim) with every ledger entry finite and every KPI finite or NaN, the money KPIs
  finite.

Anything else fails the test. ``python tests/test_fuzz.py N`` runs ``N`` cases and prints how
many ended each way.
"""

from __future__ import annotations

import copy
import json
import math
import re
import signal
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import SEED_SCENARIO  # noqa: E402

import returnsim as rs  # noqa: E402
from returnsim.model import budget  # noqa: E402
from returnsim.model.budget import RunTooLarge  # noqa: E402

# --------------------------------------------------------------------------------------------
# the valid starting point
# --------------------------------------------------------------------------------------------


def _base() -> dict[str, Any]:
    raw = tomllib.loads(SEED_SCENARIO.read_text(encoding="utf-8"))
    raw["horizon_days"] = 14
    raw["demand"]["orders_per_day"] = 30
    raw["returns"].update(
        delivery_days={"dist": "uniform", "low": 2, "high": 5},
        request_delay_days={"dist": "gamma", "mean": 8, "cv": 0.8},
        ship_days={"dist": "triangular", "low": 1, "mode": 2, "high": 6},
        refund_processing_days={"dist": "exponential", "mean": 1},
        late_request_days={"dist": "fixed", "value": 5},
    )
    raw["catalog"]["apparel"]["price"] = {"dist": "empirical", "values": [20, 35, 50], "weights": [1, 2, 1]}
    raw["buyer"] = {
        "reply_hours": {"dist": "lognormal", "mean": 12, "cv": 1.0},
        "purchases_per_year": {"dist": "lognormal", "mean": 2, "cv": 1.0},
        "fee_acceptance": {"intercept": 1.0, "per_fee_share": -6.0},
        "offers": {
            "troubleshoot": {"intercept": -1.2, "by_reason": {"defective": 0.3}},
            "partial_refund": {"intercept": -2.5, "per_value_share": 6.0},
            "exchange": {"intercept": -1.0, "per_day_delay": -0.5},
            "replacement": {"intercept": -0.5, "per_quality": 1.0},
        },
    }
    raw["retention"] = {
        "follow_up_days": 730,
        "satisfaction": {"per_response_day": -0.3, "resolution": {"rejected": -3.0, "returnless_refund": 0.8}},
        "negative_feedback": {"intercept": -3.5, "per_satisfaction": -0.6},
        "repeat_multiplier": {"maximum": 5.0, "intercept": 0.93, "per_satisfaction": 1.92},
    }
    raw["costs"] = {
        "inspection": 6.0,
        "disposal_fee": {"tiers": [{"max_lb": 1.0, "fee": 1.5}], "over_base": 2.9, "over_per_lb": 1.0},
    }
    return raw


BASE = _base()
rs.parse_scenario(BASE)  # the starting point is valid (else every case would be an error)


def _places(node: Any, path: tuple = ()) -> tuple[list[tuple], list[tuple]]:
    """Paths of every leaf, and of every table and list below the top."""
    leaves: list[tuple] = []
    containers: list[tuple] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        here = (*path, k)
        if isinstance(v, dict | list) and v:
            containers.append(here)
            more_leaves, more_containers = _places(v, here)
            leaves += more_leaves
            containers += more_containers
        else:
            leaves.append(here)
    return leaves, containers


LEAVES, CONTAINERS = _places(BASE)


def _get(raw: Any, path: tuple) -> Any:
    for k in path:
        raw = raw[k]
    return raw


def _set(raw: Any, path: tuple, value: Any) -> None:
    _get(raw, path[:-1])[path[-1]] = value


def _deep(levels: int) -> Any:
    out: Any = 1.0
    for _ in range(levels):
        out = [out]
    return out


HOSTILE: list[Any] = [
    math.nan, math.inf, -math.inf, 1e308, -1e308, 1e300, 1e10, 1e9, -1.0, 0, 0.0, 5e-324,
    2**63, 10**30, True, False, None, "", "x", "365", "1e308", "nan", "\x1b[31mred", "a\u202eb",
    "=HYPERLINK(1)", "$a$b$", "24/7", "fixed", [], {}, [1.0] * 10_000, {"x": 1}, [math.nan],
    {"dist": "lognormal"}, {"dist": "lognormal", "mean": 1e9, "cv": 1e9}, _deep(60),
]
"""Values that have broken, or could break, a model that trusted its input."""

hostile_values = st.one_of(
    st.sampled_from(HOSTILE),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=12),
)

# --------------------------------------------------------------------------------------------
# the mutations
# --------------------------------------------------------------------------------------------


@st.composite
def cases(draw) -> dict[str, Any]:
    """A mutated scenario: ``raw`` (or ``data``, the bytes of a file) and where it changed."""
    raw = copy.deepcopy(BASE)
    kind = draw(st.sampled_from(["leaf", "leaf", "leaf", "container", "key", "encoding"]))
    if kind == "leaf":
        path = draw(st.sampled_from(LEAVES))
        _set(raw, path, draw(hostile_values))
    elif kind == "container":
        path = draw(st.sampled_from(CONTAINERS))
        _set(raw, path, draw(st.sampled_from([{}, [], "x", 3.0, True, [{}] * 5000, {"a": {"b": 1}}])))
    elif kind == "key":
        tables = [p for p in [(), *CONTAINERS] if isinstance(_get(raw, p), dict)]
        table = draw(st.sampled_from(tables))
        key = draw(st.sampled_from(["x", "\x1b[2J", "", "a.b", "=cmd", "staf", "dist"]))
        path = (*table, key)
        _get(raw, table)[key] = draw(hostile_values)
    else:
        path = ()
        text = _toml(raw).replace('"Mid-size US seller"', '"Caf\u00e9"')
        encoding = draw(st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-32", "garbage"]))
        data = text.encode(encoding) if encoding != "garbage" else bytes(range(256)) * 40
        return {"kind": kind, "path": path, "data": data}
    via_file = draw(st.integers(0, 3)) == 0 and _tomlable(raw)
    case: dict[str, Any] = {"kind": kind, "path": path, "raw": raw}
    if via_file:
        case["data"] = _toml(raw).encode("utf-8")
    return case


def _tomlable(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(_tomlable(v) for v in value.values())
    if isinstance(value, list):
        return all(_tomlable(v) for v in value)
    return True


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):  # a TOML basic string: quotes, backslashes and controls escaped
        body = "".join(
            "\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F else c
            for c in v
        )
        return f'"{body}"'

    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_value(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))  # dates


def _toml(raw: dict[str, Any]) -> str:
    """TOML text of a scenario dict: one ``key = value`` line per top-level field."""
    return "".join(f"{_toml_value(str(k))} = {_toml_value(v)}\n" for k, v in raw.items())


# --------------------------------------------------------------------------------------------
# the outcome of one case
# --------------------------------------------------------------------------------------------

JARGON = ("function-after", "tagged-union", "literal[", "[key]", "Value error", "Extra inputs", "pydantic", "Traceback")
FIELDS = set(rs.Scenario.model_fields) | {"(file)", "(top level)"}
MONEY = ("net_return_cost", "net_return_cost_per_order", "retained_margin", "policy_profit_per_order")


class Watchdog(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - only when a run hangs
    raise Watchdog("the run did not finish within 120 s")


def _related(problem_path: str, mutated: str) -> bool:
    """Is a problem at the mutated place, a table around it or a key inside it?"""
    a, b = problem_path, mutated
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "[")) or b == "(top level)"


def _names_the_place(value: Any, mutated: str) -> bool:
    """Is ``value`` a dotted path into the mutated place (an ``[uncertainty]`` entry that refers
    to a field the mutation changed, e.g. to a parameter a fixed distribution does not have)?"""
    return isinstance(value, str) and _related(value, mutated)


def _says_which_field(problem_path: str, text: str, path: tuple) -> bool:
    """Is a problem a check across the mutated field's own table that names the field in its
    message (a stated size tier against weight_lb and dimensions_in is reported at the tier,
    the field a seller would change, and names the sides it contradicts)?"""
    keys = [k for k in path if isinstance(k, str)]
    if len(keys) < 2:
        return False
    table, field = ".".join(keys[:-1]), keys[-1]
    return problem_path.startswith(table + ".") and re.search(rf"\b{re.escape(field)}\b", text) is not None


def _refers_to(value: Any, path: tuple) -> bool:
    """Is ``value`` a name defined at ``path`` in the starting scenario (a cross-reference
    to what the mutation removed, e.g. an address a policy sends returns to)?"""
    try:
        node = _get(BASE, path)
    except (KeyError, IndexError, TypeError):
        return False
    names: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            names.update(str(k) for k in n)
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
        elif isinstance(n, str):
            names.add(n)
    return isinstance(value, str) and value in names


def outcome(case: dict[str, Any], tmp: Path) -> str:
    """``error``, ``refused`` or ``ran``; raises AssertionError for anything else."""
    from returnsim.scenario.problems import _fmt

    mutated = _fmt(list(case["path"]))
    # A check across the keys of one table (``high`` must exceed ``low``) may name a sibling,
    # and a list read as a table (``mon = [9, 17]``) is named by the table's keys: the table or
    # list holding the mutated value counts as the place too.
    around = _fmt(list(case["path"][:-1])) if len(case["path"]) > 1 else mutated
    try:
        if "data" in case:
            path = tmp / "case.toml"
            path.write_bytes(case["data"])
            sc = rs.load_scenario(path)
        else:
            sc = rs.parse_scenario(case["raw"])
    except rs.ScenarioError as err:
        assert err.problems, "an error without problems"
        for p in err.problems:
            text = str(p)
            assert text.isprintable(), repr(text)
            assert not any(j in text for j in JARGON), text
            named = p.path.split(".")[0].split("[")[0].strip('"') in FIELDS
            assert named or _related(p.path, mutated), text
        if case["kind"] == "encoding":
            assert [p.path for p in err.problems] == ["(file)"], str(err)
        elif not any(
            _related(p.path, mutated) or _related(p.path, around) or _refers_to(p.value, case["path"])
            or _names_the_place(p.value, mutated) or _says_which_field(p.path, str(p), case["path"])
            for p in err.problems
        ):
            extends = mutated.endswith(".extends") and all(p.path.endswith(".extends") for p in err.problems)
            assert extends, f"mutated {mutated}, problems elsewhere:\n{err}"  # a loop names its end
        return "error"
    assert case["kind"] != "encoding", "a file in another encoding validated"
    name = case["path"][1] if case["path"][:1] == ("policies",) and len(case["path"]) > 1 else "seed"
    policy = name if name in sc.policies else next(iter(sc.policies))
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(120)
    try:
        with mock.patch.object(budget, "available_memory", lambda: 3e8):
            run = rs.simulate(sc, policy, seed=7)
    except RunTooLarge as err:
        assert "horizon_days = " in str(err) and "allow_large" in str(err), str(err)
        return "refused"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    for c, v in run.ledger.items():
        assert math.isfinite(v), (mutated, c, v)
    for k, v in run.kpis.items():
        assert math.isfinite(v) or math.isnan(v), (mutated, k, v)
    if run.kpis["demand_orders"] > 0:
        for k in MONEY:
            assert math.isfinite(run.kpis[k]), (mutated, k, run.kpis[k])
    return "ran"


COUNTS: Counter[str] = Counter()

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@SETTINGS
@given(case=cases())
def test_hostile_scenarios_give_a_clear_error_or_a_finite_run(case, tmp_path_factory):
    COUNTS[outcome(case, tmp_path_factory.mktemp("fuzz"))] += 1


if __name__ == "__main__":  # python tests/test_fuzz.py N: count outcomes of N cases
    import tempfile

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    kinds: Counter[tuple[str, str]] = Counter()

    @settings(SETTINGS, max_examples=n)
    @given(case=cases())
    def count(case):
        with tempfile.TemporaryDirectory() as tmp:
            result = outcome(case, Path(tmp))
        COUNTS[result] += 1
        kinds[(case["kind"], result)] += 1

    count()
    print(f"{sum(COUNTS.values())} cases: " + ", ".join(f"{k} {v}" for k, v in COUNTS.most_common()))
    for (kind, result), v in sorted(kinds.items()):
        print(f"  {kind:9s} {result:8s} {v}")
