"""``returnsim init``: a commented starter scenario that validates at once (issue 12, item 5)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import cli

import returnsim as rs
from returnsim.scenario.starter import ItemSpec, StoreFacts, parse_hours, starter_toml


def _init(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``returnsim init ARGS`` in this process (test_starter_runs_end_to_end starts the command
    itself): an interpreter start per call added nothing these tests look at."""
    return cli("init", *args, cwd=cwd, stdin=stdin)


def test_flags_become_the_scenario(tmp_path: Path):
    proc = _init(
        "shop.toml", "--name", "Sole Traders", "--orders-per-day", "80", "--international-share", "0.05",
        "--item", "shoes:60:0.25:2", "--item", "socks:8:0.05", "--staff", "3",
        "--hours", "mon-fri 8-18, sat 10:30-14", "--currency", "€",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "it validates" in proc.stdout
    sc = rs.load_scenario(tmp_path / "shop.toml")
    assert sc.name == "Sole Traders" and sc.currency == "€"
    assert sc.demand.orders_per_day == 80
    assert sc.markets.international.share == pytest.approx(0.05)
    assert sc.markets.domestic.share == pytest.approx(0.95)
    assert list(sc.catalog) == ["shoes", "socks"]
    assert sc.catalog["shoes"].price.mean == pytest.approx(60)
    assert sc.catalog["shoes"].return_rate == 0.25 and sc.catalog["socks"].return_rate == 0.05
    assert sc.catalog["shoes"].share == pytest.approx(2 / 3, abs=1e-6)
    assert sc.desk.staff == 3
    week = [(24.0 * d + 8, 24.0 * d + 18) for d in range(5)] + [(24.0 * 5 + 10.5, 24.0 * 5 + 14)]
    assert sc.desk.hours != "24/7" and sc.desk.hours.intervals() == week
    assert sc.start_date.weekday() == 0
    assert "seed" in sc.policies and len(sc.policies) >= 3


def test_questions(tmp_path: Path):
    # A bad answer is asked again; Enter keeps the default.
    answers = "Mug Shop\n20\n0.2\nmugs 15 0.05\nmugs 3 4\nlamps 80 12%\n\n\nweekdays\n24/7\n\n"
    proc = _init("asked.toml", "--ask", cwd=tmp_path, stdin=answers)
    assert proc.returncode == 0, proc.stderr
    assert "return rate of mugs: expected a number between 0 and 1, got '4'" in proc.stderr
    assert "cannot read 'weekdays'" in proc.stderr
    sc = rs.load_scenario(tmp_path / "asked.toml")
    assert sc.name == "Mug Shop" and sc.demand.orders_per_day == 20
    assert sc.markets.international.share == pytest.approx(0.2)
    assert {k: v.return_rate for k, v in sc.catalog.items()} == {"mugs": 0.05, "lamps": 0.12}
    assert sc.desk.staff == 1 and sc.desk.hours == "24/7" and sc.currency == "$"


def test_every_figure_is_an_answer_sourced_or_assumed():
    text = starter_toml(StoreFacts(items=[ItemSpec("a", 10, 0.1), ItemSpec("b", 99, 0.3)]))
    # Every line that sets a number in the world tables (not the rule tables of the policies, whose
    # thresholds are the policies themselves) says where its value comes from; the start date and
    # the horizon are settings of the run, not figures of the store.
    world = text.split("# --- policies")[0]
    section = ""
    unexplained = []
    for line in world.splitlines():
        if line.startswith("["):
            section = line.split("]")[0].strip("[")
        if section.startswith("reasons.") or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if re.match(r"\s*[-\d{]", value) and key.strip() not in ("reasons", "start_date", "horizon_days") and not section == "desk.hours":
            comment = line.partition("#")[2]
            if not re.search(r"your answer|assumed|\[[A-Z]\d+", comment):
                unexplained.append(line)
    assert not unexplained, unexplained
    assert rs.parse_scenario(tomllib.loads(text)).catalog["b"].return_rate == 0.3


def test_refuses_to_overwrite_and_bad_flags_are_plain_errors(tmp_path: Path):
    (tmp_path / "taken.toml").write_text("name = 'mine'\n", encoding="utf-8")
    proc = _init("taken.toml", cwd=tmp_path)
    assert proc.returncode == 2 and "exists" in proc.stderr and "--force" in proc.stderr
    assert (tmp_path / "taken.toml").read_text(encoding="utf-8") == "name = 'mine'\n"
    for flag, value, words in [
        ("--item", "shoes:60", "expected NAME:PRICE:RETURN_RATE"),
        ("--item", "shoes:60:1.5", "return rate of shoes"),
        ("--staff", "0", "--staff"),
        ("--hours", "mon-fir 9-17", "cannot read 'mon-fir 9-17'"),
        ("--international-share", "abc", "--international-share"),
    ]:
        proc = _init("new.toml", flag, value, cwd=tmp_path)
        assert proc.returncode == 2, (flag, value)
        assert words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "new.toml").exists()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("24/7", "24/7"),
        ("mon-fri 9-17", {d: (9.0, 17.0) for d in ("mon", "tue", "wed", "thu", "fri")}),
        ("sat 10:30-14, sun 12-13", {"sat": (10.5, 14.0), "sun": (12.0, 13.0)}),
    ],
)
def test_parse_hours(text, expected):
    assert parse_hours(text) == expected


@pytest.mark.parametrize("text", ["fri-mon 9-17", "mon 17-9", "mon 9-25", "weekdays", ""])
def test_parse_hours_rejects(text):
    with pytest.raises(ValueError, match="desk hours"):
        parse_hours(text)


def test_starter_runs_end_to_end(tmp_path: Path):
    assert _init("small.toml", "--orders-per-day", "30", cwd=tmp_path).returncode == 0
    proc = subprocess.run(
        [sys.executable, "-m", "returnsim", "run", "small.toml", "--set", "horizon_days=20",
         "--replications", "2", "--workers", "1", "--no-progress"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "seed" in proc.stdout and "free_returns" in proc.stdout
