"""End to end on the real embedded model (SmolLM2-135M): the pipeline's behaviour, never answer quality.

The model is tiny, so these assert what the pipeline guarantees whatever it answers: attempts are recorded
in the ledger per the matrix, files and reports are written, the structure is valid.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from e2e import run_cli

from taskmaster.cli.registry import COMMAND_MODULES
from taskmaster.workspace.ledger import Ledger, ledger_path

pytestmark = pytest.mark.e2e

# Until `code_commands` is registered in the main app, run the same commands through a Typer app of their own.
_STANDALONE = (
    "import typer; from taskmaster.cli import code_commands; "
    "app = typer.Typer(pretty_exceptions_enable=False); code_commands.register(app); app()"
)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if "code_commands" in COMMAND_MODULES:
        return run_cli(*args, cwd=cwd, timeout=600)
    return subprocess.run(
        [sys.executable, "-c", _STANDALONE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )


def rows(project: Path) -> list:
    return [r.record for r in Ledger(ledger_path(project / ".taskmaster")).rows()]


def test_eval_humaneval_limit_3_on_the_embedded_model(embedded_server: object, isolated_project: Path) -> None:
    result = cli(
        "eval",
        "humaneval",
        "--limit",
        "3",
        "--policy",
        "verified",
        "--attempts",
        "2",
        "--max-tokens",
        "160",
        "--json",
        cwd=isolated_project,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["policy"] == "verified" and report["problems"] == 3
    assert [r["task_id"] for r in report["results"]] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert report["pass_at_1"] == report["passed"] / 3
    assert report["input_tokens"] > 0 and report["output_tokens"] > 0 and report["seconds"] > 0
    for r in report["results"]:
        assert 1 <= r["attempts"] <= 2 and r["status"] in {"solved", "failed"}
        assert (r["solved_by"] == "fast") == (r["status"] == "solved")
    recorded = rows(isolated_project)
    assert len(recorded) == sum(r["attempts"] for r in report["results"])
    assert {r.worker_tier for r in recorded} == {"fast"} and all(r.cost_usd == 0.0 for r in recorded)
    assert sum(r.input_tokens for r in recorded) == report["input_tokens"]


def test_code_spec_on_the_embedded_model_writes_files_and_ledger_rows(
    embedded_server: object, isolated_project: Path
) -> None:
    out = isolated_project / "generated"
    result = cli(
        "code",
        "--spec",
        "Write a Python function add(a, b) that returns a + b.",
        "--type",
        "standard_dev",
        "--attempts",
        "1",
        "--max-tokens",
        "160",
        "--out",
        str(out),
        "--json",
        cwd=isolated_project,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] in {"solved", "failed"} and 1 <= summary["attempts"] <= 3
    assert (out / "result.json").is_file() and json.loads((out / "result.json").read_text())["status"]
    recorded = rows(isolated_project)
    # one attempt per tier, escalating fast → coder → planner until one passes
    assert [r.worker_tier for r in recorded] == ["fast", "coder", "planner"][: summary["attempts"]]
    assert [r.escalations for r in recorded] == list(range(summary["attempts"]))
    assert (recorded[-1].outcome == "passed") == (summary["status"] == "solved")
    assert all("syntax" in r.verifiers or r.outcome == "error" for r in recorded)
    if summary["status"] == "solved":
        assert (out / "solution.py").is_file() and (out / "test_solution.py").is_file()
    stats = cli("stats", "--json", cwd=isolated_project)
    assert json.loads(stats.stdout)["attempts"] == len(recorded)
