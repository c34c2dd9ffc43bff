"""The embedded llama.cpp server: started on 127.0.0.1 at a free port, shared by concurrent runs.

A state file records the running server (pid, port, model fingerprint); each run holds a lease file
named after its pid. The last run to leave stops the server. A server whose pid is gone, whose
health check fails, or whose model file differs is stale: it is stopped and replaced. Runs with a
different model or context size use their own server (the state is keyed by both), so they never
stop each other's. Runs that died without releasing leave leases with dead pids, which are pruned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from agents.llm.config import Endpoint
from agents.llm.endpoints import probe
from taskmaster.errors import AppError
from taskmaster.serving.bundled_models import resolve_model_file
from taskmaster.serving.process import cmdline_of, free_port, pid_alive, stop_process_group
from taskmaster.settings import EmbeddedSettings

HOST = "127.0.0.1"
PROBE_TIMEOUT_S = 2.0
SERVER_MODULE = "llama_cpp.server"


def default_runtime_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "taskmaster" / "embedded"


@dataclass
class EmbeddedServer:
    settings: EmbeddedSettings
    runtime_dir: Path = field(default_factory=default_runtime_dir)
    port: int = 0
    pid: int = 0
    _lease: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def key(self) -> str:
        """One shared server per (model, context size): runs with other settings get their own."""
        return f"{self.settings.model}-{self.settings.n_ctx}"

    @property
    def _state_file(self) -> Path:
        return self.runtime_dir / f"{self.key}.json"

    @property
    def _lease_dir(self) -> Path:
        return self.runtime_dir / f"{self.key}.leases"

    @property
    def _log_file(self) -> Path:
        return self.runtime_dir / f"{self.key}.log"

    def _lock(self) -> FileLock:
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(
            str(self.runtime_dir / f"{self.key}.lock"), timeout=self.settings.startup_timeout_s + 30
        )

    # --- lifecycle -----------------------------------------------------------------------------
    def acquire(self) -> EmbeddedServer:
        model_path = resolve_model_file(self.settings.model, self.runtime_dir / "models")
        fingerprint = f"{model_path}:{self.settings.n_ctx}"
        with self._lock():
            state = self._read_state()
            if state and not self._reusable(state, fingerprint):
                self._stop(state)
                state = None
            if state is None:
                state = self._start(model_path, fingerprint)
            self.port, self.pid = int(state["port"]), int(state["pid"])
            self._lease_dir.mkdir(exist_ok=True)
            self._lease = self._lease_dir / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self._lease.write_text(str(os.getpid()))
        return self

    def release(self) -> None:
        with self._lock():
            if self._lease is not None:
                self._lease.unlink(missing_ok=True)
                self._lease = None
            if self._live_leases():
                return
            state = self._read_state()
            if state:
                self._stop(state)

    # --- internals -----------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        try:
            return json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return None

    def _reusable(self, state: dict, fingerprint: str) -> bool:
        pid = int(state.get("pid", 0))
        return (
            state.get("fingerprint") == fingerprint
            and pid_alive(pid)
            and SERVER_MODULE in cmdline_of(pid)
            and self._serving(int(state.get("port", 0)))
        )

    def _live_leases(self) -> list[Path]:
        live = []
        for lease in self._lease_dir.glob("*") if self._lease_dir.exists() else []:
            pid = int(lease.name.split("-", 1)[0])
            if pid_alive(pid):
                live.append(lease)
            else:
                lease.unlink(missing_ok=True)  # a run that died without releasing
        return live

    @staticmethod
    def _serving(port: int) -> bool:
        """Healthy, or busy: llama.cpp answers one request at a time, so a server in the middle of another run's
        long reply accepts the connection but not in time. Replacing it would kill that run's request."""
        health = probe(Endpoint(base_url=f"http://{HOST}:{port}/v1"), PROBE_TIMEOUT_S)
        return health.ok or health.busy

    @staticmethod
    def _healthy(port: int) -> bool:
        return probe(Endpoint(base_url=f"http://{HOST}:{port}/v1"), PROBE_TIMEOUT_S).ok

    def _stop(self, state: dict) -> None:
        pid = int(state.get("pid", 0))
        if pid and pid_alive(pid) and SERVER_MODULE in cmdline_of(pid):
            stop_process_group(pid)
        self._state_file.unlink(missing_ok=True)

    def _start(self, model_path: Path, fingerprint: str) -> dict:
        port = free_port(HOST)
        threads = self.settings.threads or os.cpu_count() or 2
        argv = [
            sys.executable, "-m", SERVER_MODULE,
            "--model", str(model_path),
            "--model_alias", self.settings.model,
            "--host", HOST,
            "--port", str(port),
            "--n_ctx", str(self.settings.n_ctx),
            "--n_threads", str(threads),
            "--n_threads_batch", str(threads),
        ]  # fmt: skip
        log = self._log_file.open("wb")
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        log.close()
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = self._log_file.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise AppError(f"the embedded llama.cpp server exited at start ({tail[0][:200]}); see {self._log_file}")
            if self._healthy(port):
                state = {"pid": process.pid, "port": port, "fingerprint": fingerprint, "started": time.time()}
                tmp = self._state_file.with_suffix(".tmp")
                tmp.write_text(json.dumps(state))
                tmp.replace(self._state_file)
                return state
            time.sleep(0.2)
        stop_process_group(process.pid)
        raise AppError(
            f"the embedded llama.cpp server did not become healthy within {self.settings.startup_timeout_s:.0f} s; "
            f"see {self._log_file} or raise embedded.startup_timeout_s"
        )


@contextmanager
def embedded_server(settings: EmbeddedSettings) -> Iterator[EmbeddedServer]:
    runtime = settings.runtime_dir or default_runtime_dir()
    server = EmbeddedServer(settings, runtime).acquire()
    try:
        yield server
    finally:
        server.release()
