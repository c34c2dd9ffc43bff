"""storage.sqlite: ordered migrations applied once (also by processes racing on a new file), files made before
migrations existed upgrade in place, and the connection settings every store relies on."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from storage.sqlite import Database, Migration, StorageError, add_columns, statements

OLD_SCHEMA = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
MIGRATIONS = [
    Migration("m001_notes", OLD_SCHEMA),
    Migration("m002_note_author", add_columns("notes", [("author", "TEXT")])),
]


def test_a_new_file_gets_its_directory_wal_and_every_migration_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "deep" / "dir" / "notes.sqlite", MIGRATIONS)
    assert not db.path.exists()  # nothing touches the disk before first use
    assert db.migrate() == ["m001_notes", "m002_note_author"]
    assert db.migrate() == []
    assert Database(db.path, MIGRATIONS).migrate() == []  # a later open finds them recorded
    assert db.applied() == ["m001_notes", "m002_note_author"]
    with db.connect() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
        assert [row[1] for row in conn.execute("PRAGMA table_info(notes)")] == ["id", "body", "author"]


def test_a_migration_appended_later_runs_on_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    Database(path, MIGRATIONS[:1]).migrate()
    index = Migration("m003_notes_by_author", "CREATE INDEX notes_by_author ON notes (author);")
    assert Database(path, [*MIGRATIONS, index]).migrate() == ["m002_note_author", "m003_notes_by_author"]


def test_a_file_made_by_the_old_code_upgrades_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    with sqlite3.connect(path) as conn:  # what the hand-written helpers did: schema, no _migrations table
        conn.executescript(OLD_SCHEMA)
        conn.execute("INSERT INTO notes (body) VALUES ('kept')")
    conn.close()
    db = Database(path, MIGRATIONS)
    assert db.migrate() == ["m001_notes", "m002_note_author"]
    with db.connect() as conn:
        assert conn.execute("SELECT id, body, author FROM notes").fetchall() == [(1, "kept", None)]


def test_a_failing_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    broken = Migration("m002_broken", "CREATE TABLE extra (x INTEGER); INSERT INTO missing VALUES (1);")
    db = Database(tmp_path / "notes.sqlite", [MIGRATIONS[0], broken])
    with pytest.raises(StorageError, match="no such table: missing"):
        db.migrate()
    with sqlite3.connect(db.path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "extra" not in tables and "notes" not in tables  # the whole run rolled back, m001 included


def test_transactions_commit_or_roll_back_as_one(tmp_path: Path) -> None:
    db = Database(tmp_path / "notes.sqlite", MIGRATIONS)
    with db.transaction() as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('one')")
        conn.execute("INSERT INTO notes (body) VALUES ('two')")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('three')")
        raise RuntimeError("abandon")
    with db.connect() as conn:
        assert [row[0] for row in conn.execute("SELECT body FROM notes ORDER BY id")] == ["one", "two"]


def test_errors_become_the_stores_own_exception(tmp_path: Path) -> None:
    class NotesError(Exception):
        pass

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    db = Database(blocker / "notes.sqlite", MIGRATIONS, error=lambda exc: NotesError(f"cannot open notes ({exc})"))
    with pytest.raises(NotesError, match="cannot open notes"):
        db.migrate()
    db = Database(tmp_path / "notes.sqlite", MIGRATIONS, error=lambda exc: NotesError(str(exc)))
    with pytest.raises(NotesError, match="no such table"), db.connect() as conn:
        conn.execute("SELECT * FROM missing_table")
    with pytest.raises(KeyError), db.connect():  # the block's own exceptions pass through untouched
        raise KeyError("x")


def test_migration_names_must_be_unique(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unique"):
        Database(tmp_path / "x.sqlite", [MIGRATIONS[0], MIGRATIONS[0]])


def test_scripts_split_into_whole_statements() -> None:
    script = """
    CREATE TABLE t (a TEXT DEFAULT 'x;y');  -- a semicolon inside a string
    CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN UPDATE t SET a = 'z;'; END;
    -- a trailing comment
    """
    found = list(statements(script))
    assert len(found) == 2 and "CREATE TABLE t" in found[0] and found[1].endswith("SET a = 'z;'; END;")
    with pytest.raises(ValueError, match="incomplete"):
        list(statements("CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('unterminated"))


def _open_and_write(path: str, writer: int) -> None:
    log = Migration("m003_log", "CREATE TABLE opened (writer INTEGER NOT NULL);")
    db = Database(Path(path), [*MIGRATIONS, log])
    with db.transaction() as conn:
        conn.execute("INSERT INTO opened (writer) VALUES (?)", (writer,))


def test_processes_opening_a_new_file_at_once_migrate_it_exactly_once(tmp_path: Path) -> None:
    """Each migration ran once: a second CREATE TABLE or ALTER would have failed a process or duplicated a row."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters, like separate CLI runs
    for trial in range(5):
        path = str(tmp_path / f"race-{trial}.sqlite")
        procs = [context.Process(target=_open_and_write, args=(path, n)) for n in range(4)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        assert [proc.exitcode for proc in procs] == [0, 0, 0, 0], trial
        with sqlite3.connect(path) as conn:
            names = [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
            writers = sorted(row[0] for row in conn.execute("SELECT writer FROM opened"))
        conn.close()
        assert names == ["m001_notes", "m002_note_author", "m003_log"] and writers == [0, 1, 2, 3]


# --- the five stores: files made by their hand-written helpers (no _migrations table) open and keep their rows ---


def _old_file(path: Path, script: str, insert: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(script)
        conn.execute(insert)
    conn.close()


def test_an_old_ledger_keeps_its_attempts(tmp_path: Path) -> None:
    from taskmaster.workspace.ledger import SCHEMA, Ledger

    path = tmp_path / "ledger.sqlite"
    _old_file(
        path,
        SCHEMA,
        "INSERT INTO attempts (recorded_at, run_id, task_id, task_type, complexity, worker_tier, checker, outcome, "
        "attempt, escalations, verifiers, latency_s, input_tokens, output_tokens, cost_usd, reference_cost_usd) "
        "VALUES ('2024-01-01T00:00:00+00:00', 'r', '1', 'standard_dev', 3, 'fast', NULL, 'passed', 1, 0, '{}', "
        "1.0, 10, 5, 0.0, 0.0)",
    )
    ledger = Ledger(path)
    assert [(r.record.run_id, r.record.outcome) for r in ledger.rows()] == [("r", "passed")]
    assert ledger.db.applied() == ["m001_attempts_and_routing_decisions"]


def test_old_run_records_without_owner_columns_gain_them_and_keep_their_runs(tmp_path: Path) -> None:
    from taskmaster.workspace.run_records import SCHEMA, RunRecords

    path = tmp_path / "runs.sqlite"
    _old_file(
        path,
        SCHEMA,  # the first release: no pid/host/proc_start columns yet
        "INSERT INTO runs (thread_id, tag, started_at, updated_at, state, request) "
        "VALUES ('run-old', 'master', 1.0, 2.0, 'stopped', '{}')",
    )
    records = RunRecords(path)
    assert records.get("run-old").state == "stopped"
    records.start("run-new", "master", {"x": 1})
    assert [r.thread_id for r in records.recent()] == ["run-new", "run-old"]
    assert records.db.applied() == ["m001_runs_and_task_events", "m002_run_owner_columns"]


def test_an_old_schedules_file_keeps_its_schedules(tmp_path: Path) -> None:
    from taskmaster.scheduling.store import SCHEMA, ScheduleStore

    path = tmp_path / "schedules.sqlite"
    _old_file(
        path,
        SCHEMA,
        "INSERT INTO schedules (name, cron, every_seconds, kind, target, tag, max_minutes, max_tasks, created_at) "
        "VALUES ('nightly', '0 2 * * *', NULL, 'prd', 'prd.md', 'master', 30, NULL, '2024-01-01T00:00:00+00:00')",
    )
    store = ScheduleStore(path)
    assert [(s.id, s.name) for s in store.all()] == [("1", "nightly")]
    added = store.add(
        name=None, cron=None, every_seconds=60, kind="tasks", target="", tag="master", max_minutes=5, max_tasks=1
    )
    assert added.name == "tasks-2"


def test_an_old_claims_file_keeps_its_claims(tmp_path: Path) -> None:
    from tasks.claims import SCHEMA, ClaimBook

    path = tmp_path / "tasks.claims.sqlite"
    _old_file(path, SCHEMA, "INSERT INTO claims VALUES ('master', '3', 'run-a', 1, 'elsewhere', 9e9)")
    book = ClaimBook(path)
    assert book.holder("master", "3") == "run-a"
    assert not book.take("master", "3", "run-b")  # another host's recent claim still holds


def test_an_old_response_cache_keeps_its_replies(tmp_path: Path) -> None:
    from langchain_core.messages import HumanMessage

    from agents.llm.cache import SCHEMA, CallScope, ResponseCache

    scope = CallScope(model="m", endpoints=("openai:http://x",), temperature=0, max_tokens=10)
    messages = [HumanMessage("hi")]
    path = tmp_path / "responses.sqlite"
    key, semantic_scope, _ = ResponseCache._keys(scope, messages)
    _old_file(path, SCHEMA, f"INSERT INTO responses VALUES ('{key}', '{semantic_scope}', 9e9, 'hi', 'hello', NULL)")
    assert ResponseCache(path, clock=lambda: 9e9).lookup(scope, messages) == "hello"


def test_the_claims_path_is_the_workspace_one(tmp_path: Path) -> None:
    """tasks/ cannot import WorkspacePaths, so it keeps its own formula; the two must agree."""
    from taskmaster.scheduling.store import schedules_db
    from taskmaster.workspace.ledger import ledger_path
    from taskmaster.workspace.paths import WorkspacePaths
    from taskmaster.workspace.run_records import records_path
    from tasks.claims import claims_path

    paths = WorkspacePaths(tmp_path)
    assert claims_path(paths.tasks_file) == paths.claims
    assert ledger_path(paths.data_dir) == paths.ledger and records_path(paths.data_dir) == paths.runs
    assert schedules_db(tmp_path) == paths.schedules
