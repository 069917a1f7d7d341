"""The seller notebook (``notebooks/03_your_store.ipynb``) runs top to bottom in its fast mode and
shows what it promises: the summary, unread rows, fitted figures, a policy comparison, the model
against the reports' outcomes, and the fields still assumed."""

from __future__ import annotations

import pytest
from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "03_your_store.ipynb"


def test_your_store_notebook_runs_and_shows_its_parts(monkeypatch: pytest.MonkeyPatch):
    import nbclient
    import nbformat
    from test_notebooks import _this_python_kernel  # the kernel of this interpreter

    monkeypatch.setenv("RETURNSIM_SMALL", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "clear outputs before committing"
    client = nbclient.NotebookClient(nb, km=_this_python_kernel(), timeout=600, resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    text = "\n".join(
        out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )
    pngs = sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)
    assert "Unread: 6 rows" in text  # the damaged example rows are shown
    assert "# fitted" in text and "fields still assumed" in text
    assert "az_claim_rate" in text and "model, seed policy" in text
    assert pngs >= 4  # return rates, reasons, delay, the policy comparison
