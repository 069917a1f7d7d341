"""Which model produced a number: the package version plus a hash of the model's source.

The results store keys rows by this, so a run after any change to the model, the scenario
defaults or the distributions never reads back rows computed by the old code, even when the
version number was not bumped (as during development).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

__all__ = ["model_version", "package_files", "files_digest"]

_SOURCES = ("model/*.py", "scenario/*.py", "scenario/*.toml", "amazon.py")
"""Modules and data whose content determines simulated numbers (globs under the package
directory): the marketplaces' profiles (``scenario/marketplaces.toml``: Amazon's caps and
windows, which a scenario names by its marketplace code and does not hold) included."""


_ROOT = Path(__file__).resolve().parent.parent


def package_files(patterns: tuple[str, ...]) -> list[Path]:
    """The package's files matching ``patterns`` (globs under its directory), in the order
    :func:`files_digest` hashes them."""
    return [path for pattern in patterns for path in sorted(_ROOT.glob(pattern))]


def files_digest(patterns: tuple[str, ...]) -> str:
    """SHA-256 (hex) of the package's files matching ``patterns``: each file's path within the
    package and its bytes."""
    digest = hashlib.sha256()
    for path in package_files(patterns):
        digest.update(path.relative_to(_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def model_version() -> str:
    """``"<version>+<12 hex digits of the model source hash>"``."""
    from .. import __version__

    return f"{__version__}+{files_digest(_SOURCES)[:12]}"
