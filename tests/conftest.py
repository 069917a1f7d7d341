"""Shared fixtures: paths and a small, hand-checkable scenario as a raw dict."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SEED_SCENARIO = SCENARIOS / "seed_policies.toml"
MMC_SCENARIO = SCENARIOS / "validation" / "mmc_desk.toml"

AMPLE = {
    "desk.hours": "24/7",
    "desk.staff": 40,
    "retention.feedback_into_demand": False,
    "amazon.marketplace": "none",  # the closed form and the oracle integrate the rule-free workflow
    "policies.auto_authorise.auto_authorise": True,  # and opting in to authorise at once there
}
"""Seed overrides for a desk that is never congested: what ``returnsim.analytic`` and the cost
oracle (tests/oracles/cost.py) integrate exactly."""

_MINIMAL: dict[str, Any] = {
    "name": "minimal",
    "horizon_days": 30,
    "demand": {"orders_per_day": 20},
    "markets": {
        "domestic": {
            "share": 1.0,
            "return_label": {"base": 8.0, "per_lb": 1.0},
            "outbound_label": {"base": 5.0, "per_lb": 0.5},
            "transit_days": 4,
        },
        "international": {
            "share": 0.0,
            "return_label": {"base": 30.0, "per_lb": 5.0},
            "outbound_label": {"base": 20.0, "per_lb": 4.0},
            "transit_days": 10,
        },
    },
    "catalog": {
        "widget": {
            "share": 1.0,
            "price": 40,
            "unit_cost_share": 0.5,
            "weight_lb": 2.0,
            "return_rate": 0.5,
            "reasons": {"defective": 0.5, "no_longer_needed": 0.5},
        }
    },
    "reasons": {
        "defective": {"fault": "seller", "condition": {"opened": 1.0}},
        "damaged_in_transit": {"fault": "carrier", "condition": {"damaged": 1.0}},
        "no_longer_needed": {"fault": "buyer", "condition": {"unopened": 1.0}},
    },
    "returns": {"misreport_rate": 0.0, "misreport_as": "defective"},
    "desk": {"staff": 2, "hours": "24/7", "handling_minutes": 10},
    "retention": {"feedback_into_demand": False},
    "policies": {"base": {}},
}


def minimal_raw(**updates: Any) -> dict[str, Any]:
    """A deep copy of a small valid scenario; ``updates`` replace top-level tables."""
    raw = copy.deepcopy(_MINIMAL)
    raw.update(copy.deepcopy(updates))
    return raw


def put(raw: dict[str, Any], **dotted: Any) -> dict[str, Any]:
    """Set values at dotted paths of a raw scenario (``put(raw, **{"desk.staff": 3})``), creating
    tables on the way; returns ``raw``."""
    for key, value in dotted.items():
        node = raw
        *head, last = key.split(".")
        for h in head:
            node = node.setdefault(h, {})
        node[last] = value
    return raw


@pytest.fixture
def minimal() -> dict[str, Any]:
    return minimal_raw()


# No test skips itself into passing (a missing test dependency, a skipif): a skip is a failure
# that names what was skipped and why, so `make test` cannot go green on a machine that lacks a
# dependency of the dev extras.


def _no_skips(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"{report.nodeid} was skipped ({reason}); tests must not skip: install the dev extras (make test)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:  # noqa: ARG001
    outcome = yield
    _no_skips(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:  # noqa: ARG001
    outcome = yield
    _no_skips(outcome.get_result())


@pytest.fixture(autouse=True)
def _terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees the terminal a plain `pytest` run gives it: no COLUMNS or LINES in the
    environment, so the width comes from the terminal or, without one, each caller's fallback.
    pytest-xdist's workers have COLUMNS=80, which made the CLI's tables drop the paired-difference
    columns two tests check (tests that want a width set COLUMNS themselves)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


def _main(argv: tuple[str, ...]) -> int:
    """``returnsim ARGV``'s exit code, run in this process."""
    from returnsim.cli import main

    try:
        return main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        return int(exc.code or 0)


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``returnsim ARGV`` run in this process (in-process: a
    subprocess would add an interpreter start and nothing a test looks at)."""
    code = _main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def cli(*argv: str, cwd: Path | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``returnsim ARGV`` run in this process, as the ``CompletedProcess`` a subprocess would give:
    for fixtures wider than a test (no ``capsys``) and tests written against ``subprocess.run``.
    Only Python-level output is captured (the CLI prints through ``sys.stdout``/``sys.stderr``);
    ``cwd`` is the working directory during the call and ``stdin`` what it reads from standard
    input."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        stack.enter_context(_stdin(stdin))
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        code = _main(argv)
    return subprocess.CompletedProcess(["returnsim", *argv], code, out.getvalue(), err.getvalue())


def modules_not_hashed(run: str, prefixes: tuple[str, ...], patterns: str) -> tuple[int, list[str]]:
    """In a fresh interpreter, run the code ``run``, then list the returnsim modules it loaded
    whose names start with one of ``prefixes`` and that ``fingerprint.package_files`` of the
    globs ``patterns`` (an expression, imported by ``run``) leaves out: (how many modules were
    checked, the files of those left out). For the identities of a results store's rows, which
    must hash every module that decides them."""
    code = (
        "import json, sys\n"
        "from returnsim.experiment.fingerprint import package_files\n"
        f"{run}\n"
        f"ran = [m.__file__ for n, m in list(sys.modules.items()) if n.startswith({prefixes!r}) and getattr(m, '__file__', None)]\n"
        f"hashed = {{str(p) for p in package_files({patterns})}}\n"
        "print(json.dumps([len(ran), sorted(f for f in ran if f not in hashed)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    checked, missing = json.loads(out.stdout)
    return checked, missing
