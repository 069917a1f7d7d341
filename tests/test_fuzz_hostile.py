"""An independent fuzz of scenarios and Amazon report files, as an attacker and a careless user
would try them (issue 22, item 8); not built on ``test_fuzz.py``'s mutations.

Scenario generators (each case a file on disk, loaded as ``returnsim validate`` loads it):

* ``unit``: a number field written in another unit or scale (x 100, x 1000, / 24, x 24, 0,
  ``-0.0``, 1e-9, 1e9), the slips a user makes;
* ``hours``: desk opening hours a few seconds to a few hours long, on one day or several;
* ``extends``: ``extends`` at absolute paths, ``../`` chains, ``/proc/self/environ``, loops,
  symlinks out of the folder, a directory, the file itself;
* ``text``: the TOML text cut at a random byte, a byte flipped, a key doubled, NUL bytes, a
  line of 300,000 list entries, a table header broken.

Report generators (``calibrate``): random bytes, a shipped report cut at a random byte or with
a column dropped, its header only, UTF-16, an SQLite file, a line 1 MB long, numbers replaced by
``nan``/``-1``/``1e308``, dates far in the future, tabs in fields.

Each case ends in one class: ``refused`` (a ``ScenarioError`` / ``CalibrationError`` /
``ValueError`` with a message), ``ran`` (finite money, every rate in 0-1 or not defined,
utilisation at most 1; nothing read outside the folder), ``calibrated``; anything else is
``internal`` (another exception), ``bad_output`` or ``hang`` (60 s watchdog, not a speed claim).

``make fuzz`` runs ``python tests/test_fuzz_hostile.py 3000 300`` and prints the counts by
class; ``make test`` runs a fixed sample of it (:func:`test_fixed_sample`).
"""

from __future__ import annotations

import math
import os
import random
import signal
import sqlite3
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import SEED_SCENARIO  # noqa: E402

import returnsim as rs  # noqa: E402
from returnsim.calibrate import CalibrationError  # noqa: E402
from returnsim.model import budget  # noqa: E402
from returnsim.model.budget import RunTooLarge  # noqa: E402

SECRET = "FUZZ_SECRET_7d1c"
REPORTS = rs.shipped("examples/amazon_reports/synthetic_fba_returns.txt").parent
MONEY = ("net_return_cost", "net_return_cost_per_order", "policy_profit_per_order", "net_freight_cost", "retained_margin")
BOUNDED = ("desk_utilization", "desk_wait_probability", "rdr", "odr", "rdr_window_max", "odr_window_max")


def _base_text() -> str:
    """The seed scenario, short enough for a case to run in a fraction of a second."""
    text = SEED_SCENARIO.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    assert raw["horizon_days"] and raw["demand"]["orders_per_day"]
    return text.replace(f"horizon_days = {raw['horizon_days']}", "horizon_days = 21", 1).replace(
        f"orders_per_day = {raw['demand']['orders_per_day']}", "orders_per_day = 40", 1
    )


BASE = _base_text()
rs.parse_scenario(tomllib.loads(BASE))


def _number_lines(text: str) -> list[int]:
    """Indexes of lines ``key = <number>`` (outside inline tables)."""
    out = []
    for i, line in enumerate(text.splitlines()):
        head, eq, value = line.partition("=")
        value = value.split("#")[0].strip()
        if eq and head.strip() and not head.strip().startswith(("#", "[")):
            try:
                float(value)
            except ValueError:
                continue
            out.append(i)
    return out


NUMBER_LINES = _number_lines(BASE)


# --------------------------------------------------------------------------------------------
# scenario generators: (kind, files {name: bytes}, how) -> the case loads "case.toml"
# --------------------------------------------------------------------------------------------


def _unit(rng: random.Random) -> bytes:
    lines = BASE.splitlines()
    i = rng.choice(NUMBER_LINES)
    head, _, rest = lines[i].partition("=")
    value = float(rest.split("#")[0])
    new = rng.choice([value * 100, value * 1000, value / 24, value * 24, 0, "-0.0", 1e-9, 1e9, -value, value + 0.5])
    lines[i] = f"{head}= {new}"
    return "\n".join(lines).encode()


def _hours(rng: random.Random) -> bytes:
    days = rng.sample(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], rng.randint(1, 3))
    spells = []
    for d in days:
        start = rng.choice([0, 9, 9.5, 23, 23.99, rng.uniform(0, 23)])
        length = rng.choice([1e-5, 0.001, 0.01, 0.1, 1, 24 - start])
        spells.append(f"{d} = [{start:.6g}, {min(24.0, start + length):.8g}]")
    text = BASE
    start = text.index("[desk.hours]")
    end = text.index("\n[", start + 1)
    return (text[:start] + "[desk.hours]\n" + "\n".join(spells) + "\n" + text[end:]).encode()


