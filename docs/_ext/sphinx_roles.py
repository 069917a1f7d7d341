"""A Griffe extension for the API reference: Sphinx roles in docstrings become cross-references.

Docstrings name other objects the Sphinx way (``:func:`run_experiment```, ``:mod:`.replications```,
``:class:`~returnsim.Scenario```), which mkdocstrings would print as raw text. Once the package is
loaded, each role is rewritten into an autorefs link (``[`run_experiment`][returnsim.experiment.run_experiment]``)
when its target is an object the reference documents, and into plain code otherwise, so
``mkdocs build --strict`` never meets a link to nowhere. Configured in ``mkdocs.yml``
(``extensions: [docs/_ext/sphinx_roles.py]``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|mod|class|meth|attr|data|exc|obj|const):`(~?)([^`]+)`")
DOCUMENTED = ("returnsim.",)


def _public(path: str) -> bool:
    return path.startswith(DOCUMENTED) and not any(p.startswith("_") for p in path.split("."))


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles of every docstring of the package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        collection = loader.modules_collection

        def resolve(name: str, obj: griffe.Object) -> str | None:
            name = name.strip().rstrip("()")
            scopes: list[griffe.Object] = []
            here: griffe.Object | None = obj if obj.is_module else obj.parent
            while here is not None:
                scopes.append(here)
                here = here.parent
            candidates = []
            if name.startswith("."):  # relative to the object's package
                base = obj.module if obj.module.is_package else obj.module.parent
                candidates.append(f"{base.path if base else ''}{name}")
                candidates.append(f"{obj.module.path}{name}")
            else:
                candidates.append(name)
                candidates += [f"{s.path}.{name}" for s in scopes]
                candidates.append(f"returnsim.{name}")
            for path in candidates:
                try:
                    target = collection.get_member(path)
                    real = target.final_target if target.is_alias else target
                    if _public(real.path) and (real.is_module or real.docstring):
                        return str(real.path)
                except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError, griffe.CyclicAliasError):
                    continue  # not an object of the package (or an alias out of it): plain code
            return None

        def rewrite(obj: griffe.Object) -> None:
            if obj.docstring is not None:
                def link(m: re.Match[str]) -> str:
                    short, name = m.group(1), m.group(2)
                    shown = name.split(".")[-1] if short else name.lstrip(".")
                    path = resolve(name, obj)
                    return f"[`{shown}`][{path}]" if path else f"`{shown}`"

                obj.docstring.value = ROLE.sub(link, obj.docstring.value)
            for member in obj.members.values():
                if not member.is_alias:
                    rewrite(member)  # type: ignore[arg-type]

        rewrite(pkg)
