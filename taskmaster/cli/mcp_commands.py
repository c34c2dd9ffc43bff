"""`taskmaster mcp`: the MCP server for editor agents (stdio, or streamable HTTP on 127.0.0.1)."""

from __future__ import annotations

from typing import Annotated

import typer

from taskmaster.cli.common import one_line_errors


@one_line_errors
def mcp_command(
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP on 127.0.0.1 instead of stdio.")] = False,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port for --http.")] = 8000,
) -> None:
    """Serve Task Master's MCP tools (get_tasks, next_task, parse_prd, ...) to Claude Code, Cursor or VS Code."""
    from taskmaster.mcp.server import serve

    serve(http=http, port=port)


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp_command)
