"""Speed and peak memory of replaying a 1 M-order year against a generated run of the same size.

The seed scenario scaled to about 1 M orders a year (``demand.orders_per_day`` and the desk's
staff times ``--factor``, 18 by default) makes a synthetic year of Amazon reports once
(``returnsim.calibrate.synthetic_reports``, written to ``--dir``, /tmp by default). Then, each
in a fresh child process so each peak is its own:

* **generated**: one replication of the scaled scenario (``rs.simulate``), its orders and
  requests drawn by the model;
* **replay, simulation**: one replication of the same policy on the reports' own orders and
  requests (``rs.simulate(source=...)``), the arrays read from an ``.npz`` the next child wrote;
* **replay, end to end**: reading the three reports (``returnsim.replay.read_inputs``, streamed
  a block of lines at a time) and the replication, in one process;
* **orders pass**: the All Orders report's pass alone (``scan_orders``: orders per day, the
  returned lines kept, and the file's SHA-256 where the pass hashes it as it reads: the
  line says which), after the returns reports gave the returned orders;
* **before**: the reading, the replay end to end and the orders pass, by the code of ``--before`` (a git ref,
  ``main`` by default, exported with ``git archive``; ``--before ''`` skips it), for the
  before/after;
* **paired rounds** (``--rounds N``): N rounds of a generated run and the replay end to end
  one right after the other (and ``--before``'s end to end), each round's ratio and the
  medians. On a shared machine whose speed comes and goes (a generated run's CPU seconds have
  varied by 40 % a minute apart), a ratio is only as good as its two runs are close in time:
  the rounds' median is the figure to quote.

The reading is done once per replay, whatever the number of policies and replications; a line
shares it among 1, 10 and 150 runs (5 policies x 30 replications). Peak memory is the child's
maximum resident set size (it includes the libraries imported, shown as "after import": a
replay imports the calibration's readers, and with them pandas and pyarrow, which a generated
run does not); CPU seconds are what to compare on a shared machine. The ratios are replay /
generated: a speed ratio of 0.5 means half the speed.

    python benchmarks/bench_replay.py [--factor 18] [--policy seed] [--seed 0] [--before main] [--rounds 0] [--dir /tmp/returnsim_bench_replay]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "seed_policies.toml"

SCALED = r"""
import json, os, resource, sys, time
if os.environ.get("RETURNSIM_BENCH_CODE"):  # another version's code: before an editable install's
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    sys.path.insert(0, os.environ["RETURNSIM_BENCH_CODE"])
import numpy as np
import returnsim as rs
path, policy, factor, seed, folder, what = sys.argv[1:7]
factor, seed = float(factor), int(seed)
base = rs.load_scenario(path)
sc = rs.load_scenario(path, {"demand.orders_per_day": base.demand.orders_per_day * factor,
                             "desk.staff": max(1, round(base.desk.staff * factor))})
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"import_mb": peak()}
"""

MAKE = SCALED + r"""
from returnsim.calibrate import synthetic_reports
synthetic_reports(sc, policy, seed=2026, months=12).write(folder)
print(json.dumps(out))
"""

GENERATED = SCALED + r"""
start, cpu = time.perf_counter(), time.process_time()
run = rs.simulate(sc, policy, seed=seed)
out.update(seconds=time.perf_counter() - start, cpu=time.process_time() - cpu, peak_mb=peak(),
           orders=run.kpis["orders"], requests=run.kpis["return_requests"])
print(json.dumps(out))
"""

READ = SCALED + r"""
import dataclasses
from returnsim.replay import read_inputs
out["import_mb"] = peak()
out["code"] = rs.__file__
f = folder + "/synthetic_"
start, cpu = time.perf_counter(), time.process_time()
inp = read_inputs(sc, orders=f + "orders.txt", fba_returns=f + "fba_returns.txt",
                  mfn_returns=f + "mfn_returns.txt", classes=f + "classes.csv")
out.update(read_seconds=time.perf_counter() - start, read_cpu=time.process_time() - cpu, read_peak_mb=peak(),
           requests=len(inp.demand))
"""

READING = READ + r"""
print(json.dumps(out))
"""

ORDERS = SCALED + r"""
from returnsim.calibrate.codes import CodeTable
from returnsim.calibrate.readers import read_fba_returns, read_mfn_returns
from returnsim.replay.orders import order_hashes, read_blocks, scan_orders
out["code"] = rs.__file__
f = folder + "/synthetic_"
returned = np.unique(np.concatenate([order_hashes(read_blocks(f + k + ".txt", r, keep=("order_id",)).data["order_id"])
                                     for k, r in (("fba_returns", read_fba_returns), ("mfn_returns", read_mfn_returns))]))
codes = CodeTable.load()
start, cpu = time.perf_counter(), time.process_time()
rep, counts = scan_orders(f + "orders.txt", returned, codes)
out.update(orders_seconds=time.perf_counter() - start, orders_cpu=time.process_time() - cpu, kept=len(rep.data),
           lines=counts.lines, problems=len(rep.problems), requests=0, hashed=getattr(counts, "digest", None) is not None)
