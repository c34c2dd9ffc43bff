"""Schedules and their run history in `.taskmaster/state/schedules.sqlite`.

These plain tables are the source of truth that `schedule add/rm/list/runs` read and write. The scheduler
process keeps APScheduler's own job table (`apscheduler_jobs`, same file) in step with them; see `service`.
Each call opens its own short connection (storage.sqlite: WAL, busy timeout, ordered migrations), so CLI processes,
the scheduler and its worker threads can all use the store at once (SQLite serialises the writes; WAL lets readers
continue meanwhile).
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path

from storage.sqlite import Database, Migration
from taskmaster.errors import AppError
from taskmaster.scheduling.model import RunRecord, Schedule, SourceKind
from taskmaster.workspace.paths import WorkspacePaths

# The schema as the hand-written helper made it: idempotent, so files from before migrations upgrade in place.
SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    cron TEXT,
    every_seconds INTEGER,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    tag TEXT NOT NULL,
    max_minutes INTEGER NOT NULL,
    max_tasks INTEGER,
    created_at TEXT NOT NULL,
    next_run_at TEXT
);
CREATE TABLE IF NOT EXISTS schedule_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    exit_code INTEGER,
    thread_id TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    tokens_input INTEGER NOT NULL DEFAULT 0,
    tokens_output INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    stop_reason TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS schedule_runs_by_schedule ON schedule_runs (schedule_id, id);
CREATE TABLE IF NOT EXISTS scheduler_heartbeat (
    pid INTEGER PRIMARY KEY,
    beat_at TEXT NOT NULL
);
"""
MIGRATIONS = (Migration("m001_schedules_runs_heartbeat", SCHEMA),)

_SCHEDULE_COLUMNS = [f.name for f in fields(Schedule)]
_RUN_COLUMNS = [f.name for f in fields(RunRecord) if f.name != "id"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def schedules_db(project_dir: Path) -> Path:
    """The project's schedules file (WorkspacePaths defines it)."""
    return WorkspacePaths(project_dir).schedules


class ScheduleStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = Database(
            path,
            MIGRATIONS,
            row_factory=sqlite3.Row,
            error=lambda exc: AppError(f"cannot use {path} ({exc}); check the directory exists and is writable"),
        )

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the same file, for APScheduler's job store."""
        return f"sqlite:///{self.path}"

    # --- schedules -------------------------------------------------------------------------------------
    def add(
        self,
        *,
        name: str | None,
        cron: str | None,
        every_seconds: int | None,
        kind: SourceKind,
        target: str,
        tag: str,
        max_minutes: int,
        max_tasks: int | None,
    ) -> Schedule:
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO schedules (name, cron, every_seconds, kind, target, tag, max_minutes, max_tasks, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ("", cron, every_seconds, kind, target, tag, max_minutes, max_tasks, now_iso()),
            )
            schedule_id = str(cursor.lastrowid)
            conn.execute("UPDATE schedules SET name = ? WHERE id = ?", (name or f"{kind}-{schedule_id}", schedule_id))
        found = self.get(schedule_id)
        assert found is not None
        return found

    def get(self, schedule_id: str) -> Schedule | None:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        return _schedule(row) if row else None

    def all(self) -> list[Schedule]:
        with self.db.connect() as conn:
            rows = conn.execute("SELECT * FROM schedules ORDER BY id").fetchall()
        return [_schedule(row) for row in rows]

    def remove(self, schedule_id: str) -> Schedule:
        found = self.get(schedule_id)
        if found is None:
            raise AppError(f"no schedule with id {schedule_id!r}; see `taskmaster schedule list`")
        with self.db.connect() as conn:
            conn.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
        return found

    def next_run_times(self) -> dict[str, str | None]:
        """Next run times as the scheduler process last reported them."""
        with self.db.connect() as conn:
            rows = conn.execute("SELECT id, next_run_at FROM schedules").fetchall()
        return {str(row["id"]): row["next_run_at"] for row in rows}

    def set_next_run_times(self, times: dict[str, str | None]) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE schedules SET next_run_at = ? WHERE id = ?", [(when, sid) for sid, when in times.items()]
            )

    # --- runs ------------------------------------------------------------------------------------------
    def record_run(self, run: RunRecord) -> int:
        values = asdict(run)
        with self.db.connect() as conn:
            cursor = conn.execute(
                f"INSERT INTO schedule_runs ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join('?' * len(_RUN_COLUMNS))})",
                [values[name] for name in _RUN_COLUMNS],
            )
        return int(cursor.lastrowid or 0)

    def runs(self, schedule_id: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Most recent first."""
        query = "SELECT * FROM schedule_runs"
        params: tuple[object, ...] = ()
        if schedule_id is not None:
            query += " WHERE schedule_id = ?"
            params = (schedule_id,)
        with self.db.connect() as conn:
            rows = conn.execute(f"{query} ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
        return [_run(row) for row in rows]

    def last_runs(self) -> dict[str, RunRecord]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM schedule_runs WHERE id IN (SELECT MAX(id) FROM schedule_runs GROUP BY schedule_id)"
            ).fetchall()
        return {row["schedule_id"]: _run(row) for row in rows}

    # --- scheduler liveness ----------------------------------------------------------------------------
    def heartbeat(self, pid: int) -> None:
        with self.db.connect() as conn:
            conn.execute("INSERT OR REPLACE INTO scheduler_heartbeat (pid, beat_at) VALUES (?, ?)", (pid, now_iso()))

    def clear_heartbeat(self, pid: int) -> None:
        with self.db.connect() as conn:
            conn.execute("DELETE FROM scheduler_heartbeat WHERE pid = ?", (pid,))

    def live_schedulers(self, within_seconds: float) -> list[int]:
        """Pids of scheduler processes that reported in recently."""
        with self.db.connect() as conn:
            rows = conn.execute("SELECT pid, beat_at FROM scheduler_heartbeat").fetchall()
        now = datetime.now(UTC)
        return [
            row["pid"]
            for row in rows
            if (now - datetime.fromisoformat(row["beat_at"])).total_seconds() <= within_seconds
        ]


def _schedule(row: sqlite3.Row) -> Schedule:
    values = {name: row[name] for name in _SCHEDULE_COLUMNS}
    values["id"] = str(values["id"])
    return Schedule(**values)


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(**{name: row[name] for name in (*_RUN_COLUMNS, "id")})
