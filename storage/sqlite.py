"""One way to keep state in a SQLite file: ordered, named schema migrations applied once, short connections.

Modelled on how Simon Willison's `llm` keeps logs.db: a store lists its migrations in order and a `_migrations`
table records which have run, so opening a file applies only the new ones, once. A store that predates this module
makes its first migrations its old schema written idempotently (CREATE TABLE IF NOT EXISTS, `add_columns`), so a
file made by the old code upgrades in place and keeps its rows.

Several processes share these files (CLI commands, the scheduler, parallel runs, a server): migrations run under
SQLite's write lock (BEGIN IMMEDIATE), so processes opening a new file at once apply them exactly once between
them; WAL lets readers go on while one process writes, and the busy timeout makes a writer wait its turn instead
of failing with "database is locked". Each operation opens its own short connection, safe from any thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Apply = Callable[[sqlite3.Connection], None]
ErrorFactory = Callable[[Exception], Exception]
MIGRATIONS_TABLE = "_migrations"


class StorageError(Exception):
    """A database file cannot be opened, migrated or used (the default when a store gives no error factory)."""


@dataclass(frozen=True)
class Migration:
    """One schema step: a SQL script, or a function given the connection inside the migration's transaction.

    The name is recorded once the step has run; never rename or reorder a released migration, only append.
    """

    name: str
    apply: str | Apply

    def run(self, conn: sqlite3.Connection) -> None:
        if callable(self.apply):
            self.apply(conn)
            return
        for statement in statements(self.apply):
            conn.execute(statement)


def add_columns(table: str, columns: Sequence[tuple[str, str]]) -> Apply:
    """A migration step adding each (name, declaration) column the table lacks; a no-op for columns it has.

    For upgrading files whose old code added columns by hand: some already have them, some do not.
    """

    def apply(conn: sqlite3.Connection) -> None:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, declaration in columns:
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")

    return apply


def statements(script: str) -> Iterator[str]:
    """The complete SQL statements of a script, one at a time.

    sqlite3's executescript() would commit the migration's open transaction first and so drop the write lock;
    sqlite3.complete_statement() tells a real statement end from a semicolon inside a string or a trigger body.
    """
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if _strip_comments(pending).strip(" \t\r\n;"):  # not just a comment
                yield pending.strip()
            pending = ""
    if _strip_comments(pending).strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending.strip()!r}")


def _strip_comments(text: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


class Database:
    """A SQLite file and its ordered migrations.

    Nothing touches the disk until the first `migrate()`, `connect()` or `transaction()`: a store built only to
    read an optional file can check that the file exists first. `error`, when given, turns every sqlite3 or
    filesystem failure into the caller's own exception (the message should say what the file is and what to do);
    the original stays as `__cause__`.
    """

    def __init__(
        self,
        path: Path,
        migrations: Sequence[Migration],
        *,
        timeout: float = 30.0,
        pragmas: Mapping[str, str | int] | None = None,
        row_factory: Any = None,
        error: ErrorFactory | None = None,
    ) -> None:
        names = [m.name for m in migrations]
        if len(set(names)) != len(names):
            raise ValueError(f"migration names must be unique: {names}")
        self.path = Path(path)
        self.migrations = tuple(migrations)
        self.timeout = timeout
        self.pragmas = dict(pragmas or {})
        self.row_factory = row_factory
        self._error = error or (lambda exc: StorageError(f"cannot use the database {self.path} ({exc})"))
        self._lock = threading.Lock()
        self._migrated = False

    # --- schema --------------------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Create the file (and its directory) if needed and apply the pending migrations; their names, in order.

        Runs once per Database object; later calls return [] at once.
        """
        with self._lock:
            if self._migrated:
                return []
            with self._translated(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = self._open()
                try:
                    applied = [] if self._up_to_date(conn) else self._apply_pending(conn)
                finally:
                    conn.close()
            self._migrated = True
            return applied

    def applied(self) -> list[str]:
        """Names of the migrations recorded in the file, in the order they ran."""
        with self.connect() as conn:
            return [row[0] for row in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY rowid")]

    def _up_to_date(self, conn: sqlite3.Connection) -> bool:
        """True when every migration is recorded: then opening the file takes no write lock at all."""
        try:
            done = {row[0] for row in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
        except sqlite3.OperationalError:  # no such table: a new file, or one made before migrations were recorded
            return False
        return all(m.name in done for m in self.migrations)

    def _apply_pending(self, conn: sqlite3.Connection) -> list[str]:
        self._use_wal(conn)
        conn.execute("BEGIN IMMEDIATE")  # the write lock: a second process waits here, then finds the work done
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
            applied = []
            for migration in self.migrations:
                if migration.name in done:
                    continue
                migration.run(conn)
                conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                    (migration.name, datetime.now(UTC).isoformat(timespec="seconds")),
                )
                applied.append(migration.name)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return applied

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL (stored in the file: every later connection uses it).

        SQLite answers a journal-mode change that races another connection with SQLITE_BUSY at once, without
        waiting through the busy timeout (seen with four processes opening a new file), so wait here instead.
        """
        deadline = time.monotonic() + self.timeout
        delay = 0.01
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if not exc.sqlite_errorname.startswith("SQLITE_BUSY") or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    # --- connections ---------------------------------------------------------------------------------------
    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short connection to the migrated file, closed on exit.

        It is in autocommit mode: each statement is its own transaction. Use `transaction()` when several
        statements must land together, or a read must not change before the write that depends on it.
        """
        self.migrate()
        with self._translated(OSError):
            conn = self._open()
        try:
            with self._translated():  # only the database's own errors: the block's other exceptions pass through
                yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction: committed on exit, rolled back if the block raises.

        `immediate` takes the write lock at the start (BEGIN IMMEDIATE), so reads in the block see the data the
        block's writes are based on; False starts a deferred transaction (a consistent snapshot for reads).
        """
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit BEGIN; transactions are exactly the ones started above.
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys=ON")
            for name, value in self.pragmas.items():
                conn.execute(f"PRAGMA {name}={value}")
        except BaseException:
            conn.close()
            raise
        if self.row_factory is not None:
            conn.row_factory = self.row_factory
        return conn

    @contextmanager
    def _translated(self, *also: type[Exception]) -> Iterator[None]:
        """sqlite3 errors (and the `also` kinds) raised as the store's own exception."""
        try:
            yield
        except (sqlite3.Error, *also) as exc:
            raise self._error(exc) from exc