print(json.dumps(out))
"""

END_TO_END = READ + r"""
d = inp.demand
np.savez(folder + "/demand.npz", **{k.name: getattr(d, k.name) for k in dataclasses.fields(d) if k.name != "digest"})
with open(folder + "/scenario.json", "w") as fh:
    json.dump(inp.scenario.model_dump(mode="json", by_alias=True), fh)
start, cpu = time.perf_counter(), time.process_time()
run = rs.simulate(inp.scenario, policy, seed=seed, source=d)
out.update(seconds=time.perf_counter() - start, cpu=time.process_time() - cpu, peak_mb=peak(),
           orders=run.kpis["orders"], requests=run.kpis["return_requests"])
print(json.dumps(out))
"""

SIMULATION = SCALED + r"""
from returnsim.model.replay_source import ReplayDemand
with np.load(folder + "/demand.npz", allow_pickle=False) as z:
    d = ReplayDemand(**{k: z[k] for k in z.files})
sc = rs.Scenario.model_validate(json.loads(open(folder + "/scenario.json").read()))
start, cpu = time.perf_counter(), time.process_time()
run = rs.simulate(sc, policy, seed=seed, source=d)
out.update(seconds=time.perf_counter() - start, cpu=time.process_time() - cpu, peak_mb=peak(),
           orders=run.kpis["orders"], requests=run.kpis["return_requests"])
print(json.dumps(out))
"""


def child(code: str, args: argparse.Namespace, path: str | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if path:  # the code of another version
        env["RETURNSIM_BENCH_CODE"] = path
    out = subprocess.run(
        [sys.executable, "-c", code, str(SCENARIO), args.policy, str(args.factor), str(args.seed), str(args.dir), ""],
        capture_output=True, text=True, check=False, env=env,
    )
    if out.returncode:
        sys.exit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def export(ref: str, into: str) -> bool:
    """Export ``returnsim/`` of git ref ``ref`` into directory ``into`` (False, and why printed,
    if git cannot)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "returnsim"], capture_output=True, check=False)
    if archive.returncode:
        print(f"(no before/after: git archive {ref} failed: {archive.stderr.decode()[-300:]})")
        return False
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    return True


