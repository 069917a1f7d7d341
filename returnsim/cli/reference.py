"""The command line's reference, generated from its argparse parser.

``docs/cli.md`` is written by ``python -m returnsim.cli.reference docs/cli.md``; a test checks it
is in sync with the parser, so the page never describes options the command no longer has.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

__all__ = ["markdown", "options"]


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, sub, helps.get(name, "")


def options(parser: argparse.ArgumentParser | None = None) -> list[tuple[str, str, str, str]]:
    """Every visible option of every subcommand: ``(command, spellings, metavar, help)``."""
    from . import build_parser

    parser = parser or build_parser()
    rows = []
    for name, sub, _ in _subcommands(parser):
        for a in sub._actions:
            if a.help == argparse.SUPPRESS or isinstance(a, argparse._HelpAction):
                continue
            spellings = ", ".join(a.option_strings) or (a.metavar if isinstance(a.metavar, str) else a.dest)
            metavar = a.metavar if isinstance(a.metavar, str) else ("" if a.nargs == 0 else a.dest.upper())
            rows.append((name, spellings, metavar if a.option_strings else "", (a.help or "").replace("%%", "%")))
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    """The reference page: every command, its purpose and its options (Markdown)."""
    from . import build_parser

    parser = build_parser()
    lines = [
        "# Command line reference",
        "",
        "Generated from the `returnsim` command's own parser (`python -m returnsim.cli.reference "
        "docs/cli.md`); `returnsim COMMAND --help` prints the same. One vocabulary throughout: "
        "`--out DIR` for a command that writes several files, `--output FILE` (`-o FILE`) for one "
        "file. Spellings of earlier releases (`--out FILE` of `sweep`, `optimize` and `calibrate`, "
        "`select --report`) still work for one release and say what to write instead.",
        "",
    ]
    rows = options(parser)
    for name, sub, help_text in _subcommands(parser):
        lines += [f"## returnsim {name}", "", _cell(help_text or sub.description or ""), "",
                  "```", sub.format_usage().strip().replace("usage: ", ""), "```", "",
                  "| option | value | what |", "|---|---|---|"]
        lines += [f"| `{_cell(o)}` | {f'`{_cell(m)}`' if m else ''} | {_cell(h)} |" for c, o, m, h in rows if c == name]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    text = markdown()
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)
