"""The code / stats / eval commands wired to a scripted model (the real-model runs are in test_codegen_e2e.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
from fakes import make_router
from typer.testing import CliRunner

from taskmaster.cli import code_commands
from taskmaster.workspace.ledger import Ledger, ledger_path
from tasks.model import Task
from tasks.store import TaskFile

GOOD = (
    "```python\ndef add(a, b):\n    return a + b\n```\n\n"
    "```python\nfrom solution import *\n\n\ndef test_add():\n    assert add(2, 3) == 5\n```"
)
BROKEN = "```python\ndef add(a, b:\n```"


@pytest.fixture
def cli(isolated_project: Path, monkeypatch: pytest.MonkeyPatch):
    replies = {"code": GOOD}

    def respond(schema: str, messages: list) -> Any:
        if schema == "CodePlan":
            return {"steps": ["write it"]}
        if schema == "JudgeVerdict":
            return {"passed": True, "confidence": 0.8, "reasons": ["ok"]}
        return replies["code"]

    @contextmanager
    def fake_router(settings: Any) -> Iterator[Any]:
        yield make_router(respond)[0]

    monkeypatch.setattr("taskmaster.workspace.models.model_router", fake_router)
    app = typer.Typer()
    code_commands.register(app)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke, replies, isolated_project


def ledger_rows(project: Path) -> list[Any]:
    return [r.record for r in Ledger(ledger_path(project / ".taskmaster")).rows()]


def test_code_spec_writes_files_and_ledger_rows(cli) -> None:
    invoke, _, project = cli
    result = invoke("code", "--spec", "Write add(a, b).", "--type", "standard_dev", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "solved" and summary["solved_by"] == "fast" and summary["attempts"] == 1
    out = Path(summary["files"][0]).parent
    assert out.parent == project / ".taskmaster" / "code"
    assert (out / "solution.py").read_text().startswith("def add(a, b):")
    assert "def test_add" in (out / "test_solution.py").read_text()
    assert json.loads((out / "result.json").read_text())["solved_by"] == "fast"
    rows = ledger_rows(project)
    assert [(r.worker_tier, r.outcome, r.task_type) for r in rows] == [("fast", "passed", "standard_dev")]
    assert rows[0].cost_usd == 0.0 and rows[0].reference_cost_usd == pytest.approx((10 * 3 + 5 * 15) / 1e6)


def test_code_for_a_task_sets_status_and_review_resumes(cli) -> None:
    invoke, replies, project = cli
    store = TaskFile(project / ".taskmaster" / "tasks" / "tasks.json")
    store.save([Task.new(1, "Add two numbers", description="add(a, b)"), Task.new(2, "Refactor the parser")])
    assert invoke("code", "1", "--type", "quick_edit").exit_code == 0
    assert store.load()[0].status == "done"
    assert (project / ".taskmaster" / "code" / "1" / "solution.py").exists()

    replies["code"] = BROKEN  # "refactor" → complex: coder x3, planner x3, then a person decides
    waiting = invoke("code", "2", "--attempts", "1", "--out", str(project / "out"))
    assert waiting.exit_code == 0 and "waiting for human review" in waiting.output
    assert store.load()[1].status == "review"
    assert [r.worker_tier for r in ledger_rows(project)][1:] == ["coder", "planner"]
    done = invoke("code", "2", "--attempts", "1", "--out", str(project / "out"), "--review", "skip", "--json")
    assert json.loads(done.stdout)["status"] == "skipped"
    assert len(ledger_rows(project)) == 3  # resuming the review did not run the workers again


def test_stats_reports_by_tier_and_type(cli) -> None:
    invoke, replies, _ = cli
    replies["code"] = BROKEN
    invoke("code", "--spec", "Write add(a, b).", "--type", "quick_edit")
    replies["code"] = GOOD
    invoke("code", "--spec", "Write sub(a, b).", "--type", "standard_dev")
    stats = json.loads(invoke("stats", "--json").stdout)
    assert stats["runs"] == 2 and stats["attempts"] == 3 and stats["solved_runs"] == 1
    assert stats["by_tier"]["fast"]["attempts"] == 3 and stats["by_tier"]["fast"]["passed"] == 1
    assert stats["by_type"]["quick_edit"]["success_rate"] == 0.0
    assert stats["cost_saved_usd"] > 0 and stats["cost_usd"] == 0.0
    table = invoke("stats")
    assert "By worker tier" in table.stdout and "cost saved" in table.stdout
    assert json.loads(invoke("stats", "--since", "2999-01-01", "--json").stdout)["attempts"] == 0
    bad = invoke("stats", "--since", "yesterday")
    assert bad.exit_code == 1 and "not an ISO date" in bad.output


def test_bad_arguments_are_one_line_errors(cli) -> None:
    invoke, _, _ = cli
    assert "either a task id or --spec" in invoke("code").output
    wrong = invoke("code", "--spec", "x", "--type", "huge")
    assert wrong.exit_code == 1 and "unknown task type" in wrong.output
    assert "unknown policy" in invoke("eval", "humaneval", "--policy", "best").output


def test_eval_humaneval_reports_pass_at_1(cli) -> None:
    invoke, replies, project = cli
    replies["code"] = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"
    result = invoke("eval", "humaneval", "--limit", "1", "--policy", "verified", "--attempts", "1", "--json")
    report = json.loads(result.stdout)
    assert report["problems"] == 1 and report["passed"] == 0 and report["pass_at_1"] == 0.0
    assert [r.task_id for r in ledger_rows(project)] == ["HumanEval/0"]