def _extends(rng: random.Random, folder: Path) -> bytes:
    outside = folder.parent / "outside" / "secret.toml"
    outside.parent.mkdir(exist_ok=True)
    outside.write_text(f'name = "{SECRET}"\n{SECRET} = 1\n', encoding="utf-8")
    link = folder / "link.toml"
    if not link.exists():
        link.symlink_to(outside)
    depth = len(folder.resolve().parts)
    target = rng.choice([
        str(outside), "../outside/secret.toml", "../" * depth + "etc/passwd", "/proc/self/environ",
        "link.toml", "case.toml", ".", "/", "../" * (depth + 5) + "proc/self/environ", "/dev/zero",
    ])
    return f'extends = "{target}"\nname = "x"\n'.encode()


def _text(rng: random.Random) -> bytes:
    data = bytearray(BASE.encode())
    how = rng.randrange(6)
    if how == 0:
        return bytes(data[: rng.randrange(len(data))])
    if how == 1:
        i = rng.randrange(len(data))
        data[i] = rng.randrange(256)
        return bytes(data)
    if how == 2:
        i = rng.choice(NUMBER_LINES)
        lines = BASE.splitlines()
        lines.insert(i + 1, lines[i])
        return "\n".join(lines).encode()
    if how == 3:
        i = rng.randrange(len(data))
        return bytes(data[:i] + b"\x00" * rng.randint(1, 8) + data[i:])
    if how == 4:
        return b"junk = [" + b",".join([b"1"] * 300_000) + b"]\n" + bytes(data)
    start = BASE.index("[desk]")
    return bytes(data[:start]) + b"[desk\n" + bytes(data[start + 6 :])


def scenario_case(i: int, folder: Path) -> tuple[str, bytes]:
    rng = random.Random(i)
    kind = ("unit", "hours", "extends", "text")[i % 4]
    data = {"unit": _unit, "hours": _hours, "text": _text}[kind](rng) if kind != "extends" else _extends(rng, folder)
    return kind, data


def _alarm(signum: int, frame: Any) -> None:  # pragma: no cover - only on a hang
    raise TimeoutError("hang")


def run_scenario(data: bytes, folder: Path) -> str:
    """The class of one scenario case (see the module's docstring)."""
    path = folder / "case.toml"
    path.write_bytes(data)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        try:
            sc = rs.load_scenario(path)
        except rs.ScenarioError as err:
            return "bad_output" if SECRET in str(err) or "root:" in str(err) else "refused"
        try:
            with mock.patch.object(budget, "available_memory", lambda: 3e8):
                run = rs.simulate(sc, next(iter(sc.policies)), seed=1)
        except RunTooLarge:
            return "refused"
    except TimeoutError:
        return "hang"
    except Exception:  # noqa: BLE001 - an internal error is what the fuzz counts
        return "internal"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return "ran" if _kpis_ok(run) else "bad_output"


def _kpis_ok(run: Any) -> bool:
    k = run.kpis
    if not all(math.isfinite(v) for v in run.ledger.values()):
        return False
    if k["demand_orders"] > 0 and not all(math.isfinite(k[m]) for m in MONEY):
        return False
    if k["return_requests"] > 0 and not math.isfinite(k["net_return_cost_per_return"]):
        return False
    rates = [n for n in k if n.endswith(("_rate", "_probability")) and n != "return_rate"] + list(BOUNDED)
    return all(math.isnan(k[n]) or 0.0 <= k[n] <= 1.0 + 1e-12 for n in rates)


# --------------------------------------------------------------------------------------------
# report generators
# --------------------------------------------------------------------------------------------

SHIPPED_REPORTS = {
    "fba_returns": (REPORTS / "synthetic_fba_returns.txt").read_bytes(),
    "mfn_returns": (REPORTS / "synthetic_mfn_returns.txt").read_bytes(),
    "orders": (REPORTS / "synthetic_orders.txt").read_bytes(),
}


