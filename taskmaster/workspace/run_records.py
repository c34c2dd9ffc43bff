"""What each autonomous run did: one row per run and one per task event (claimed, started, finished, …).

The checkpoint says where a run is; these records say what happened, in a form `taskmaster runs`, the scheduler
and tests can query without replaying graph state. Kept with storage.sqlite (WAL, ordered migrations applied once
under the write lock, so runs opening a new file at once do not race), one short transaction per write.

A run records the process that works it (pid, host, and the process's start time, so a recycled pid is not
mistaken for it). A run still marked `running` whose process is gone (kill -9, a crash, a power cut) is
reported, and from then on stored, as `interrupted`: it can be continued with `taskmaster run --resume`.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.sqlite import Database, Migration, add_columns
from taskmaster.errors import AppError
from taskmaster.workspace.paths import WorkspacePaths

# The schema as the hand-written helper made it: idempotent, so files from before migrations upgrade in place.
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    thread_id TEXT PRIMARY KEY,
    tag TEXT NOT NULL,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    state TEXT NOT NULL,
    stop_reason TEXT,
    request TEXT NOT NULL,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS task_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at REAL NOT NULL,
    pid INTEGER NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS task_events_thread ON task_events (thread_id);
"""
# Added after the first release: older files get them on open (ALTER TABLE), old rows have NULLs.
OWNER_COLUMNS = (("pid", "INTEGER"), ("host", "TEXT"), ("proc_start", "TEXT"))
MIGRATIONS = (
    Migration("m001_runs_and_task_events", SCHEMA),
    Migration("m002_run_owner_columns", add_columns("runs", OWNER_COLUMNS)),
)


@dataclass(frozen=True)
class RunRow:
    thread_id: str
    tag: str
    started_at: float
    updated_at: float
    state: str  # running, stopped, waiting (human review), interrupted, failed
    stop_reason: str | None
    request: dict[str, Any]
    summary: dict[str, Any] | None


def records_path(data_dir: Path) -> Path:
    """The run records of the project whose `.taskmaster` directory is `data_dir` (WorkspacePaths defines it)."""
    return WorkspacePaths(data_dir.parent).runs


class RunRecords:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Opened on first use, not here: readers check `path.exists()` so a status query creates no file.
        self.db = Database(
            path,
            MIGRATIONS,
            error=lambda exc: AppError(f"cannot use the run records at {path} ({exc}); check the directory"),
        )

    def start(self, thread_id: str, tag: str, request: dict[str, Any]) -> None:
        now = time.time()
        pid = os.getpid()
        owner = (pid, socket.gethostname(), process_start(pid))
        with self.db.connect() as conn:
            conn.execute(
                "INSERT INTO runs (thread_id, tag, started_at, updated_at, state, request, pid, host, proc_start) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(thread_id) DO UPDATE SET updated_at = excluded.updated_at, state = 'running', "
                "pid = excluded.pid, host = excluded.host, proc_start = excluded.proc_start",
                (thread_id, tag, now, now, "running", json.dumps(request, default=str), *owner),
            )

    def finish(self, thread_id: str, state: str, stop_reason: str | None, summary: dict[str, Any]) -> None:
        with self.db.connect() as conn:
            conn.execute(
                "UPDATE runs SET updated_at = ?, state = ?, stop_reason = ?, summary = ? WHERE thread_id = ?",
                (time.time(), state, stop_reason, json.dumps(summary, default=str), thread_id),
            )

    def event(self, thread_id: str, task_id: str, event: str, detail: dict[str, Any]) -> None:
        with self.db.connect() as conn:
            conn.execute(
                "INSERT INTO task_events (thread_id, task_id, event, at, pid, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (thread_id, task_id, event, time.time(), os.getpid(), json.dumps(detail, default=str)),
            )

    def get(self, thread_id: str) -> RunRow | None:
        if not self.path.exists():
            return None
        with self.db.connect() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE thread_id = ?", (thread_id,)).fetchone()
            return self._checked(conn, row) if row else None

    def recent(self, limit: int = 20) -> list[RunRow]:
        if not self.path.exists():
            return []
        with self.db.connect() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM runs ORDER BY started_at DESC LIMIT ?", (limit,)).fetchall()
            return [self._checked(conn, r) for r in rows]

    @staticmethod
    def _checked(conn: sqlite3.Connection, row: tuple[Any, ...]) -> RunRow:
        """The row, with a `running` run whose process has died turned into `interrupted` (and stored so)."""
        run = _row(row)
        pid, host, started = row[8], row[9], row[10]
        if run.state != "running" or pid is None or started is None or host != socket.gethostname():
            return run  # older rows, or another machine's run: nothing here can tell
        if process_start(int(pid)) == started:
            return run
        reason = "process_died"
        conn.execute(
            "UPDATE runs SET state = 'interrupted', stop_reason = ? WHERE thread_id = ? AND state = 'running'",
            (reason, run.thread_id),
        )
        return RunRow(**{**run.__dict__, "state": "interrupted", "stop_reason": reason})

    def events(self, thread_id: str) -> list[tuple[str, str, int, dict[str, Any]]]:
        """(task id, event, pid, detail) in order."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT task_id, event, pid, detail FROM task_events WHERE thread_id = ? ORDER BY id", (thread_id,)
            ).fetchall()
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


_COLUMNS = "thread_id, tag, started_at, updated_at, state, stop_reason, request, summary, pid, host, proc_start"


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None if it is gone.

    Together with the pid it names one process: a pid reused by a later process has a different start time.
    """
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":  # a zombie has finished
        return None
    return fields[19]


def _row(row: tuple[Any, ...]) -> RunRow:
    return RunRow(
        thread_id=row[0],
        tag=row[1],
        started_at=row[2],
        updated_at=row[3],
        state=row[4],
        stop_reason=row[5],
        request=json.loads(row[6]),
        summary=json.loads(row[7]) if row[7] else None,
    )
