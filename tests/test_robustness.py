"""Nothing a user types can hang returnsim, poison its numbers or lose finished work (issue 8).

Every case the issue lists is here as a regression test, grouped as the issue groups them:
values (finite numbers of their declared type, plain text, any file's bytes), run size,
finished work, the results store and the Python API. Worker processes outliving their parent
are in ``test_cli_experiment.py``; the property-based search over hostile values is
``test_fuzz.py``.
"""

from __future__ import annotations

import csv
import importlib
import itertools
import json
import math
import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import MMC_SCENARIO, ROOT, SEED_SCENARIO, minimal_raw, run_cli

import returnsim as rs
from returnsim.experiment import executors as exe
from returnsim.experiment.budget import RunSizeWarning, check_experiment
from returnsim.experiment.replications import StoreWarning
from returnsim.experiment.store import ResultStore, StoreError
from returnsim.model import budget
from returnsim.model.budget import RunTooLarge, estimate_run
from returnsim.scenario import loader
from returnsim.scenario.limits import LIMIT
from returnsim.text import csv_cell, for_matplotlib, printable

MMC_SHORT = {"horizon_days": 2}


def problems(overrides=None, raw=None):
    """The problems of the minimal scenario with ``overrides`` (a ScenarioError is required)."""
    with pytest.raises(rs.ScenarioError) as info:
        rs.parse_scenario(minimal_raw() if raw is None else raw, overrides or {})
    return info.value.problems


def only(overrides) -> str:
    """The one problem ``overrides`` make, as text."""
    found = problems(overrides)
    assert len(found) == 1, [str(p) for p in found]
    return str(found[0])


# --------------------------------------------------------------------------------------------
# 1. every number finite and of its declared type; plain text; any file's bytes
# --------------------------------------------------------------------------------------------

LOGNORMAL = {"dist": "lognormal", "mean": 12, "cv": 0.5}

VALUE_CASES = [
    # values that used to validate and then hang the run
    ("returns.window_days", math.inf, "returns.window_days: got inf", "finite number"),
    ("returns.window_days", 1e308, "returns.window_days: got 1e+308", "at most 1e+09"),
    ("desk.handling_minutes", {**LOGNORMAL, "mean": math.inf}, "desk.handling_minutes.mean: got inf", "finite"),
    ("returns.delivery_days", {"dist": "uniform", "low": 1, "high": math.inf}, "returns.delivery_days.high: got inf", "finite"),
    ("returns.delivery_days", math.inf, "returns.delivery_days: got inf", "finite"),
    # finite values that made the run crawl through a billion days, epoch by epoch
    ("returns.window_days", 1e9, "returns.window_days: got 1000000000.0", "a duration of at most ten years (3,652.5 days)"),
    ("desk.handling_minutes", 1e9, "desk.handling_minutes: got 1000000000.0", "(5,259,600 minutes); it is 1e+09"),
    ("buyer.reply_hours", {**LOGNORMAL, "mean": 1e6}, "buyer.reply_hours: got", "(87,660 hours); its mean is 1e+06"),
    # values that used to run and print NaN or inf money
    ("desk.handling_minutes", math.nan, "desk.handling_minutes: got nan", "finite"),
    ("catalog.widget.price", math.nan, "catalog.widget.price: got nan", "finite"),
    ("catalog.widget.weight_lb", math.inf, "catalog.widget.weight_lb: got inf", "finite"),
    ("markets.domestic.return_label.base", 1e308, "markets.domestic.return_label.base: got 1e+308", "at most"),
    ("desk.wage_per_hour", 1e308, "desk.wage_per_hour: got 1e+308", "at most"),
    ("catalog.widget.price", {**LOGNORMAL, "cv": math.nan}, "catalog.widget.price.cv: got nan", "finite"),
    # values the model cannot use although each parameter is finite
    ("catalog.widget.price", {**LOGNORMAL, "cv": 1e308}, "catalog.widget.price.cv: got 1e+308", "at most"),
    ("catalog.widget.price", {**LOGNORMAL, "mean": 1e9, "cv": 1e9}, "catalog.widget.price: got", "extreme values must be finite and at most"),
    ("catalog.widget.share", math.inf, "catalog.widget.share: got inf", "finite"),
    ("buyer.purchases_per_year.mean", 1e300, "buyer.purchases_per_year.mean: got 1e+300", "at most"),
    ("horizon_days", math.inf, "horizon_days: got inf", "finite"),
    # nonsense that used to be accepted
    ("horizon_days", True, "horizon_days: got true", "true and false are not numbers"),
    ("catalog.widget.return_rate", True, "catalog.widget.return_rate: got true", "true and false are not numbers"),
    ("horizon_days", "365", 'horizon_days: got "365"', "write numbers without quotes"),
    ("desk.handling_minutes", "10", 'desk.handling_minutes: got "10"', "write numbers without quotes"),
    ("desk.staff", 2.0, "desk.staff: got 2.0", "valid integer"),
    ("retention.feedback_into_demand", 1, "retention.feedback_into_demand: got 1", "valid boolean"),
    ("retention.follow_up_days", 1e9, "retention.follow_up_days: got 1000000000.0", "less than or equal to 3652.5"),
    ("policies.base.offers", [{"kind": "troubleshoot", "when": {"reason": []}}], "policies.base.offers[0].when.reason: got []", "an empty list matches no request"),
    # internal errors that are now clear ones
    ("policies.base.extends", True, "policies.base.extends: got true", "expected the name of another policy"),
    ("policies.base.extends", 5, "policies.base.extends: got 5", "expected the name of another policy"),
    ("policies.base.extends", ["base"], 'policies.base.extends: got ["base"]', "expected the name of another policy"),
]


