"""`doctor` and `models` on a two-model ladder: one row group per embedded model, naming the tiers it serves.

The second model is Gemma3-270M (the `gemma` extra), not the 1.5B one: two real llama-server processes, each small
enough that doctor's completion and schema probes take seconds on a loaded machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from taskmaster.cli import doctor_commands

app = typer.Typer()
app.callback()(lambda: None)
doctor_commands.register(app)
runner = CliRunner()
SECOND = "gemma3"


@pytest.fixture
def ladder_env(tmp_path: Path) -> dict[str, str]:
    """fast on SmolLM2, planner and coder on Gemma3, servers in a private runtime dir."""
    return {
        "TASKMASTER_EMBEDDED__MODEL": "smollm2",
        "TASKMASTER_EMBEDDED__STRONG_MODEL": SECOND,
        "TASKMASTER_EMBEDDED__RUNTIME_DIR": str(tmp_path / "runtime"),
    }


def test_models_reports_each_embedded_server_without_starting_any(
    isolated_project: Path, ladder_env: dict[str, str]
) -> None:
    result = runner.invoke(app, ["models", "--json"], env=ladder_env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["embedded"] == {
        SECOND: {"tiers": ["planner", "coder"], "running": False, "base_url": None, "pid": None},
        "smollm2": {"tiers": ["fast"], "running": False, "base_url": None, "pid": None},
    }
    assert data["tiers"]["planner"]["endpoints"][0]["server"] == SECOND
    assert data["tiers"]["fast"]["endpoints"][0]["detail"] == doctor_commands.NOT_RUNNING
    text = runner.invoke(app, ["models"], env=ladder_env).output
    assert f"embedded server {SECOND} (planner, coder): not running" in text
    assert "embedded server smollm2 (fast): not running" in text
    assert f"endpoint (embedded {SECOND}, not running) [llamacpp]" in text
    assert not Path(ladder_env["TASKMASTER_EMBEDDED__RUNTIME_DIR"]).exists()


def test_doctor_checks_every_embedded_server_then_models_sees_them_running(
    isolated_project: Path, ladder_env: dict[str, str]
) -> None:
    result = runner.invoke(app, ["doctor", "--json"], env=ladder_env)
    assert result.exit_code == 0, result.output + result.stderr
    endpoint = [c for c in json.loads(result.output)["checks"] if c["area"] == "endpoint"]
    by_tiers = {c["subject"].split(" @ ")[0] for c in endpoint}
    assert by_tiers == {"planner/coder", "fast"}  # one row group per model, naming the tiers it serves
    serves = sorted(c["summary"] for c in endpoint if c["summary"].startswith("serves "))
    assert serves == [f"serves {SECOND}", "serves smollm2"]
    assert sum(c["summary"].startswith("structured output in ") for c in endpoint) == 2
    runtime = Path(ladder_env["TASKMASTER_EMBEDDED__RUNTIME_DIR"])
    assert sorted(p.name for p in runtime.glob("*.log")) == [f"{SECOND}-8192.log", "smollm2-8192.log"]
    assert not list(runtime.glob("*.json"))  # doctor held the only leases: both servers stopped after it
