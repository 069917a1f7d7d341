"""How long each ``returnsim`` command takes to say anything (issue 23: within a second).

    .venv/bin/python benchmarks/bench_startup.py                    # this checkout
    .venv/bin/python benchmarks/bench_startup.py --against DIR      # and a copy of another
                                                                    # version's returnsim/ (its parent)

Each command starts as a fresh process (``python -m returnsim ...``) and the time to its first
byte on stdout or stderr is measured (median of 3). With ``--against`` the same commands run with
``PYTHONPATH=DIR`` and the before/after ratio is printed. Not a test: speed depends on the machine.
"""

from __future__ import annotations

import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "scenarios" / "seed_policies.toml")
OUT = tempfile.mkdtemp()
COMMANDS = {
    "--help": ["--help"],
    "validate": ["validate", SEED],
    "run": ["run", SEED, "--replications", "2", "--workers", "1", "--set", "horizon_days=5", "--progress"],
    "compare": ["compare", SEED, "--baseline", "seed", "--replications", "2", "--workers", "1",
                "--set", "horizon_days=5", "--progress"],
    "schema": ["schema"],
    "init": ["init", os.path.join(OUT, "s.toml"), "--force"],
}


def first_output(argv: list[str], pythonpath: str | None) -> float:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "returnsim", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=OUT)
    sel = selectors.DefaultSelector()
    assert proc.stdout and proc.stderr
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    sel.select(timeout=120)
    took = time.perf_counter() - started
    proc.communicate()
    return took


def main(argv: list[str]) -> int:
    against = argv[argv.index("--against") + 1] if "--against" in argv else None
    print(f"{'command':10} {'first output':>13}" + (f" {'before':>8} {'ratio':>6}" if against else ""))
    for name, args in COMMANDS.items():
        now = statistics.median(first_output(args, None) for _ in range(3))
        line = f"{name:10} {now:12.2f}s"
        if against:
            then = statistics.median(first_output(args, against) for _ in range(3))
            line += f" {then:7.2f}s {then / now:5.1f}x"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
