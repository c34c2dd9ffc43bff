"""Scheduled autonomous runs: `schedule add/list/rm/runs` edit the schedules, `scheduler` fires them."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from taskmaster.cli.common import console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProjectOpt, settings_for
from taskmaster.scheduling.model import RunRecord, Schedule, check_source, cron_trigger
from taskmaster.scheduling.store import ScheduleStore
from taskmaster.settings import Settings

schedule_app = typer.Typer(help="Scheduled autonomous runs (cron); `taskmaster scheduler` fires them.")


def _store(settings: Settings) -> ScheduleStore:
    return ScheduleStore(settings.paths.schedules)


def _scheduler_live(settings: Settings, store: ScheduleStore) -> bool:
    return bool(store.live_schedulers(within_seconds=3 * settings.scheduler.poll_seconds + 10))


def _local(moment: str | None) -> str:
    return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _schedule_json(schedule: Schedule, next_run: str | None, last: RunRecord | None) -> dict[str, object]:
    return {
        "id": schedule.id,
        "name": schedule.name,
        "cron": schedule.cron,
        "every_seconds": schedule.every_seconds,
        "runs": {"kind": schedule.kind, "target": schedule.target, "tag": schedule.tag},
        "max_minutes": schedule.max_minutes,
        "max_tasks": schedule.max_tasks,
        "next_run": next_run,
        "last_outcome": None if last is None else (last.stop_reason or last.outcome),
        "last_run": None if last is None else asdict(last),
    }


@one_line_errors
def add(
    cron: Annotated[str | None, typer.Option("--cron", help="Crontab timing, e.g. '0 2 * * *' (02:00 daily).")] = None,
    prd: Annotated[Path | None, typer.Option("--prd", help="Run this PRD: parse it, then work its tasks.")] = None,
    goal: Annotated[str | None, typer.Option("--goal", help="Run this goal: plan it, then work its tasks.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Work the ready tasks of this tag.")] = None,
    max_minutes: Annotated[int, typer.Option("--max-minutes", help="Time budget of each run.")] = 60,
    max_tasks: Annotated[int | None, typer.Option("--max-tasks", help="Stop each run after this many tasks.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A label for `schedule list`.")] = None,
    every: Annotated[
        int | None, typer.Option("--every", hidden=True, help="Fire every N seconds instead of a cron (tests).")
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a schedule and print its id; a running `taskmaster scheduler` picks it up within seconds."""
    if cron is None and every is None:
        fail("give the timing with --cron, e.g. --cron '0 2 * * *' (02:00 every day)")
    if cron is not None and every is not None:
        fail("give either --cron or --every, not both")
    if cron is not None:
        cron_trigger(cron)
    if every is not None and every < 1:
        fail(f"--every must be at least 1 second (got {every})")
    if max_minutes < 1:
        fail(f"--max-minutes must be at least 1 (got {max_minutes})")
    if max_tasks is not None and max_tasks < 1:
        fail(f"--max-tasks must be at least 1 (got {max_tasks})")
    kind, target = check_source(prd, goal, tag)
    settings = settings_for(project)
    schedule = _store(settings).add(
        name=name,
        cron=cron,
        every_seconds=every,
        kind=kind,
        target=target,
        tag=target if kind == "tag" else settings.tag,
        max_minutes=max_minutes,
        max_tasks=max_tasks,
    )
    if as_json:
        console.print_json(json.dumps({"id": schedule.id, "name": schedule.name}))
        return
    console.print(f"Added schedule {schedule.id} ({schedule.name}): {schedule.timing} → {schedule.runs}")