@pytest.mark.parametrize(("path", "value", "start", "fragment"), VALUE_CASES)
def test_bad_values_are_one_clear_problem_at_their_path(path, value, start, fragment):
    text = only({path: value})
    assert text.startswith(start), text
    assert fragment in text, text


def test_limit_is_inclusive_and_large_values_below_it_validate():
    sc = rs.parse_scenario(minimal_raw(), {"desk.wage_per_hour": LIMIT, "catalog.widget.weight_lb": 1e6})
    assert sc.desk.wage_per_hour == LIMIT
    assert "at most" in only({"desk.wage_per_hour": LIMIT * (1 + 1e-15)})


def test_numpy_numbers_are_numbers():
    """A dict built with numpy values (a sweep's design points) validates like plain Python."""
    sc = rs.parse_scenario(minimal_raw(), {"desk.staff": np.int64(3), "horizon_days": np.float32(10)})
    assert sc.desk.staff == 3 and type(sc.desk.staff) is int and sc.horizon_days == 10


@pytest.mark.parametrize("name", ["\x1b[31mred", "a\u202eb", "tab\tname", "new\nline"])
def test_names_with_control_characters_are_refused(name):
    raw = minimal_raw()
    raw["policies"] = {name: {}}
    (problem,) = problems(raw=raw)
    text = str(problem)
    assert "control character" in text and "must be plain printable" in text
    assert text.isprintable(), "the message itself shows the name escaped"


def test_formula_like_names_are_names():
    raw = minimal_raw()
    raw["policies"] = {"=HYPERLINK(1)": {}, "free_under_$25_or_$8": {}, "+1": {}}
    assert list(rs.parse_scenario(raw).policies) == ["=HYPERLINK(1)", "free_under_$25_or_$8", "+1"]


def test_description_may_break_lines_but_not_run_escapes():
    rs.parse_scenario(minimal_raw(description="line one\nline two\ttab"))
    assert "control character U+001B" in only({"description": "\x1b]0;title\x07"})


def test_unknown_key_with_an_escape_is_shown_escaped():
    raw = minimal_raw(desk={"staff": 2, "\x1b[2J": 1})
    text = str(problems(raw=raw)[0])
    assert "\x1b" not in text and "\\u001b[2J" in text and "unknown field" in text


MINIMAL_TOML = (Path(__file__).resolve().parent / "data" / "bad_scenarios" / "mistyped_key.toml").read_text(
    encoding="utf-8"
).replace("staf = 2", "staff = 2")


def _load_bytes(tmp_path: Path, data: bytes) -> list[str]:
    path = tmp_path / "s.toml"
    path.write_bytes(data)
    with pytest.raises(rs.ScenarioError) as info:
        rs.load_scenario(path)
    return [str(p) for p in info.value.problems]


def test_minimal_toml_is_valid(tmp_path):
    (tmp_path / "ok.toml").write_text(MINIMAL_TOML, encoding="utf-8")
    assert rs.load_scenario(tmp_path / "ok.toml").desk.staff == 2


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (MINIMAL_TOML.replace('"minimal"', '"Café"').encode("latin-1"), "byte 0xE9 at line"),
        (MINIMAL_TOML.encode("utf-16"), "the file is UTF-16 text"),
        (MINIMAL_TOML.encode("utf-32"), "the file is UTF-32 text"),
        (b"\x00\x01\x02\xff" * 100, "is not UTF-8"),
        (("name = " + "[" * 3000 + "]" * 3000 + "\n").encode(), "nested more than"),
        (f"horizon_days = {'9' * 5000}\n".encode(), "not valid TOML"),
        (b"horizon_days = = 3\n", "not valid TOML"),
    ],
    ids=["latin-1", "utf-16", "utf-32", "binary", "deep", "huge-int", "not-toml"],
)
def test_any_bytes_give_a_clear_file_problem(tmp_path, data, fragment):
    (text,) = _load_bytes(tmp_path, data)
    assert text.startswith("(file): ") and fragment in text, text


def test_utf8_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL_TOML.encode())
    assert rs.load_scenario(path).name == "minimal"


