"""Mutation testing with a curated list: plant one small bug at a time and see whether a test fails.

    python tools/mutate.py                      # every mutation in tools/mutations.toml
    python tools/mutate.py --only desk-lifo     # some of them (ids, or id prefixes)
    python tools/mutate.py --jobs 2 --markdown mutation-table.md

Each mutation in ``tools/mutations.toml`` names a file, an exact piece of its text, what replaces
it, what bug that plants, and the tests that should notice (files, node ids, or ``@group`` names
from the ``[groups]`` table). For each one the harness copies the repository (``returnsim/``,
``tests/``, ``scenarios/``, ``docs/``, ...) into a temporary directory, plants the bug there, and
runs the tests with the copy first on ``sys.path`` (the editable install's finder comes after
``sys.path``, so the copy's ``returnsim`` is the one imported, in subprocesses and process pools
too: ``PYTHONPATH`` points at the copy). A mutant is *killed* when a test fails (or the run times
out), *survives* when every test passes. Before any mutation, the same tests run on the unmutated
copy and must pass, so a kill always means the planted bug was noticed.

A mutation whose text is no longer in its file (the code moved on) is reported as *stale*, not
run: update its ``find`` text. A mutation marked ``equivalent`` (with the reason) cannot change
behaviour and is not run; it is listed for honesty and left out of the score.

Curate with care: a mutant runs the real tests, so a bug that disables a safety check (the
memory budget, a loop bound) can make a test start a run that exhausts the machine. Plant such
bugs so that the tests notice them on small runs.

The score is killed / (mutations - equivalent - stale). Exit status: 0 when every mutant run was
killed and none is stale, 1 when one survived, 3 when some are stale (and none survived).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPY = ("returnsim", "tests", "scenarios", "docs", "notebooks", "benchmarks", "pyproject.toml", "README.md", "mkdocs.yml")
IGNORE = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache", "*.pyc", ".ipynb_checkpoints")


@dataclass
class Mutation:
    id: str
    file: str
    find: str
    replace: str
    what: str
    tests: list[str]
    equivalent: str | None = None
    status: str = ""
    killer: str = ""
    seconds: float = 0.0
    detail: str = field(default="", repr=False)


def load(path: Path) -> tuple[list[Mutation], dict[str, list[str]]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    groups = {k: list(v) for k, v in data.get("groups", {}).items()}
    out = []
    for m in data["mutation"]:
        out.append(
            Mutation(
                id=m["id"],
                file=m["file"],
                find=m["find"],
                replace=m["replace"],
                what=m["what"],
                tests=list(m.get("tests", [])),
                equivalent=m.get("equivalent"),
            )
        )
    ids = [m.id for m in out]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SystemExit(f"duplicate mutation ids: {', '.join(sorted(dupes))}")
    return out, groups


def expand(tests: list[str], groups: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    for t in tests:
        if t.startswith("@"):
            if t[1:] not in groups:
                raise SystemExit(f"unknown test group {t!r}; groups: {', '.join(groups)}")
            out += expand(groups[t[1:]], groups)
        elif t not in out:
            out.append(t)
    return out


def check_targets(mutations: list[Mutation]) -> None:
    """Mark mutations whose target text is gone (stale) or not unique (ambiguous)."""
    for m in mutations:
        path = ROOT / m.file
        if m.equivalent:
            m.status = "equivalent"
        if not path.exists():
            m.status, m.detail = "stale", f"{m.file} does not exist"
            continue
        count = path.read_text(encoding="utf-8").count(m.find)
        if count == 0:
            m.status, m.detail = "stale", "the target text is no longer in the file"
        elif count > 1:
            m.status, m.detail = "stale", f"the target text occurs {count} times; make it unique"


def make_copy() -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="returnsim-mutant-"))
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp / name, ignore=IGNORE)
        elif src.exists():
            shutil.copy2(src, tmp / name)
    return tmp


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_isolation(copy: Path) -> None:
    code = "import returnsim, sys; print(returnsim.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=copy, env=environment(copy), capture_output=True, text=True, check=True
    ).stdout.strip()
    if not Path(out).resolve().is_relative_to(copy.resolve()):
        raise SystemExit(f"the copy's returnsim is not the one imported ({out}); cannot mutate safely")


FAILED = re.compile(r"^(FAILED|ERROR) (\S+)", re.M)


def run_tests(copy: Path, tests: list[str], timeout: float) -> tuple[str, str, float, str]:
    """(status, first failing test, seconds, output tail) of ``pytest -x`` on ``tests`` in ``copy``."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "--no-header", "-p", "no:cacheprovider", "--tb=line", "-rfE", *tests]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=copy, env=environment(copy), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "killed", f"(timeout after {timeout:.0f} s)", time.monotonic() - t0, ""
    seconds = time.monotonic() - t0
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        return "survived", "", seconds, out[-2000:]
    m = FAILED.search(out)
    if proc.returncode == 1 and m:
        return "killed", m.group(2), seconds, out[-2000:]
    # 2: interrupted (collection error), 3: internal error, 4: usage error, 5: no tests.
    return "error", f"(pytest exit {proc.returncode})", seconds, out[-2000:]


