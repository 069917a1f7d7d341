"""Issue 22, item 7: values that validate but are unlikely to be meant are warned about (not
refused), and a share written as a percentage is refused with the hint to write 0.08."""

from __future__ import annotations

import pytest
from conftest import SEED_SCENARIO, cli, minimal_raw, put

import returnsim as rs
from returnsim.scenario import parse_scenario
from returnsim.scenario.plausibility import plausibility_warnings


@pytest.mark.parametrize(
    "dotted, path, hint",
    [
        ({"catalog.widget.weight_lb": 450}, "catalog.widget.weight_lb", "450 g is weight_lb = 0.992"),
        ({"desk.late_after_hours": 2}, "desk.late_after_hours", "2 days is late_after_hours = 48"),
        ({"catalog.widget.return_rate": 0.8}, "catalog.widget.return_rate", "more than 60%"),
    ],
    ids=["grams_as_pounds", "days_as_hours", "return_rate_over_60"],
)
def test_unlikely_values_are_warned_about(dotted: dict, path: str, hint: str):
    sc = parse_scenario(put(minimal_raw(), **dotted))  # valid: not refused
    found = {p.path: str(p) for p in plausibility_warnings(sc)}
    assert path in found and hint in found[path], found


def test_usual_values_give_no_warning():
    assert plausibility_warnings(rs.load_scenario(SEED_SCENARIO)) == []
    assert plausibility_warnings(parse_scenario(minimal_raw())) == []


@pytest.mark.parametrize("value, hint", [(8, "write 8 % as 0.08"), (12.5, "write 12.5 % as 0.125")])
def test_share_written_as_percent_gets_the_hint(value: float, hint: str):
    with pytest.raises(rs.ScenarioError) as info:
        parse_scenario(put(minimal_raw(), **{"catalog.widget.return_rate": value}))
    assert hint in str(info.value)


def test_share_far_above_one_gets_no_percent_hint():
    with pytest.raises(rs.ScenarioError) as info:
        parse_scenario(put(minimal_raw(), **{"catalog.widget.return_rate": 500}))
    assert "%" not in str(info.value)


@pytest.mark.parametrize("command", [["validate"], ["run", "--replications", "2", "--policy", "seed"]])
def test_cli_shows_warnings_without_stopping(command: list[str]):
    proc = cli(command[0], str(SEED_SCENARIO), *command[1:], "--set", "catalog.accessories.weight_lb=450",
               "--set", "desk.late_after_hours=2", "--set", "horizon_days=30")
    assert proc.returncode == 0, proc.stderr
    assert "warning: catalog.accessories.weight_lb: got 450" in proc.stderr
    assert "warning: desk.late_after_hours: got 2" in proc.stderr
