"""A scenario file that starts from another file: ``extends = "seed_policies.toml"``.

Like a letter written from a template, a file with a top-level ``extends`` takes every table of
the file it names (a path relative to the file that says ``extends``) and changes only what it
writes itself::

    extends = "seed_policies.toml"
    name = "My store"

    [demand]
    orders_per_day = 40            # the rest of [demand] comes from seed_policies.toml

    [policies.seed]
    discipline = "deadline"        # one field of one policy

How the two files combine: *sections* merge key by key (the top-level tables, each named entry
such as ``catalog.shoes`` or ``policies.seed``, and sub-tables such as ``desk.investigation``);
a table that is *one value* is replaced whole: a distribution (``{dist = ...}``), a mix that
must sum to 1 (a class's ``reasons``, a reason's ``condition``), opening hours
(``desk.hours``), a rule's ``when``, and every array (rule tables, ``seasonality``). The base
file may itself extend another; a loop is an error.

Problems keep their meaning across files: a problem whose value came from a base file names
that file, so ``desk.staff (from seed_policies.toml)`` tells the user which file to edit.

Where a base file may be: inside the folder of the scenario being loaded (sub-folders included)
or among the scenarios shipped with returnsim, after symbolic links are followed. Anything else
(an absolute path, ``../`` out of the folder, ``/proc/self/environ``) is refused unless the caller
allows more folders (``load_scenario(..., allow_paths=[...])``, ``--allow-extends-outside``):
someone validating a scenario they did not write must not be made to read, and print, any other
file of the machine.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .problems import Problem, ScenarioError, _fmt
from .schema import Scenario
from .world import ConditionMix

__all__ = ["resolve_file_extends", "attribute_problems", "allowed_roots", "Origins"]

Origins = dict[str, Path]
"""Dotted path of a value or table in the merged scenario -> the file that wrote it."""

Reader = Callable[[Path], dict[str, Any]]

Allowed = tuple[Path, ...] | None
"""Folders a base file may be in (resolved); ``None`` allows any file."""


def allowed_roots(path: Path, allow_paths: Any = ()) -> Allowed:
    """The folders ``extends`` may reach from the scenario file ``path``: its own folder, the
    shipped scenarios and ``allow_paths`` (``True`` allows any file).

    Raises:
        TypeError: ``allow_paths`` is neither ``True`` nor a list of folders.
    """
    if allow_paths is True:
        return None
    if allow_paths is None or allow_paths is False:
        allow_paths = ()
    if isinstance(allow_paths, str | os.PathLike):
        allow_paths = (allow_paths,)
    try:
        extra = [Path(p) for p in allow_paths]
    except TypeError:
        raise TypeError(
            "allow_paths must be a list of folders extends may read from, or True for any file; "
            f"got {type(allow_paths).__name__}"
        ) from None
    from ..shipped import _root

    return (path.resolve().parent, _root().resolve(), *(p.resolve() for p in extra))


def resolve_file_extends(
    raw: dict[str, Any], path: Path, read: Reader, _chain: tuple[Path, ...] = (), allowed: Allowed = None
) -> tuple[dict[str, Any], Origins]:
    """Merge the files a scenario ``extends`` into it.

    Args:
        raw: the file's table as read from TOML (not changed).
        path: the file's path (``extends`` is relative to its folder).
        read: reads a TOML file into a table, raising ``ScenarioError`` that names the file.
        _chain: files already being read (to report loops).
        allowed: folders a base file may be in (:func:`allowed_roots`); ``None``: anywhere.

    Returns:
        The merged table, without ``extends`` keys, and where each of its values came from.

    Raises:
        ScenarioError: naming the file whose ``extends`` is wrong (missing file, not a string,
            a loop, outside the allowed folders) or the base file that cannot be read.
    """
    here = path.resolve()
    origins: Origins = {}
    if "extends" not in raw:
        _record(raw, path, origins, ())
        return raw, origins
    base_name = raw["extends"]
    if not isinstance(base_name, str) or not base_name.strip():
        raise ScenarioError(
            [Problem("extends", base_name, "expected the name of a scenario file, relative to this one")],
            str(path),
        )
    base_path = (path.parent / base_name).resolve()  # an absolute base_name replaces the folder
    if allowed is not None and not any(base_path.is_relative_to(root) for root in allowed):
        raise ScenarioError(
            [
                Problem(
                    "extends",
                    base_name,
                    f"a scenario file inside {allowed[0]} (its folder) or among returnsim's shipped "
                    "scenarios; this path leads outside them. To allow another folder, pass "
                    "allow_paths=[...] to load_scenario or --allow-extends-outside to the command",
                )
            ],
            str(path),
        )
    chain = (*_chain, here)
    if base_path in chain:
        loop = " -> ".join(p.name for p in (*chain, base_path))
        raise ScenarioError([Problem("extends", base_name, f"the files extend each other in a loop: {loop}")], str(path))
    if not base_path.is_file():
        raise ScenarioError(
            [Problem("extends", base_name, f"no such file: {base_path} (paths are relative to {path.name})")],
            str(path),
        )
    base_raw, origins = resolve_file_extends(read(base_path), base_path, read, chain, allowed)
    own = {k: v for k, v in raw.items() if k != "extends"}
    merged = _merge(base_raw, own, Scenario, path, origins, ())
    return merged, origins


def attribute_problems(err: ScenarioError, origins: Origins, path: Path) -> ScenarioError:
    """``err`` with each problem whose value came from another file naming that file."""
    top = path.resolve()
    out = []
    for p in err.problems:
        src = _origin(p.path, origins)
        if src is not None and src.resolve() != top:
            try:
                shown = src.resolve().relative_to(top.parent)
            except ValueError:
                shown = src
            p = Problem(f"{p.path} (from {shown})", p.value, p.expected)
        out.append(p)
    return ScenarioError(out, err.source)


# --------------------------------------------------------------------------------------------


def _origin(problem_path: str, origins: Origins) -> Path | None:
    """The file of the longest recorded prefix of ``problem_path`` (``a.b[0].c``)."""
    path = problem_path
    while path:
        if path in origins:
            return origins[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return origins.get(path)


def _record(value: Any, path: Path, origins: Origins, at: tuple[Any, ...]) -> None:
    """Attribute ``value`` and everything inside it (at the keys ``at``) to ``path``.

    Paths are carried as keys and formatted once, never parsed back: a key may contain
    anything, dots and brackets included."""
    if at:
        origins[_fmt(list(at))] = path
    if isinstance(value, dict):
        for k, v in value.items():
            _record(v, path, origins, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _record(v, path, origins, (*at, i))


def _section(tp: Any) -> tuple[str, Any]:
    """How a value of schema type ``tp`` combines with its base: ``("model", cls)`` merges field
    by field, ``("entries", value_type)`` merges named entries, ``("value", None)`` replaces."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return "value", None  # a distribution, or "24/7" or opening hours: one value
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if issubclass(tp, ConditionMix):  # a mix (must sum to 1) is one value
            return "value", None
        return "model", tp
    if typing.get_origin(tp) is dict:
        value_type = typing.get_args(tp)[1]
        inner = value_type
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return "entries", value_type
    return "value", None


