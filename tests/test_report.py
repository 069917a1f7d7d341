"""The HTML report: standalone, leads with the answer, carries the evidence."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.output.report import render_report


@pytest.fixture(scope="module")
def small():
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 30})
    res = rs.run_experiment(sc, ["seed", "free_returns", "cost_optimal"], replications=3, seed=1, progress=False)
    return sc, res


def test_report_is_standalone_and_complete(small):
    sc, res = small
    text = render_report(res, sc, baseline="seed", command="returnsim report x -o y")
    # No external resources: every image is embedded, nothing is fetched.
    assert not re.search(r"""(src|href)=["']?https?:""", text)
    images = re.findall(r"""src=["']data:image/png;base64,[A-Za-z0-9+/=]+["']""", text)
    assert len(images) >= 3
    # The answer first: the best policy by net value, with its interval.
    best = res.summary().query("metric == 'net_value_per_order'").set_index("policy")["mean"].idxmax()
    verdict = text[text.index("class=\"verdict\""): text.index("</div>")]
    assert best in verdict and "95 % CI" in verdict
    for policy in res.policies:
        assert policy in text
    assert "returnsim report x -o y" in text
    assert text.count("<table>") >= 2


def test_cli_report_writes_the_file(tmp_path):
    out = tmp_path / "r.html"
    proc = subprocess.run(
        [sys.executable, "-m", "returnsim", "report", str(SEED_SCENARIO), "--set", "horizon_days=20",
         "--replications", "2", "--policy", "seed", "--policy", "giveaway_small", "-o", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000
    assert "<h1>" in out.read_text(encoding="utf-8")


def test_cli_report_needs_two_policies(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "returnsim", "report", str(SEED_SCENARIO), "--policy", "seed", "-o", str(tmp_path / "r.html")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and "at least two" in proc.stderr and "Traceback" not in proc.stderr
