"""Which modules contribute commands; kept apart so adding a command group is a one-line change."""

from __future__ import annotations

import importlib
from types import ModuleType

COMMAND_MODULES: tuple[str, ...] = (
    "task_commands",
    "breakdown_commands",
    "verify_commands",
    "gpu_commands",
    "serve_commands",
    "doctor_commands",
    "knowledge_commands",
    "code_commands",
    "run_commands",
    "routing_commands",
    "schedule_commands",
    "mcp_commands",
)


def command_modules() -> list[ModuleType]:
    return [importlib.import_module(f"taskmaster.cli.{name}") for name in COMMAND_MODULES]
