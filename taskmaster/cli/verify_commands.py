"""`taskmaster verify`: check a code file the way the agents check their own candidates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.options import ProjectOpt

_TASK_TYPES = ("quick_edit", "standard_dev", "complex", "critical")


@one_line_errors
def verify_command(
    file: Annotated[Path, typer.Argument(help="Source file to verify.")],
    tests: Annotated[
        Path | None,
        typer.Option("--tests", help="pytest file; it imports FILE by its own name (good.py: `good`) or `solution`."),
    ] = None,
    task_type: Annotated[str, typer.Option("--type", help="quick_edit | standard_dev | complex | critical.")] = (
        "standard_dev"
    ),
    language: Annotated[str | None, typer.Option("--language", help="Defaults from the file suffix.")] = None,
    project: ProjectOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Verify FILE: syntax, compile and sandboxed tests by task type; exit 1 if verification fails.

    The semantic judge needs a model and is not wired into the CLI yet: for complex and critical it is reported
    as skipped (and lowers the confidence) instead of being run.
    """
    from taskmaster.workspace import Workspace
    from taskmaster.workspace.coding import read_source, verify

    if task_type not in _TASK_TYPES:
        fail(f"unknown --type {task_type!r}; use one of: {', '.join(_TASK_TYPES)}")
    read_source(file, "FILE")  # the argument's own name in the one-line error
    test_code = read_source(tests, "--tests file") if tests is not None else None
    with (
        Workspace.open(project) as ws,
        err_console.status("verifying (sandboxed tests take a few seconds)…"),  # shown on a terminal only
    ):
        report = verify(ws, file, tests=test_code, task_type=task_type, language=language)
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        for outcome in report.outcomes:
            mark = "[green]PASS[/]" if outcome.passed else "[red]FAIL[/]"
            console.print(f"{mark} {outcome.name}: {outcome.details} ({outcome.duration_s:.2f}s)", highlight=False)
            for error in outcome.errors:
                console.print(error, markup=False, highlight=False)
        for reason in report.skipped:
            console.print(f"[yellow]SKIP[/] {reason}", highlight=False)
        verdict = "passed" if report.passed else "failed"
        console.print(f"verification {verdict} (confidence {report.confidence:.2f})", highlight=False)
    if not report.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
