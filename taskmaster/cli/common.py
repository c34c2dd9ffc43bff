"""Shared CLI plumbing: one-line errors with a non-zero exit, and the consoles.

Every layer raises its own error type whose message is already a complete, actionable sentence;
the CLI's only job is to print it on one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def _known_errors() -> tuple[type[BaseException], ...]:
    """Error types whose message is written for the user (imported lazily to keep start-up fast)."""
    import importlib

    found: list[type[BaseException]] = []
    for module_name, attr in (
        ("tasks.errors", "TaskError"),
        ("knowledge.errors", "KnowledgeError"),
        ("agents.errors", "AgentError"),
        ("graphs.errors", "GraphError"),
        ("serving.errors", "ServingError"),
        ("taskmaster.errors", "TaskmasterError"),
    ):
        try:
            found.append(getattr(importlib.import_module(module_name), attr))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def fail(message: str, code: int = 1) -> NoReturn:
    first_line = " ".join(str(message).split())
    err_console.print(f"[bold red]error:[/] {first_line}", markup=True, highlight=False)
    raise typer.Exit(code)


def one_line_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the project's own errors (and a few OS ones) into `error: …` plus exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            fail("interrupted; re-run the same command to resume from the last checkpoint", code=130)
        except _known_errors() as exc:
            fail(str(exc))
        except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
            fail(f"{exc}")
        except OSError as exc:
            if "--debug" in sys.argv:
                raise
            fail(f"{exc}")

    return wrapper