def test_unreadable_file_and_directory(tmp_path, monkeypatch):
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL_TOML, encoding="utf-8")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(rs.ScenarioError, match="cannot be read: permission denied"):
        rs.load_scenario(path)
    monkeypatch.undo()
    with pytest.raises(rs.ScenarioError, match="is a directory"):
        rs.load_scenario(tmp_path)


def test_file_too_large(tmp_path, monkeypatch):
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL_TOML, encoding="utf-8")
    monkeypatch.setattr(loader, "MAX_BYTES", 100)
    with pytest.raises(rs.ScenarioError, match="too large for a scenario file"):
        rs.load_scenario(path)


def test_huge_list_is_refused_before_parsing(tmp_path, monkeypatch):
    """Issue 22, item 3: a 4 MB list of two million numbers (under MAX_BYTES) took 27 s to
    validate; it is refused by its entry count before the TOML reader sees it."""
    path = tmp_path / "s.toml"
    path.write_text("junk = [" + ",".join(["1"] * 2_000_000) + "]\n" + MINIMAL_TOML, encoding="utf-8")
    assert path.stat().st_size < loader.MAX_BYTES

    def not_parsed(text: str) -> dict:
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(loader.tomllib, "loads", not_parsed)
    with pytest.raises(rs.ScenarioError) as info:
        rs.load_scenario(path)
    message = str(info.value)
    assert "2,000,0" in message and "at most 200,000" in message, message


def test_list_just_under_the_entry_limit_is_validated(tmp_path):
    """The limit is on entries, not a refusal of anything large: a list within it is read and
    reported like any other value."""
    n = loader.MAX_ENTRIES - MINIMAL_TOML.count("\n") - MINIMAL_TOML.count(",") - 10
    path = tmp_path / "s.toml"
    path.write_text("junk = [" + ",".join(["1"] * n) + "]\n" + MINIMAL_TOML, encoding="utf-8")
    with pytest.raises(rs.ScenarioError) as info:
        rs.load_scenario(path)
    (problem,) = info.value.problems
    assert problem.path == "junk" and f"a list of {n} entries" in str(problem)


def test_deep_dict_through_the_api():
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    raw = minimal_raw()
    raw["description"] = deep
    (problem,) = problems(raw=raw)
    assert problem.path.startswith("description.x.x") and "nested more than 32 levels" in str(problem)


def test_long_extends_chain_resolves(tmp_path):
    """5,000 policies each extending the next: no recursion, and the last one's field
    reaches the first."""
    text = MINIMAL_TOML.replace("[policies.base]", '[policies.base]\ninvestigate = true')
    text += "".join(f'\n[policies.x{i}]\nextends = "x{i + 1}"\n' for i in range(5000))
    text += '\n[policies.x5000]\nextends = "base"\n'
    path = tmp_path / "chain.toml"
    path.write_text(text, encoding="utf-8")
    sc = rs.load_scenario(path)
    assert len(sc.policies) == 5002 and sc.policies["x0"].investigate


def test_overrides_must_be_a_dict(tmp_path):
    with pytest.raises(TypeError, match="overrides must be a dict"):
        rs.load_scenario(SEED_SCENARIO, ["desk.staff=3"])  # type: ignore[arg-type]
    assert "keys must be dotted paths" in str(problems({3: 1}))


# --------------------------------------------------------------------------------------------
# 2. a run is bounded before it starts
# --------------------------------------------------------------------------------------------


def test_estimate_without_feedback_is_the_expected_request_count():
    """Without returning customers, requests are a thinned Poisson process: the estimate is
    their mean, and one replication lands within 4 standard deviations of it."""
    sc = rs.load_scenario(SEED_SCENARIO, {"retention.feedback_into_demand": False})
    est = estimate_run(sc)
    for seed in range(3):
        n = rs.simulate(sc, "seed", seed=seed).kpis["return_requests"]
        assert abs(n - est.requests) <= 4 * math.sqrt(est.requests), (n, est.requests)


def test_estimate_with_feedback_is_on_the_high_side():
    sc = rs.load_scenario(SEED_SCENARIO)
    est = estimate_run(sc)
    for policy in ("seed", "free_returns"):
        assert rs.simulate(sc, policy, seed=1).kpis["return_requests"] <= est.requests


def test_a_long_desk_backlog_counts_in_the_time_estimate():
    """Slow handling makes a run advance through years of backlog after the horizon: the time
    estimate grows with it and names the field; the memory estimate holds every request (a desk
    that answers almost nothing keeps its auto-authorised requests, and their blocks of slots,
    to the end of demand: tests/test_budget_overload.py)."""
    base = estimate_run(rs.load_scenario(SEED_SCENARIO))
    slow = estimate_run(rs.load_scenario(SEED_SCENARIO, {"desk.handling_minutes.mean": 5e5}))
    assert slow.seconds > 10 * base.seconds and slow.held == slow.requests > base.held
    assert "desk.handling_minutes mean 500000" in slow.drivers


