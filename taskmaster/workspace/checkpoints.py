"""The checkpointer Settings ask for: Postgres when `checkpoint_url` is set, else the project's SQLite file.

A Postgres that cannot be used fails before any model starts, in one sentence that names the server (never
the password) and what to change. Checkpoints hold PRDs, tasks and code, so like model endpoints the database
must be on loopback (or a unix socket) unless its host is in `allow_hosts`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver

from agents.llm.egress import Egress
from graphs.checkpoint import postgres_checkpointer, sqlite_checkpointer
from taskmaster.errors import AppError
from taskmaster.settings import Settings

CONNECT_TIMEOUT_S = 5


def describe_url(url: str) -> str:
    """host:port/dbname of a Postgres URL, without user or password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "the configured URL"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    return f"{host}:{parts.get('port') or 5432}/{parts.get('dbname') or parts.get('user') or ''}".rstrip("/")


def refuse_remote_hosts(url: str, allow_hosts: list[str]) -> None:
    """The egress rule for libpq (which makes its own sockets and ignores HTTP proxies): loopback, a unix
    socket, or an allowed host; every host of a multi-host URL is checked."""
    from psycopg.conninfo import conninfo_to_dict

    egress = Egress.of(allow_hosts)
    parts = conninfo_to_dict(url)
    for key in ("host", "hostaddr"):
        for host in filter(None, (parts.get(key) or "").split(",")):
            if not (host.startswith("/") or egress.allows(host)):
                raise AppError(
                    f"refusing the non-loopback Postgres host {host!r} for checkpoints: add {host!r} to allow_hosts "
                    "in taskmaster.toml if you mean to send task data there"
                )


def _reason(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__).rstrip(".")


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[BaseCheckpointSaver]:
    url = settings.checkpoint_url
    if not url:
        with sqlite_checkpointer(settings.paths.checkpoints) as saver:
            yield saver
        return
    import psycopg

    with ExitStack() as stack:
        try:
            refuse_remote_hosts(url, settings.allow_hosts)
            saver = stack.enter_context(postgres_checkpointer(url, connect_timeout_s=CONNECT_TIMEOUT_S))
        except psycopg.Error as exc:
            raise AppError(
                f"cannot use the Postgres checkpoint database at {describe_url(url)} ({_reason(exc)}); start the "
                "server or fix checkpoint_url (TASKMASTER_CHECKPOINT_URL), or unset it to use the SQLite file"
            ) from None
        yield saver
