"""Write the students' copies of the teaching notebooks from the instructor's copies.

The instructor's notebooks in this folder are the source. A student's copy in
``notebooks/teaching/`` is the same notebook with

* every cell tagged ``solution`` replaced by its answer variables set to ``None``
  (``answer_1 = None  # your answer``), so the exercise's check cell still runs;
* every cell tagged ``instructor`` (teaching notes) left out;
* outputs cleared.

Run it after editing an instructor notebook (the tests fail while the copies differ):

    python notebooks/instructor/make_student_copies.py          # write the copies
    python notebooks/instructor/make_student_copies.py --check  # exit 1 if a copy is stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
STUDENTS = HERE.parent / "teaching"
ANSWER = re.compile(r"^(answer_\w+)\s*=", re.M)


def student_copy(nb: nbformat.NotebookNode, source_name: str) -> nbformat.NotebookNode:
    """The student's version of an instructor notebook."""
    out = nbformat.v4.new_notebook(metadata=dict(nb.metadata))
    out.metadata["returnsim"] = {"generated_from": f"notebooks/instructor/{source_name}"}
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if "instructor" in tags:
            continue
        if "solution" in tags:
            names = ANSWER.findall(cell.source)
            if not names:
                raise ValueError(f"{source_name}: a solution cell assigns no answer_... variable:\n{cell.source}")
            source = "\n".join(f"{n} = None  # replace None with your answer" for n in dict.fromkeys(names))
            new = nbformat.v4.new_code_cell(source, metadata={"tags": ["answer"]})
        elif cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source, metadata=dict(cell.metadata))
        else:
            new = nbformat.v4.new_markdown_cell(cell.source, metadata=dict(cell.metadata))
        out.cells.append(new)
    for i, cell in enumerate(out.cells):  # stable ids: regenerating gives the same file
        cell["id"] = f"cell-{i:03d}"
    return out


def sources() -> list[Path]:
    """Instructor notebooks with exercises (those with a student copy)."""
    return sorted(p for p in HERE.glob("*.ipynb"))


def render(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    copy = student_copy(nb, path.name)
    nbformat.validator.normalize(copy)
    return nbformat.writes(copy) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for path in sources():
        target = STUDENTS / path.name
        text = render(path)
        if "--check" in argv:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(target)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(HERE.parent.parent)}")
    if stale:
        print("stale student copies (run notebooks/instructor/make_student_copies.py): "
              + ", ".join(str(p) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