def test_oversized_replication_is_refused_before_it_starts(monkeypatch):
    for overrides in ({"horizon_days": 1e9}, {"demand.orders_per_day": 1e7}):
        sc = rs.load_scenario(SEED_SCENARIO, overrides)
        monkeypatch.setattr(budget, "available_memory", lambda: 16e9)  # any real machine
        with pytest.raises(RunTooLarge, match="allow_large=True") as info:
            rs.simulate(sc, "seed")
        name = next(iter(overrides))
        assert f"{name} = 1e+0" in str(info.value)


def test_run_that_fits_is_not_refused(monkeypatch):
    sc = rs.load_scenario(MMC_SCENARIO, MMC_SHORT)
    need = estimate_run(sc).memory_bytes
    monkeypatch.setattr(budget, "available_memory", lambda: need * 1.01)
    rs.simulate(sc, "fifo")
    monkeypatch.setattr(budget, "available_memory", lambda: need * 0.99)
    with pytest.raises(RunTooLarge):
        rs.simulate(sc, "fifo")
    rs.simulate(sc, "fifo", allow_large=True)


def test_ten_million_replications_are_refused(monkeypatch):
    monkeypatch.setattr("returnsim.experiment.budget.available_memory", lambda: 16e9)
    sc = rs.load_scenario(SEED_SCENARIO)
    for policies in (None, ["seed"]):
        with pytest.raises(RunTooLarge, match="replications of"):
            rs.run_experiment(sc, policies, replications=10_000_000, progress=False)


def test_hours_long_experiment_is_announced():
    sc = rs.load_scenario(SEED_SCENARIO)
    est, warning = check_experiment(sc, tasks=10**6, workers=2, allow_large=True)
    assert est.seconds > 3600 and "estimated to take" in warning and "--store" in warning
    assert check_experiment(sc, tasks=2, workers=2)[1] is None


def test_run_experiment_warns_on_long_runs(monkeypatch):
    monkeypatch.setattr("returnsim.experiment.budget.WARN_SECONDS", 0.0)
    with pytest.warns(RunSizeWarning, match="estimated to take"):
        rs.run_experiment(MMC_SCENARIO, ["fifo"], replications=1, workers=1, progress=False)


def test_batches_are_made_lazily():
    """Batches come one at a time from a generator: after two batches of a million tasks, only
    those two batches' tasks have been taken from it."""
    pulled = itertools.count()

    def tasks():
        for r in range(10**6):
            next(pulled)
            yield ("p", r)

    batches = exe.iter_batches(tasks(), 10**6, seconds_per_task=0.01, workers=2, overhead=1e-3)
    first, second = next(batches), next(batches)
    assert first[0] == ("p", 0) and second[0] == ("p", len(first))
    assert len(first) == len(second) == math.floor(exe.MAX_TASK_SECONDS / 0.01)
    assert next(pulled) == len(first) + len(second)


