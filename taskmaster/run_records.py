"""What each autonomous run did: one row per run and one per task event (claimed, started, finished, …).

The checkpoint says where a run is; these records say what happened, in a form `taskmaster runs`, the scheduler
and tests can query without replaying graph state. Stdlib sqlite3 in WAL mode, one short transaction per write.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskmaster.errors import AppError

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
    return data_dir / "state" / "runs.sqlite"


class RunRecords:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=30.0)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
                with conn:
                    yield conn
        except sqlite3.Error as exc:
            raise AppError(f"cannot write the run records at {self.path} ({exc}); check the directory") from exc

    def start(self, thread_id: str, tag: str, request: dict[str, Any]) -> None:
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO runs (thread_id, tag, started_at, updated_at, state, request) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(thread_id) DO UPDATE SET updated_at = excluded.updated_at, state = 'running'",
                (thread_id, tag, now, now, "running", json.dumps(request, default=str)),
            )

    def finish(self, thread_id: str, state: str, stop_reason: str | None, summary: dict[str, Any]) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET updated_at = ?, state = ?, stop_reason = ?, summary = ? WHERE thread_id = ?",
                (time.time(), state, stop_reason, json.dumps(summary, default=str), thread_id),
            )

    def event(self, thread_id: str, task_id: str, event: str, detail: dict[str, Any]) -> None:
        import os

        with self._connect() as conn:
            conn.execute(
                "INSERT INTO task_events (thread_id, task_id, event, at, pid, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (thread_id, task_id, event, time.time(), os.getpid(), json.dumps(detail, default=str)),
            )

    def get(self, thread_id: str) -> RunRow | None:
        if not self.path.exists():
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT thread_id, tag, started_at, updated_at, state, stop_reason, request, summary FROM runs "
                "WHERE thread_id = ?",
                (thread_id,),
            ).fetchone()
        return _row(row) if row else None

    def recent(self, limit: int = 20) -> list[RunRow]:
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT thread_id, tag, started_at, updated_at, state, stop_reason, request, summary FROM runs "
                "ORDER BY started_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_row(r) for r in rows]

    def events(self, thread_id: str) -> list[tuple[str, str, int, dict[str, Any]]]:
        """(task id, event, pid, detail) in order."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT task_id, event, pid, detail FROM task_events WHERE thread_id = ? ORDER BY id", (thread_id,)
            ).fetchall()
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


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
