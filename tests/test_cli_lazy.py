"""Task commands start instantly: the CLI imports a command's module only when it runs, and commands that only
read or edit tasks never import the model, graph, embedding or vector stacks (issue 16)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from e2e import ROOT

from taskmaster.cli import registry

HEAVY = ("langchain_core", "openai", "torch", "qdrant_client", "langgraph")

# Runs one CLI command in-process and prints the heavy modules it imported (the command's own exit is caught).
PROBE = f"""
import json, sys
from taskmaster.cli.app import app
try:
    app(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print("\\nPROBE" + json.dumps({{"code": code, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""

TASKS = {
    "master": {
        "tasks": [
            {"id": 1, "title": "one", "status": "done", "dependencies": [], "subtasks": []},
            {
                "id": 2,
                "title": "two",
                "status": "pending",
                "dependencies": [1],
                "subtasks": [
                    {"id": 1, "title": "two.one", "status": "pending", "dependencies": []},
                ],
            },
            {"id": 3, "title": "three", "status": "pending", "dependencies": [], "subtasks": []},
        ],
        "metadata": {"created": "2026-01-01T00:00:00.000Z", "updated": "2026-01-01T00:00:00.000Z"},
    }
}

# Every model-free task command, as a user would type it (edits run in order on one project).
COMMANDS = [
    ["--help"],
    ["list"],
    ["list", "--json"],
    ["show", "2"],
    ["next", "--json"],
    ["set-status", "3", "in-progress"],
    ["add-dependency", "--id", "3", "--depends-on", "1"],
    ["remove-dependency", "--id", "3", "--depends-on", "1"],
    ["validate-dependencies"],
    ["validate-dependencies", "--fix"],
    ["export", "out.json"],
    ["import", "out.json"],
    ["add-task", "--title", "four", "--description", "d"],
    ["add-subtask", "--parent", "4", "--title", "four.one"],
    ["update-task", "--id", "4", "--title", "four!"],
    ["update-subtask", "--id", "4.1", "--prompt", "note", "--no-ai"],
    ["move", "--from", "4", "--to", "9"],
    ["remove-subtask", "--id", "9.1", "--convert"],
    ["clear-subtasks", "--all"],
    ["remove-task", "--id", "10", "--yes"],
    ["generate"],
    ["tags"],
    ["add-tag", "feat", "--copy-from-current"],
    ["use-tag", "feat"],
    ["rename-tag", "feat", "feat2"],
    ["copy-tag", "feat2", "feat3"],
    ["move", "--from", "3", "--from-tag", "feat3", "--to-tag", "feat4", "--ignore-dependencies"],
    ["delete-tag", "feat3", "--yes"],
    ["use-tag", "master"],
    ["init"],
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lazy")
    path = root / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(TASKS))
    return root


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_task_command_imports_no_model_stack(project: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "200", "HOME": str(project)},
    )
    marker = result.stdout.rpartition("PROBE")[2]
    assert marker, result.stdout + result.stderr
    outcome = json.loads(marker)
    assert outcome["code"] in (0, None), result.stdout + result.stderr
    assert outcome["heavy"] == [], f"{' '.join(args)} imported {outcome['heavy']}"


def test_registry_help_matches_each_commands_own_help() -> None:
    """`--help` prints registry text without importing modules; it must say what the command itself says."""
    for name, (_, help_text) in registry.COMMANDS.items():
        sub = typer.Typer()

        @sub.callback()
        def _cb() -> None:
            pass

        for module in registry.modules_for(name):
            registry.load(module).register(sub)
        group = typer.main.get_command(sub)
        command = group.get_command(None, name)  # type: ignore[attr-defined]
        assert command is not None, f"{name} is not registered by {registry.modules_for(name)}"
        assert command.get_short_help_str(limit=300) == help_text, name


def test_every_command_module_is_reachable() -> None:
    named = {module for name in registry.COMMANDS for module in registry.modules_for(name)}
    assert named <= set(registry.COMMAND_MODULES)
