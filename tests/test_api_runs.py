"""The runs API (run, runs, run_status, stats) on a real temp project; the model is scripted (the real-model runs
of the same function go through `taskmaster run` in test_run_e2e.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fakes import make_router

from agents.escalation import EscalationMatrix, TypeRule
from taskmaster.errors import AppError
from taskmaster.workspace import Workspace
from tasks.model import Task, TaskStatus
from tasks.store import TaskFile

GOOD = (
    "```python\ndef add(a, b):\n    return a + b\n```\n\n"
    "```python\nfrom solution import *\n\n\ndef test_add():\n    assert add(2, 3) == 5\n```"
)


def respond(schema: str, messages: list) -> Any:
    if schema == "CodePlan":
        return {"steps": ["write add"]}
    if schema == "JudgeVerdict":
        return {"passed": True, "confidence": 0.9, "reasons": ["right"]}
    if schema == "ComplexityScore":
        return {"complexity": 2, "recommended_subtasks": 0, "reasoning": "small"}
    return GOOD


@pytest.fixture
def routers(isolated_project: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    opened: list[Any] = []

    @contextmanager
    def scripted_router(settings: Any) -> Iterator[Any]:
        opened.append(settings.profile)
        yield make_router(respond)[0]

    monkeypatch.setattr("taskmaster.workspace.models.model_router", scripted_router)
    return opened


def store(project: Path, *titles: str) -> TaskFile:
    tasks = TaskFile(project / ".taskmaster" / "tasks" / "tasks.json")
    tasks.save([Task.new(i + 1, title, complexity=2) for i, title in enumerate(titles)])
    return tasks


def always_review() -> EscalationMatrix:
    rule = TypeRule(
        complexity_min=0,
        complexity_max=10,
        chain=["coder"],
        verifiers=["syntax"],
        max_attempts=1,
        human_review="always",
    )
    return EscalationMatrix(rules={name: rule for name in EscalationMatrix().rules})


def test_a_run_with_nothing_to_do_starts_no_model(isolated_project: Path, routers: list[Any]) -> None:
    with Workspace.open(isolated_project) as ws:
        summary = ws.run()
        assert summary.stop_reason == "nothing_ready" and summary.state == "stopped" and summary.done == []
        assert routers == []
        assert [r.thread_id for r in ws.runs()] == [summary.thread_id]


def test_run_works_tasks_and_records_them(isolated_project: Path, routers: list[Any]) -> None:
    tasks = store(isolated_project, "Write add(a, b) returning the sum", "Write sub(a, b) returning the difference")
    updates: list[str] = []
    with Workspace.open(isolated_project) as ws:
        summary = ws.run(max_tasks=1, on_update=lambda node, update: updates.append(node))
        assert summary.stop_reason == "max_tasks" and summary.done == ["1"]
        assert summary.tokens.input > 0 and summary.input_tokens == summary.tokens.input
        assert "pick" in updates and "work" in updates
        data = json.loads(summary.model_dump_json())
        assert data["tokens"]["output"] == summary.output_tokens and data["thread_id"] == summary.thread_id

        again = ws.run(resume=summary.thread_id)  # a finished run takes new input on its own thread
        assert again.thread_id == summary.thread_id and sorted(again.done) == ["1", "2"]
        assert [t.status for t in tasks.load()] == [TaskStatus.DONE, TaskStatus.DONE]
        assert (isolated_project / ".taskmaster" / "code" / "2" / "solution.py").exists()

        [info] = ws.runs()
        assert info.thread_id == summary.thread_id and info.state == "stopped" and info.tag == "master"
        status = ws.run_status(summary.thread_id)
        events = [(e.task_id, e.event) for e in status.events]
        assert ("1", "finished") in events and ("2", "finished") in events
        assert status.run.summary is not None and status.run.summary["done"] == ["1", "2"]


def test_a_review_pauses_the_run_and_resume_answers_it(isolated_project: Path, routers: list[Any]) -> None:
    tasks = store(isolated_project, "Write add(a, b) returning the sum", "Write sub(a, b) returning the difference")
    with Workspace.open(isolated_project, escalation=always_review()) as ws:
        paused = ws.run()
        assert paused.state == "waiting" and paused.stop_reason == "human_review"
        assert paused.waiting is not None and paused.waiting["task_id"] == "1"
        assert ws.runs()[0].state == "waiting"
        with pytest.raises(AppError, match="thread id to resume"):
            ws.run(review="approve")

        asked: list[str] = []

        def skip(payload: dict[str, Any]) -> dict[str, Any]:
            asked.append(payload["task_id"])
            return {"action": "skip"}

        done = ws.run(resume=paused.thread_id, review="approve", decide=skip)
        assert done.state == "stopped" and asked == ["2"]
        assert done.done == ["1"] and done.review == ["2"]
        assert [t.status for t in tasks.load()] == [TaskStatus.DONE, TaskStatus.REVIEW]
        with pytest.raises(AppError, match="not waiting for a review"):
            ws.run(resume=paused.thread_id, review="approve")


def test_run_bad_input_raises_app_errors(isolated_project: Path, routers: list[Any]) -> None:
    with Workspace.open(isolated_project) as ws:
        with pytest.raises(AppError, match="no run 'run-nope' to resume"):
            ws.run(resume="run-nope")
        with pytest.raises(AppError, match="not found"):
            ws.run(prd=isolated_project / "missing.md")
        with pytest.raises(AppError, match="not more than one"):
            ws.run(prd="x.md", goal="y")
        with pytest.raises(AppError, match="goal is empty"):
            ws.run(goal="  ")
        with pytest.raises(AppError, match="no run 'nope'"):
            ws.run_status("nope")
        assert ws.runs() == []
    assert routers == []


def test_stats_aggregates_the_ledger(isolated_project: Path, routers: list[Any]) -> None:
    with Workspace.open(isolated_project) as ws:
        empty = ws.stats()
        assert empty.attempts == 0 and empty.by_tier == {}
        assert not ws.paths.ledger.exists()  # asking for stats creates no ledger
        ws.code(spec="Write add(a, b).", task_type="standard_dev")
        stats = ws.stats()
        assert (stats.runs, stats.attempts, stats.solved_runs) == (1, 1, 1)
        assert stats.by_tier["fast"].success_rate == 1.0 and stats.by_type["standard_dev"].passed == 1
        assert stats.cost_saved_usd == pytest.approx(stats.reference_cost_usd - stats.cost_usd)
        assert ws.stats(since="2999-01-01").attempts == 0
        with pytest.raises(AppError, match="not an ISO date"):
            ws.stats(since="yesterday")


def test_the_mcp_tools_call_the_same_api(isolated_project: Path, routers: list[Any]) -> None:
    """code, run and run_status over MCP: same results as the API, on the server's one shared router."""
    import anyio

    from taskmaster.mcp import own_tools
    from taskmaster.mcp.models import MODELS

    store(isolated_project, "Write add(a, b) returning the sum")
    root = str(isolated_project)
    try:
        coded = anyio.run(
            lambda: own_tools.code(None, spec="Write add(a, b).", taskType="standard_dev", projectRoot=root)
        )
        assert not coded.is_error and coded.structured_content["status"] == "solved"
        ran = anyio.run(lambda: own_tools.run(None, maxTasks="1", projectRoot=root))
        assert not ran.is_error and ran.structured_content["done"] == ["1"]
        thread = ran.structured_content["thread_id"]
        status = anyio.run(lambda: own_tools.run_status(thread=thread, projectRoot=root))
        assert ("1", "finished") in [(e["task_id"], e["event"]) for e in status.structured_content["events"]]
        assert len(routers) == 1  # both model tools used the server's router
        bad = anyio.run(lambda: own_tools.run(None, resume="run-nope", projectRoot=root))
        assert bad.is_error and bad.content[0].text.startswith("error: there is no run 'run-nope'")
    finally:
        MODELS.close()
