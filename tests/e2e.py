"""Run the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "taskmaster.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The error line, asserting the CLI failed cleanly: non-zero, one `error:` line, no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# --- the 1.5B tier -------------------------------------------------------------------------------------------
# conftest runs every tier on SmolLM2-135M (TASKMASTER_EMBEDDED__MODEL=smollm2 alone); the few quality tests on
# the real ladder pass STRONG_ENV to run_cli and request the `strong_server` fixture (import it into the module).
STRONG_MODEL = "qwen2.5-coder-1.5b"
STRONG_ENV = {"TASKMASTER_EMBEDDED__STRONG_MODEL": STRONG_MODEL}


@pytest.fixture(scope="session")
def strong_server(embedded_server: object) -> Iterator[object]:
    """Qwen2.5-Coder-1.5B's shared server, in the session's runtime dir so CLI runs with STRONG_ENV share it."""
    from serving.embedded import EmbeddedServer
    from taskmaster.settings import EmbeddedSettings

    runtime = embedded_server.runtime_dir  # type: ignore[attr-defined]
    server = EmbeddedServer(EmbeddedSettings(strong_model=STRONG_MODEL), runtime, STRONG_MODEL).acquire()
    try:
        yield server
    finally:
        server.release()
