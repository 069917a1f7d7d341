"""Malformed scenarios are reported clearly: every problem, its exact field path, the value found
and what was expected; through the API (``ScenarioError.problems``) and through the CLI (exit
status 2, no traceback). Also ``--set`` overrides and ``returnsim schema``.

Each file in ``tests/data/bad_scenarios`` is the minimal scenario of ``conftest.py`` with one
deliberate mistake (its first comment line says which), except ``several_*`` which have several.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, SCENARIOS, cli, minimal_raw

import returnsim as rs
from returnsim import Problem, ScenarioError, load_scenario

BAD = Path(__file__).resolve().parent / "data" / "bad_scenarios"

DIST_TAGS = "fixed, exponential, gamma, lognormal, uniform, triangular, empirical"

# file stem -> (exact path of the problem, fragments its str() must contain: the bad value as the
# message shows it, and what was expected)
CASES: dict[str, tuple[str, list[str]]] = {
    "mistyped_key": ("desk.staf", ["got 2", "unknown field", "did you mean 'staff'?"]),
    "wrong_type": ("demand.orders_per_day", ['got "lots"', "valid number"]),
    "share_out_of_range": ("catalog.widget.return_rate", ["got 1.5", "less than or equal to 1"]),
    "negative_horizon": ("horizon_days", ["got -30", "greater than 0"]),
    "unknown_distribution": (
        "catalog.widget.price.dist",
        ['got "lognorm"', "unknown distribution family", "did you mean 'lognormal'?", DIST_TAGS],
    ),
    "distribution_missing_parameter": ("desk.handling_minutes.cv", ["required field is missing"]),
    "distribution_bad_parameter": ("markets.domestic.transit_days.cv", ["got 0", "greater than 0"]),
    "distribution_without_tag": (
        "catalog.widget.price.dist",
        ["required field is missing", DIST_TAGS, "bare number"],
    ),
    "uniform_high_below_low": (
        "returns.delivery_days.high",
        ["got 2", "high (2.0) must be greater than low (5.0)"],
    ),
    "empirical_weights_mismatch": (
        "catalog.widget.price.weights",
        ["got [1, 2]", "weights has 2 entries but values has 3"],
    ),
    "reason_mix_not_one": (
        "catalog.widget.reasons",
        ['got {"defective": 0.5, "no_longer_needed": 0.4}', "must sum to 1, got 0.9"],
    ),
    "condition_mix_not_one": (
        "reasons.defective.condition",
        ['got {"opened": 0.5}', "must sum to 1, got 0.5"],
    ),
    "market_shares_not_one": ("markets", ["share", "must sum to 1, got 0.9"]),
    "catalog_unknown_reason": (
        "catalog.widget.reasons.wrong_size",
        ['got "wrong_size"', "unknown reason", "defective, damaged_in_transit, no_longer_needed"],
    ),
    "rule_unknown_reason": (
        "policies.base.offers[0].when.reason[0]",
        ['got "defectiv"', "unknown reason", "did you mean 'defective'?"],
    ),
    "rule_unknown_condition_key": (
        "policies.base.offers[0].when.reasn",
        ["unknown field", "did you mean 'reason'?"],
    ),
    "unknown_payer": (
        "policies.base.freight[0].payer",
        ['got "buyr"', "did you mean 'buyer'?", "seller, buyer, carrier_claim, negotiate"],
    ),
    "extends_unknown": ("policies.b.extends", ['got "nope"', "no policy named 'nope'", "base"]),
    "extends_cycle": ("policies.b.extends", ['got "a"', "loops", "a -> b -> a"]),
    "unknown_address": (
        "policies.base.disposition[0].address",
        ['got "eu_hbu"', "unknown address", "did you mean 'eu_hub'?"],
    ),
    "address_missing": ("policies.base.disposition[0]", ["return_to_address needs an address"]),
    "address_on_other_action": (
        "policies.base.disposition[0]",
        ["address = 'eu_hub' is only for action = 'return_to_address'", "action is 'abandon'"],
    ),
    "address_without_lane": (
        "policies.base.disposition[0].address",
        ['got "eu_hub"', "no return_label for domestic", "restrict when.market"],
    ),
    "negative_duration": ("desk.handling_minutes", ["must not take negative values", "-5"]),
    "staff_boolean": ("desk.staff", ["got true", "valid integer"]),
    "start_not_monday": ("start_date", ['got "2024-01-03"', "must be a Monday", "Wednesday"]),
    "hours_close_before_open": (
        "desk.hours.mon",
        ["got [17, 9]", "close (9.0) must be after open (17.0)"],
    ),
    "hours_bad_string": (
        "desk.hours",
        ['got "24x7"', 'expected "24/7" or a table of opening hours'],
    ),
    "hours_unknown_day": (
        "desk.hours.tuesday",
        [
            "got [9, 17]",
            "unknown field",
            "did you mean 'tue'?",
            "mon, tue, wed, thu, fri, sat, sun",
        ],
    ),
    "missing_demand": ("demand", ["required field is missing"]),
    "unknown_offer_response": (
        "buyer.offers.troubleshot",
        ['got "troubleshot"', "unknown key", "did you mean 'troubleshoot'?"],
    ),
    # where the mistake is, never the file's text (issue 22: a file that is not a scenario may be
    # anything, /proc/self/environ)
    "invalid_toml": ("(file)", ["not valid TOML", "line 47, column"]),
}

# Files with several mistakes: every one must be reported.
MULTI: dict[str, dict[str, str]] = {
    "several_problems": {
        "desk.staf": "did you mean 'staff'?",
        "demand.orders_per_day": '"lots"',
        "catalog.widget.return_rate": "1.5",
        "catalog.widget.price.dist": "lognorm",
        "desk.hours.mon": "close (9.0) must be after open (17.0)",
    },
    "several_cross_references": {
        "start_date": "Wednesday",
        "policies.base.offers[0].when.reason[0]": "defectiv",
        "policies.base.disposition[0].address": "eu_hub",
    },
}

# pydantic internals that must never reach a user.
JARGON = (
    "function-after",
    "function-before",
    "tagged-union",
    "literal[",
    "[key]",
    "Value error",
    "Extra inputs",
    "discriminator",
    "instance of",
    "object to extract fields",
    "WeekHours",
    "DayHours",
    "pydantic",
)

# The minimal scenario of conftest.py as a TOML file (kept in sync by a test below).
MINIMAL_TOML = """\
name = "minimal"
horizon_days = 30

