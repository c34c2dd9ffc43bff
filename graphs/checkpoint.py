"""Checkpointers: SQLite by default (one file next to tasks.json), Postgres when several processes or
machines share runs. Either way an interrupted run resumes from its last checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver


@contextmanager
def sqlite_checkpointer(path: Path) -> Iterator[BaseCheckpointSaver]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


@contextmanager
def postgres_checkpointer(url: str, *, connect_timeout_s: int = 5) -> Iterator[BaseCheckpointSaver]:
    """One connection (the saver serialises access with its own lock), tables created or migrated on open.

    `from_conn_string` offers no connect timeout, and without one a dead host blocks for minutes; a
    `connect_timeout` already in the URL wins over ours. Raises psycopg.Error when the database cannot be used.
    """
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.rows import dict_row

    timeout = conninfo_to_dict(url).get("connect_timeout") or max(2, connect_timeout_s)  # libpq's minimum is 2
    with Connection.connect(
        url, autocommit=True, prepare_threshold=0, row_factory=dict_row, connect_timeout=timeout
    ) as conn:
        saver = PostgresSaver(conn)
        saver.setup()
        yield saver