class _Counting(ThreadPoolExecutor):
    """A thread pool that records how many submitted tasks were not yet finished."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.lock = threading.Lock()
        self.open = 0
        self.most = 0

    def submit(self, fn, /, *args, **kwargs):
        with self.lock:
            self.open += 1
            self.most = max(self.most, self.open)
        fut = super().submit(fn, *args, **kwargs)

        def done(_):
            with self.lock:
                self.open -= 1

        fut.add_done_callback(done)
        return fut


def test_engine_keeps_a_bounded_number_of_batches_in_flight(monkeypatch):
    monkeypatch.setattr(exe, "MAX_TASK_SECONDS", 1e-9)  # one replication per batch
    monkeypatch.setattr(exe, "TASK_OVERHEAD_SECONDS", {"processes": 1e-9, "other": 1e-9})
    sc = rs.load_scenario(MMC_SCENARIO, MMC_SHORT)
    with _Counting(2) as pool:
        res = rs.run_experiment(sc, replications=30, executor=pool, workers=2, progress=False)
    assert res.computed == 60
    assert pool.most <= 2 * 2, pool.most


# --------------------------------------------------------------------------------------------
# 3. computation is never thrown away
# --------------------------------------------------------------------------------------------



CLI_RUN = ["run", str(MMC_SCENARIO), "--set", "horizon_days=2", "--replications", "3", "--workers", "1", "--no-progress"]


@pytest.mark.parametrize("option", ["--out", "--store"])
def test_output_locations_are_checked_before_the_run(capsys, tmp_path, monkeypatch, option):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr("returnsim.experiment.run_experiment", _must_not_run)
    code, _, err = run_cli(capsys, *CLI_RUN, option, str(blocker / "below"))
    assert code == 2 and f"{blocker} is a file, not a directory" in err


def test_report_location_is_checked_before_the_run(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("returnsim.experiment.run_experiment", _must_not_run)
    code, _, err = run_cli(capsys, "report", str(MMC_SCENARIO), "--set", "horizon_days=2", "-o", str(tmp_path))
    assert code == 2 and "--output (-o) expects a file" in err


def test_unwritable_output_directory_is_refused_before_the_run(capsys, tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("returnsim.experiment.run_experiment", _must_not_run)
    monkeypatch.setattr("returnsim.cli.common.tempfile.mkstemp", no_space)
    code, _, err = run_cli(capsys, *CLI_RUN, "--out", str(tmp_path / "out"))
    assert code == 2 and "cannot write there (No space left on device); nothing was run" in err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["init", "{dir}"], "is a folder; name the scenario file to write"),
        (["init", "{dir}", "--force"], "is a folder; name the scenario file to write"),
        (["init", "{tmp}/new.toml"], "init {tmp}/new.toml: cannot write there (No space left on device)"),
        (["calibrate", "--orders", "{orders}", "-o", "{dir}"], "--output (-o) expects a file, {dir} is a directory"),
        (["calibrate", "--orders", "{orders}", "-o", "{tmp}/c.toml"], "--output (-o) {tmp}/c.toml: cannot write there (No space left on device)"),
        (["calibrate", "--orders", "{orders}", "-o", "{tmp}/c.toml", "--report", "{dir}"], "--report expects a file, {dir} is a directory"),
    ],
)
def test_init_and_calibrate_check_where_they_write(capsys, tmp_path, monkeypatch, argv, said):
    """A folder, or a place that cannot be written, named as the file to write: a message, not
    the internal error both commands ended in (calibrate after the whole fit)."""
    folder = tmp_path / "d.toml"
    folder.mkdir()
    names = {"dir": str(folder), "tmp": str(tmp_path), "orders": str(ROOT / "scenarios" / "examples" / "amazon_reports" / "synthetic_orders.txt")}
    if "cannot write there" in said:

        def no_space(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("returnsim.cli.common.tempfile.mkstemp", no_space)
    monkeypatch.setattr(importlib.import_module("returnsim.calibrate"), "calibrate", _must_not_run)
    code, _, err = run_cli(capsys, *(a.format(**names) for a in argv))
    assert code == 2 and said.format(**names) in err and "internal error" not in err, err


def _must_not_run(*args, **kwargs):  # pragma: no cover - called only if a check is missing
    raise AssertionError("the experiment ran although an output location was unusable")


def test_failed_write_keeps_the_results_and_says_where(capsys, tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the rescue goes under tmp_path
    monkeypatch.setattr("returnsim.cli.experiment._write", full)
    code, _, err = run_cli(capsys, *CLI_RUN, "--out", str(tmp_path / "out"))
    assert code == 2 and "No space left on device" in err
    rescued = Path(err.split("saved in ")[1].split(";")[0])
    assert rescued.is_file() and "--store" in err
    monkeypatch.undo()
    code, out, err = run_cli(capsys, *CLI_RUN, "--out", str(tmp_path / "out"), "--store", str(rescued))
    assert code == 0, err
    assert f"6 replications read from {rescued}" in out  # nothing simulated again
    again = pd.read_csv(tmp_path / "out" / "runs.csv")
    fresh = rs.run_experiment(rs.load_scenario(MMC_SCENARIO, MMC_SHORT), replications=3, workers=1, progress=False).runs
    pd.testing.assert_frame_equal(again, fresh, check_dtype=False, check_exact=True)


def test_failed_write_with_a_store_points_at_the_store(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("returnsim.cli.experiment._write", lambda *a, **k: 1 / 0)
    store = tmp_path / "s.sqlite"
    code, _, err = run_cli(capsys, *CLI_RUN, "--out", str(tmp_path / "out"), "--store", str(store))
    assert code == 2 and "ZeroDivisionError" in err
    assert f"the 6 replications are in the results store {store}" in err


def test_dollar_pairs_in_policy_names_reach_the_report(capsys, tmp_path):
    text = MMC_SCENARIO.read_text(encoding="utf-8").replace("[policies.deadline]", '[policies."free_under_$25_or_$8"]')
    text = re.sub(r'(\[policies\."free_under_\$25_or_\$8"\]\n)label = "[^"]*"', r'\1label = "Free under $25 or $8"', text)
    path = tmp_path / "dollar.toml"
    path.write_text(text, encoding="utf-8")
    code, _, err = run_cli(
        capsys, "report", str(path), "--set", "horizon_days=2", "--replications", "2", "--workers", "1",
        "-o", str(tmp_path / "r.html"),
    )
    assert code == 0, err
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    # the id in the list of policies, the label (its dollars literal) as the charts' text
    assert "free_under_$25_or_$8" in html and html.count("<svg ") >= 2
    assert ">Free under $25 or</text>" in html  # wrapped onto two lines in a chart


def test_matplotlib_shows_dollars_literally(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_yticks([0, 1], [for_matplotlib("a_$25_or_$8"), for_matplotlib("$\\frac{")])
    fig.savefig(tmp_path / "f.png")  # raises without the escapes: mathtext parses $..$
    assert [t.get_text() for t in ax.get_yticklabels()] == [r"a_\$25_or_\$8", r"\$\frac{"]
    plt.close(fig)


def test_csv_cells_are_never_formulas(tmp_path):
    raw = minimal_raw()
    raw["policies"] = {"=HYPERLINK(1)": {}, "@SUM(1)": {}, "+1": {}, "-1": {}, "plain": {}}
    raw["horizon_days"] = 2
    res = rs.run_experiment(rs.parse_scenario(raw), replications=2, workers=1, progress=False)
    res.to_csv(tmp_path)
    for name in ("runs.csv", "summary.csv", "comparison.csv"):
        with open(tmp_path / name, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        cells = [c for row in rows[1:] for c in row]
        assert not [c for c in cells if c.startswith(("=", "+", "@")) or (c.startswith("-") and not _number(c))], name
    policies = {row[0] for row in csv.reader(open(tmp_path / "runs.csv", encoding="utf-8"))}
    assert {"'=HYPERLINK(1)", "'@SUM(1)", "'+1", "'-1", "plain"} <= policies
    assert csv_cell(-1.5) == -1.5  # numbers are data


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_printable_escapes_terminal_controls():
    assert printable("a\x1b[31mb\u202ec") == "a\\x1b[31mb\\u202ec"
    assert printable("line\nbreak", keep="\n") == "line\nbreak"
    assert printable("plain $ text") == "plain $ text"


# --------------------------------------------------------------------------------------------
# 5. the results store
# --------------------------------------------------------------------------------------------


def _corrupt(path: Path, replication: int, damage) -> None:
    """Replace one stored row's metrics by ``damage(metrics)``, done in Python: the stored JSON
    may hold NaN (a KPI not defined), which SQLite's JSON functions refuse."""
    con = sqlite3.connect(path)
    with con:
        (text,) = con.execute("SELECT metrics FROM runs WHERE policy = 'fifo' AND replication = ?", (replication,)).fetchone()
        con.execute("UPDATE runs SET metrics = ? WHERE policy = 'fifo' AND replication = ?", (damage(json.loads(text)), replication))
    con.close()


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda m: '{"orders": 1.0, ', "not valid JSON"),  # cut short
        (lambda m: json.dumps({k: v for k, v in m.items() if k != "rdr"}), "lacks 1 metric(s): rdr"),
        (lambda m: json.dumps({**m, "rdr": "high"}), "metric 'rdr' is not a number"),
    ],
    ids=["corrupt-json", "missing-metric", "text-metric"],
)
def test_unreadable_rows_are_named_and_recomputed(tmp_path, damage, why):
    sc = rs.load_scenario(MMC_SCENARIO, MMC_SHORT)
    path = tmp_path / "s.sqlite"
    clean = rs.run_experiment(sc, replications=4, seed=3, store=path, workers=1, progress=False)
    _corrupt(path, 2, damage)
    named = f"policy 'fifo', replication 2.*{re.escape(why)}"
    with ResultStore(path) as store, pytest.raises(StoreError, match=named):
        store.records(clean.scenario_hash, metrics=rs.experiment.METRICS)
    with pytest.warns(StoreWarning, match=named):
        again = rs.run_experiment(sc, replications=4, seed=3, store=path, workers=1, progress=False)
    assert (again.computed, again.from_store) == (1, 7)
    pd.testing.assert_frame_equal(again.runs, clean.runs, check_exact=True)
    n = again.summary()["n"]  # never fewer replications than asked (where a KPI is defined)
    assert (n == clean.summary()["n"]).all() and n.max() == 4
    with ResultStore(path) as store:  # the recomputed row replaced the bad one
        assert len(store.records(clean.scenario_hash, metrics=rs.experiment.METRICS)) == 8


