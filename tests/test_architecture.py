"""The package keeps the shape docs/architecture.md promises: imports point down the flow
scenario -> model -> experiment -> decide -> output -> cli, the modules inside each package point
one way too (no circle, not even through ``TYPE_CHECKING`` or an import inside a function), and
no module outgrows ~500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "returnsim"

# Lower ranks are further upstream; a module may import only from its own unit or a lower rank.
RANK = {
    "text": 0, "files": 0, "pages": 0, "amazon": 0, "shipped": 0, "__version__": 0, "_watch": 0, "_lazy": 0,
    "scenario": 1,
    "model": 2,
    "analytic": 3, "experiment": 3,
    "decide": 4, "calibrate": 4,
    "output": 5, "teaching": 5, "replay": 5,
    "plots": 6,  # returnsim.plots: a short name for returnsim.output.plots
    "cli": 6,
    "__main__": 7, "__init__": 7,
}


def _unit(module: str) -> str:
    """The unit of ``returnsim.model.desk`` is ``model``; of ``returnsim`` itself ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _import_sites(path: Path) -> list[tuple[str, str]]:
    """Every returnsim module ``path`` imports, with where: ``top``, ``TYPE_CHECKING`` or
    ``function`` (an import inside a function still makes the modules depend on each other)."""
    # Relative imports count from the module's package (for an __init__, the package itself).
    package = list(path.relative_to(ROOT).with_suffix("").parts)[:-1]
    out: list[tuple[str, str]] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            here = where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                here = "function"
            elif where == "top" and isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                here = "TYPE_CHECKING"
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - (child.level - 1)]
                    if child.module:
                        out.append((".".join([*base, child.module]), here))
                    else:
                        out.extend((".".join([*base, a.name]), here) for a in child.names)
                elif child.module and child.module.split(".")[0] == "returnsim":
                    out.append((child.module, here))
            elif isinstance(child, ast.Import):
                out.extend((a.name, here) for a in child.names if a.name.split(".")[0] == "returnsim")
            visit(child, here)

    visit(ast.parse(path.read_text(encoding="utf-8")), "top")
    return out


def _imports(path: Path) -> list[str]:
    """Every returnsim module ``path`` imports, at the top or inside a function."""
    return [target for target, _ in _import_sites(path)]


def _upward_imports() -> list[str]:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        src = _unit(".".join(rel.parts))
        for target in _imports(path):
            dst = _unit(target)
            if dst != src and RANK[dst] >= RANK[src]:
                wrong.append(f"{rel}: imports {target} ({dst} is not upstream of {src})")
    return wrong


def test_imports_only_point_down_the_flow():
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
    assert units <= set(RANK), f"a new unit needs a place in the flow: {sorted(units - set(RANK))}"
    assert _upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    # The same check on a copy of the model with one planted import of the output stage.
    import shutil

    copy = tmp_path / "returnsim"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    desk = copy / "model" / "desk.py"
    desk.write_text(desk.read_text(encoding="utf-8") + "\nfrom ..output import labels\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    monkeypatch.setattr(__import__(__name__), "PACKAGE", copy)
    assert _upward_imports() == ["returnsim/model/desk: imports returnsim.output (output is not upstream of model)"]


def _package_edges(package: Path) -> dict[str, dict[str, str]]:
    """Imports between the members of one package: module (or subpackage, as one member) ->
    member it imports -> where the first such import is. ``from . import name`` of a name that is
    no member counts as an import of the package's ``__init__``."""
    dotted = ".".join(package.relative_to(ROOT).parts)
    members = {p.stem for p in package.glob("*.py")} | {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    edges: dict[str, dict[str, str]] = {}
    for path in sorted(package.rglob("*.py")):
        src = path.relative_to(package).with_suffix("").parts[0]
        for target, where in _import_sites(path):
            if target != dotted and not target.startswith(dotted + "."):
                continue
            dst = target[len(dotted) + 1:].split(".")[0] if target != dotted else "__init__"
            dst = dst if dst in members else "__init__"
            if dst != src:
                edges.setdefault(src, {}).setdefault(dst, where)
    return edges


def _circle(edges: dict[str, dict[str, str]]) -> list[str] | None:
    """One circle of ``edges`` as ``[a, b, ..., a]`` (the first in name order), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done, no circle through it
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def _circles_inside_packages() -> list[str]:
    """Per package of returnsim, one circle among its modules, with where each import is."""
    wrong = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        package = init.parent
        if package == PACKAGE:
            continue  # the top-level units are ranked by test_imports_only_point_down_the_flow
        edges = _package_edges(package)
        circle = _circle(edges)
        if circle:
            steps = ", ".join(f"{a} -> {b} ({edges[a][b]})" for a, b in zip(circle, circle[1:], strict=False))
            wrong.append(f"{package.relative_to(ROOT)}: {steps}")
    return wrong


def test_modules_inside_each_package_point_one_way():
    assert _circles_inside_packages() == []


def test_the_check_sees_a_circle_inside_a_package(tmp_path, monkeypatch):
    # The circles issue 22 removed, planted back in a copy: one through TYPE_CHECKING, one
    # through an import inside a function, one at the top of a module.
    import shutil

    copy = tmp_path / "returnsim"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))

    def plant(rel: str, code: str) -> None:
        module = copy / rel
        module.write_text(module.read_text(encoding="utf-8") + code, encoding="utf-8")

    plant("scenario/uncertainty.py", "\nif TYPE_CHECKING:\n    from .schema import Scenario\n")
    plant("output/how_sure.py", "\n\ndef _late():\n    from .report import render_report\n")
    plant("calibrate/writer.py", "\nfrom . import calibration\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    monkeypatch.setattr(__import__(__name__), "PACKAGE", copy)
    assert _circles_inside_packages() == [
        "returnsim/calibrate: calibration -> fitreport (function), fitreport -> writer (top), writer -> calibration (top)",
        "returnsim/output: answer -> how_sure (top), how_sure -> report (function), report -> answer (top)",
        "returnsim/scenario: schema -> uncertainty (top), uncertainty -> schema (TYPE_CHECKING)",
    ]


def test_no_module_outgrows_about_500_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 500} == {}
