"""What every tool returns: a short text summary for the agent, the data as JSON (structured content and, for clients
that only read text, the same JSON as a second text block), or a one-line tool error.

Errors are the project's own user-facing messages, printed exactly as the CLI prints them (`error: …` on one
line), never a traceback: the agent reads them and can fix its call.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from mcp.types import CallToolResult, TextContent

P = ParamSpec("P")


class ToolInputError(Exception):
    """A tool argument the schema cannot express (an id list, a number given as text) is wrong; one sentence."""


def ok(summary: str, data: dict[str, Any]) -> CallToolResult:
    text = json.dumps(data, ensure_ascii=False, default=str)
    return CallToolResult(
        content=[TextContent(type="text", text=summary), TextContent(type="text", text=text)],
        structured_content=data,
    )


def error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=f"error: {' '.join(message.split())}")], is_error=True)


@functools.cache
def _known_errors() -> tuple[type[BaseException], ...]:
    """The layers' error types whose message is written for the user (imported lazily: tasks-only tools must not
    pull in the agent or knowledge stacks)."""
    import importlib
    import sys

    found: list[type[BaseException]] = [ToolInputError]
    for module_name, attr in (
        ("tasks.errors", "TaskError"),
        ("knowledge.errors", "KnowledgeError"),
        ("agents.errors", "AgentError"),
        ("graphs.errors", "GraphError"),
        ("taskmaster.errors", "TaskmasterError"),
    ):
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        found.append(getattr(module, attr))
    return tuple(found)


def tool_errors(func: Callable[P, Awaitable[CallToolResult]]) -> Callable[P, Awaitable[CallToolResult]]:
    """The CLI's `one_line_errors` for MCP: known errors become a tool error with the CLI's message."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        try:
            return await func(*args, **kwargs)
        except _known_errors() as exc:
            return error(str(exc))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, UnicodeDecodeError) as exc:
            return error(str(exc))

    return wrapper
