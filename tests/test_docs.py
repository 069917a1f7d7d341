"""The README's Python example runs as a script, and every KPI, ledger category and trace
column is documented in docs/kpis.md (issue 12, items 7 and 10)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED_SCENARIO

import returnsim as rs

README = (ROOT / "README.md").read_text(encoding="utf-8")
KPIS_DOC = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")

# Run the README's script as pasted, but small: these lines run first (in the main process and
# in every spawned worker, which import the script too), shorten the simulated year, cap the
# replications and make the engine use its process pool even for so small a job, as it does for
# the full-size one. Nothing else of the script changes.
SMALL = '''
import returnsim as _rs
import returnsim.experiment.executors as _ex
_ex.MIN_POOL_SECONDS = 0.0
_load, _run = _rs.load_scenario, _rs.run_experiment
_rs.load_scenario = lambda path, overrides=None: _load(path, {**(overrides or {}), "horizon_days": 15})
def _small(sc, *args, **kw):
    kw.update(replications=3, max_replications=4, workers=2)
    return _run(sc, *args, **kw)
_rs.run_experiment = _small
'''


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_script_runs_when_pasted(tmp_path: Path):
    (script,) = [b for b in _python_blocks(README) if "run_experiment" in b]
    assert 'if __name__ == "__main__":' in script and "spawn" in script  # and says why
    (tmp_path / "scenarios").symlink_to(SEED_SCENARIO.parent, target_is_directory=True)
    path = tmp_path / "example.py"
    path.write_text(SMALL + script, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith(("max_replications", "target_reached")), proc.stdout[-500:]
    # ... and the guard is needed, as the README says: without it the spawned workers, which
    # import the script, start the experiment again and the pool breaks.
    unguarded = script.replace('if __name__ == "__main__":\n    main()', "main()")
    path.write_text(SMALL + unguarded, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode != 0 and "bootstrapping phase" in proc.stderr, proc.stderr[-2000:]


def test_readme_links_the_docs():
    for page in ("docs/kpis.md", "docs/model.md", "docs/sources.md"):
        assert f"]({page})" in README, page


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(list(rs.KPI_NAMES), id="kpis"),
        pytest.param(list(rs.CATEGORIES), id="ledger"),
    ],
)
def test_every_name_is_documented(names):
    missing = [n for n in names if f"`{n}`" not in KPIS_DOC]
    assert not missing, f"add to docs/kpis.md: {missing}"


def test_every_trace_column_is_documented():
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 3})
    columns = rs.simulate(sc, "seed", seed=0, trace=True).trace.columns
    missing = [c for c in columns if f"`{c}`" not in KPIS_DOC and c not in rs.CATEGORIES]
    assert not missing, f"add to docs/kpis.md: {missing}"
