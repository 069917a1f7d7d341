"""How long a study command's workers outlive it after ``kill -9`` (issue 22, item 5).

Starts each command with ``--workers 2`` on the seed scenario, waits until its pool workers are
busy, kills the command with SIGKILL and counts its descendants still alive 1 s later (and how
long the last one lived). ``python tools/kill_check.py [COMMAND ...]``; prints one line each.
A measurement, not a test: tests never assert wall time.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "scenarios" / "seed_policies.toml")
SET = ["--set", "horizon_days=120", "--workers", "2", "--no-progress"]
COMMANDS = {
    "run": ["run", SEED, "--replications", "400", *SET],
    "select": ["select", SEED, "--indifference", "0.0001", "--max-replications", "400", *SET],
    "sweep": ["sweep", SEED, "--points", "60", "--replications", "5", *SET],
    "psa": ["psa", SEED, "--draws", "60", "--replications", "3", *SET],
    "optimize": ["optimize", SEED, "--policy", "seed", "--lever", "desk.staff=1:6", "--replications", "40", *SET],
}


def check(name: str) -> str:
    script = Path(sys.executable).with_name("returnsim")  # the console script users type
    cmd = [str(script) if "--script" in sys.argv else sys.executable, *([] if "--script" in sys.argv else ["-m", "returnsim"]), *COMMANDS[name]]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            children = parent.children(recursive=True)
            workers = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
            if len(workers) >= 2 and all(c.cpu_times().user > 0.5 for c in workers):
                break
        except psutil.Error:
            pass
        time.sleep(0.1)
    if proc.poll() is not None or len(children) < 2:
        return f"{name:9s} the pool never started (exit {proc.poll()})"
    killed = time.monotonic()
    proc.kill()
    proc.wait()
    time.sleep(max(0.0, killed + 1.0 - time.monotonic()))
    alive_1s = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    _, alive = psutil.wait_procs(children, timeout=30)
    last = time.monotonic() - killed
    for c in alive:
        c.kill()
    return f"{name:9s} {len(children)} descendants; alive 1 s after kill -9: {len(alive_1s)}; all gone after {last:.1f} s"


if __name__ == "__main__":
    for name in [a for a in sys.argv[1:] if a != "--script"] or list(COMMANDS):
        print(check(name), flush=True)
