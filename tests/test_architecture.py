"""The package keeps the shape docs/architecture.md promises: imports point down the flow
scenario -> model -> experiment -> decide -> output -> cli, and no module outgrows ~500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "returnsim"

# Lower ranks are further upstream; a module may import only from its own unit or a lower rank.
RANK = {
    "text": 0, "files": 0, "amazon": 0, "shipped": 0, "__version__": 0,
    "scenario": 1,
    "model": 2,
    "analytic": 3, "experiment": 3,
    "decide": 4, "calibrate": 4,
    "output": 5, "teaching": 5,
    "plots": 6,  # returnsim.plots: a short name for returnsim.output.plots
    "cli": 6,
    "__main__": 7, "__init__": 7,
}


def _unit(module: str) -> str:
    """The unit of ``returnsim.model.desk`` is ``model``; of ``returnsim`` itself ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[str]:
    """Every returnsim module ``path`` imports, at the top or inside a function."""
    # Relative imports count from the module's package (for an __init__, the package itself).
    package = list(path.relative_to(ROOT).with_suffix("").parts)[:-1]
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                if node.module:
                    out.append(".".join([*base, node.module]))
                else:
                    out.extend(".".join([*base, a.name]) for a in node.names)
            elif node.module and node.module.split(".")[0] == "returnsim":
                out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names if a.name.split(".")[0] == "returnsim")
    return out


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


def test_no_module_outgrows_about_500_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 500} == {}
