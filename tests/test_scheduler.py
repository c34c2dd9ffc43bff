"""The scheduler service in-process: overlap prevention, persistence across restarts, the missed-run
policy, and the `taskmaster run` command it builds.

The fired job here is a small Python program that honours the `taskmaster run --json` output contract
and takes as long as the test needs (a slow run is what overlap prevention is about); the end-to-end test
with the real `taskmaster run` is in test_schedule_cli.py.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from filelock import FileLock

from taskmaster.scheduling.model import RunRecord, Schedule
from taskmaster.scheduling.runner import build_run_command, error_line, parse_run_output, run_timeout_seconds
from taskmaster.scheduling.service import SchedulerService
from taskmaster.scheduling.store import ScheduleStore, schedules_db
from taskmaster.settings import SchedulerSettings

FAKE_RUN = """
import json, sys, time
log, seconds = sys.argv[1], float(sys.argv[2])
with open(log, "a") as f:
    f.write(f"start {time.time()}\\n")
time.sleep(seconds)
with open(log, "a") as f:
    f.write(f"end {time.time()}\\n")
print(json.dumps({"thread_id": "t-1", "stop_reason": "nothing_ready", "done": ["1"], "review": [], "deferred": [],
                  "failed": [], "tokens": {"input": 12, "output": 3}, "seconds": seconds}, indent=2))
