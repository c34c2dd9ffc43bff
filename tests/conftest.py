"""Shared fixtures: an isolated project dir, and one real embedded llama.cpp server per test session.

The session server is held by a lease; CLI subprocesses find it through the same runtime dir
(TASKMASTER_EMBEDDED__RUNTIME_DIR) and share it instead of starting their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["postgres_server"]  # tests/ is on sys.path (rootdir-relative conftest, prepend import mode)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests that only need *a* model run every embedded tier on SmolLM2-135M (one small server); the few 1.5B-tier
# quality tests add TASKMASTER_EMBEDDED__STRONG_MODEL=qwen2.5-coder-1.5b (the ladder) themselves (tests/e2e.py).
os.environ.setdefault("TASKMASTER_EMBEDDED__MODEL", "smollm2")
KEPT_ENV = {"TASKMASTER_EMBEDDED__RUNTIME_DIR", "TASKMASTER_EMBEDDED__MODEL"}


@pytest.fixture
def isolated_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(project)
    for name in list(os.environ):
        if name.startswith("TASKMASTER_") and name not in KEPT_ENV:
            monkeypatch.delenv(name)
    return project


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from serving.embedded import EmbeddedServer
    from taskmaster.settings import EmbeddedSettings

    runtime = tmp_path_factory.mktemp("runtime")
    server = EmbeddedServer(EmbeddedSettings(), runtime).acquire()
    previous = os.environ.get("TASKMASTER_EMBEDDED__RUNTIME_DIR")
    os.environ["TASKMASTER_EMBEDDED__RUNTIME_DIR"] = str(runtime)
    try:
        yield server
    finally:
        server.release()
        if previous is None:
            os.environ.pop("TASKMASTER_EMBEDDED__RUNTIME_DIR", None)
        else:
            os.environ["TASKMASTER_EMBEDDED__RUNTIME_DIR"] = previous
