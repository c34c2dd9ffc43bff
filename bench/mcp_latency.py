"""`get_tasks` through the MCP server on a generated 200-task file (with subtasks), server-side.

Target (issue 14): median ≤ 50 ms server-side, without loading any model stack. Server-side is the MCP server's
own tools/call handling (argument validation, settings, reading and parsing tasks.json, building the result), timed
in-process on the SDK's MCPServer. The stdio round trip through the SDK's client (`taskmaster mcp` subprocess) is
printed too, for what an editor sees.
Run: .venv/bin/python bench/mcp_latency.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_startup import TASKS, generate

TARGET_MS = 50.0
RUNS = 50
MODEL_STACKS = (
    "openai",
    "langchain_openai",
    "langchain_core",
    "langgraph",
    "torch",
    "sentence_transformers",
    "onnxruntime",
    "knowledge.base",
    "agents.llm.router",
    "llama_cpp",
)


async def server_side(project: Path) -> tuple[list[float], list[float]]:
    from taskmaster.mcp.server import build_server

    server = build_server()
    args = {"projectRoot": str(project), "withSubtasks": True}
    result = await server.call_tool("get_tasks", args)
    assert not result.is_error and len(result.structured_content["tasks"]) == TASKS, result
    walls, cpus = [], []
    for _ in range(RUNS):
        start, cpu = time.perf_counter(), time.process_time()
        await server.call_tool("get_tasks", args)
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return walls, cpus


async def round_trip(project: Path) -> list[float]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "taskmaster.cli", "mcp"], cwd=project, env=dict(os.environ)
    )
    times = []
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.call_tool("get_tasks", {"projectRoot": str(project)})
        for _ in range(20):
            start = time.perf_counter()
            await session.call_tool("get_tasks", {"projectRoot": str(project), "withSubtasks": True})
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        generate(project)
        walls, cpus = anyio.run(server_side, project)
        loaded = [name for name in MODEL_STACKS if name in sys.modules]
        trip = anyio.run(round_trip, project)
    median, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"get_tasks server-side, {TASKS} tasks with subtasks: {median:.1f} ms wall (p90 "
        f"{statistics.quantiles(walls, n=10)[-1]:.1f}), {cpu:.1f} ms CPU, median of {RUNS}; "
        f"target ≤ {TARGET_MS:.0f} ms; "
        f"ratio to target {median / TARGET_MS:.2f} ({'met' if median <= TARGET_MS else 'NOT met'})"
    )
    print(
        f"CPU time per call {cpu:.1f} ms = ratio {cpu / TARGET_MS:.2f} to the target: the wall time on an idle "
        "machine (wall exceeds CPU only while other processes compete for the cores)"
    )
    print(f"model stacks imported by the server: {', '.join(loaded) or 'none'}")
    print(f"get_tasks stdio round trip (SDK client ↔ taskmaster mcp): {statistics.median(trip):.1f} ms, median of 20")


if __name__ == "__main__":
    main()
