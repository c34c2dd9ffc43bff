"""`taskmaster verify`: check a code file the way the agents check their own candidates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from taskmaster.cli.common import console, err_console, fail, one_line_errors

_TASK_TYPES = ("quick_edit", "standard_dev", "complex", "critical")
_BY_SUFFIX = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
}


def _read_source(path: Path, what: str) -> str:
    """Only readable UTF-8 text is code; anything else gets a one-line reason instead of a traceback."""
    if not path.is_file():
        fail(f"{what} {path} does not exist or is not a file; pass the path of a source file")
    data = path.read_bytes()
    if b"\x00" in data:
        fail(f"{what} {path} is a binary file; pass a UTF-8 source file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{what} {path} is not valid UTF-8; re-save it as UTF-8 and retry")


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
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Verify FILE: syntax, compile and sandboxed tests by task type; exit 1 if verification fails.

    The semantic judge needs a model and is not wired into the CLI yet: for complex and critical it is reported
    as skipped (and lowers the confidence) instead of being run.
    """
    from agents.verification.strategy import verify

    if task_type not in _TASK_TYPES:
        fail(f"unknown --type {task_type!r}; use one of: {', '.join(_TASK_TYPES)}")
    code = _read_source(file, "FILE")
    test_code = _read_source(tests, "--tests file") if tests is not None else None
    lang = language or _BY_SUFFIX.get(file.suffix.lower(), "python")
    aliases = (file.stem,) if file.stem.isidentifier() else ()
    with err_console.status("verifying (sandboxed tests take a few seconds)…"):  # shown on a terminal only
        report = verify(code, language=lang, tests=test_code, task_type=task_type, module_aliases=aliases)
    if as_json:
        print(json.dumps(report.model_dump(), indent=2))
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
