"""Builds the MCP server (official SDK's MCPServer, FastMCP's successor in mcp 2.x) and runs it on stdio or on
streamable HTTP bound to 127.0.0.1 only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer

INSTRUCTIONS = (
    "Task Master Local: Task Master's tools (get_tasks, next_task, set_task_status, expand_task, parse_prd, ...) "
    "on local models, plus kb_add/kb_search (local knowledge base), code (verified codegen), verify, run and "
    "run_status. Pass projectRoot (absolute path) to every tool. Long tools report progress; a cancelled one "
    "resumes from its checkpoint when called again with the same arguments."
)


@asynccontextmanager
async def _lifespan(server: MCPServer) -> AsyncIterator[None]:
    from taskmaster.mcp.models import MODELS

    try:
        yield None
    finally:
        MODELS.close()  # release the embedded model server lease, if a tool started it


def build_server() -> MCPServer:
    from taskmaster.mcp import editing_tools, model_tools, own_tools, task_tools

    server = MCPServer("taskmaster", instructions=INSTRUCTIONS, lifespan=_lifespan, log_level="WARNING")
    for module in (task_tools, editing_tools, model_tools, own_tools):
        module.register(server)
    return server


def serve(*, http: bool = False, port: int = 8000) -> None:
    server = build_server()
    if http:
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run("stdio")
