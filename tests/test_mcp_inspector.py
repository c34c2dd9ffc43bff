"""A real third-party MCP client against `taskmaster mcp`: the MCP Inspector's CLI (npm @modelcontextprotocol/inspector,
pinned in the Makefile and installed by `make test-tools`). A missing Inspector fails the test; it never skips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from e2e import ROOT

from tasks.model import Task
from tasks.store import TaskFile

INSPECTOR = ROOT / "tools" / "mcp-inspector" / "node_modules" / ".bin" / "mcp-inspector"


def inspector(project: Path, *args: str) -> dict:
    assert INSPECTOR.is_file(), f"MCP Inspector missing at {INSPECTOR}; run `make test-tools`"
    command = [str(INSPECTOR), "--cli", sys.executable, "-m", "taskmaster.cli", "mcp", *args]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_the_mcp_inspector_lists_the_tools_and_calls_get_tasks_and_next_task(isolated_project: Path) -> None:
    store = TaskFile(isolated_project / ".taskmaster" / "tasks" / "tasks.json")
    store.save(
        [
            Task.new(1, "Schema", status="done"),
            Task.new(2, "API", dependencies=[1]),
            Task.new(3, "UI", dependencies=[2]),
        ]
    )
    root = f"projectRoot={isolated_project}"

    tools = {t["name"]: t for t in inspector(isolated_project, "--method", "tools/list")["tools"]}
    assert {"get_tasks", "next_task", "set_task_status", "parse_prd", "expand_task", "research"} <= set(tools)
    assert {"projectRoot", "status", "withSubtasks", "tag"} <= set(tools["get_tasks"]["inputSchema"]["properties"])

    listed = inspector(
        isolated_project, "--method", "tools/call", "--tool-name", "get_tasks", "--tool-arg", root, "status=pending"
    )
    assert listed["isError"] is False
    assert [t["id"] for t in listed["structuredContent"]["tasks"]] == [2, 3]

    nxt = inspector(isolated_project, "--method", "tools/call", "--tool-name", "next_task", "--tool-arg", root)
    assert nxt["structuredContent"]["nextTask"]["id"] == 2  # 1 is done, 3 waits for 2
    assert nxt["content"][0]["text"] == "Next: task 2: API"