def before(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    """The reading, the replay end to end and the orders pass, by the code of ``args.before``
    (exported with git archive), or None."""
    if not args.before:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        if not export(args.before, tmp):
            return None
        outs = child(READING, args, path=tmp), child(END_TO_END, args, path=tmp), child(ORDERS, args, path=tmp)
        for out in outs:
            if not str(out.get("code", "")).startswith(tmp):
                sys.exit(f"the reading of {args.before} ran {out.get('code')}, not the exported code")
        return outs


CLOCKS = (("cpu", "CPU s", "speed ratio"), ("seconds", "wall s", "wall speed ratio"))
"""The two clocks a round is read on (a child's keys ``cpu``/``read_cpu`` and
``seconds``/``read_seconds``): CPU time, by which the goal is judged on a shared machine, and
wall time, what a user waits for (printed, never asserted)."""


def _split(gen: dict[str, Any], replay: dict[str, Any], clock: str) -> tuple[float, float, float]:
    """(generated, reading, replay end to end) seconds of one round on ``clock``."""
    read = replay[f"read_{clock}"]
    return gen[clock], read, read + replay[clock]


def _medians(rounds: list[tuple[dict, dict, dict | None]], clock: str, unit: str, ratio: str, before: str) -> str:
    """The medians over ``rounds`` (generated, replay end to end, by ``before``'s code) on one
    clock, and their speed ratios (generated / replay); one round gives its own figures."""
    med = statistics.median
    now = [_split(g, e, clock) for g, e, _ in rounds]
    text = (f"{unit}: generated {med(n[0] for n in now):.2f}; replay end to end {med(n[2] for n in now):.2f} "
            f"(reading {med(n[1] for n in now):.2f}); {ratio} {med(n[0] / n[2] for n in now):.2f}")
    was = [_split(g, w, clock) for g, _, w in rounds if w is not None]
    if was:
        text += (f"; by {before}: end to end {med(x[2] for x in was):.2f} (reading {med(x[1] for x in was):.2f}), "
                 f"{ratio} {med(x[0] / x[2] for x in was):.2f}")
    return text


def paired(args: argparse.Namespace) -> None:
    """``--rounds`` rounds, each a generated run and the replay end to end one right after the
    other (and the same by ``--before``'s code): on a machine whose speed comes and goes, a
    ratio is only as good as its two runs are close in time. Prints each round's ratios and
    the medians, by CPU and by wall time."""
    rounds: list[tuple[dict, dict, dict | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        old = tmp if args.before and export(args.before, tmp) else None
        for k in range(args.rounds):
            g, e = child(GENERATED, args), child(END_TO_END, args)
            rounds.append((g, e, child(END_TO_END, args, path=old) if old is not None else None))
            print(f"round {k + 1}: " + "; ".join(_medians(rounds[-1:], *c, args.before) for c in CLOCKS), flush=True)
    for c in CLOCKS:
        print(f"median of {args.rounds} rounds, " + _medians(rounds, *c, args.before))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factor", type=float, default=18.0, help="times the seed's orders a day (18: about 1 M a year)")
    ap.add_argument("--policy", default="seed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--before", default="main", help="git ref whose reading to compare with ('' to skip)")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/returnsim_bench_replay"))
    ap.add_argument("--rounds", type=int, default=0,
                    help="then this many paired rounds (generated, end to end, and --before's end to end), with medians")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    if not (args.dir / "synthetic_orders.txt").is_file():
        print(f"making a synthetic year of reports in {args.dir} (once) ...", flush=True)
        child(MAKE, args)
    gen = child(GENERATED, args)
    was_both = before(args)  # first: END_TO_END writes the arrays SIMULATION reads
    e2e = child(END_TO_END, args)
    sim = child(SIMULATION, args)
    after = child(READING, args)
    orders = child(ORDERS, args)
    was, was_e2e, was_orders = was_both if was_both is not None else (None, None, None)
    size = (args.dir / "synthetic_orders.txt").stat().st_size / 1e6
    print(f"{'run':<22} {'orders':>10} {'requests':>9} {'wall s':>7} {'CPU s':>6} {'peak MB':>8} {'after import':>12}")
    for name, r in (("generated", gen), ("replay, simulation", sim), ("replay, end to end", e2e)):
        cpu = r["cpu"] + r.get("read_cpu", 0.0)
        wall = r["seconds"] + r.get("read_seconds", 0.0)
        print(f"{name:<22} {r['orders']:>10,.0f} {r['requests']:>9,.0f} {wall:>7.1f} {cpu:>6.2f} {r['peak_mb']:>8.0f} {r['import_mb']:>12.0f}")
    print(f"reading the reports ({size:.0f} MB of orders): {after['read_seconds']:.1f} s wall, {after['read_cpu']:.2f} CPU s, "
          f"peak {after['read_peak_mb']:.0f} MB ({after['read_peak_mb'] - after['import_mb']:.0f} above its imports)")
    def hashed(r: dict[str, Any]) -> str:  # the file's SHA-256 hashed by the pass, or by read_inputs again after it
        return "its SHA-256 included" if r.get("hashed") else "without its SHA-256 (hashed again after the pass)"

    print(f"orders pass alone (scan_orders: {orders['lines']:,} lines, {orders['kept']:,} returned kept; {hashed(orders)}): "
          f"{orders['orders_seconds']:.1f} s wall, {orders['orders_cpu']:.2f} CPU s")
    if was_orders is not None:
        same = (was_orders["kept"], was_orders["lines"], was_orders["problems"]) == (orders["kept"], orders["lines"], orders["problems"])
        print(f"orders pass by {args.before} ({hashed(was_orders)}): {was_orders['orders_cpu']:.2f} CPU s; now {was_orders['orders_cpu'] / orders['orders_cpu']:.1f} "
              f"times as fast" + ("" if same else " (kept lines, lines or problems differ)"))
    if was is not None:
        print(f"reading by {args.before}: {was['read_cpu']:.2f} CPU s, peak {was['read_peak_mb']:.0f} MB "
              f"({was['read_peak_mb'] - was['import_mb']:.0f} above its imports); now {was['read_cpu'] / after['read_cpu']:.1f} times "
              f"as fast, peak {after['read_peak_mb'] / was['read_peak_mb']:.2f} of it"
              + ("" if was["requests"] == after["requests"] else f" (requests differ: {was['requests']:,} vs {after['requests']:,})"))
    if was_e2e is not None:
        print(f"end to end by {args.before}: {was_e2e['cpu'] + was_e2e['read_cpu']:.2f} CPU s, peak {was_e2e['peak_mb']:.0f} MB "
              f"({was_e2e['import_mb']:.0f} after import); now peak {e2e['peak_mb']:.0f} MB")
    e2e_cpu = e2e["cpu"] + e2e["read_cpu"]
    print(
        f"end to end, 1 replication: speed ratio (generated CPU / replay CPU; >= 0.5 is at least half the speed) "
        f"{gen['cpu'] / e2e_cpu:.2f}; wall speed ratio (generated wall / replay wall) "
        f"{gen['seconds'] / (e2e['seconds'] + e2e['read_seconds']):.2f}; peak memory ratio (replay / generated) "
        f"{e2e['peak_mb'] / gen['peak_mb']:.2f}"
    )
    print(
        f"simulation only: speed ratio {gen['cpu'] / sim['cpu']:.2f}, peak memory ratio {sim['peak_mb'] / gen['peak_mb']:.2f}"
    )
    # The reports are read once per replay, whatever the policies and replications.
    amortised = ", ".join(
        f"{n} runs {n * gen['cpu'] / (n * sim['cpu'] + e2e['read_cpu']):.2f}" for n in (1, 10, 150)
    )
    print(f"speed ratio with the reading shared by a replay's runs (policies x replications): {amortised}")
    if args.rounds > 0:
        paired(args)


if __name__ == "__main__":
    main()
