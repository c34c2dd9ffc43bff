"""The long-running scheduler process: APScheduler 3 with a persistent SQLite job store.

Why two tables and a reconcile loop. APScheduler 3 job stores are not shared live between processes: a
scheduler caches nothing, but after every firing it *updates* the job row, so a job that another process
deleted meanwhile raises JobLookupError inside the scheduler thread, and jobs written by a stopped
scheduler from a CLI process carry pickled state the CLI should not have to build. So:

- `schedules` (see `store`) is the source of truth. `schedule add/rm` only write that plain table.
- `apscheduler_jobs` (same file) belongs to this process alone. Every `poll_seconds` the scheduler
  reconciles it with `schedules`: adds new jobs, removes deleted ones, replaces jobs whose timing changed.
  Because the job store persists each job's next run time, a restart knows what it missed while it was
  down, and the missed-run policy (`[scheduler]` settings) decides what to do about it.

Overlaps: `max_instances=1` skips a firing while the previous run of the same schedule is still going
(within this process); a per-schedule file lock skips it when another scheduler process on the same
project is running it. Both kinds of skip are recorded as runs with outcome `skipped`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from filelock import FileLock, Timeout

from taskmaster.scheduling.model import RunRecord, Schedule, next_fire_time, trigger_for
from taskmaster.scheduling.runner import CommandBuilder, RunProcess, build_run_command, execute
from taskmaster.scheduling.store import ScheduleStore, now_iso
from taskmaster.settings import SchedulerSettings
from taskmaster.workspace.paths import WorkspacePaths

log = logging.getLogger("taskmaster.scheduling")

# Jobs in a persistent store must reference a module-level function; it finds the live service by the
# store path it was scheduled with.
_SERVICES: dict[str, SchedulerService] = {}


def fire(store_path: str, schedule_id: str) -> None:
    service = _SERVICES.get(store_path)
    if service is None:
        log.warning("schedule %s fired but no scheduler serves %s", schedule_id, store_path)
        return
    service.fire(schedule_id)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


class SchedulerService:
    def __init__(
        self,
        project_dir: Path,
        settings: SchedulerSettings,
        *,
        command_for: CommandBuilder = build_run_command,
        max_workers: int = 4,
    ) -> None:
        self.project_dir = project_dir
        self.settings = settings
        self.command_for = command_for
        self.store = ScheduleStore(WorkspacePaths(project_dir).schedules)
        self.key = str(self.store.path)
        self.lock_dir = self.store.path.parent / "locks"
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=self.store.url)},
            executors={"default": ThreadPoolExecutor(max_workers)},
            job_defaults={
                "coalesce": settings.coalesce,
                "max_instances": 1,
                "misfire_grace_time": settings.misfire_grace_seconds,
            },
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        self._running: dict[str, RunProcess] = {}
        self._running_lock = threading.Lock()
        self._stopping = False

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Load the persisted jobs paused, sync them, apply the catch-up policy, then let them fire."""
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        _SERVICES[self.key] = self
        self.scheduler.start(paused=True)
        self.reconcile()
        if not self.settings.catch_up:
            self._skip_missed_runs()
        self.scheduler.resume()
        self.store.heartbeat(os.getpid())

    def shutdown(self) -> None:
        """Stop firing, stop runs in progress (recorded as interrupted), and release the job store."""
        self._stopping = True
        self.scheduler.pause()
        with self._running_lock:
            for running in self._running.values():
                running.stop()
        # Detach the job store first: APScheduler 3 processes due jobs once more after shutdown() and would
        # advance (and so lose) a run that comes due right now, instead of leaving it for the next start.
        self.scheduler.remove_jobstore("default")
        self.scheduler.shutdown(wait=True)
        self.store.clear_heartbeat(os.getpid())
        _SERVICES.pop(self.key, None)

    def run_forever(self, exit_after: float | None = None) -> None:
        """Serve until SIGTERM/SIGINT (or `exit_after` seconds), reconciling every `poll_seconds`."""
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        deadline = None if exit_after is None else time.monotonic() + exit_after
        self.start()
        try:
            while True:
                wait = self.settings.poll_seconds
                if deadline is not None:
                    wait = min(wait, max(deadline - time.monotonic(), 0))
                if stop.wait(wait) or (deadline is not None and time.monotonic() >= deadline):
                    break
                self.reconcile()
                self.store.heartbeat(os.getpid())
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()

    # --- keeping APScheduler in step with the schedules table ------------------------------------------
    def reconcile(self) -> None:
        try:
            schedules = {schedule.id: schedule for schedule in self.store.all()}
            jobs = {job.id: job for job in self.scheduler.get_jobs()}
            for job_id in jobs.keys() - schedules.keys():
                self.scheduler.remove_job(job_id)
                log.info("schedule %s removed", job_id)
            for schedule_id, schedule in schedules.items():
                trigger = trigger_for(schedule)
                job = jobs.get(schedule_id)
                if job is None or str(job.trigger) != str(trigger) or tuple(job.args) != (self.key, schedule_id):
                    self.scheduler.add_job(
                        fire,
                        trigger=trigger,
                        args=[self.key, schedule_id],
                        id=schedule_id,
                        name=schedule.name,
                        replace_existing=True,
                    )
                    log.info("schedule %s (%s) %s: %s", schedule_id, schedule.name, schedule.timing, schedule.runs)
            self.store.set_next_run_times({job.id: _iso(job.next_run_time) for job in self.scheduler.get_jobs()})
        except Exception:
            # A locked or briefly unreadable database must not end a scheduler that runs for weeks.
            log.exception("could not sync schedules; retrying in %s s", self.settings.poll_seconds)

    def _skip_missed_runs(self) -> None:
        now = datetime.now(UTC)
        for job in self.scheduler.get_jobs():
            if job.next_run_time is None or job.next_run_time > now:
                continue
            upcoming = job.trigger.get_next_fire_time(None, now)
            self.store.record_run(
                RunRecord(
                    job.id,
                    _iso(job.next_run_time) or now_iso(),
                    now_iso(),
                    "missed",
                    error="the scheduler was not running at this time and scheduler.catch_up is off",
                )
            )
            self.scheduler.modify_job(job.id, next_run_time=upcoming)
            log.info("schedule %s: skipped the run missed at %s (catch_up off)", job.id, _iso(job.next_run_time))

    # --- one firing --------------------------------------------------------------------------------------
    def fire(self, schedule_id: str) -> RunRecord | None:
        schedule = self.store.get(schedule_id)
        if schedule is None or self._stopping:
            return None
        lock = FileLock(self.lock_dir / f"schedule-{schedule_id}.lock")
        try:
            lock.acquire(blocking=False)
        except Timeout:
            return self._record(
                RunRecord(
                    schedule_id,
                    now_iso(),
                    now_iso(),
                    "skipped",
                    error="another scheduler process is running this schedule; overlapping run skipped",
                )
            )
        try:
            log.info("schedule %s (%s): starting %s", schedule_id, schedule.name, schedule.runs)
            record = execute(
                schedule,
                self.project_dir,
                command=self.command_for(schedule),
                on_start=lambda running: self._track(schedule.id, running),
            )
        finally:
            with self._running_lock:
                self._running.pop(schedule_id, None)
            lock.release()
        return self._record(record)

    def _track(self, schedule_id: str, running: RunProcess) -> None:
        with self._running_lock:
            self._running[schedule_id] = running
            if self._stopping:
                running.stop()

    def _record(self, record: RunRecord) -> RunRecord:
        record = dataclasses.replace(record, id=self.store.record_run(record))
        detail = record.stop_reason or record.error or ""
        log.info(
            "schedule %s: %s %s (done %d, failed %d)",
            record.schedule_id,
            record.outcome,
            detail,
            record.done,
            record.failed,
        )
        return record

    def _on_event(self, event: JobEvent) -> None:
        if isinstance(event, JobSubmissionEvent):  # EVENT_JOB_MAX_INSTANCES
            when = _iso(event.scheduled_run_times[-1]) if event.scheduled_run_times else now_iso()
            self._record(
                RunRecord(
                    event.job_id,
                    when or now_iso(),
                    now_iso(),
                    "skipped",
                    error="the previous run of this schedule is still in progress; overlapping run skipped",
                )
            )
        elif isinstance(event, JobExecutionEvent) and event.code == EVENT_JOB_MISSED:
            self._record(
                RunRecord(
                    event.job_id,
                    _iso(event.scheduled_run_time) or now_iso(),
                    now_iso(),
                    "missed",
                    error="started too late (beyond scheduler.misfire_grace_seconds); this run was skipped",
                )
            )
        elif isinstance(event, JobExecutionEvent):
            self._record(
                RunRecord(
                    event.job_id,
                    _iso(event.scheduled_run_time) or now_iso(),
                    now_iso(),
                    "error",
                    error=f"the scheduler could not run this schedule: {event.exception!r}",
                )
            )


def upcoming_runs(store: ScheduleStore, schedules: list[Schedule], scheduler_live: bool) -> dict[str, str | None]:
    """Next run per schedule: what a live scheduler reported, else what its trigger says from now."""
    reported = store.next_run_times() if scheduler_live else {}
    now = datetime.now(UTC)
    return {s.id: reported.get(s.id) or _iso(next_fire_time(s, now)) for s in schedules}
