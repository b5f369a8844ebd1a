"""Every example notebook runs top to bottom, offline, on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow  # 85 s of default runs: .ci/run runs them after the default suite, which keeps under 10 minutes
@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.ipynb")))
def test_notebook_runs(name, tmp_path):
    notebook = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if name == "quickstart":  # the result displayed itself as HTML with pictures
        html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
        assert any("<img" in h and "Top-10 AUC" in h for h in html)
        assert (tmp_path / "runs" / "notebook-custom" / "report" / "report.html").exists()
    if name == "campaign":
        assert (tmp_path / "runs" / "notebook-campaign" / "run.sqlite").exists()
