"""Which model produced a number: the package version plus a hash of the model's source.

The results store keys rows by this, so a run after any change to the model, the scenario
defaults or the distributions never reads back rows computed by the old code, even when the
version number was not bumped (as during development).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

__all__ = ["model_version"]

_SOURCES = ("model/*.py", "scenario/*.py", "scenario/*.toml", "amazon.py")
"""Modules and data whose content determines simulated numbers (globs under the package
directory): the marketplaces' profiles (``scenario/marketplaces.toml``: Amazon's caps and
windows, which a scenario names by its marketplace code and does not hold) included."""


def _source_files() -> list[Path]:
    """The files of ``_SOURCES``, in the order they are hashed."""
    root = Path(__file__).resolve().parent.parent
    return [path for pattern in _SOURCES for path in sorted(root.glob(pattern))]


@lru_cache(maxsize=1)
def model_version() -> str:
    """``"<version>+<12 hex digits of the model source hash>"``."""
    from .. import __version__

    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"
