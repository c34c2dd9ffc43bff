"""The embedded llama.cpp servers (`llama-server`, one process per model): started on 127.0.0.1 at a free port,
shared by concurrent runs.

A state file records the running server (pid, port, model fingerprint); each run holds a lease file
named after its pid. The last run to leave stops the server. A server whose process is gone is replaced. A server
no other live run holds is also replaced when it does not answer or serves another model file. A server other live
runs hold is never stopped because of this client's view of it (a probe that failed through a proxy, a timeout on a
loaded machine): only its process being gone counts. Runs with a different model or context size use their own
server (the state is keyed by both). Runs that died without releasing leave leases with dead pids, which are pruned.

A run reaches its servers through an `EmbeddedPool`: each model's server is acquired on the first call of a tier
that uses it (the router's start_server), so a command pays only for the models it calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from agents.llm.config import Endpoint
from agents.llm.endpoints import probe
from serving import llama_server
from serving.bundled_models import resolve_model_file
from serving.config import EmbeddedSettings
from serving.errors import ServingError
from serving.process import cmdline_of, free_port, pid_alive, stop_process_group

HOST = "127.0.0.1"
PROBE_TIMEOUT_S = 2.0
SERVER_MODULE = llama_server.BINARY  # what a server process's command line names (checked before stopping a pid)
LEGACY_MARKERS = ("llama_cpp.server",)  # servers an older version started: still ours to stop


def _cache_base() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "taskmaster"


def default_runtime_dir() -> Path:
    return _cache_base() / "embedded"


def default_model_dir() -> Path:
    """Verified and joined model files: shared by every runtime dir, so a 1.1 GB model is joined once per machine."""
    return _cache_base() / "models"


def _ours(pid: int) -> bool:
    cmdline = cmdline_of(pid)
    return pid_alive(pid) and any(marker in cmdline for marker in (SERVER_MODULE, *LEGACY_MARKERS))


@dataclass
class EmbeddedServer:
    settings: EmbeddedSettings
    runtime_dir: Path = field(default_factory=default_runtime_dir)
    model: str = ""  # which bundled model; default: the fast tier's (settings.model)
    port: int = 0
    pid: int = 0
    _lease: Path | None = None

    def __post_init__(self) -> None:
        self.model = self.model or self.settings.model

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def key(self) -> str:
        """One shared server per (model, context size): runs with other settings get their own."""
        return f"{self.model}-{self.settings.n_ctx}"

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
        return FileLock(str(self.runtime_dir / f"{self.key}.lock"), timeout=self.settings.startup_timeout_s + 30)

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def slots(self) -> int:
        return self.settings.parallel or llama_server.default_slots()

    def acquire(self) -> EmbeddedServer:
        binary = llama_server.locate(self.settings.server_binary)
        model_path = resolve_model_file(self.model, self.settings.model_dir or default_model_dir())
        fingerprint = f"{binary}:{model_path}:{self.settings.n_ctx}:{self.slots}"
        with self._lock():
            state = self._read_state()
            if state and not self._reusable(state, fingerprint):
                self._stop(state)
                state = None
            if state is None:
                state = self._start(binary, model_path, fingerprint)
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
        if not (pid and _ours(pid)):
            return False  # the process is gone (or the pid now belongs to something else)
        if self._live_leases():
            return True  # others hold it: our probe failing says nothing they would want it killed for
        return state.get("fingerprint") == fingerprint and self._serving(int(state.get("port", 0)))

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
        """Healthy, or busy: a server whose slots are all in the middle of other runs' long replies accepts the
        connection but may not answer in time. Replacing it would kill those runs' requests."""
        health = probe(Endpoint(base_url=f"http://{HOST}:{port}/v1"), PROBE_TIMEOUT_S)
        return health.ok or health.busy

    @staticmethod
    def _healthy(port: int) -> bool:
        return probe(Endpoint(base_url=f"http://{HOST}:{port}/v1"), PROBE_TIMEOUT_S).ok

    def _stop(self, state: dict) -> None:
        pid = int(state.get("pid", 0))
        if pid and _ours(pid):
            stop_process_group(pid)
        self._state_file.unlink(missing_ok=True)

    def _start(self, binary: Path, model_path: Path, fingerprint: str) -> dict:
        port = free_port(HOST)
        threads = self.settings.threads or llama_server.default_threads(len(set(self.settings.tier_models().values())))
        argv = llama_server.server_argv(
            binary,
            model_path,
            alias=self.model,
            host=HOST,
            port=port,
            n_ctx=self.settings.n_ctx,
            threads=threads,
            slots=self.slots,
        )
        log = self._log_file.open("wb")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "LLAMA_OFFLINE": "1"}
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        log.close()
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = self._log_file.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise ServingError(
                    f"the embedded llama-server ({self.model}) exited at start ({tail[0][:200]}); see {self._log_file}"
                )
            if self._healthy(port):
                state = {"pid": process.pid, "port": port, "fingerprint": fingerprint, "started": time.time()}
                tmp = self._state_file.with_suffix(".tmp")
                tmp.write_text(json.dumps(state))
                tmp.replace(self._state_file)
                return state
            time.sleep(0.2)
        stop_process_group(process.pid)
        raise ServingError(
            f"the embedded llama-server ({self.model}) did not become healthy within "
            f"{self.settings.startup_timeout_s:.0f} s; "
            f"see {self._log_file} or raise embedded.startup_timeout_s"
        )


