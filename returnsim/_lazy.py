"""Names a package loads on first use (PEP 562), so importing it stays light: the ``returnsim``
command starts quickly, and a worker process imports the model, not pandas or scipy.stats."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package`` for ``names`` (a name -> the
    submodule, relative to the package, that defines it): a name's submodule is imported when
    the name is first asked for, and the name is then an ordinary attribute of the package."""
    attributes = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(f".{names[name]}", package), name)
            attributes[name] = value  # once loaded, an ordinary attribute
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(attributes) | set(names))

    return __getattr__, __dir__
