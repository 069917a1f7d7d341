"""One vocabulary for the command line, old spellings deprecated, README lines that paste.

``--out DIR`` is a folder for every command that writes several files; ``--output FILE`` (``-o``)
is the one file a command writes. Earlier spellings (``--out FILE`` of sweep, optimize and
calibrate; ``select --report``) still parse for one release, with a message saying what to write.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from returnsim.cli import build_parser, main
from returnsim.cli.reference import markdown, options

ROOT = Path(__file__).resolve().parent.parent


def test_out_is_always_a_folder_and_output_always_a_file():
    rows = options()
    assert rows
    for command, spellings, metavar, _ in rows:
        names = spellings.split(", ")
        if "--out" in names:
            assert metavar == "DIR", (command, spellings, metavar)
        if "-o" in names or "--output" in names:
            assert names == ["-o", "--output"], (command, spellings)
            assert metavar.startswith("FILE"), (command, metavar)
    writers = {c for c, s, _, _ in rows if "--output" in s}
    assert {"report", "select", "sweep", "optimize", "calibrate"} <= writers
    assert {c for c, s, _, _ in rows if s == "--out"} >= {"run", "compare", "report", "psa"}
    # No visible option other than --out/--output names a single written file by another word,
    # except a second file beside the main one (calibrate's fit report, optimize's plot).
    assert not [r for r in rows if r[1] == "--report" and r[0] != "calibrate"]


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "s.toml", "--out", "x.csv"],
        ["optimize", "s.toml", "--policy", "p", "--lever", "a=1:2", "--out", "x.csv"],
        ["select", "s.toml", "--report", "x.csv"],
        ["calibrate", "--orders", "o.txt", "--out", "x.csv"],
    ],
)
def test_old_spellings_still_parse_and_say_what_to_write(argv, capsys):
    args = build_parser().parse_args(argv)
    assert args.output == "x.csv"
    err = capsys.readouterr().err
    old = argv[-2]
    assert f"{old} is deprecated" in err and "use --output (-o)" in err and argv[0] in err


@pytest.mark.parametrize("spelling", ["-o", "--output"])
def test_new_spelling_is_silent(spelling, capsys):
    args = build_parser().parse_args(["sweep", "s.toml", spelling, "x.csv"])
    assert args.output == "x.csv" and capsys.readouterr().err == ""


def test_calibrate_still_requires_its_output(tmp_path, capsys):
    code = main(["calibrate", "--orders", str(tmp_path / "o.txt")])
    assert code == 2 and "--output (-o) FILE is required" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["run", "s.toml", "--policies", "seed"], "unrecognized arguments: --policies seed (did you mean --policy?)"),
        (["replay", "s.toml", "--mfn-retruns=x.txt", "--orders-file", "o.txt"], "(did you mean --mfn-returns or --orders?)"),
        (["psa", "s.toml", "--zzz"], "unrecognized arguments: --zzz\n"),
    ],
)
def test_an_option_the_command_lacks_is_named_with_the_nearest_it_has(argv, said, capsys):
    """The command's own usage (not the top-level one), the words given, and the nearest
    option, since the Python API's ``policies=`` invites ``--policies``."""
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith(f"usage: returnsim {argv[0]} ") and said in err, err


def _command_lines(text: str) -> list[str]:
    """``returnsim ...`` lines of the fenced blocks of a Markdown text, continuations joined."""
    lines: list[str] = []
    block: list[str] | None = None
    for raw in text.splitlines():
        if raw.startswith("```"):
            if block is None:
                block = [] if raw.strip() in ("```", "```sh", "```bash", "```console") else ["<other>"]
            else:
                if block[:1] != ["<other>"]:
                    joined = "\n".join(block).replace("\\\n", " ")
                    lines += [ln.strip() for ln in joined.splitlines() if ln.strip().startswith("returnsim ")]
                block = None
        elif block is not None:
            block.append(raw)
    return lines


@pytest.mark.parametrize("doc", ["README.md", "docs/index.md", "docs/calibrate.md"])
def test_documented_command_lines_paste_as_they_are(doc, capsys):
    lines = _command_lines((ROOT / doc).read_text(encoding="utf-8"))
    if doc == "README.md":
        assert len(lines) >= 10
    parser = build_parser()
    for line in lines:
        command = line.split(" # ")[0].split(" > ")[0]
        assert not re.search(r"\[[^\]]*\]|\s\|\s", command), f"{doc}: notation that cannot be pasted: {line}"
        try:
            parser.parse_args(shlex.split(command)[1:])
        except SystemExit:
            pytest.fail(f"{doc}: {line!r} does not parse: {capsys.readouterr().err}")
        assert "deprecated" not in capsys.readouterr().err, f"{doc} uses an old spelling: {line}"


def test_cli_reference_page_is_generated_from_the_parser():
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert page == markdown(), "run: python -m returnsim.cli.reference docs/cli.md"
    assert "## returnsim sweep" in page and "`-o, --output`" in page


def test_parsing_loads_no_numerical_library():
    """`returnsim --help` and the parser answer at once: the heavy parts load when a command runs
    (the time is measured by benchmarks/bench_startup.py)."""
    import subprocess
    import sys

    code = ("import sys; from returnsim.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('numpy', 'scipy', 'pandas', 'matplotlib', 'pydantic', 'simpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_sweep_designs_are_the_libraries():
    from returnsim.cli.decide import SWEEP_DESIGNS
    from returnsim.decide.designs import DESIGNS

    assert tuple(SWEEP_DESIGNS) == tuple(DESIGNS)