@contextmanager
def embedded_server(settings: EmbeddedSettings, model: str = "") -> Iterator[EmbeddedServer]:
    """One model's shared server (default: the fast tier's model) for the duration of the block."""
    runtime = settings.runtime_dir or default_runtime_dir()
    server = EmbeddedServer(settings, runtime, model).acquire()
    try:
        yield server
    finally:
        server.release()


class EmbeddedPool:
    """The embedded models' shared servers, each acquired on the first request that needs it (`url`) and released
    on `close`: a command that calls only the fast tier starts only the fast tier's server, one that calls no model
    starts none. Thread-safe: parallel first calls for one model start it once (the others wait for it), calls for
    another model start theirs meanwhile. Across processes the servers are shared as before (state file, leases)."""

    def __init__(self, settings: EmbeddedSettings) -> None:
        self.settings = settings
        self.runtime_dir = settings.runtime_dir or default_runtime_dir()
        self.models = frozenset(settings.tier_models().values())
        self._servers: dict[str, EmbeddedServer] = {}
        self._starting: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._closed = False

    def url(self, model: str) -> str:
        """The base URL of `model`'s server, starting it (or joining the running one) on the first call."""
        if model not in self.models:
            raise ServingError(f"the embedded profile serves {', '.join(sorted(self.models))}, not {model!r}")
        with self._guard:
            self._check_open()
            lock = self._starting.setdefault(model, threading.Lock())
        with lock:
            server = self._servers.get(model)
            if server is None:
                server = EmbeddedServer(self.settings, self.runtime_dir, model).acquire()
                with self._guard:
                    if self._closed:  # closed while it started: nobody will release it but us
                        server.release()
                        self._check_open()
                    self._servers[model] = server
        return server.base_url

    def started(self) -> dict[str, EmbeddedServer]:
        """The servers this pool has acquired so far, by model."""
        with self._guard:
            return dict(self._servers)

    def close(self) -> None:
        """Release every server acquired (the last run holding one stops it); later `url` calls fail."""
        with self._guard:
            self._closed = True
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.release()

    def _check_open(self) -> None:
        if self._closed:
            raise ServingError("the embedded servers were already released (the run is over)")


@contextmanager
def embedded_pool(settings: EmbeddedSettings) -> Iterator[EmbeddedPool]:
    """The embedded servers for the duration of the block, started lazily per model by `pool.url(model)`."""
    pool = EmbeddedPool(settings)
    try:
        yield pool
    finally:
        pool.close()