[demand]
orders_per_day = 20

[markets.domestic]
share = 1.0
return_label = { base = 8.0, per_lb = 1.0 }
outbound_label = { base = 5.0, per_lb = 0.5 }
transit_days = 4

[markets.international]
share = 0.0
return_label = { base = 30.0, per_lb = 5.0 }
outbound_label = { base = 20.0, per_lb = 4.0 }
transit_days = 10

[catalog.widget]
share = 1.0
price = 40
unit_cost_share = 0.5
weight_lb = 2.0
return_rate = 0.5
reasons = { defective = 0.5, no_longer_needed = 0.5 }

[reasons.defective]
fault = "seller"
condition = { opened = 1.0 }

[reasons.damaged_in_transit]
fault = "carrier"
condition = { damaged = 1.0 }

[reasons.no_longer_needed]
fault = "buyer"
condition = { unopened = 1.0 }

[returns]
misreport_rate = 0.0
misreport_as = "defective"

[desk]
staff = 2
hours = "24/7"
handling_minutes = 10

[retention]
feedback_into_demand = false

[policies.base]
"""

# A base policy and a child that extends it (for override propagation).
EXTENDS_TOML = (
    MINIMAL_TOML
    + """
[policies.child]
extends = "base"
discipline = "deadline"

[policies.grandchild]
extends = "child"
"""
)


def _problems(path: Path, **kw) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kw)
    assert info.value.problems, "a ScenarioError must list at least one problem"
    return info.value.problems


def _by_path(problems: list[Problem], path: str) -> Problem:
    hits = [p for p in problems if p.path == path]
    assert hits, f"no problem at {path!r}; got: {[str(p) for p in problems]}"
    return hits[0]


def _assert_plain(problems: list[Problem]) -> None:
    for p in problems:
        for word in JARGON:
            assert word not in str(p), f"pydantic jargon {word!r} in {p}"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``returnsim ARGS`` in this process: a subprocess per bad file cost an interpreter start
    each (half a minute in all) and checked nothing more; ``python -m returnsim`` itself is run
    once, on the good file."""
    return cli(*args)


