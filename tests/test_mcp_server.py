"""`taskmaster mcp` driven by the official SDK's stdio client, as an editor agent would drive it.

The server runs as a subprocess (`python -m taskmaster.cli mcp`); every call goes over the MCP protocol. Task tools
run on a temporary project without a model; bad input must come back as a one-line tool error and leave tasks.json
byte-identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tasks.model import Task
from tasks.store import TaskFile

# Task Master's tools (mcp-server/src/tools/*.js, apps/mcp) and the argument names an editor's prompts use.
TASK_MASTER_TOOLS: dict[str, set[str]] = {
    "get_tasks": {"projectRoot", "status", "withSubtasks", "tag", "file"},
    "get_task": {"id", "status", "projectRoot", "tag", "file"},
    "next_task": {"file", "complexityReport", "projectRoot", "tag"},
    "set_task_status": {"id", "status", "file", "complexityReport", "projectRoot", "tag"},
    "add_dependency": {"id", "dependsOn", "file", "projectRoot", "tag"},
    "remove_dependency": {"id", "dependsOn", "file", "projectRoot", "tag"},
    "validate_dependencies": {"file", "projectRoot", "tag"},
    "fix_dependencies": {"file", "projectRoot", "tag"},
    "complexity_report": {"file", "projectRoot"},
    "list_tags": {"showMetadata", "file", "projectRoot"},
    "parse_prd": {"input", "projectRoot", "tag", "output", "numTasks", "force", "research", "append"},
    "expand_task": {"id", "num", "research", "prompt", "file", "projectRoot", "force", "tag"},
    "expand_all": {"num", "research", "prompt", "force", "file", "projectRoot", "tag"},
    "analyze_project_complexity": {"threshold", "research", "output", "file", "ids", "projectRoot", "tag"},
    "research": {
        "query",
        "taskIds",
        "filePaths",
        "customContext",
        "includeProjectTree",
        "detailLevel",
        "saveTo",
        "saveToFile",
        "projectRoot",
        "tag",
    },
    "models": {"projectRoot", "setMain", "setResearch", "setFallback", "listAvailableModels"},
    "add_task": {
        "prompt",
        "title",
        "description",
        "details",
        "testStrategy",
        "dependencies",
        "priority",
        "file",
        "projectRoot",
        "tag",
        "research",
    },
    "add_subtask": {
        "id",
        "taskId",
        "title",
        "description",
        "details",
        "status",
        "dependencies",
        "file",
        "skipGenerate",
        "projectRoot",
        "tag",
    },
    "update_task": {"id", "prompt", "research", "append", "metadata", "file", "projectRoot", "tag"},
    "update_subtask": {"id", "prompt", "research", "metadata", "file", "projectRoot", "tag"},
    "update": {"from", "prompt", "research", "file", "projectRoot", "tag"},
    "remove_task": {"id", "file", "projectRoot", "confirm", "tag"},
    "remove_subtask": {"id", "convert", "file", "skipGenerate", "projectRoot", "tag"},
    "clear_subtasks": {"id", "all", "file", "projectRoot", "tag"},
    "move_task": {
        "from",
        "to",
        "file",
        "projectRoot",
        "tag",
        "fromTag",
        "toTag",
        "withDependencies",
        "ignoreDependencies",
    },
    "add_tag": {"name", "copyFromCurrent", "copyFromTag", "fromBranch", "description", "file", "projectRoot"},
    "use_tag": {"name", "file", "projectRoot"},
    "delete_tag": {"name", "yes", "file", "projectRoot"},
    "rename_tag": {"oldName", "newName", "file", "projectRoot"},
    "copy_tag": {"sourceName", "targetName", "description", "file", "projectRoot"},
}
REQUIRED = {
    "get_task": {"id"},
    "set_task_status": {"id", "status"},
    "add_dependency": {"id", "dependsOn"},
    "remove_dependency": {"id", "dependsOn"},
    "expand_task": {"id"},
    "research": {"query"},
    "add_subtask": {"id"},
    "update_task": {"id"},
    "update_subtask": {"id"},
    "update": {"prompt"},
    "remove_task": {"id"},
    "remove_subtask": {"id"},
    "move_task": {"from"},
    "add_tag": {"name"},
    "use_tag": {"name"},
    "delete_tag": {"name"},
    "rename_tag": {"oldName", "newName"},
    "copy_tag": {"sourceName", "targetName"},
}
OWN_TOOLS = {"kb_add", "kb_search", "code", "verify", "run", "run_status"}


@asynccontextmanager
async def mcp_session(project: Path, env: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "taskmaster.cli", "mcp"], cwd=project, env={**os.environ, **(env or {})}
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def run_session(project: Path, body: Callable[[ClientSession], Awaitable[Any]], env: dict[str, str] | None = None):
    async def main() -> Any:
        async with mcp_session(project, env) as session:
            return await body(session)

    return anyio.run(main)


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.content[0].text  # the short summary
    assert json.loads(result.content[1].text) == result.structured_content
    return result.structured_content


def tool_error(result: Any) -> str:
    assert result.is_error, result
    text = "\n".join(c.text for c in result.content)
    assert "Traceback" not in text
    return text


@pytest.fixture
def project(isolated_project: Path) -> Path:
    store = TaskFile(isolated_project / ".taskmaster" / "tasks" / "tasks.json")
    first = Task.new(1, "Set up the repository", priority="high")
    first.subtasks = [Task.new(1, "Create the layout"), Task.new(2, "Add CI", dependencies=[1])]
    store.save([first, Task.new(2, "Write the parser", dependencies=[1]), Task.new(3, "Docs", dependencies=[2])])
    return isolated_project


def test_lists_every_task_master_tool_with_its_argument_names(project: Path) -> None:
    tools = run_session(project, lambda s: s.list_tools())
    by_name = {t.name: t for t in tools.tools}
    assert set(TASK_MASTER_TOOLS) | OWN_TOOLS <= set(by_name)
    for name, arguments in TASK_MASTER_TOOLS.items():
        schema = by_name[name].input_schema
        assert arguments <= set(schema["properties"]), (name, set(schema["properties"]))
        assert set(schema.get("required", [])) == REQUIRED.get(name, set()), name
    status = by_name["set_task_status"].input_schema["properties"]["status"]
    assert {"pending", "in-progress", "done", "review", "deferred", "cancelled"} <= set(status["enum"])


def test_task_tools_end_to_end_without_a_model(project: Path) -> None:
    root = str(project)

    async def body(s: ClientSession) -> None:
        listed = structured(await s.call_tool("get_tasks", {"projectRoot": root}))
        assert [t["id"] for t in listed["tasks"]] == [1, 2, 3]
        assert all("subtasks" not in t for t in listed["tasks"])
        assert listed["stats"] == {"total": 3, "withSubtasks": 5, "byStatus": {"pending": 5}}
        nested = structured(await s.call_tool("get_tasks", {"projectRoot": root, "withSubtasks": True}))
        assert [st["title"] for st in nested["tasks"][0]["subtasks"]] == ["Create the layout", "Add CI"]

        nxt = structured(await s.call_tool("next_task", {"projectRoot": root}))
        assert nxt["nextTask"]["id"] == 1
        structured(await s.call_tool("set_task_status", {"projectRoot": root, "id": "1", "status": "in-progress"}))
        nxt = structured(await s.call_tool("next_task", {"projectRoot": root}))
        assert nxt["nextTask"]["id"] == "1.1"  # finish what was started: the in-progress parent's first subtask
        done = structured(
            await s.call_tool("set_task_status", {"projectRoot": root, "id": "1.1,1.2", "status": "done"})
        )
        assert done["updated"] == ["1.1", "1.2", "1"]  # the parent rolls up to done, as tm-core does
        pending = structured(await s.call_tool("get_tasks", {"projectRoot": root, "status": "pending"}))
        assert [t["id"] for t in pending["tasks"]] == [2, 3]

        one = structured(await s.call_tool("get_task", {"projectRoot": root, "id": "1.2"}))
        assert one["task"]["title"] == "Add CI" and one["task"]["status"] == "done"
        several = structured(await s.call_tool("get_task", {"projectRoot": root, "id": "2,3"}))
        assert [t["title"] for t in several["tasks"]] == ["Write the parser", "Docs"]

        structured(await s.call_tool("add_dependency", {"projectRoot": root, "id": "3", "dependsOn": "1"}))
        assert TaskFile(project / ".taskmaster/tasks/tasks.json").load()[2].dependencies == [2, 1]
        removed = structured(await s.call_tool("remove_dependency", {"projectRoot": root, "id": "3", "dependsOn": "1"}))
        assert removed["removed"] is True
        assert structured(await s.call_tool("validate_dependencies", {"projectRoot": root}))["valid"] is True
        assert structured(await s.call_tool("fix_dependencies", {"projectRoot": root}))["fixed"] == []
        tags = structured(await s.call_tool("list_tags", {"projectRoot": root}))
        assert [(t["name"], t["current"], t["tasks"], t["completed"]) for t in tags["tags"]] == [("master", True, 3, 1)]
        missing = tool_error(await s.call_tool("complexity_report", {"projectRoot": root}))
        assert "no complexity report" in missing and "analyze-complexity" in missing
        models = structured(await s.call_tool("models", {"projectRoot": root}))
        assert models["profile"] == "embedded" and models["tiers"]

    run_session(project, body)


def test_editing_tools_end_to_end_without_a_model(project: Path) -> None:
    root = str(project)
    store = TaskFile(project / ".taskmaster" / "tasks" / "tasks.json")

    async def body(s: ClientSession) -> None:
        added = structured(await s.call_tool("add_task", {"projectRoot": root, "title": "Ship", "dependencies": "2"}))
        assert added["task"]["id"] == 4 and added["task"]["dependencies"] == [2]
        sub = structured(await s.call_tool("add_subtask", {"projectRoot": root, "id": "2", "title": "Tokenizer"}))
        assert sub["id"] == "2.1"
        note = {"projectRoot": root, "id": "2.1", "prompt": "Use regex.", "noAi": True}
        structured(await s.call_tool("update_subtask", note))
        assert "Use regex." in store.load()[1].subtasks[0].details
        changed = {"projectRoot": root, "id": "3", "title": "User docs", "priority": "low"}
        structured(await s.call_tool("update_task", changed))
        assert (store.load()[2].title, store.load()[2].priority) == ("User docs", "low")
        files = structured(await s.call_tool("generate", {"projectRoot": root}))
        assert len(files["files"]) == 4 and all(Path(f).is_file() for f in files["files"])
        moved = structured(await s.call_tool("move_task", {"projectRoot": root, "from": "4", "to": "5"}))
        assert moved["moves"] == [{"from": "4", "to": "5"}]
        structured(await s.call_tool("remove_subtask", {"projectRoot": root, "id": "2.1"}))
        cleared = structured(await s.call_tool("clear_subtasks", {"projectRoot": root, "id": "1"}))
        assert cleared["cleared"] == ["1"]
        structured(await s.call_tool("remove_task", {"projectRoot": root, "id": "5"}))
        assert [t.id for t in store.load()] == [1, 2, 3]

        structured(await s.call_tool("add_tag", {"projectRoot": root, "name": "feature-x", "copyFromCurrent": True}))
        structured(await s.call_tool("use_tag", {"projectRoot": root, "name": "feature-x"}))
        structured(await s.call_tool("remove_task", {"projectRoot": root, "id": "3"}))  # in the current tag
        in_tag = structured(await s.call_tool("get_tasks", {"projectRoot": root}))
        assert in_tag["tag"] == "feature-x" and [t["id"] for t in in_tag["tasks"]] == [1, 2]
        master = structured(await s.call_tool("get_tasks", {"projectRoot": root, "tag": "master"}))
        assert [t["id"] for t in master["tasks"]] == [1, 2, 3]
        structured(await s.call_tool("use_tag", {"projectRoot": root, "name": "master"}))
        structured(await s.call_tool("rename_tag", {"projectRoot": root, "oldName": "feature-x", "newName": "fx"}))
        structured(await s.call_tool("copy_tag", {"projectRoot": root, "sourceName": "fx", "targetName": "fx2"}))
        structured(await s.call_tool("delete_tag", {"projectRoot": root, "name": "fx2"}))
        tags = structured(await s.call_tool("list_tags", {"projectRoot": root}))
        assert [t["name"] for t in tags["tags"]] == ["master", "fx"]

    run_session(project, body)


def test_own_tools_without_a_model(project: Path) -> None:
    root = str(project)
    (project / "add.py").write_text("def add(a, b):\n    return a + b\n")
    (project / "test_add.py").write_text("from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    (project / "bad.py").write_text("def add(a, b)\n    return a + b\n")

    async def body(s: ClientSession) -> None:
        good = structured(await s.call_tool("verify", {"projectRoot": root, "file": "add.py", "tests": "test_add.py"}))
        assert good["passed"] is True
        bad = structured(await s.call_tool("verify", {"projectRoot": root, "file": "bad.py"}))
        assert bad["passed"] is False
        assert structured(await s.call_tool("run_status", {"projectRoot": root}))["runs"] == []
        assert "no run 'nope'" in tool_error(await s.call_tool("run_status", {"projectRoot": root, "thread": "nope"}))
        empty = tool_error(await s.call_tool("kb_search", {"projectRoot": root, "query": "anything"}))
        assert "knowledge base is empty" in empty
        both = tool_error(await s.call_tool("code", {"projectRoot": root, "id": "1", "spec": "add numbers"}))
        assert "either id or spec" in both

    run_session(project, body)


def test_task_tools_load_no_model_stack(project: Path) -> None:
    """get_tasks and friends answer without importing any model stack (bench/mcp_latency.py times them)."""
    script = (
        "import sys, anyio\n"
        "from taskmaster.mcp.server import build_server\n"
        "server = build_server()\n"
        "for name, args in [('get_tasks', {'withSubtasks': True}), ('next_task', {}), ('get_task', {'id': '2'}),\n"
        "                   ('set_task_status', {'id': '2', 'status': 'review'}), ('validate_dependencies', {})]:\n"
        "    result = anyio.run(server.call_tool, name, {'projectRoot': sys.argv[1], **args})\n"
        "    assert not result.is_error, result\n"
        "heavy = ('openai', 'langchain_core', 'langgraph', 'torch', 'sentence_transformers', 'onnxruntime',\n"
        "         'qdrant_edge', 'llama_cpp', 'knowledge.base', 'agents.llm.router')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(project)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_bad_input_is_a_one_line_tool_error_and_leaves_the_file_untouched(project: Path) -> None:
    root = str(project)
    tasks_json = project / ".taskmaster" / "tasks" / "tasks.json"
    before = tasks_json.read_bytes()

    async def body(s: ClientSession) -> dict[str, str]:
        calls = {
            "unknown id": ("get_task", {"projectRoot": root, "id": "99"}),
            "unknown subtask": ("set_task_status", {"projectRoot": root, "id": "1,1.9", "status": "done"}),
            "bad status": ("set_task_status", {"projectRoot": root, "id": "1", "status": "finished"}),
            "missing PRD": ("parse_prd", {"projectRoot": root, "input": str(project / "nope.md"), "force": True}),
            "missing project": ("get_tasks", {"projectRoot": str(project / "missing")}),
            "wrong type": ("get_task", {"projectRoot": root, "id": ["1", "2"]}),
            "not a number": ("expand_task", {"projectRoot": root, "id": "2", "num": "many"}),
            "cycle": ("add_dependency", {"projectRoot": root, "id": "1", "dependsOn": "3"}),
            "tasks exist": ("parse_prd", {"projectRoot": root, "input": str(tasks_json)}),
        }
        return {label: tool_error(await s.call_tool(name, args)) for label, (name, args) in calls.items()}

    errors = run_session(project, body)
    assert tasks_json.read_bytes() == before
    assert "99" in errors["unknown id"] and "not found" in errors["unknown id"]
    assert "1.9" in errors["unknown subtask"]
    assert "unknown status 'finished'" in errors["bad status"] and "pending" in errors["bad status"]
    assert "nope.md not found" in errors["missing PRD"]
    assert "is not a directory" in errors["missing project"]
    assert "id" in errors["wrong type"] and "string" in errors["wrong type"]
    assert "num must be a whole number" in errors["not a number"]
    assert "cycle" in errors["cycle"]
    assert "already has 3 tasks" in errors["tasks exist"]
    for label in ("unknown id", "unknown subtask", "bad status", "missing PRD", "not a number", "cycle"):
        assert errors[label].startswith("error: ") and "\n" not in errors[label], (label, errors[label])