"""


def schedule(**changes: object) -> Schedule:
    values: dict[str, object] = {
        "id": "1",
        "name": "nightly",
        "cron": "0 2 * * *",
        "every_seconds": None,
        "kind": "tag",
        "target": "backend",
        "tag": "backend",
        "max_minutes": 30,
        "max_tasks": None,
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    values.update(changes)
    return Schedule(**values)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> ScheduleStore:
    return ScheduleStore(schedules_db(tmp_path))


@pytest.fixture
def fake_run(tmp_path: Path) -> Callable[[float], Callable[[Schedule], list[str]]]:
    script = tmp_path / "fake_run.py"
    script.write_text(FAKE_RUN)

    def command_for(seconds: float) -> Callable[[Schedule], list[str]]:
        return lambda s: [sys.executable, str(script), str(tmp_path / f"runs-{s.id}.log"), str(seconds)]

    return command_for


@pytest.fixture
def services() -> Iterator[list[SchedulerService]]:
    started: list[SchedulerService] = []
    yield started
    for service in started:
        if service.scheduler.running:
            service.shutdown()


def add_tag_schedule(store: ScheduleStore, **timing: object) -> Schedule:
    values: dict[str, object] = {"cron": None, "every_seconds": None, **timing}
    return store.add(name=None, kind="tag", target="empty", tag="empty", max_minutes=1, max_tasks=None, **values)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the scheduler"
        time.sleep(0.1)


# --- the run command ---------------------------------------------------------------------------------
def test_run_command_follows_the_run_contract() -> None:
    base = [sys.executable, "-m", "taskmaster.scheduling.runner"]
    prd = schedule(kind="prd", target="/srv/p/prd.md", tag="master", max_minutes=60, max_tasks=5)
    assert build_run_command(prd) == [
        *base, "--prd", "/srv/p/prd.md", "--tag", "master", "--max-minutes", "60", "--max-tasks", "5"
    ]  # fmt: skip
    goal = schedule(kind="goal", target="A word counter", tag="master")
    assert build_run_command(goal) == [
        *base, "--goal", "A word counter", "--tag", "master", "--max-minutes", "30"
    ]  # fmt: skip
    assert build_run_command(schedule()) == [*base, "--tag", "backend", "--max-minutes", "30"]


def test_timeout_is_a_bit_longer_than_the_budget() -> None:
    assert 30 * 60 < run_timeout_seconds(schedule(max_minutes=30)) <= 30 * 60 + 300
    assert run_timeout_seconds(schedule(max_minutes=600)) == pytest.approx(600 * 60 * 1.1)


def test_run_output_and_error_lines_are_read_from_the_cli() -> None:
    result = {"thread_id": "t", "stop_reason": "all_done", "done": ["1", "2"], "tokens": {"input": 1, "output": 2}}
    assert parse_run_output(json.dumps(result, indent=2)) == result
    assert parse_run_output("warming up\n" + json.dumps(result)) == result
    assert parse_run_output("no json here") is None
    assert (
        error_line("noise\nerror: the model server is down; start it\n") == "error: the model server is down; start it"
    )
    box = "Usage: taskmaster\n╭─ Error ──────╮\n│ No such command 'run'. │\n╰──────────────╯\n"
    assert error_line(box) == "No such command 'run'."


# --- firing, overlap, locks ------------------------------------------------------------------------------
def test_overlapping_firings_are_skipped_and_recorded_not_run_twice(
    tmp_path: Path, store: ScheduleStore, fake_run: Callable, services: list[SchedulerService]
) -> None:
    fast = add_tag_schedule(store, every_seconds=1)
    service = SchedulerService(tmp_path, SchedulerSettings(poll_seconds=0.5), command_for=fake_run(2.6))
    services.append(service)
    service.start()
    wait_for(lambda: any(r.outcome == "ok" for r in store.runs(fast.id)))
    service.shutdown()

    runs = store.runs(fast.id, limit=100)
    outcomes = [r.outcome for r in runs]
    assert outcomes.count("skipped") >= 1, outcomes
    assert all("still in progress" in (r.error or "") for r in runs if r.outcome == "skipped")
    ok = next(r for r in runs if r.outcome == "ok")
    assert (ok.thread_id, ok.stop_reason, ok.done, ok.tokens_input, ok.tokens_output) == (
        "t-1",
        "nothing_ready",
        1,
        12,
        3,
    )
    # The slow run's own log: every start is followed by its end before the next start.
    events = [line.split()[0] for line in (tmp_path / f"runs-{fast.id}.log").read_text().splitlines()]
    assert events[:2] == ["start", "end"]
    assert all(a != b for a, b in itertools.pairwise(events)), events


def test_a_schedule_locked_by_another_scheduler_process_is_skipped(
    tmp_path: Path, store: ScheduleStore, fake_run: Callable
) -> None:
    nightly = add_tag_schedule(store, cron="0 2 * * *")
    service = SchedulerService(tmp_path, SchedulerSettings(), command_for=fake_run(0))
    service.lock_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(service.lock_dir / f"schedule-{nightly.id}.lock"):
        record = service.fire(nightly.id)
    assert record is not None and record.outcome == "skipped"
    assert "another scheduler process" in (record.error or "")
    assert not (tmp_path / f"runs-{nightly.id}.log").exists()
    # Once the lock is free the same schedule runs.
    assert service.fire(nightly.id) == store.runs(nightly.id, 1)[0]
    assert store.runs(nightly.id, 1)[0].outcome == "ok"


def test_a_failed_run_records_its_error_line(tmp_path: Path, store: ScheduleStore) -> None:
    nightly = add_tag_schedule(store, cron="0 2 * * *")
    failing = [
        sys.executable,
        "-c",
        "import sys; print('error: no tasks.json; run parse-prd first', file=sys.stderr); sys.exit(1)",
    ]
    service = SchedulerService(tmp_path, SchedulerSettings(), command_for=lambda s: failing)
    record = service.fire(nightly.id)
    assert record == RunRecord(
        nightly.id, record.started_at, record.finished_at, "error", exit_code=1, seconds=record.seconds,
        error="error: no tasks.json; run parse-prd first", id=record.id,
    )  # fmt: skip
    assert store.runs(nightly.id)[0].error == "error: no tasks.json; run parse-prd first"


# --- persistence and the missed-run policy ---------------------------------------------------------------
def persisted_next_run(store: ScheduleStore, schedule_id: str) -> datetime | None:
    """Read the job store the way a scheduler does (APScheduler's own API), without firing anything."""
    reader = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=store.url)})
    reader.start(paused=True)
    try:
        job = reader.get_job(schedule_id)
        return None if job is None else job.next_run_time
    finally:
        reader.remove_jobstore("default")  # so that shutdown() cannot fire or advance anything
        reader.shutdown(wait=False)


