"""Which run holds which task, so two runs on one tasks file never work on the same task.

A claim is a row in a small SQLite file beside tasks.json. Callers take claims while holding the tasks file's
lock, so choosing a task and claiming it is one atomic step across processes. A claim whose process is gone
(SIGKILL, a crash) is stale: another run may take the task, and the run that held it can take it back on resume.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from storage.sqlite import Database, Migration
from tasks.errors import TasksFileError

# The schema as the hand-written helper made it: idempotent, so files from before migrations upgrade in place.
SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    tag TEXT NOT NULL,
    task_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    PRIMARY KEY (tag, task_id)
);
"""
MIGRATIONS = (Migration("m001_claims", SCHEMA),)
# A claim from another host cannot be checked for liveness; after this long it is considered abandoned.
FOREIGN_CLAIM_TTL_S = 6 * 3600.0


@dataclass(frozen=True)
class Claim:
    tag: str
    task_id: str
    run_id: str
    pid: int
    host: str
    claimed_at: float

    def is_live(self) -> bool:
        if self.host != socket.gethostname():
            return time.time() - self.claimed_at < FOREIGN_CLAIM_TTL_S
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by another user
            return True
        return True


def claims_path(tasks_file: Path) -> Path:
    """The claims file beside `tasks_file`; the same path as WorkspacePaths.claims (tasks/ cannot import it)."""
    return tasks_file.with_name(tasks_file.stem + ".claims.sqlite")


class ClaimBook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = Database(
            path,
            MIGRATIONS,
            error=lambda exc: TasksFileError(
                f"cannot use the task claims file {path} ({exc}); check its permissions or delete it "
                "when no run is active"
            ),
        )

    def claims(self, tag: str) -> dict[str, Claim]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT tag, task_id, run_id, pid, host, claimed_at FROM claims WHERE tag = ?", (tag,)
            ).fetchall()
        return {row[1]: Claim(*row) for row in rows}

    def take(self, tag: str, task_id: str, run_id: str) -> bool:
        """Claim the task for `run_id`; False if another run holds it and is alive.

        One write transaction: the holder read is still the holder when the claim is written.
        """
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT tag, task_id, run_id, pid, host, claimed_at FROM claims WHERE tag = ? AND task_id = ?",
                (tag, task_id),
            ).fetchone()
            if row is not None:
                current = Claim(*row)
                if current.run_id != run_id and current.is_live():
                    return False
            conn.execute(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?)",
                (tag, task_id, run_id, os.getpid(), socket.gethostname(), time.time()),
            )
        return True

    def holder(self, tag: str, task_id: str) -> str | None:
        claim = self.claims(tag).get(task_id)
        return claim.run_id if claim else None

    def release(self, tag: str, task_id: str, run_id: str) -> None:
        with self.db.connect() as conn:
            conn.execute("DELETE FROM claims WHERE tag = ? AND task_id = ? AND run_id = ?", (tag, task_id, run_id))

    def release_run(self, tag: str, run_id: str) -> list[str]:
        """Drop every claim of a run (it finished or stopped); returns the task ids it held."""
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT task_id FROM claims WHERE tag = ? AND run_id = ?", (tag, run_id)).fetchall()
            conn.execute("DELETE FROM claims WHERE tag = ? AND run_id = ?", (tag, run_id))
        return [row[0] for row in rows]