@one_line_errors
def list_schedules(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """List schedules with their next run time and last outcome."""
    from taskmaster.scheduling.service import upcoming_runs

    settings = settings_for(project)
    store = _store(settings)
    schedules = store.all()
    live = _scheduler_live(settings, store)
    upcoming = upcoming_runs(store, schedules, live)
    last = store.last_runs()
    if as_json:
        console.print_json(json.dumps([_schedule_json(s, upcoming[s.id], last.get(s.id)) for s in schedules]))
        return
    if not schedules:
        console.print("No schedules yet. Try: taskmaster schedule add --cron '0 2 * * *' --prd prd.md")
        return
    table = Table("id", "name", "when", "runs", "tag", "budget", "next run", "last outcome", title="Schedules")
    for schedule in schedules:
        previous = last.get(schedule.id)
        outcome = (
            "-" if previous is None else f"{previous.stop_reason or previous.outcome} ({_local(previous.finished_at)})"
        )
        budget = f"{schedule.max_minutes} min" + (f", {schedule.max_tasks} tasks" if schedule.max_tasks else "")
        table.add_row(
            schedule.id,
            schedule.name,
            schedule.timing,
            schedule.runs,
            schedule.tag,
            budget,
            _local(upcoming[schedule.id]),
            outcome,
        )
    console.print(table)
    if not live:
        console.print("No scheduler is running for this project; start one with `taskmaster scheduler`.")


@one_line_errors
def remove(
    schedule_id: Annotated[str, typer.Argument(help="Schedule id from `taskmaster schedule list`.")],
    project: ProjectOpt = None,
) -> None:
    """Remove a schedule; a run in progress finishes, no new ones start."""
    removed = _store(settings_for(project)).remove(schedule_id)
    console.print(f"Removed schedule {removed.id} ({removed.name}).")


@one_line_errors
def runs(
    schedule_id: Annotated[str | None, typer.Argument(help="Only this schedule's runs.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many recent runs.")] = 20,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent runs of all schedules (or one): outcome, stop reason, tasks, tokens, time, error."""
    store = _store(settings_for(project))
    if schedule_id is not None and store.get(schedule_id) is None and not store.runs(schedule_id, 1):
        fail(f"no schedule with id {schedule_id!r}; see `taskmaster schedule list`")
    records = store.runs(schedule_id, limit)
    if as_json:
        console.print_json(json.dumps([asdict(r) for r in records]))
        return
    if not records:
        console.print("No runs recorded yet.")
        return
    table = Table(
        "schedule",
        "started",
        "outcome",
        "stop reason",
        "done",
        "failed",
        "tokens in/out",
        "seconds",
        "thread",
        "error",
        title="Recent scheduled runs",
    )
    for r in records:
        table.add_row(
            r.schedule_id,
            _local(r.started_at),
            r.outcome,
            r.stop_reason or "-",
            str(r.done),
            str(r.failed),
            f"{r.tokens_input}/{r.tokens_output}",
            f"{r.seconds:.1f}",
            r.thread_id or "-",
            r.error or "",
        )
    console.print(table)


@one_line_errors
def scheduler(
    project: ProjectOpt = None,
    exit_after: Annotated[
        float | None, typer.Option("--exit-after", hidden=True, help="Stop after N seconds (tests).")
    ] = None,
) -> None:
    """Run the scheduler in the foreground: fire schedules until Ctrl-C or SIGTERM (systemd)."""
    from taskmaster.scheduling.service import SchedulerService

    settings = settings_for(project)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    service = SchedulerService(settings.project_dir, settings.scheduler)
    policy = settings.scheduler
    console.print(
        f"Scheduler for {settings.project_dir}: {len(service.store.all())} schedule(s), checking for changes every "
        f"{policy.poll_seconds:g} s; catch_up={policy.catch_up}, coalesce={policy.coalesce}, "
        f"misfire_grace_seconds={policy.misfire_grace_seconds}. Ctrl-C to stop.",
        soft_wrap=True,
    )
    service.run_forever(exit_after=exit_after)
    console.print("Scheduler stopped.")


def register(app: typer.Typer) -> None:
    schedule_app.command("add")(add)
    schedule_app.command("list")(list_schedules)
    schedule_app.command("rm")(remove)
    schedule_app.command("runs")(runs)
    app.add_typer(schedule_app, name="schedule")
    app.command("scheduler")(scheduler)
