"""A real PostgreSQL server for the tests: a throw-away cluster on 127.0.0.1, one per test session.

Postgres refuses to run as root, so as root the cluster belongs to the `postgres` system user (Debian's package
creates it) and lives in a directory under /tmp that user owns: pytest's own tmp dirs are 0700 root-only.
Without the binaries the tests skip with a visible reason, except in CI (`CI` set), where they fail.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")


def find_bindir() -> Path | None:
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).parent] if on_path else []
    for pattern in SEARCH:
        root = Path("/")
        found = sorted(root.glob(pattern.lstrip("/")), key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parts])
        candidates += reversed(found)  # newest major version first
    return next((d for d in candidates if (d / "initdb").is_file() and (d / "pg_ctl").is_file()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    user: str

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_owner(args: list[str], owner: str | None) -> list[str]:
    return ["setpriv", f"--reuid={owner}", f"--regid={owner}", "--init-groups", *args] if owner else args


def _start(bindir: Path) -> PostgresServer:
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("as root, the test cluster needs a `postgres` system user to own it (apt install postgresql)")
        owner = "postgres"
    root = Path(tempfile.mkdtemp(prefix="taskmaster-pg-", dir="/tmp"))
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    os.chmod(root, 0o700)
    user = "postgres"
    server = PostgresServer(bindir=bindir, root=root, port=_free_port(), user=user)
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(
            _as_owner(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(server.data),
                    "-U",
                    user,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                owner,
            ),
            **run,
        )
        options = f"-h 127.0.0.1 -p {server.port} -k {root} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            _as_owner(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(server.data),
                    "-l",
                    str(root / "log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ],
                owner,
            ),
            **run,
        )
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start the test PostgreSQL server: {exc.stderr or exc.stdout} {log}")
    return server


def _stop(server: PostgresServer) -> None:
    owner = "postgres" if os.geteuid() == 0 else None
    subprocess.run(
        _as_owner([str(server.bindir / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "-w", "stop"], owner),
        capture_output=True,
        timeout=60,
    )
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found; install them with `apt install postgresql`"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must not skip the Postgres tests)")
        pytest.skip(reason)
    server = _start(bindir)
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server, so tests never see each other's checkpoints."""
    return postgres_server.create_database()