def _cli_process(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "returnsim", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.fixture
def minimal_file(tmp_path: Path) -> Path:
    path = tmp_path / "minimal.toml"
    path.write_text(MINIMAL_TOML, encoding="utf-8")
    return path


@pytest.fixture
def extends_file(tmp_path: Path) -> Path:
    path = tmp_path / "extends.toml"
    path.write_text(EXTENDS_TOML, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# the files themselves
# --------------------------------------------------------------------------------------------


def test_every_bad_file_has_an_expectation():
    stems = {p.stem for p in BAD.glob("*.toml")}
    assert stems == set(CASES) | set(MULTI)
    assert len(CASES) >= 12


@pytest.mark.parametrize("name", sorted(set(CASES) - {"invalid_toml"}))
def test_bad_file_is_one_edit_from_a_valid_scenario(name):
    """Each single-mistake file parses as TOML and differs from the minimal scenario in one
    place, so the problem reported is the one planted (not an accident of the fixture)."""
    raw = tomllib.loads((BAD / f"{name}.toml").read_text(encoding="utf-8"))
    base = minimal_raw()
    diff = _diff(base, raw)
    assert 1 <= len(diff) <= 3, diff  # a changed key may show as removed + added


def _diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in a.keys() | b.keys():
            if k not in a or k not in b:
                out.append(f"{path}.{k}")
            else:
                out += _diff(a[k], b[k], f"{path}.{k}")
        return out
    return [] if a == b else [path]


def test_minimal_toml_matches_conftest():
    assert tomllib.loads(MINIMAL_TOML) == minimal_raw()


# --------------------------------------------------------------------------------------------
# load_scenario
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_load_reports_exact_path_value_and_expectation(name):
    path, fragments = CASES[name]
    problems = _problems(BAD / f"{name}.toml")
    # One mistake, one problem: no echo from union members that were never meant to match.
    assert len(problems) == 1, [str(p) for p in problems]
    problem = _by_path(problems, path)
    text = str(problem)
    assert text.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    _assert_plain(problems)


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_message_names_the_file_and_the_problem(name):
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD / f"{name}.toml")
    message = str(info.value)
    assert str(BAD / f"{name}.toml") in message
    assert "1 problem in scenario" in message
    assert f"  - {CASES[name][0]}: " in message


@pytest.mark.parametrize("name", sorted(MULTI))
def test_several_problems_are_all_reported(name):
    problems = _problems(BAD / f"{name}.toml")
    assert len(problems) == len(MULTI[name]), [str(p) for p in problems]
    for path, fragment in MULTI[name].items():
        assert fragment in str(_by_path(problems, path))
    _assert_plain(problems)
    with pytest.raises(ScenarioError, match=f"{len(MULTI[name])} problems in scenario"):
        load_scenario(BAD / f"{name}.toml")


def test_dict_input_gets_the_same_problems():
    """``parse_scenario`` (dicts, e.g. from notebooks) reports like ``load_scenario``."""
    raw = minimal_raw(desk={"staf": 2})
    with pytest.raises(ScenarioError) as info:
        rs.parse_scenario(raw)
    assert [p.path for p in info.value.problems] == ["desk.staf"]


def test_problem_values_are_the_values_found():
    problems = _problems(BAD / "several_problems.toml")
    values = {p.path: p.value for p in problems}
    assert values["demand.orders_per_day"] == "lots"
    assert values["catalog.widget.return_rate"] == 1.5
    assert values["catalog.widget.price.dist"] == "lognorm"
    assert values["desk.staf"] == 2


def test_missing_file_is_a_scenario_error_naming_it(tmp_path):
    with pytest.raises(ScenarioError, match="(?s)nope.toml.*no such file"):
        load_scenario(tmp_path / "nope.toml")


# --------------------------------------------------------------------------------------------
# overrides
# --------------------------------------------------------------------------------------------


def test_override_applies(minimal_file):
    sc = load_scenario(minimal_file, overrides={"desk.staff": 3})
    assert sc.desk.staff == 3
    assert load_scenario(minimal_file).desk.staff == 2  # the file is untouched


def test_override_of_nested_and_absent_tables(minimal_file):
    sc = load_scenario(
        minimal_file,
        overrides={
            "costs.inspection": 9.5,  # [costs] is not in the file: created
            "catalog.widget.price": {"dist": "lognormal", "mean": 30, "cv": 0.4},
            "policies.base.freight": [{"payer": "buyer"}],
        },
    )
    assert sc.costs.inspection == 9.5
    assert sc.catalog["widget"].price.mean == 30
    assert sc.policies["base"].freight[0].payer == "buyer"


def test_override_is_validated_like_the_file(minimal_file):
    problems = _problems(minimal_file, overrides={"desk.staff": 0})
    assert [p.path for p in problems] == ["desk.staff"]
    assert "greater than or equal to 1" in str(problems[0])


def test_override_propagates_through_extends(extends_file):
    sc = load_scenario(extends_file, overrides={"policies.base.investigate": True})
    assert sc.policies["base"].investigate
    assert sc.policies["child"].investigate
    assert sc.policies["grandchild"].investigate
    assert sc.policies["child"].discipline == "deadline"  # the child's own field survives
    # ... and a child's override does not leak upwards.
    sc = load_scenario(extends_file, overrides={"policies.child.auto_authorise": True})
    assert not sc.policies["base"].auto_authorise
    assert sc.policies["child"].auto_authorise
    assert sc.policies["grandchild"].auto_authorise


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ({"desk.staf": 3}, ["desk has no field 'staf'", "did you mean 'staff'?"]),
        ({"policies.nope.investigate": True}, ["policies has no entry 'nope'", "base"]),
        (
            {"catalog.widget.price.mean": 5},
            ["catalog.widget.price is 40, not a table", "set catalog.widget.price itself"],
        ),
        ({"desk.hours.mon": [9, 17]}, ['desk.hours is "24/7", not a table']),
        ({"policies.base.offers.0.kind": "exchange"}, ["policies.base.offers has 0 entries"]),
        ({"bogus": 1}, ["the scenario has no field 'bogus'"]),
    ],
)
def test_override_with_unknown_path_names_the_path(minimal_file, override, fragments):
    (dotted,) = override
    problems = _problems(minimal_file, overrides=override)
    problem = _by_path(problems, f"--set {dotted}")
    for fragment in fragments:
        assert fragment in str(problem), str(problem)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_validate() -> dict[str, subprocess.CompletedProcess[str]]:
    """``returnsim validate`` on every bad file."""
    return {n: _cli("validate", str(BAD / f"{n}.toml")) for n in sorted(set(CASES) | set(MULTI))}


