"""run and runs: the autonomous loop from the command line, and what past runs did."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, TagOpt

if TYPE_CHECKING:
    from taskmaster.workspace.runs import RunSummary

KIND_LABELS = {"done": "done", "review": "to review", "deferred": "deferred", "expanded": "broken down"}


def _progress_sink(progress: Progress, bar: Any) -> Any:
    outcomes: Counter[str] = Counter()

    def on_update(node: str, update: dict[str, Any]) -> None:
        if node == "work":
            for result in update.get("results", []):
                outcomes[result.get("outcome", "?")] += 1
        elif node == "pick":
            ids = ", ".join(t["task_id"] for t in update.get("batch", []))
            if ids:
                progress.console.print(f"[dim]working on task {ids}[/]")
        done = ", ".join(f"{n} {KIND_LABELS.get(k, k)}" for k, n in outcomes.items())
        progress.update(bar, description=f"running: {done}" if done else "running")

    return on_update


@one_line_errors
def run_command(
    prd: Annotated[
        Path | None, typer.Option("--prd", help="Plan tasks from this PRD first (if the tag is empty).")
    ] = None,
    goal: Annotated[str | None, typer.Option("--goal", help="Plan tasks from a short goal first.")] = None,
    max_tasks: Annotated[int | None, typer.Option("--max-tasks", min=1, help="Stop after this many tasks.")] = None,
    max_minutes: Annotated[
        float | None, typer.Option("--max-minutes", min=0.01, help="Start no new task after this long.")
    ] = None,
    token_budget: Annotated[
        int | None, typer.Option("--token-budget", min=1, help="Start no new task past this many tokens.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", min=1, max=32, help="Independent tasks worked at once.")
    ] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Continue this run (a thread id).")] = None,
    review: Annotated[
        str | None, typer.Option("--review", help="With --resume: answer the pending review: approve, edit, skip.")
    ] = None,
    edited: Annotated[Path | None, typer.Option("--code", help="Your edited code, for --review edit.")] = None,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Work through the tasks on its own: next ready task → research, code, plan or break down → verify → status."""
    from taskmaster.cli.code_commands import ask_review, open_workspace, review_answer
    from taskmaster.workspace.runs import run

    if prd is not None and goal is not None:
        fail("give --prd or --goal, not both")
    if review is not None and resume is None:
        fail("--review answers a paused run: add --resume THREAD (see `taskmaster runs`)")
    if goal is not None and not goal.strip():
        fail("the goal is empty; describe what you want to build")
    first = review_answer(review, edited)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=None), TimeElapsedColumn())
    with open_workspace(project, tag, profile) as ws, Progress(*columns, console=err_console, transient=True) as bar:
        summary = run(
            ws,
            prd=prd,
            goal=goal,
            max_tasks=max_tasks,
            max_minutes=max_minutes,
            token_budget=token_budget,
            concurrency=concurrency,
            resume=resume,
            review=first,
            on_update=_progress_sink(bar, bar.add_task("running", total=None)),
            decide=ask_review,
        )
    if as_json:
        typer.echo(summary.model_dump_json())
    else:
        _print_summary(summary)
    if summary.stop_reason == "human_review":
        err_console.print(
            f"waiting for human review of task {summary.waiting.get('task_id') if summary.waiting else '?'}: "
            f"taskmaster run --resume {summary.thread_id} --review approve|skip (or --review edit --code FILE)",
            soft_wrap=True,  # never break (or cut) the thread id the user must copy
        )
    if summary.failure:
        fail(summary.failure)


def _id_column(header: str, ids: list[str]) -> Column:
    """A column that always shows ids whole, on one line: the other columns wrap instead."""
    return Column(header, no_wrap=True, min_width=max([len(header), *map(len, ids)]), overflow="ignore")


def _print_summary(summary: RunSummary) -> None:
    console.print(f"Run {summary.thread_id}", soft_wrap=True, highlight=False)
    table = Table(show_header=False)
    table.add_row("stopped because", summary.stop_reason.replace("_", " "))
    for label, ids in (
        ("done", summary.done),
        ("to review", summary.review),
        ("deferred", summary.deferred),
        ("failed", summary.failed),
    ):
        table.add_row(label, ", ".join(ids) or "-")
    table.add_row("tokens in / out", f"{summary.input_tokens} / {summary.output_tokens}")
    table.add_row("time", f"{summary.seconds:.1f} s")
    console.print(table)
    for note in summary.notes[-10:]:
        err_console.print(f"[dim]{note}[/]", highlight=False)


@one_line_errors
def runs_command(
    thread: Annotated[str | None, typer.Argument(help="Show one run's task events.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many recent runs to list.")] = 20,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent autonomous runs (thread ids to --resume), or one run's task-by-task events."""
    from taskmaster.cli.code_commands import open_workspace
    from taskmaster.workspace.runs import run_status, runs

    with open_workspace(project) as ws:
        if thread is not None:
            status = run_status(ws, thread)
            if as_json:
                typer.echo(
                    json.dumps(
                        [{"task_id": e.task_id, "event": e.event, "pid": e.pid, **e.detail} for e in status.events]
                    )
                )
                return
            row = status.run
            console.print(f"Run {thread} ({row.state}, {row.stop_reason or '-'})", soft_wrap=True, highlight=False)
            lines = [(e.task_id, [e.event, ", ".join(f"{k}={v}" for k, v in e.detail.items())]) for e in status.events]
            _print_rows(["task", "event", "detail"], lines, room=40)
            return
        rows = runs(ws, limit)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    if not rows:
        err_console.print("no runs yet; start one with `taskmaster run`")
        return
    lines = []
    for r in rows:
        s = r.summary or {}
        started = datetime.fromtimestamp(r.started_at).isoformat(timespec="seconds")
        counts = [str(len(s.get(k, []))) for k in ("done", "review", "deferred")]
        lines.append((r.thread_id, [r.tag, started, r.state, r.stop_reason or "-", *counts]))
    _print_rows(["thread", "tag", "started", "state", "stop", "done", "review", "deferred"], lines, room=70)


def _print_rows(headers: list[str], rows: list[tuple[str, list[str]]], *, room: int) -> None:
    """A table whose first column (an id) is never cut: when the terminal is too narrow for the id plus `room`
    columns of the rest, each row becomes an id line and an indented detail line instead."""
    ids = [row_id for row_id, _ in rows]
    if max(map(len, ids), default=0) + room <= console.width:
        table = Table(_id_column(headers[0], ids), *headers[1:])
        for row_id, rest in rows:
            table.add_row(row_id, *rest)
        console.print(table)
        return
    for row_id, rest in rows:
        console.print(row_id, soft_wrap=True, highlight=False, markup=False)
        detail = " · ".join(f"{h} {v}" for h, v in zip(headers[1:], rest, strict=True))
        console.print(f"  {detail}", soft_wrap=True, highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("runs")(runs_command)