def _field_type(model: type[BaseModel], key: str) -> Any:
    for name, f in model.model_fields.items():
        if key in (name, f.alias):
            return f.annotation
    return None


def _merge(base: Any, own: Any, tp: Any, path: Path, origins: Origins, at: tuple[Any, ...]) -> Any:
    """``own`` (from ``path``) over ``base``; records the origin of what ``own`` sets."""
    kind, inner = _section(tp) if tp is not None else ("value", None)
    if kind == "value" or not isinstance(base, dict) or not isinstance(own, dict) or "dist" in own:
        _forget(origins, at)
        _record(own, path, origins, at)
        return own
    out = dict(base)
    if at:
        origins[_fmt(list(at))] = path
    for key, value in own.items():
        child_tp = _field_type(inner, key) if kind == "model" and inner is not None else inner
        where = (*at, key)
        if key in out:
            out[key] = _merge(out[key], value, child_tp, path, origins, where)
        else:
            _record(value, path, origins, where)
            out[key] = value
    return out


def _forget(origins: Origins, keys: tuple[Any, ...]) -> None:
    """Drop the origins recorded under ``keys`` (its base value is being replaced)."""
    if not keys:
        origins.clear()
        return
    at = _fmt(list(keys))
    for key in [k for k in origins if k == at or k.startswith(at + ".") or k.startswith(at + "[")]:
        del origins[key]

