"""`taskmaster mcp`'s model tools on the real embedded model (SmolLM2-135M), through the SDK's stdio client.

What the system guarantees whatever the tiny model says: parse_prd writes a schema-valid tree with valid
dependencies and reports progress; research cites only real passages of the ingested corpus; a cancelled parse_prd
writes nothing, leaves its checkpoint, and the same call again resumes it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import anyio
from e2e import ROOT
from mcp import ClientSession
from test_mcp_server import run_session, structured

from tasks.dependencies import validate_dependencies
from tasks.model import Task
from tasks.store import TaskFile
from tasks.tree import iter_tasks

# The machine running the suite may be busy: a slow answer is not what these tests check.
SMALL = {
    "TASKMASTER_BREAKDOWN__MAX_DEPTH": "1",
    "TASKMASTER_BREAKDOWN__MAX_BREADTH": "2",
    "TASKMASTER_TIMEOUT_S": "900",
}


def _tasks_file(project: Path) -> TaskFile:
    return TaskFile(project / ".taskmaster" / "tasks" / "tasks.json")


def test_parse_prd_and_research_on_the_embedded_model(isolated_project: Path, embedded_server: object) -> None:
    root = str(isolated_project)
    shutil.copy(ROOT / "examples" / "prd.md", isolated_project / "prd.md")
    shutil.copytree(ROOT / "examples" / "kb", isolated_project / "kb")
    store = _tasks_file(isolated_project)
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async def body(s: ClientSession) -> tuple[dict, dict]:
        args = {"projectRoot": root, "input": "prd.md", "numTasks": "2"}
        parsed = structured(await s.call_tool("parse_prd", args, progress_callback=on_progress))
        structured(await s.call_tool("kb_add", {"projectRoot": root, "paths": ["kb"]}))
        query = {"projectRoot": root, "query": "How should user passwords be hashed?", "saveTo": "1"}
        return parsed, structured(await s.call_tool("research", query))

    parsed, answer = run_session(isolated_project, body, env=SMALL)

    tasks = store.load()
    assert 1 <= len(tasks) <= 3 and [t.id for t in tasks] == list(range(1, len(tasks) + 1))
    for full_id, task in iter_tasks(tasks):
        Task.model_validate(task.model_dump(by_alias=True))
        assert full_id.count(".") <= 1 and len(task.subtasks) <= 2  # depth 1, breadth 2
    assert validate_dependencies(tasks) == []
    assert parsed["total"] == sum(1 for _ in iter_tasks(tasks)) and parsed["resumed"] is False
    assert any(m.startswith("planning") for m in messages)  # MCP progress notifications arrived

    corpus = {str(p.resolve()) for p in (isolated_project / "kb").iterdir() if p.is_file()}
    for source in answer["sources"]:
        assert source["source"] in corpus  # never an invented source
    cited = {int(n) for g in re.findall(r"\[([\d,; ]+)\]", answer["answer"]) for n in re.split(r"[,; ]+", g) if n}
    assert cited == {s["n"] for s in answer["sources"]}
    assert answer["saved"] == {"task": "1"}
    assert "## Research: How should user passwords be hashed?" in store.load()[0].details


def test_a_cancelled_parse_prd_resumes_from_its_checkpoint(isolated_project: Path, embedded_server: object) -> None:
    root = str(isolated_project)
    shutil.copy(ROOT / "examples" / "prd.md", isolated_project / "prd.md")
    store = _tasks_file(isolated_project)
    args = {"projectRoot": root, "input": "prd.md", "numTasks": "2", "depth": 0}

    async def body(s: ClientSession) -> tuple[bool, dict]:
        first_step = anyio.Event()

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            if progress >= 2:  # 1 is "started"; from 2 on, a graph step has finished and been checkpointed
                first_step.set()

        async def call() -> None:
            await s.call_tool("parse_prd", args, progress_callback=on_progress)

        async with anyio.create_task_group() as group:
            group.start_soon(call)
            await first_step.wait()
            group.cancel_scope.cancel()  # the SDK sends notifications/cancelled for the pending call
        written_while_cancelled = store.exists()
        return written_while_cancelled, structured(await s.call_tool("parse_prd", args))

    written, resumed = run_session(isolated_project, body, env=SMALL)
    assert not written  # the cancelled call wrote no half-finished tasks.json
    assert (isolated_project / ".taskmaster" / "state" / "checkpoints.sqlite").is_file()
    assert resumed["resumed"] is True
    tasks = store.load()
    assert 1 <= len(tasks) <= 3 and validate_dependencies(tasks) == []
    assert resumed["total"] == sum(1 for _ in iter_tasks(tasks))