def _read_only(folder: Path) -> None:
    """Make ``folder`` and its files unwritable, even for root (immutable) where possible."""
    import os
    import subprocess

    for p in folder.iterdir():
        p.chmod(0o444)
    folder.chmod(0o555)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder), *map(str, folder.iterdir())], check=False, capture_output=True)
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return
    (folder / "probe").unlink()
    _writable(folder)
    pytest.fail("cannot make a read-only directory on this machine (root without chattr): this "
                "test needs one to check that a complete store on read-only media is read")


def _writable(folder: Path) -> None:
    import subprocess

    subprocess.run(["chattr", "-i", str(folder), *map(str, folder.iterdir())], check=False, capture_output=True)
    folder.chmod(0o755)
    for p in folder.iterdir():
        p.chmod(0o644)


def test_complete_store_on_read_only_media_is_read(tmp_path):
    sc = rs.load_scenario(MMC_SCENARIO, MMC_SHORT)
    folder = tmp_path / "media"
    folder.mkdir()
    path = folder / "s.sqlite"
    clean = rs.run_experiment(sc, replications=3, seed=1, store=path, workers=1, progress=False)
    _read_only(folder)
    try:
        with ResultStore(path) as store:
            assert not store.writable and store.count() == 6
        back = rs.run_experiment(sc, replications=3, seed=1, store=path, workers=1, progress=False)
        assert (back.computed, back.from_store) == (0, 6)
        pd.testing.assert_frame_equal(back.runs, clean.runs, check_exact=True)
        more = rs.run_experiment(sc, replications=4, seed=1, store=path, workers=1, progress=False)
        assert (more.computed, more.from_store) == (2, 6)
        assert any("read-only" in n and "not saved" in n for n in more.notes)
    finally:
        _writable(folder)


