"""Files shipped inside the package: the example scenarios and the synthetic Amazon reports.

The repository keeps them in its top-level ``scenarios/`` folder, where people read and edit
them; the package reaches the same files through ``returnsim/_shipped`` (a link to that folder,
whose files the wheel copies in as package data), so an installed returnsim finds them through
:mod:`importlib.resources` wherever it runs: a notebook copied elsewhere, a wheel install, a
worker process on another machine.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["shipped", "shipped_files"]


def _root() -> Path:
    return Path(str(resources.files("returnsim") / "_shipped"))


def shipped(relative: str) -> Path:
    """The path of a file shipped with returnsim, relative to its ``scenarios/`` folder.

    >>> shipped("seed_policies.toml").name
    'seed_policies.toml'

    Args:
        relative: e.g. ``"seed_policies.toml"``, ``"validation/bower_maxham.toml"`` or
            ``"examples/amazon_reports/synthetic_orders.txt"`` (a leading ``scenarios/`` is
            accepted too, as the path reads in the repository).

    Raises:
        FileNotFoundError: no such file; the message lists what is shipped.
    """
    if not isinstance(relative, str | Path):
        raise TypeError(f"shipped(relative=...): expected a relative path as text, got {type(relative).__name__}")
    rel = Path(relative)
    if rel.parts[:1] == ("scenarios",):
        rel = Path(*rel.parts[1:])
    root = _root()
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"shipped(relative={str(relative)!r}): expected a path inside returnsim's shipped scenarios")
    path = root / rel
    if not path.is_file():
        known = ", ".join(shipped_files())
        raise FileNotFoundError(f"returnsim ships no file {str(relative)!r}; it ships: {known}")
    return path


def shipped_files() -> list[str]:
    """Every shipped file, as the relative paths :func:`shipped` takes."""
    root = _root()
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix in {".toml", ".txt", ".csv", ".md"}
    )
