"""What a schedule is, and its APScheduler trigger.

A schedule runs one of three things: a PRD file, a goal, or the ready tasks of a tag. Its timing is a crontab
expression, or (for tests and short loops) a fixed interval in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from taskmaster.errors import AppError

SourceKind = Literal["prd", "goal", "tag"]
Outcome = Literal["ok", "error", "timeout", "skipped", "missed", "interrupted"]


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    cron: str | None
    every_seconds: int | None
    kind: SourceKind
    target: str
    tag: str
    max_minutes: int
    max_tasks: int | None
    created_at: str

    @property
    def timing(self) -> str:
        return self.cron if self.cron is not None else f"every {self.every_seconds}s"

    @property
    def runs(self) -> str:
        """What the schedule runs, for people: `prd: /srv/p/prd.md`, `goal: …` or `tag: backend`."""
        return f"{self.kind}: {self.target}"


@dataclass(frozen=True)
class RunRecord:
    """One firing of a schedule: a finished `taskmaster run`, or a firing that was skipped or missed."""

    schedule_id: str
    started_at: str
    finished_at: str
    outcome: Outcome
    exit_code: int | None = None
    thread_id: str | None = None
    done: int = 0
    failed: int = 0
    tokens_input: int = 0
    tokens_output: int = 0
    seconds: float = 0.0
    stop_reason: str | None = None
    error: str | None = None
    id: int | None = None


def cron_trigger(expression: str) -> CronTrigger:
    """A crontab trigger, or an AppError that says what is wrong and what a valid line looks like."""
    try:
        return CronTrigger.from_crontab(expression)
    except ValueError as exc:
        raise AppError(
            f"invalid cron expression {expression!r}: {exc}; use five fields 'minute hour day month weekday', "
            "e.g. '0 2 * * *' for 02:00 every day"
        ) from None


def trigger_for(schedule: Schedule) -> BaseTrigger:
    if schedule.cron is not None:
        return cron_trigger(schedule.cron)
    return IntervalTrigger(seconds=schedule.every_seconds or 1)


def next_fire_time(schedule: Schedule, now: datetime) -> datetime | None:
    """When the schedule would fire next if the scheduler were running now (used when it is not)."""
    return trigger_for(schedule).get_next_fire_time(None, now)


def check_source(prd: Path | None, goal: str | None, tag: str | None) -> tuple[SourceKind, str]:
    """Exactly one of --prd/--goal/--tag; a PRD must be a readable file (stored as an absolute path)."""
    given = [name for name, value in (("--prd", prd), ("--goal", goal), ("--tag", tag)) if value is not None]
    if len(given) != 1:
        which = " and ".join(given) if given else "none"
        raise AppError(f"give exactly one of --prd FILE, --goal TEXT or --tag T (got {which})")
    if prd is not None:
        path = prd.expanduser().resolve()
        if not path.is_file():
            raise AppError(f"PRD file {prd} not found; give the path to an existing PRD (e.g. --prd prd.md)")
        try:
            with path.open("rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise AppError(f"PRD file {prd} is not readable ({exc.strerror}); fix its permissions") from None
        return "prd", str(path)
    if goal is not None:
        if not goal.strip():
            raise AppError("--goal is empty; describe what to build, e.g. --goal 'A CLI that counts words'")
        return "goal", goal.strip()
    assert tag is not None
    if not tag.strip():
        raise AppError("--tag is empty; name the Task Master tag whose ready tasks should run")
    return "tag", tag.strip()
