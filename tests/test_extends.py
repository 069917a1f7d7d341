"""A scenario file that starts from another: ``extends = "base.toml"`` (issue 12, item 6)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import SEED_SCENARIO, cli

import returnsim as rs
from returnsim.scenario import ScenarioError


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    return Path(shutil.copy(SEED_SCENARIO, tmp_path / "seed_policies.toml"))


def test_child_changes_a_few_fields_and_keeps_the_rest(seed_copy: Path):
    child = _write(
        seed_copy.parent,
        "store.toml",
        """
extends = "seed_policies.toml"
name = "My store"

[demand]
orders_per_day = 40

[policies.seed]
discipline = "deadline"
""",
    )
    base = rs.load_scenario(seed_copy)
    sc = rs.load_scenario(child)
    assert sc.name == "My store" and sc.demand.orders_per_day == 40
    # the rest of [demand] and of the seed policy come from the base file
    assert sc.demand.seasonality == base.demand.seasonality
    assert sc.policies["seed"].discipline == "deadline"
    assert sc.policies["seed"].offers == base.policies["seed"].offers
    assert sc.policies["seed"].freight == base.policies["seed"].freight
    # everything the child does not mention is the base's
    assert sc.catalog == base.catalog and sc.desk == base.desk and list(sc.policies) == list(base.policies)


def test_values_are_replaced_whole_sections_merge(seed_copy: Path):
    child = _write(
        seed_copy.parent,
        "store.toml",
        """
extends = "seed_policies.toml"

[catalog.apparel]
price = 30                                  # a distribution: replaces the lognormal whole
reasons = { wrong_size = 0.55, defective = 0.35, not_as_described = 0.1 }   # a mix: replaced, not merged

[desk]
staff = 3

[desk.hours]                                 # opening hours: replaced whole
mon = [9, 17]
""",
    )
    base = rs.load_scenario(seed_copy)
    sc = rs.load_scenario(child)
    apparel = sc.catalog["apparel"]
    assert apparel.price.mean == 30 and apparel.price.dist == "fixed"
    assert apparel.reasons == {"wrong_size": 0.55, "defective": 0.35, "not_as_described": 0.1}
    assert apparel.return_rate == base.catalog["apparel"].return_rate  # merged key by key
    assert sc.desk.staff == 3 and sc.desk.wage_per_hour == base.desk.wage_per_hour
    assert sc.desk.hours != "24/7" and sc.desk.hours.intervals() == [(9.0, 17.0)]


def test_chain_relative_paths_and_overrides(tmp_path: Path, seed_copy: Path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shutil.move(seed_copy, shared / "seed.toml")
    _write(shared, "middle.toml", 'extends = "seed.toml"\n[desk]\nstaff = 4\n')
    top = _write(tmp_path / "stores", "top.toml", 'extends = "../shared/middle.toml"\n[demand]\norders_per_day = 12\n')
    # ../shared is outside the scenario's folder: refused unless the caller allows that folder
    with pytest.raises(ScenarioError, match="leads outside"):
        rs.load_scenario(top)
    sc = rs.load_scenario(top, overrides={"desk.wage_per_hour": 30}, allow_paths=[shared])
    assert (sc.desk.staff, sc.demand.orders_per_day, sc.desk.wage_per_hour) == (4, 12, 30)


def test_problem_from_a_base_file_names_that_file(tmp_path: Path, seed_copy: Path):
    _write(tmp_path, "bad_base.toml", 'extends = "seed_policies.toml"\n[desk]\nstaff = 0\n')
    child = _write(tmp_path, "child.toml", 'extends = "bad_base.toml"\n[catalog.apparel]\nreturn_rate = 2\n')
    with pytest.raises(ScenarioError) as info:
        rs.load_scenario(child)
    paths = {p.path for p in info.value.problems}
    assert paths == {"desk.staff (from bad_base.toml)", "catalog.apparel.return_rate"}, paths
    assert str(child) in str(info.value)


def test_cross_reference_into_a_base_file_names_it(tmp_path: Path, seed_copy: Path):
    # The child drops the reason the base's returns.misreport_as names.
    text = re.sub(
        r"^misreport_as = .*$", 'misreport_as = "no_such_reason"', seed_copy.read_text(encoding="utf-8"), count=1, flags=re.M
    )
    assert "no_such_reason" in text
    seed_copy.write_text(text, encoding="utf-8")
    child = _write(tmp_path, "child.toml", 'extends = "seed_policies.toml"\nname = "x"\n')
    with pytest.raises(ScenarioError) as info:
        rs.load_scenario(child)
    assert [p.path for p in info.value.problems] == ["returns.misreport_as (from seed_policies.toml)"]


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"a.toml": 'extends = "missing.toml"\n'}, ["extends", "missing.toml", "no such file"]),
        ({"a.toml": 'extends = "b.toml"\n', "b.toml": 'extends = "a.toml"\n'}, ["loop", "a.toml -> b.toml -> a.toml"]),
        ({"a.toml": "extends = 3\n"}, ["extends", "expected the name of a scenario file"]),
        ({"a.toml": 'extends = "b.toml"\n', "b.toml": "name = \n"}, ["b.toml", "not valid TOML"]),
    ],
    ids=["missing", "loop", "not_a_string", "base_not_toml"],
)
def test_bad_extends_is_a_clear_error(tmp_path: Path, files: dict[str, str], expected: list[str]):
    for name, text in files.items():
        _write(tmp_path, name, text)
    with pytest.raises(ScenarioError) as info:
        rs.load_scenario(tmp_path / "a.toml")
    message = str(info.value)
    for word in expected:
        assert word in message, message


def test_cli_validate_names_the_base_file(tmp_path: Path, seed_copy: Path):
    _write(tmp_path, "bad_base.toml", 'extends = "seed_policies.toml"\n[desk]\nstaff = 0\n')
    child = _write(tmp_path, "child.toml", 'extends = "bad_base.toml"\n')
    proc = cli("validate", str(child))  # in-process: an interpreter start adds nothing here
    assert proc.returncode == 2
    assert "desk.staff (from bad_base.toml): got 0" in proc.stderr and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------
# issue 22, item 1: extends stays inside the scenario's folder, and never prints a file
# --------------------------------------------------------------------------------------------

SECRET = "SECRET_TOKEN_do_not_print_4711"


def _outside_cases(tmp_path: Path) -> dict[str, str]:
    """A secret file outside the scenario's folder, reached three ways."""
    outside = _write(tmp_path, "private/secret.txt", f"{SECRET}=1\nnot toml at all {SECRET}\n")
    depth = len((tmp_path / "store").resolve().parts)
    return {
        "absolute": str(outside.resolve()),
        "dotdot": "../private/secret.txt",
        "dotdot_chain": "../" * depth + str(outside.resolve()).lstrip("/"),
        "proc_environ": "/proc/self/environ",
    }