@pytest.mark.parametrize("name", sorted(set(CASES) | set(MULTI)))
def test_cli_validate_bad_file(cli_validate, name):
    run = cli_validate[name]
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stdout == ""
    paths = [CASES[name][0]] if name in CASES else list(MULTI[name])
    for path in paths:
        assert f"  - {path}: " in run.stderr, run.stderr
    assert f"{name}.toml" in run.stderr


def test_cli_validate_good_file(minimal_file):
    run = _cli_process("validate", str(minimal_file))
    assert run.returncode == 0, run.stderr
    assert "valid" in run.stdout


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("desk.staf=3", "--set desk.staf: got 3; desk has no field 'staf'; did you mean 'staff'?"),
        (
            "policies.nope.investigate=true",
            "--set policies.nope.investigate: got true; policies has no entry 'nope'",
        ),
        (
            "catalog.widget.price.mean=5",
            "--set catalog.widget.price.mean: got 5; catalog.widget.price is 40, not a table",
        ),
        ("desk.staff=0", "desk.staff: got 0"),
        ("desk.staff", "--set expects PATH=VALUE"),
    ],
)
def test_cli_set_errors(minimal_file, setting, fragment):
    run = _cli("validate", str(minimal_file), "--set", setting)
    assert run.returncode == 2
    assert "Traceback" not in run.stdout + run.stderr
    assert fragment in run.stderr, run.stderr


def test_cli_set_applies(extends_file):
    run = _cli(
        "validate",
        str(extends_file),
        "--set",
        "desk.staff=3",
        "--set",
        "policies.base.investigate=true",
    )
    assert run.returncode == 0, run.stderr


def test_cli_missing_file(tmp_path):
    run = _cli("validate", str(tmp_path / "nope.toml"))
    assert run.returncode == 2
    assert "no such scenario file" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_cli_schema_is_json_with_scenario_properties():
    run = _cli("schema")
    assert run.returncode == 0, run.stderr
    schema = json.loads(run.stdout)
    assert schema == json.loads(json.dumps(rs.scenario_schema()))
    assert schema["title"] == "Scenario"
    props = schema["properties"]
    for field in rs.Scenario.model_fields:
        assert field in props
    assert {"horizon_days", "demand", "markets", "catalog", "reasons", "policies"} <= set(
        schema["required"]
    )
    assert schema["additionalProperties"] is False
    # Descriptions carry the documentation of each field.
    assert "Monday" in props["start_date"]["description"]
    assert "Desk" in schema["$defs"] and "staff" in schema["$defs"]["Desk"]["properties"]


def test_override_one_key_of_a_table_left_at_its_default():
    """The seed scenario does not write [buyer] or [retention]: a dotted override changes one
    key and keeps the defaults around it (it used to leave an incomplete table)."""
    sc = rs.load_scenario(
        SCENARIOS / "seed_policies.toml",
        overrides={
            "buyer.purchases_per_year.mean": 3,
            "retention.repeat_multiplier.per_satisfaction": 0.75,
            "buyer.offers.exchange.intercept": 0.3,
        },
    )
    default = rs.load_scenario(SCENARIOS / "seed_policies.toml")
    assert sc.buyer.purchases_per_year.mean == 3
    assert sc.buyer.purchases_per_year.cv == default.buyer.purchases_per_year.cv
    assert sc.retention.repeat_multiplier.per_satisfaction == 0.75
    assert sc.retention.repeat_multiplier.intercept == default.retention.repeat_multiplier.intercept
    assert sc.buyer.offers["exchange"].intercept == 0.3
    assert sc.buyer.offers["troubleshoot"] == default.buyer.offers["troubleshoot"]