def mutate_and_run(m: Mutation, copy: Path, groups: dict[str, list[str]], timeout: float) -> None:
    target = copy / m.file
    original = target.read_text(encoding="utf-8")
    target.write_text(original.replace(m.find, m.replace, 1), encoding="utf-8")
    try:
        m.status, m.killer, m.seconds, m.detail = run_tests(copy, expand(m.tests, groups), timeout)
    finally:
        target.write_text(original, encoding="utf-8")


def table(mutations: list[Mutation], markdown: bool = False) -> str:
    rows = [("id", "file", "planted bug", "result", "killed by / reason")]
    for m in mutations:
        why = m.killer if m.status in ("killed", "error") else (m.equivalent or m.detail or "")
        rows.append((m.id, m.file.removeprefix("returnsim/"), m.what, m.status, why))
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    widths = [min(max(len(r[i]) for r in rows), cap) for i, cap in enumerate((28, 26, 60, 10, 200))]

    def cut(s: str, w: int) -> str:
        return s if len(s) <= w else s[: w - 1] + "…"

    return "\n".join("  ".join(cut(c, w).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def score(mutations: list[Mutation]) -> tuple[int, int, str]:
    counted = [m for m in mutations if m.status in ("killed", "survived", "error")]
    killed = sum(m.status in ("killed", "error") for m in counted)
    n_eq = sum(m.status == "equivalent" for m in mutations)
    n_stale = sum(m.status == "stale" for m in mutations)
    text = (
        f"mutation score: {killed}/{len(counted)} killed"
        + (f" ({100 * killed / len(counted):.0f} %)" if counted else "")
        + f"; {n_eq} equivalent (not counted); {n_stale} stale (not run)"
    )
    return killed, len(counted), text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", type=Path, default=ROOT / "tools" / "mutations.toml", help="the curated mutations")
    ap.add_argument("--only", nargs="*", default=None, help="mutation ids (or id prefixes) to run")
    ap.add_argument("--jobs", type=int, default=1, help="mutations run at once, each in its own copy (default 1)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per mutation before it counts as killed")
    ap.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    ap.add_argument("--no-baseline", action="store_true", help="skip the check that the tests pass unmutated")
    args = ap.parse_args(argv)

    mutations, groups = load(args.list)
    if args.only:
        mutations = [m for m in mutations if any(m.id == o or m.id.startswith(o) for o in args.only)]
        if not mutations:
            raise SystemExit("no mutation matches --only")
    check_targets(mutations)
    todo = [m for m in mutations if not m.status]
    print(f"{len(mutations)} mutations: {len(todo)} to run, "
          f"{sum(m.status == 'equivalent' for m in mutations)} equivalent, {sum(m.status == 'stale' for m in mutations)} stale")
    copies = [make_copy() for _ in range(max(1, min(args.jobs, len(todo) or 1)))]
    try:
        check_isolation(copies[0])
        if todo and not args.no_baseline:
            union: list[str] = []
            for m in todo:
                union += [t for t in expand(m.tests, groups) if t not in union]
            print(f"baseline: {len(union)} test targets on the unmutated copy ...", flush=True)
            status, killer, seconds, out = run_tests(copies[0], union, args.timeout * 2)
            if status != "survived":
                print(out)
                raise SystemExit(f"the tests fail without any mutation ({killer}): fix them first")
            print(f"baseline passed in {seconds:.0f} s", flush=True)
        free = list(copies)

        def work(m: Mutation) -> Mutation:
            copy = free.pop()
            try:
                mutate_and_run(m, copy, groups, args.timeout)
            finally:
                free.append(copy)
            print(f"  {m.id:32s} {m.status:9s} {m.seconds:6.1f} s  {m.killer}", flush=True)
            return m

        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            list(pool.map(work, todo))
    finally:
        for c in copies:
            shutil.rmtree(c, ignore_errors=True)

    print()
    print(table(mutations))
    killed, counted, text = score(mutations)
    print()
    print(text)
    for m in mutations:
        if m.status == "survived":
            print(f"SURVIVED {m.id}: {m.what} ({m.file})")
        elif m.status == "stale":
            print(f"STALE {m.id}: {m.detail} ({m.file}); update its find text in {args.list.name}")
        elif m.status == "error":
            print(f"ERROR {m.id}: pytest could not run the tests (counted as killed):\n{m.detail[-600:]}")
    if args.markdown:
        args.markdown.write_text(table(mutations, markdown=True) + "\n\n" + text + "\n", encoding="utf-8")
    if killed < counted:
        return 1
    return 3 if any(m.status == "stale" for m in mutations) else 0


if __name__ == "__main__":
    sys.exit(main())
