"""How long each notebook takes, in its fast mode (what `make test` runs) and in full.

    .venv/bin/python benchmarks/bench_notebooks.py                 # every notebook, both modes
    .venv/bin/python benchmarks/bench_notebooks.py notebooks/teaching/00_lab.ipynb --full

Each notebook runs top to bottom on a kernel of this interpreter, as in the tests. The teaching
lab also prints its own time per widget change. The goal (issue 12): every teaching and seller
notebook under two minutes in full on 2 cores. The research study (04) runs a whole study at the
scenario's horizon (PSA of 200 draws, Sobol' indices, a sweep, optimisation): about 5 minutes.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbclient
import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent
NB = ROOT / "notebooks"


def _kernel() -> KernelManager:
    spec = KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                      display_name="this python", language="python", name="python3")

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:  # noqa: ARG002
            return spec

    return KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


def run(path: Path, small: bool) -> float:
    os.environ["RETURNSIM_SMALL"] = "1" if small else "0"
    os.environ["RETURNSIM_EXPECT_SOLUTIONS"] = "1" if path.parent.name == "instructor" else "0"
    os.environ.pop("MPLBACKEND", None)
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    nbclient.NotebookClient(nb, km=_kernel(), timeout=1800, resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:  # the lab's own timing line
        for out in cell.get("outputs", []):
            if "per answer" in out.get("text", ""):
                print("   ", out["text"].strip())
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv if not a.startswith("--")] or (
        sorted(NB.glob("*.ipynb")) + sorted((NB / "teaching").glob("*.ipynb"))
    )
    modes = [False] if "--full" in argv else [True, False] if "--fast" not in argv else [True]
    print(f"{os.cpu_count()} CPUs")
    for path in paths:
        for small in modes:
            seconds = run(path, small)
            print(f"{path.relative_to(ROOT) if path.is_absolute() else path}  {'fast' if small else 'full'}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
