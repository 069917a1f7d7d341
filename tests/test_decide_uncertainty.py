"""The [uncertainty] table: paths and ranges checked like the rest of the file; variants."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SEED_SCENARIO, cli, minimal_raw

import returnsim as rs
from returnsim.decide import DecideError, study_inputs
from returnsim.decide.inputs import Variants, lever
from returnsim.experiment.store import scenario_hash
from returnsim.scenario.uncertainty import UncertainInput, resolve_path


def _problems(table: dict) -> list[str]:
    with pytest.raises(rs.ScenarioError) as err:
        rs.parse_scenario(minimal_raw(uncertainty=table))
    return [str(p) for p in err.value.problems]


def test_a_valid_table_loads_and_changes_no_run(minimal):
    table = {"desk.handling_minutes.value": {"low": 5, "high": 15, "source": "assumed"}}
    sc = rs.parse_scenario(minimal_raw(uncertainty=table))
    assert sc.uncertainty["desk.handling_minutes.value"].support == (5.0, 15.0)
    plain = rs.parse_scenario(minimal)
    a, b = rs.simulate(sc, "base", seed=1).kpis, rs.simulate(plain, "base", seed=1).kpis
    assert a == pytest.approx(b, nan_ok=True, rel=0, abs=0)  # NaN: not defined in both


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"desk.staf": {"low": 1, "high": 3, "source": "x"}},
         "uncertainty.\"desk.staf\": got \"desk.staf\"; unknown input: desk has no field 'staf'; did you mean 'staff'?"),
        ({"catalog.widgte.return_rate": {"low": 0.1, "high": 0.2, "source": "x"}},
         "catalog has no entry 'widgte'; did you mean 'widget'?"),
        ({"catalog.widget.return_rate": {"low": 0.1, "high": 1.5, "source": "x"}},
         "uncertainty.\"catalog.widget.return_rate\".high: got 1.5; catalog.widget.return_rate must be a number >= 0 and <= 1"),
        ({"desk.staff": {"low": 1, "high": 2.5, "source": "x"}},
         "uncertainty.\"desk.staff\".high: got 2.5; desk.staff is an integer: give whole-number bounds"),
        ({"desk.staff": {"low": 0, "high": 2, "source": "x"}},
         "uncertainty.\"desk.staff\".low: got 0.0; desk.staff must be an integer >= 1"),
        ({"desk.service_quality": {"dist": "normal", "mean": 0.5, "sd": 0.1, "source": "x"}},
         "a normal input is unbounded but desk.service_quality must be a number >= 0 and <= 1"),
        ({"desk.hours": {"low": 1, "high": 2, "source": "x"}}, "desk.hours is text; expected a path to a number"),
        ({"retention.feedback_into_demand": {"low": 0, "high": 1, "source": "x"}}, "a true/false switch"),
        ({"policies.base.offers.0.value_share": {"low": 0, "high": 1, "source": "x"}},
         "policies.base.offers is a list of 0"),
    ],
)
def test_unknown_paths_and_impossible_ranges_are_problems_with_paths(table, expected):
    problems = _problems(table)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"low": 2, "high": 1, "source": "x"}, "high (1) must be greater than low (2)"),
        ({"low": 1, "high": 2}, "source: required field is missing"),
        ({"dist": "lognormal", "mean": 10, "sd": 2, "source": "x"}, "a lognormal input takes cv, mean; sd is not among them"),
        ({"dist": "triangular", "low": 1, "mode": 5, "high": 3, "source": "x"}, "mode (5) must lie between low and high"),
        ({"dist": "beta", "low": 1, "high": 2, "source": "x"}, "dist"),
    ],
)
def test_malformed_entries_are_problems(spec, expected):
    problems = _problems({"desk.handling_minutes.value": spec})
    assert any(expected in p for p in problems), problems


def test_cli_validate_lists_the_problem_without_a_traceback(tmp_path):
    text = SEED_SCENARIO.read_text(encoding="utf-8") + '\n"desk.staf" = { low = 1, high = 3, source = "x" }\n'
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    proc = cli("validate", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert 'uncertainty."desk.staf"' in proc.stderr and "did you mean 'staff'" in proc.stderr


def test_every_declared_input_of_the_seed_scenario_gives_a_valid_scenario_at_both_ends():
    sc = rs.load_scenario(SEED_SCENARIO)
    inputs = study_inputs(sc)
    assert len(inputs) >= 20 and all(i.spec.source for i in inputs)
    Variants(sc).check(inputs)  # raises on any invalid end
    for inp in inputs:
        lo, hi = inp.swing
        assert lo <= inp.base <= hi, f"{inp.path}: the scenario's own value {inp.base} is outside {lo}..{hi}"


def test_distributions_are_sampled_as_declared():
    u = (np.arange(20000) + 0.5) / 20000
    tri = UncertainInput(dist="triangular", low=0, mode=1, high=4, source="x")
    assert tri.ppf(u).mean() == pytest.approx(5 / 3, rel=1e-3)
    norm = UncertainInput(dist="normal", mean=2, sd=1, low=1.5, source="x")
    assert norm.ppf(u).min() >= 1.5
    logn = UncertainInput(dist="lognormal", mean=3, cv=0.5, source="x")
    assert logn.ppf(u).mean() == pytest.approx(3, rel=1e-2)
    assert logn.swing == tuple(pytest.approx(v) for v in logn.ppf(np.array([0.05, 0.95])))


def test_resolve_path_knows_bounds_and_integers():
    sc = rs.load_scenario(SEED_SCENARIO)
    staff = resolve_path(sc, "desk.staff")
    assert staff.integer and staff.value == 2 and staff.allows(1) and not staff.allows(0)
    share = resolve_path(sc, "policies.seed.offers.3.value_share")
    assert share.value == 0.15 and share.allows(1) and not share.allows(1.01)
    price = resolve_path(sc, "policies.giveaway_small.disposition.0.when.price_max")
    assert price.value == 25 and price.low_open and not price.allows(0)


def test_variants_follow_what_a_policy_inherits():
    sc = rs.load_scenario(SEED_SCENARIO)
    v = Variants(sc)
    # Without changes, the variant is the scenario without its [uncertainty] table.
    assert v.base.policies == sc.policies and v.base.uncertainty == {}
    assert scenario_hash(v.make({})) == scenario_hash(sc.model_copy(update={"uncertainty": {}}))
    # A change to seed reaches the policies built on it that keep seed's offers ...
    changed = v.make({"policies.seed.offers.3.value_share": 0.3})
    assert changed.policies["seed"].offers[3].value_share == 0.3
    assert changed.policies["free_returns"].offers[3].value_share == 0.3
    # ... but not a policy's own table: giveaway_small sets its own disposition.
    moved = v.make({"policies.seed.disposition.0.when.price_max": 9.0})
    assert moved.policies["free_returns"].disposition[0].when.price_max == 9.0
    assert moved.policies["giveaway_small"].disposition[0].when.price_max == 25.0


def test_variants_round_integer_fields_and_name_invalid_values():
    sc = rs.load_scenario(SEED_SCENARIO)
    v = Variants(sc)
    assert v.make({"desk.staff": np.float64(3.0)}).desk.staff == 3
    with pytest.raises(DecideError, match="markets.domestic.share = 0.5 makes the scenario invalid: markets"):
        v.make({"markets.domestic.share": 0.5})


def test_lever_errors():
    sc = rs.load_scenario(SEED_SCENARIO)
    with pytest.raises(DecideError, match="did you mean 'price_max'"):
        lever(sc, "policies.giveaway_small.disposition.0.when.price_mx", 5, 40)
    with pytest.raises(DecideError, match="outside what the field allows"):
        lever(sc, "desk.staff", 0, 3)
    with pytest.raises(DecideError, match="needs high > low"):
        lever(sc, "desk.staff", 3, 1)
