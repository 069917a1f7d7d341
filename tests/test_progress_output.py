"""Progress bars appear where a person watches, never in a log (issue 23).

Each case runs the Python API in a fresh interpreter whose stderr is a file (a log, a pipe, CI)
or a pseudo-terminal, and reads what was written there: a tqdm bar redraws itself with carriage
returns, so a ``\\r`` in a log is a bar drawn into it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, minimal_raw

import returnsim as rs

# Runs the study named by argv[2] on the scenario of argv[1] with the progress= of argv[3]
# ("default" leaves the argument out), then says on stdout that it finished and whether tqdm
# was imported.
_SCRIPT = r"""
import json, sys
import returnsim as rs

raw = json.load(open(sys.argv[1]))
kind, choice = sys.argv[2], sys.argv[3]
kw = {} if choice == "default" else {"progress": {"True": True, "False": False}[choice]}
if kind == "experiment":
    rs.run_experiment(raw, replications=3, seed=1, workers=1, **kw)
else:
    rs.sweep(raw, "grid", 2, vary=["desk.staff=1:2:2"], replications=2, workers=1, **kw)
print("finished", "tqdm" in sys.modules)
"""


def _scenario(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(minimal_raw(horizon_days=20)))
    return path


def _run(tmp_path: Path, kind: str, choice: str, stderr: int) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TQDM_DISABLE", None)  # tqdm's own override would decide instead of the API
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(_scenario(tmp_path)), kind, choice],
        stdout=subprocess.PIPE, stderr=stderr, env=env, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.startswith("finished"), proc.stdout
    return proc.stdout


def _stderr_to_file(tmp_path: Path, kind: str, choice: str) -> tuple[str, str]:
    log = tmp_path / "stderr.log"
    with log.open("w") as fh:
        out = _run(tmp_path, kind, choice, fh.fileno())
    return log.read_bytes().decode(), out  # read_text would turn "\r" into "\n"


def _stderr_to_terminal(tmp_path: Path, kind: str, choice: str) -> str:
    """What the run writes to stderr when stderr is a terminal (a pseudo-terminal)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, where tqdm draws an empty bar: give it a size.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("TQDM_DISABLE", None)
        proc = subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, str(_scenario(tmp_path)), kind, choice],
            stdout=subprocess.PIPE, stderr=slave, env=env,
        )
        os.close(slave)
        slave = -1
        while True:  # drain the terminal as the child writes, so it never blocks on it
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=300)
        assert proc.returncode == 0
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("kind", ["experiment", "sweep"])
def test_a_log_file_gets_no_progress_bar_by_default(tmp_path, kind):
    log, out = _stderr_to_file(tmp_path, kind, "default")
    assert "\r" not in log, f"a progress bar was drawn into the log: {log[:300]!r}"
    assert "it/s" not in log and "rep/s" not in log and "run/s" not in log, log[:300]


@pytest.mark.parametrize("kind", ["experiment", "sweep"])
def test_a_terminal_gets_the_bar_by_default(tmp_path, kind):
    # The default is "where a person watches", not "never": the same call on a terminal draws.
    shown = _stderr_to_terminal(tmp_path, kind, "default")
    unit = "rep" if kind == "experiment" else "run"
    assert "\r" in shown and unit in shown, shown[:300]


def test_progress_true_forces_a_bar_even_into_a_file(tmp_path):
    # Also proves the log test can see a bar: the forced one is caught by the same check.
    log, _ = _stderr_to_file(tmp_path, "experiment", "True")
    assert "\r" in log and "replications" in log, log[:300]


@pytest.mark.parametrize("kind", ["experiment", "sweep"])
def test_progress_false_is_silent_and_does_not_import_tqdm(tmp_path, kind):
    shown = _stderr_to_terminal(tmp_path, kind, "False")
    assert "\r" not in shown, shown[:300]
    out = _run(tmp_path, kind, "False", subprocess.DEVNULL)
    assert out.split() == ["finished", "False"], out


def test_a_notebook_bar_ignores_the_terminal_test():
    # In a notebook stderr is never a terminal, yet someone watches: tqdm's notebook bar (what
    # tqdm.auto picks there; ipywidgets is a dev and lab dependency) turns disable=None into
    # "shown", which is why the API hands the choice to tqdm.auto rather than testing isatty.
    from tqdm.notebook import tqdm_notebook
    from tqdm.std import tqdm as terminal_bar

    class NotATerminal:
        def isatty(self) -> bool:
            return False

        def write(self, s: str) -> int:
            return len(s)

        def flush(self) -> None:
            pass

    assert terminal_bar(total=1, disable=None, file=NotATerminal()).disable
    bar = tqdm_notebook(total=1, disable=None, file=NotATerminal(), display=False)
    assert not bar.disable
    bar.close()


@pytest.mark.parametrize("bad", ["yes", 1, 0.5])
def test_progress_of_the_wrong_kind_is_named(bad, minimal):
    with pytest.raises(TypeError, match=r"progress must be True or False \(or None.*got"):
        rs.run_experiment(minimal, replications=2, progress=bad, workers=1)