@pytest.mark.parametrize("case", ["absolute", "dotdot", "dotdot_chain", "proc_environ"])
def test_extends_outside_the_folder_is_refused_without_reading_it(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SECRET_TOKEN", SECRET)
    target = _outside_cases(tmp_path)[case]
    top = _write(tmp_path / "store", "top.toml", f"extends = {target!r}\n".replace("'", '"'))
    with pytest.raises(ScenarioError) as info:
        rs.load_scenario(top)
    message = str(info.value)
    assert "leads outside" in message and "allow_paths" in message, message
    assert SECRET not in message


@pytest.mark.parametrize("case", ["absolute", "dotdot", "proc_environ"])
def test_allowed_outside_file_that_is_not_a_scenario_is_named_never_quoted(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
):
    """Even when the caller allows any path, a base that is not TOML is named, not printed."""
    monkeypatch.setenv("SECRET_TOKEN", SECRET)
    target = _outside_cases(tmp_path)[case]
    top = _write(tmp_path / "store", "top.toml", f"extends = {target!r}\n".replace("'", '"'))
    with pytest.raises(ScenarioError) as info:
        rs.load_scenario(top, allow_paths=True)
    message = str(info.value)
    assert "not valid TOML" in message or "not UTF-8" in message, message
    assert SECRET not in message


def test_shipped_scenarios_may_be_extended_from_anywhere(tmp_path: Path):
    top = _write(tmp_path, "top.toml", f'extends = "{rs.shipped("seed_policies.toml")}"\nname = "mine"\n')
    assert rs.load_scenario(top).name == "mine"


def test_cli_allow_extends_outside(tmp_path: Path, seed_copy: Path):
    top = _write(tmp_path / "store", "top.toml", 'extends = "../seed_policies.toml"\n')
    run = ["validate", str(top)]
    refused = cli(*run)
    assert refused.returncode == 2 and "leads outside" in refused.stderr and "Traceback" not in refused.stderr
    allowed = cli(*run, "--allow-extends-outside")
    assert allowed.returncode == 0, allowed.stderr


def test_allow_paths_of_the_wrong_type_names_the_argument(seed_copy: Path):
    with pytest.raises(TypeError, match="allow_paths"):
        rs.load_scenario(seed_copy, allow_paths=3)  # type: ignore[arg-type]