def test_cli_reads_a_complete_store_on_read_only_media(capsys, tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    store = folder / "s.sqlite"
    assert run_cli(capsys, *CLI_RUN, "--store", str(store))[0] == 0
    _read_only(folder)
    try:
        code, out, err = run_cli(capsys, *CLI_RUN, "--store", str(store))
    finally:
        _writable(folder)
    assert code == 0, err
    assert f"6 replications read from {store}" in out


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda t: (t / "f").write_text("x") and t / "f" / "s.sqlite", "is a file, not a directory"),
        (lambda t: t, "is a directory"),
        (lambda t: (t / "j").write_bytes(b"junk" * 300) and t / "j", "not an SQLite database"),
    ],
    ids=["parent-is-a-file", "directory", "not-a-database"],
)
def test_store_path_problems_are_clear(tmp_path, make, fragment):
    with pytest.raises(StoreError, match=fragment):
        ResultStore(make(tmp_path))


# --------------------------------------------------------------------------------------------
# 6. the Python API checks its arguments
# --------------------------------------------------------------------------------------------


def test_simulate_accepts_a_path_a_dict_or_a_scenario():
    sc = rs.load_scenario(MMC_SCENARIO)
    raw = sc.model_dump(mode="json", by_alias=True)
    runs = [rs.simulate(x, "fifo", seed=4).kpis for x in (sc, MMC_SCENARIO, str(MMC_SCENARIO), raw)]
    for kpis in runs[1:]:
        assert kpis == pytest.approx(runs[0], nan_ok=True, rel=0, abs=0)
    with pytest.raises(rs.ScenarioError, match="horizon_days"):
        rs.simulate({**raw, "horizon_days": True}, "fifo")
    with pytest.raises(TypeError, match="scenario must be a Scenario, a path"):
        rs.simulate(5, "fifo")  # type: ignore[arg-type]


