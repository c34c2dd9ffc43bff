"""The Postgres checkpointer against a real PostgreSQL server: resume after a crash, a clear error for a dead
database, and the CLI writing its checkpoints there when TASKMASTER_CHECKPOINT_URL is set."""

from __future__ import annotations

import re
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest
from e2e import one_line_error, run_cli
from fakes import make_router

from graphs.breakdown import BreakdownContext, BreakdownLimits, build_breakdown_graph
from taskmaster.errors import AppError
from taskmaster.settings import load_settings
from taskmaster.workspace.checkpoints import open_checkpointer
from tasks.store import TaskFile


def _draft(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": f"Do {title}.",
        "details": "d",
        "test_strategy": "t",
        "priority": "medium",
        "depends_on": [],
    }


class CrashOnceOnExpand:
    """Three tasks; only "API" is complex; the first expansion dies as a lost server would."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, schema: str, messages: list) -> dict[str, Any]:
        prompt = messages[-1].content
        if schema.startswith("TaskDrafts") and "<prd>" in prompt:
            self.calls["parse"] += 1
            return {"tasks": [_draft("Setup"), _draft("Models"), _draft("API")]}
        if schema == "ComplexityScore":
            self.calls["score"] += 1
            title = re.search(r"Task: (.*)", prompt).group(1)
            return {"complexity": 8 if title == "API" else 2, "recommended_subtasks": 2, "reasoning": "r"}
        self.calls["expand"] += 1
        if self.calls["expand"] == 1:
            raise ConnectionError("server went away")
        return {"tasks": [_draft("API part 1"), _draft("API part 2")]}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_breakdown_resumes_from_postgres_without_redoing_work(isolated_project: Path, postgres_url: str) -> None:
    settings = load_settings(isolated_project, checkpoint_url=postgres_url)
    fake = CrashOnceOnExpand()
    router, _ = make_router(fake)
    context = BreakdownContext(
        router=router,
        limits=BreakdownLimits(threshold=5, max_depth=2),
        tasks_file=settings.tasks_file,
        context_length=2048,
        max_output_tokens=256,
    )
    config = {"configurable": {"thread_id": "prd-1"}}
    inputs = {"mode": "parse", "source_text": "# PRD\nBuild a shop.", "num_tasks": 3}
    with open_checkpointer(settings) as saver, pytest.raises(ConnectionError):
        build_breakdown_graph(saver).invoke(inputs, config, context=context)
    assert fake.calls == {"parse": 1, "score": 3, "expand": 1}
    assert not settings.tasks_file.exists()

    with open_checkpointer(settings) as saver:  # a new connection: the state came from the database
        graph = build_breakdown_graph(saver)
        assert graph.get_state(config).next  # interrupted, not finished
        state = graph.invoke(None, config, context=context)

    assert fake.calls == {"parse": 1, "score": 5, "expand": 2}  # only the failed expansion and its children ran
    assert state["written"] is True
    tasks = TaskFile(settings.tasks_file).load()
    assert [t.title for t in tasks] == ["Setup", "Models", "API"]
    assert [s.title for s in tasks[2].subtasks] == ["API part 1", "API part 2"]
    assert not settings.paths.checkpoints.exists()  # nothing went to the SQLite file
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 'prd-1'").fetchone()[0] > 0


def test_refused_connection_is_one_actionable_line(isolated_project: Path) -> None:
    settings = load_settings(isolated_project, checkpoint_url=f"postgresql://me:secret@127.0.0.1:{_closed_port()}/tm")
    started = time.monotonic()
    with pytest.raises(AppError) as raised, open_checkpointer(settings):
        pass
    message = str(raised.value)
    assert time.monotonic() - started < 5
    assert "\n" not in message and "secret" not in message
    assert "127.0.0.1" in message and "TASKMASTER_CHECKPOINT_URL" in message


def test_remote_host_is_refused_unless_allowed(isolated_project: Path) -> None:
    url = "postgresql://me@db.example.com:5432/tm"
    settings = load_settings(isolated_project, checkpoint_url=url)
    with pytest.raises(AppError) as refused, open_checkpointer(settings):
        pass
    assert "refusing the non-loopback Postgres host 'db.example.com'" in str(refused.value)
    allowed = load_settings(isolated_project, checkpoint_url=url, allow_hosts=["db.example.com"])
    with pytest.raises(AppError) as raised, open_checkpointer(allowed):  # allowed: it tries, and cannot resolve it
        pass
    assert "refusing" not in str(raised.value) and "db.example.com:5432/tm" in str(raised.value)


def test_server_that_never_answers_times_out_in_seconds(isolated_project: Path) -> None:
    with socket.socket() as silent:  # accepts TCP connections (backlog) but never speaks the protocol
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = load_settings(isolated_project, checkpoint_url=f"postgresql://me@127.0.0.1:{port}/tm")
        started = time.monotonic()
        with pytest.raises(AppError, match="cannot use the Postgres checkpoint database"), open_checkpointer(settings):
            pass
        assert time.monotonic() - started < 15


def test_cli_with_dead_database_fails_before_starting_a_model(isolated_project: Path) -> None:
    (isolated_project / "prd.md").write_text("# Shop\nSell books online.\n")
    started = time.monotonic()
    result = run_cli(
        "parse-prd",
        "prd.md",
        cwd=isolated_project,
        env={"TASKMASTER_CHECKPOINT_URL": f"postgresql://me@127.0.0.1:{_closed_port()}/tm"},
        timeout=60,
    )
    line = one_line_error(result)
    assert "Postgres checkpoint database" in line and "TASKMASTER_CHECKPOINT_URL" in line
    assert time.monotonic() - started < 20  # no embedded model was started (that alone takes longer)
    assert not (isolated_project / ".taskmaster" / "tasks" / "tasks.json").exists()


@pytest.mark.e2e
def test_cli_parse_prd_checkpoints_in_postgres(isolated_project: Path, postgres_url: str, embedded_server) -> None:
    (isolated_project / "prd.md").write_text("# Word counter\nA command-line tool that counts words in a file.\n")
    result = run_cli(
        "parse-prd",
        "prd.md",
        "-n",
        "1",
        "--depth",
        "0",
        cwd=isolated_project,
        env={"TASKMASTER_CHECKPOINT_URL": postgres_url},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert TaskFile(isolated_project / ".taskmaster" / "tasks" / "tasks.json").load()
    assert not (isolated_project / ".taskmaster" / "state" / "checkpoints.sqlite").exists()
    with psycopg.connect(postgres_url) as conn:
        threads = [row[0] for row in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")]
    assert len(threads) == 1 and threads[0].startswith("parse-")
