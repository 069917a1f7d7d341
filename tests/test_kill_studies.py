"""Issue 22, item 5: every study command's pool workers end with it after ``kill -9``, as the
run command's do (tests/test_cli_experiment.py); they share one scheduler and one pool.
How fast is measured by ``tools/kill_check.py`` (tests never assert wall time)."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from kill_check import COMMANDS  # noqa: E402


@pytest.mark.parametrize("command", ["select", "sweep", "psa", "optimize"])
def test_study_workers_end_when_the_command_is_killed(command: str):
    proc = subprocess.Popen(
        [sys.executable, "-m", "returnsim", *COMMANDS[command]], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(proc.pid)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                children = parent.children(recursive=True)
            except psutil.Error:
                break
            if len([c for c in children if "resource_tracker" not in " ".join(c.cmdline())]) >= 2:
                break
            time.sleep(0.1)
        assert len(children) >= 2, f"{command}: the pool never started"
        proc.kill()
        proc.wait()
        _, alive = psutil.wait_procs(children, timeout=60)  # a hang guard, not a speed claim
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in children:
            if p.is_running():
                p.kill()
