"""notebooks/walkthrough.ipynb runs top to bottom on the embedded model, as a user would run it from notebooks/; it
drives the app through the public Python API only (no subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from e2e import ROOT
from nbclient import NotebookClient

NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"


def _text_outputs(nb: nbformat.NotebookNode) -> str:
    return "\n".join(
        output.get("text", "") for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )


@pytest.mark.e2e
def test_walkthrough_notebook_runs_end_to_end(
    isolated_project: Path, embedded_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKMASTER_WALKTHROUGH_PROJECT", str(isolated_project))  # the kernel inherits os.environ
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # kernel "python3" runs sys.executable (jupyter_client maps the spec's bare `python`), i.e. this venv
    where = {"metadata": {"path": str(NOTEBOOK.parent)}}  # the kernel starts in notebooks/, as in Jupyter
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources=where)
    client.execute()

    tasks = json.loads((isolated_project / ".taskmaster" / "tasks" / "tasks.json").read_text())["master"]["tasks"]
    assert 1 <= len(tasks) <= 2 and all(t["title"].strip() for t in tasks)
    assert all(not t.get("subtasks") for t in tasks)  # taskmaster.toml's max_depth = 0 was honoured

    research = (isolated_project / "research.md").read_text()
    assert research.startswith("## Research: How should user passwords be hashed?")

    result = json.loads((isolated_project / "generated" / "result.json").read_text())
    assert result["status"] in {"solved", "failed"} and result["attempts"] >= 1
    if result["status"] == "solved":
        assert (isolated_project / "generated" / "solution.py").read_text().strip()

    printed = _text_outputs(nb)
    assert f"{len(tasks)} tasks in" in printed
    assert "Code generation ledger: 1 runs" in printed  # ws.stats() read the attempt ledger
    assert "status:" in printed
    assert "error: " in printed  # the unknown task id, as one line
    sources = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "subprocess" not in sources and "from taskmaster import" in sources