def test_seed_none_is_fresh_entropy_recorded_in_the_result():
    sc = rs.load_scenario(MMC_SCENARIO, MMC_SHORT)
    a, b = rs.simulate(sc, "fifo", seed=None), rs.simulate(sc, "fifo", seed=None)
    assert isinstance(a.seed, int) and a.seed != b.seed
    assert rs.simulate(sc, "fifo", seed=a.seed).kpis == pytest.approx(a.kpis, nan_ok=True, rel=0, abs=0)
    exp = rs.run_experiment(sc, ["fifo"], replications=2, seed=None, workers=1, progress=False)
    assert 0 <= exp.seed < 2**63 and (exp.runs["seed"] == exp.seed).all()
    again = rs.run_experiment(sc, ["fifo"], replications=2, seed=exp.seed, workers=1, progress=False)
    pd.testing.assert_frame_equal(again.runs, exp.runs, check_exact=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
        ({"seed": "abc"}, TypeError, "seed must be"),
        ({"seed": True}, TypeError, "seed must be"),
        ({"seed": 1.5}, TypeError, "seed must be"),
        ({"seed": (1, -2)}, ValueError, "seed must be"),
        ({"epoch_days": 0}, ValueError, "epoch_days must be"),
        ({"epoch_days": math.nan}, ValueError, "epoch_days must be"),
        ({"epoch_days": True}, ValueError, "epoch_days must be"),
        ({"trace": "yes"}, TypeError, "trace must be True or False"),
        ({"policy": 3}, TypeError, "policy must be the name"),
        ({"policy": "nope"}, KeyError, "no policy named 'nope'"),
    ],
)
def test_simulate_names_the_bad_argument(kwargs, error, fragment):
    args = {"policy": "fifo", **kwargs}
    with pytest.raises(error, match=fragment):
        rs.simulate(rs.load_scenario(MMC_SCENARIO, MMC_SHORT), **args)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"policies": 5}, TypeError, "policies must be a list of policy names"),
        ({"policies": ["fifo", 3]}, TypeError, "policies must be a list of policy names"),
        ({"seed": "abc"}, TypeError, "seed must be an integer"),
        ({"replications": 2.0}, ValueError, "replications must be a positive integer"),
        ({"max_replications": 0}, ValueError, "max_replications must be a positive integer"),
        ({"executor": "pool"}, TypeError, "executor must be a concurrent.futures.Executor"),
        ({"store": 5}, TypeError, "store must be a file path or a ResultStore"),
        ({"progress": "no"}, TypeError, "progress must be True or False"),
        ({"scheduler": 8786}, TypeError, "scheduler must be an address"),
    ],
)
def test_run_experiment_names_the_bad_argument(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        rs.run_experiment(rs.load_scenario(MMC_SCENARIO, MMC_SHORT), **{"progress": False, **kwargs})


def test_one_policy_name_is_one_policy():
    res = rs.run_experiment(rs.load_scenario(MMC_SCENARIO, MMC_SHORT), "deadline", replications=2, workers=1, progress=False)
    assert res.policies == ["deadline"]


def test_run_experiment_accepts_a_path_and_overrides_errors_name_them():
    res = rs.run_experiment(str(MMC_SCENARIO), ["fifo"], replications=1, workers=1, progress=False)
    assert res.runs["return_requests"].iloc[0] > 0
    with pytest.raises(TypeError, match="overrides must be a dict"):
        rs.load_scenario(MMC_SCENARIO, "horizon_days=2")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# issue 7 item 2: locations come from pydantic's structure, also for fields yet to come
# --------------------------------------------------------------------------------------------


def test_optional_distributions_and_plain_unions_locate_cleanly(monkeypatch):
    """A field another change may add (an optional distribution, a plain union of a number and
    a word) gets the same clean problems as the fields of today: the keys of the file, the
    member the input meant, one problem for a union the input fits no member of."""
    from typing import Literal

    from pydantic import ValidationError

    from returnsim.scenario import problems as module
    from returnsim.scenario.fields import Dist, Strict

    class Table(Strict):
        patience: Dist | None = None
        mode: float | Literal["auto"] = 1.0

    monkeypatch.setattr(module, "Scenario", Table)
    cases = {
        "patience.sd: got 2; unknown field; expected one of: mean, cv, dist": {
            "patience": {"dist": "lognormal", "mean": 1, "cv": 1, "sd": 2}
        },
        "patience.cv: required field is missing": {"patience": {"dist": "gamma", "mean": 1}},
        'patience.dist: got "gama"; unknown distribution family; did you mean \'gamma\'?': {
            "patience": {"dist": "gama", "mean": 1}
        },
        'mode: got "x"; expected a number or "auto"': {"mode": "x"},
    }
    for expected, raw in cases.items():
        with pytest.raises(ValidationError) as info:
            Table.model_validate(raw)
        found = [str(p) for p in module.problems_from_validation(info.value, raw)]
        assert len(found) == 1 and found[0].startswith(expected), (expected, found)


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").rglob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_survives_its_json_form(path):
    """Scenarios travel to worker processes and design points as JSON, where dates (start_date,
    desk holidays) are text: strict validation must still read them back to the same scenario."""
    try:
        sc = rs.load_scenario(path)
    except rs.ScenarioError:
        pytest.fail(f"{path} does not validate")
    again = rs.Scenario.model_validate(sc.model_dump(mode="json", by_alias=True))
    assert again == sc


def test_deep_data_under_a_dotted_key_is_named_as_in_the_file():
    # An [uncertainty] key is a dotted path in quotes; deep data under it must be named with
    # the quotes, or the path points at a field that does not exist (found by the fuzz test).
    deep: list = []
    node = deep
    for _ in range(100):
        node.append([])
        node = node[0]
    raw = minimal_raw()
    raw["uncertainty"] = {"desk.wage_per_hour": {"low": 15, "high": 25, "label": deep}}
    (problem,) = problems(raw=raw)
    assert problem.path.startswith('uncertainty."desk.wage_per_hour".label[0][0]'), problem.path


@pytest.mark.parametrize("key", ['"\\u001b[2J"', '"a[1].b"', '"x[]"'])
def test_keys_with_brackets_are_named_not_parsed(tmp_path, key):
    # Where each value came from is recorded by key; a key that looks like part of a path
    # (an escape sequence "ESC[2J", brackets, dots) used to be parsed back and crash.
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL_TOML + f"\n[markets.domestic.{key}]\nx = 1\n", encoding="utf-8")
    with pytest.raises(rs.ScenarioError) as err:
        rs.load_scenario(path)
    (problem,) = err.value.problems
    assert problem.path.startswith("markets.domestic.") and "unknown field" in str(problem), str(problem)


def test_text_for_figures_keeps_its_line_breaks_and_nothing_else():
    # A two-line title must stay two lines (it showed a literal "\n"), while dollars and
    # control characters from user strings still cannot reach matplotlib's parser.
    assert for_matplotlib("net $1\nsecond line") == "net \\$1\nsecond line"
    assert for_matplotlib("a\x1b[2Jb") == printable("a\x1b[2Jb")