def pretend_scheduler_was_down(store: ScheduleStore, schedule_id: str, since: timedelta) -> datetime:
    """Move the persisted next run into the past, as if the scheduler had been stopped across it."""
    missed = datetime.now(UTC) - since
    editor = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=store.url)})
    editor.start(paused=True)
    editor.modify_job(schedule_id, next_run_time=missed)
    editor.remove_jobstore("default")
    editor.shutdown(wait=False)
    return missed


def test_schedules_and_their_next_run_survive_a_restart(
    tmp_path: Path, store: ScheduleStore, fake_run: Callable, services: list[SchedulerService]
) -> None:
    nightly = add_tag_schedule(store, cron="0 2 * * *")
    first = SchedulerService(tmp_path, SchedulerSettings(), command_for=fake_run(0))
    services.append(first)
    first.start()
    first.shutdown()
    before = persisted_next_run(store, nightly.id)
    assert before is not None and before > datetime.now(UTC)

    second = SchedulerService(tmp_path, SchedulerSettings(), command_for=fake_run(0))
    services.append(second)
    second.start()
    job = second.scheduler.get_job(nightly.id)
    assert job is not None and job.next_run_time == before and str(job.trigger).startswith("cron[")
    assert store.next_run_times()[nightly.id] == before.astimezone(UTC).isoformat(timespec="seconds")
    second.shutdown()


def test_schedule_changes_are_picked_up_while_running(
    tmp_path: Path, store: ScheduleStore, fake_run: Callable, services: list[SchedulerService]
) -> None:
    service = SchedulerService(tmp_path, SchedulerSettings(poll_seconds=0.2), command_for=fake_run(0))
    services.append(service)
    service.start()
    added = add_tag_schedule(store, cron="0 2 * * *")  # as `schedule add` does from another process
    service.reconcile()
    assert service.scheduler.get_job(added.id) is not None
    store.remove(added.id)  # `schedule rm`
    service.reconcile()
    assert service.scheduler.get_job(added.id) is None
    service.shutdown()


@pytest.mark.parametrize("catch_up", [True, False])
def test_catch_up_decides_whether_a_run_missed_during_downtime_starts(
    tmp_path: Path, store: ScheduleStore, fake_run: Callable, services: list[SchedulerService], catch_up: bool
) -> None:
    nightly = add_tag_schedule(store, cron="0 2 * * *")
    first = SchedulerService(tmp_path, SchedulerSettings(), command_for=fake_run(0))
    services.append(first)
    first.start()
    first.shutdown()
    pretend_scheduler_was_down(store, nightly.id, since=timedelta(minutes=5))

    restarted = SchedulerService(tmp_path, SchedulerSettings(catch_up=catch_up), command_for=fake_run(0))
    services.append(restarted)
    restarted.start()
    wait_for(lambda: bool(store.runs(nightly.id)))
    time.sleep(0.5)  # a second firing, if there were one, would show up here
    restarted.shutdown()
    outcomes = [r.outcome for r in store.runs(nightly.id)]
    assert outcomes == (["ok"] if catch_up else ["missed"])
    upcoming = persisted_next_run(store, nightly.id)
    assert upcoming is not None and upcoming > datetime.now(UTC)


def test_a_run_missed_by_more_than_the_grace_time_is_recorded_as_missed(
    tmp_path: Path, store: ScheduleStore, fake_run: Callable, services: list[SchedulerService]
) -> None:
    nightly = add_tag_schedule(store, cron="0 2 * * *")
    first = SchedulerService(tmp_path, SchedulerSettings(), command_for=fake_run(0))
    services.append(first)
    first.start()
    first.shutdown()
    pretend_scheduler_was_down(store, nightly.id, since=timedelta(hours=2))

    restarted = SchedulerService(tmp_path, SchedulerSettings(misfire_grace_seconds=60), command_for=fake_run(0))
    services.append(restarted)
    restarted.start()
    wait_for(lambda: bool(store.runs(nightly.id)))
    restarted.shutdown()
    [missed] = store.runs(nightly.id)
    assert missed.outcome == "missed" and "misfire_grace_seconds" in (missed.error or "")
    assert not (tmp_path / f"runs-{nightly.id}.log").exists()
