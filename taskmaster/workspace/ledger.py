"""The attempt ledger: one SQLite row per code-generation attempt, so routing decisions can be judged on data.

Kept with storage.sqlite (WAL, ordered migrations): the CLI, the evaluation harness and a server may append at the
same time, and readers (`taskmaster stats`) never block writers. Each write is its own short transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.escalation import StartDecision
from graphs.codegen.records import AttemptRecord
from storage.sqlite import Database, Migration
from taskmaster.errors import AppError
from taskmaster.workspace.paths import WorkspacePaths

# The schema as the hand-written helper made it: idempotent, so files from before migrations upgrade in place.
SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    task_type TEXT NOT NULL,
    complexity INTEGER,
    worker_tier TEXT NOT NULL,
    checker TEXT,
    outcome TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    escalations INTEGER NOT NULL,
    verifiers TEXT NOT NULL,
    latency_s REAL NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    reference_cost_usd REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_recorded_at ON attempts (recorded_at);
CREATE INDEX IF NOT EXISTS attempts_run ON attempts (run_id);
CREATE TABLE IF NOT EXISTS routing_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decided_at TEXT NOT NULL,
    run_id TEXT NOT NULL,
    task_type TEXT NOT NULL,
    chain TEXT NOT NULL,
    start_index INTEGER NOT NULL,
    start_tier TEXT NOT NULL,
    default_index INTEGER NOT NULL,
    explanation TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS routing_decisions_type ON routing_decisions (task_type);
"""
MIGRATIONS = (Migration("m001_attempts_and_routing_decisions", SCHEMA),)
_COLUMNS = (
    "recorded_at",
    "run_id",
    "task_id",
    "task_type",
    "complexity",
    "worker_tier",
    "checker",
    "outcome",
    "attempt",
    "escalations",
    "verifiers",
    "latency_s",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "reference_cost_usd",
)


@dataclass(frozen=True)
class LedgerRow:
    id: int
    recorded_at: str
    record: AttemptRecord


def ledger_path(data_dir: Path) -> Path:
    """The ledger of the project whose `.taskmaster` directory is `data_dir` (WorkspacePaths defines it)."""
    return WorkspacePaths(data_dir.parent).ledger


class Ledger:
    """Callable with an AttemptRecord, so it plugs straight into CodegenContext.record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = Database(
            path,
            MIGRATIONS,
            error=lambda exc: AppError(f"cannot use the attempt ledger {path} ({exc}); check the file or delete it"),
        )
        self.db.migrate()

    def __call__(self, record: AttemptRecord) -> None:
        self.record(record)

    def record(self, record: AttemptRecord, *, at: datetime | None = None) -> None:
        values = record.as_dict()
        values["verifiers"] = json.dumps(values["verifiers"], sort_keys=True)
        values["recorded_at"] = (at or datetime.now(UTC)).isoformat(timespec="seconds")
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self.db.connect() as conn:
            conn.execute(
                f"INSERT INTO attempts ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                [values[c] for c in _COLUMNS],
            )

    def rows(self, since: datetime | None = None) -> list[LedgerRow]:
        query = f"SELECT id, {', '.join(_COLUMNS)} FROM attempts"
        params: list[Any] = []
        if since is not None:
            query += " WHERE recorded_at >= ?"
            params.append(_utc(since).isoformat(timespec="seconds"))
        with self.db.connect() as conn:
            fetched = conn.execute(query + " ORDER BY id", params).fetchall()
        rows = []
        for row_id, recorded_at, *rest in fetched:
            fields = dict(zip(_COLUMNS[1:], rest, strict=True))
            fields["verifiers"] = json.loads(fields["verifiers"])
            rows.append(LedgerRow(row_id, recorded_at, AttemptRecord(**fields)))
        return rows

    # --- adaptive routing decisions: logged so every start tier can be explained after the fact ----------
    def record_decision(self, decision: StartDecision, *, run_id: str = "", at: datetime | None = None) -> None:
        values = (
            (at or datetime.now(UTC)).isoformat(timespec="seconds"),
            run_id,
            decision.task_type,
            json.dumps(list(decision.chain)),
            decision.index,
            decision.tier,
            decision.default_index,
            decision.explanation(),
        )
        with self.db.connect() as conn:
            conn.execute(
                "INSERT INTO routing_decisions (decided_at, run_id, task_type, chain, start_index, start_tier, "
                "default_index, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )

    def decisions(self, task_type: str | None = None, limit: int = 20) -> list[DecisionRow]:
        """Most recent first."""
        query = "SELECT decided_at, run_id, task_type, chain, start_index, start_tier, default_index, explanation "
        query += "FROM routing_decisions" + (" WHERE task_type = ?" if task_type else "") + " ORDER BY id DESC LIMIT ?"
        params: list[Any] = [task_type, limit] if task_type else [limit]
        with self.db.connect() as conn:
            fetched = conn.execute(query, params).fetchall()
        return [
            DecisionRow(at, run, kind, tuple(json.loads(chain)), index, tier, default, text)
            for at, run, kind, chain, index, tier, default, text in fetched
        ]


@dataclass(frozen=True)
class DecisionRow:
    decided_at: str
    run_id: str
    task_type: str
    chain: tuple[str, ...]
    start_index: int
    start_tier: str
    default_index: int
    explanation: str


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
