"""The example notebook runs top to bottom in a real Jupyter kernel (tiny budget)."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from helpers import ROOT
from nbclient import NotebookClient

pytestmark = pytest.mark.slow


def test_california_housing_notebook_runs_and_exports_a_loadable_model(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("*.keras", "*.csv", "*.json"))
    folder = tmp_path / "examples"
    notebook = nbformat.read(folder / "california_housing.ipynb", as_version=4)
    monkeypatch.setenv("NNHP_BUDGET", "smoke")
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "1")
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    assert (folder / "best_housing.keras").exists()
    texts = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "n_hidden" in texts and "learning_rate" in texts
    streams = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "stream"]
    startup = ("absl::InitializeLog", "cuInit", "cuda drivers", "cpu_feature_guard", "oneDNN")
    noisy = [o["text"][:200] for o in streams if any(line in o["text"] for line in startup)]
    assert not noisy, f"TensorFlow's start-up lines reached the notebook: {noisy}"
    assert "test MSE of the exported model:" in texts
    search_cell = next(c for c in notebook.cells if c.source.startswith("%%hpsearch"))
    html = [o for o in search_cell.outputs if "text/html" in o.get("data", {})]
    assert html and "Best parameters" in html[-1]["data"]["text/html"]