def report_case(i: int, folder: Path) -> tuple[str, str, Path]:
    rng = random.Random(10_000 + i)
    arg = ("fba_returns", "mfn_returns", "orders")[i % 3]
    good = SHIPPED_REPORTS[arg]
    lines = good.split(b"\n")
    how = ("random", "cut", "drop_column", "header_only", "utf16", "sqlite", "long_line", "numbers", "dates", "tabs")[
        (i // 3) % 10
    ]
    path = folder / f"report_{i}.txt"
    if how == "random":
        path.write_bytes(rng.randbytes(rng.randint(0, 5000)))
    elif how == "cut":
        path.write_bytes(good[: rng.randrange(len(good))])
    elif how == "drop_column":
        col = rng.randrange(len(lines[0].split(b"\t")))
        path.write_bytes(b"\n".join(b"\t".join(c for j, c in enumerate(ln.split(b"\t")) if j != col) for ln in lines))
    elif how == "header_only":
        path.write_bytes(lines[0] + b"\n")
    elif how == "utf16":
        path.write_bytes(good.decode("utf-8").encode("utf-16"))
    elif how == "sqlite":
        with sqlite3.connect(path) as con:
            con.execute("create table runs(a)")
    elif how == "long_line":
        path.write_bytes(lines[0] + b"\n" + b"x" * 1_000_000 + b"\n" + b"\n".join(lines[1:50]))
    else:
        out = [lines[0]]
        for ln in lines[1:200]:
            cells = ln.split(b"\t")
            j = rng.randrange(len(cells))
            if how == "numbers":
                cells[j] = rng.choice([b"nan", b"-1", b"1e308", b"inf", b"", b"0x10"])
            elif how == "dates":
                cells[j] = rng.choice([b"9999-12-31T00:00:00+00:00", b"1900-01-01", b"2024-02-30", b"yesterday"])
            else:
                cells[j] = cells[j] + b'"\t"' + cells[j]
            out.append(b"\t".join(cells))
        path.write_bytes(b"\n".join(out))
    return arg, how, path


def run_report(arg: str, path: Path) -> str:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        rs.calibrate(**{arg: str(path)})
    except TimeoutError:
        return "hang"
    except (CalibrationError, ValueError):
        return "refused"
    except Exception:  # noqa: BLE001
        return "internal"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return "calibrated"


# --------------------------------------------------------------------------------------------
# runs
# --------------------------------------------------------------------------------------------


def fuzz(n_scenarios: int, n_reports: int, folder: Path, first: int = 0) -> tuple[Counter[str], list[str]]:
    """Run the cases; counts by ``kind/class`` and the failing cases (for the message)."""
    counts: Counter[str] = Counter()
    failures: list[str] = []
    cases = folder / "cases"
    cases.mkdir(parents=True, exist_ok=True)
    for i in range(first, first + n_scenarios):
        kind, data = scenario_case(i, cases)
        cls = run_scenario(data, cases)
        counts[f"scenario {kind}: {cls}"] += 1
        if cls in ("internal", "bad_output", "hang"):
            failures.append(f"scenario case {i} ({kind}): {cls}")
    for i in range(first, first + n_reports):
        arg, how, path = report_case(i, folder)
        cls = run_report(arg, path)
        counts[f"report {how}: {cls}"] += 1
        if cls in ("internal", "bad_output", "hang"):
            failures.append(f"report case {i} ({arg}, {how}): {cls}")
        path.unlink()
    return counts, failures


def test_fixed_sample(tmp_path: Path, monkeypatch: Any) -> None:
    """A fixed sample of the fuzz in ``make test``: no internal error, bad output or hang."""
    monkeypatch.setenv("SECRET_TOKEN", SECRET)
    counts, failures = fuzz(48, 30, tmp_path)
    assert not failures, failures
    assert sum(v for k, v in counts.items() if k.endswith(": ran")) > 0, counts  # some cases run
    assert sum(v for k, v in counts.items() if k.endswith(": refused")) > 0, counts


@pytest.mark.parametrize("case", [397, 1473])
def test_a_desk_open_for_seconds_a_week_runs_with_utilisation_at_most_one(tmp_path: Path, case: int) -> None:
    """Cases ``make fuzz`` found: a desk open 0.04 s (case 397) or 0.036 s (1473) a week does
    nearly all its work as overtime, and its utilisation came out 1 + 1e-12 (busy and available
    hours are sums of different terms); it is 1."""
    kind, data = scenario_case(case, tmp_path)
    assert kind == "hours"
    assert run_scenario(data, tmp_path) == "ran"


if __name__ == "__main__":  # pragma: no cover - make fuzz
    import tempfile
    import time

    n_s = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    n_r = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    os.environ["SECRET_TOKEN"] = SECRET
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        counts, failures = fuzz(n_s, n_r, Path(tmp))
    for key in sorted(counts):
        print(f"{counts[key]:6d}  {key}")
    bad = Counter(k.rsplit(": ", 1)[1] for k in counts for _ in range(counts[k]))
    print(
        f"{n_s} scenario cases, {n_r} report files in {time.perf_counter() - started:.0f} s: "
        f"{bad['internal']} internal errors, {bad['bad_output']} bad outputs, {bad['hang']} hangs"
    )
    for f in failures[:50]:
        print("FAIL", f)
    sys.exit(1 if failures else 0)
