"""Dry-run command lines for every launcher profile, the API-key rule, and the seed stack's consistency
with the VRAM planner."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml  # PyYAML arrives with langchain-core

from serving import launch_plan as lp
from serving import llama_server, vram
from serving import model_specs as ms
from serving.errors import ServingError

REPO = Path(__file__).resolve().parents[1]


def _flag(argv: list[str], flag: str) -> str:
    assert flag in argv, f"{flag} missing from {argv}"
    return argv[argv.index(flag) + 1]


def test_vllm_command_has_exact_flags() -> None:
    seventy = lp.seed_stack_2x4090()[0]
    cmd = lp.build_launch(seventy, environ={})
    assert cmd.argv[:3] == ["python", "-m", "vllm.entrypoints.openai.api_server"]
    assert _flag(cmd.argv, "--model") == "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4"
    assert _flag(cmd.argv, "--served-model-name") == "llama-3.1-70b-instruct-awq"
    assert _flag(cmd.argv, "--host") == "127.0.0.1"
    assert _flag(cmd.argv, "--port") == "8000"
    assert _flag(cmd.argv, "--tensor-parallel-size") == "2"
    assert _flag(cmd.argv, "--quantization") == "awq_marlin"
    assert _flag(cmd.argv, "--max-model-len") == "16384"
    assert _flag(cmd.argv, "--gpu-memory-utilization") == "0.92"
    assert _flag(cmd.argv, "--kv-cache-dtype") == "fp8"
    assert "--enable-prefix-caching" in cmd.argv
    assert "--enable-sleep-mode" in cmd.argv
    assert "--api-key" not in cmd.argv
    assert cmd.env == {"CUDA_VISIBLE_DEVICES": "0,1", "VLLM_SERVER_DEV_MODE": "1"}
    assert cmd.base_url == "http://127.0.0.1:8000/v1"


def test_single_gpu_vllm_server_has_no_tensor_parallel_flag() -> None:
    cmd = lp.build_launch(lp.seed_stack_2x4090()[2], environ={})
    assert "--tensor-parallel-size" not in cmd.argv
    assert cmd.env["CUDA_VISIBLE_DEVICES"] == "0"


def test_seed_stack_names_ports_and_urls() -> None:
    commands = lp.build_all(lp.seed_stack_2x4090(), environ={})
    assert [(c.name, c.base_url) for c in commands] == [
        ("llama-3.1-70b-instruct-awq", "http://127.0.0.1:8000/v1"),
        ("mistral-7b-instruct", "http://127.0.0.1:8001/v1"),
        ("codellama-13b-instruct", "http://127.0.0.1:8002/v1"),
    ]


def test_seed_stack_max_model_len_fits_each_servers_share() -> None:
    """vLLM refuses to start when the KV pool holds fewer tokens than --max-model-len; check with the planner."""
    for spec in lp.seed_stack_2x4090():
        model = ms.resolve(spec.catalogue_key or "")
        budget = vram.server_budget(
            model, 24.0, spec.gpu_memory_utilization or 0.9, spec.tp, spec.kv_cache_dtype or "fp16"
        )
        assert budget.kv_tokens >= (spec.max_model_len or 0), (spec.name, budget)


def test_seed_stack_awake_phases_never_oversubscribe_a_gpu() -> None:
    by_name = {s.name: s for s in lp.seed_stack_2x4090()}
    assert {n for phase in lp.SLEEP_PHASES_2X4090 for n in phase} == set(by_name)
    for phase in lp.SLEEP_PHASES_2X4090:
        for gpu in (0, 1):
            share = sum(by_name[n].gpu_memory_utilization or 0 for n in phase if gpu in by_name[n].gpu_ids)
            assert share <= 0.95, (phase, gpu, share)


def test_non_loopback_host_without_key_is_refused() -> None:
    exposed = lp.seed_stack_2x4090()[1].model_copy(update={"host": "0.0.0.0"})
    with pytest.raises(ServingError, match="without an API key"):
        lp.build_launch(exposed, environ={})


def test_non_loopback_host_with_key_passes_it_and_redacts_it() -> None:
    exposed = lp.seed_stack_2x4090()[1].model_copy(update={"host": "0.0.0.0", "api_key_env": "TM_KEY"})
    cmd = lp.build_launch(exposed, environ={"TM_KEY": "s3cret"})
    assert _flag(cmd.argv, "--api-key") == "s3cret"
    assert "s3cret" not in cmd.shell_line()
    assert _flag(cmd.redacted_argv(), "--api-key") == lp.REDACTED
    with pytest.raises(ServingError, match="API key"):
        lp.systemd_env_file(cmd)


def test_named_key_variable_that_is_empty_is_an_error_even_on_loopback() -> None:
    spec = lp.seed_stack_2x4090()[1].model_copy(update={"api_key_env": "TM_KEY"})
    with pytest.raises(ServingError, match="TM_KEY"):
        lp.build_launch(spec, environ={})


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts(host: str) -> None:
    assert lp.is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_hosts(host: str) -> None:
    assert not lp.is_loopback(host)


def test_vllm_cpu_uses_module_entry_point_without_quantization() -> None:
    spec = lp.ServeSpec(
        name="smollm2",
        model=ms.SMOLLM2_135M.hf_id,
        launcher="vllm-cpu",
        port=8010,
        max_model_len=4096,
        cpu_kvcache_gib=2,
    )
    cmd = lp.build_launch(spec, environ={})
    assert cmd.argv[:3] == ["python", "-m", "vllm.entrypoints.openai.api_server"]
    assert _flag(cmd.argv, "--dtype") == "bfloat16"
    assert _flag(cmd.argv, "--served-model-name") == "smollm2"
    assert _flag(cmd.argv, "--max-model-len") == "4096"
    for gpu_only in ("--quantization", "--gpu-memory-utilization", "--tensor-parallel-size", "--enable-sleep-mode"):
        assert gpu_only not in cmd.argv
    assert cmd.env == {"VLLM_CPU_KVCACHE_SPACE": "2"}


def test_vllm_cpu_refuses_quantization_and_half_precision() -> None:
    base = lp.ServeSpec(name="m", model="x", launcher="vllm-cpu", port=8010)
    with pytest.raises(ServingError, match="unquantized"):
        lp.build_launch(base.model_copy(update={"quantization": "awq_marlin"}), environ={})
    with pytest.raises(ServingError, match="bfloat16 or float32"):
        lp.build_launch(base.model_copy(update={"dtype": "float16"}), environ={})


def test_ollama_command_env_and_pull_hint() -> None:
    spec = lp.ServeSpec(
        name="mistral-7b-instruct", model="mistral:7b-instruct", launcher="ollama", port=11434, max_model_len=16384
    )
    cmd = lp.build_launch(spec, environ={})
    assert cmd.argv == ["ollama", "serve"]
    assert cmd.env == {"OLLAMA_HOST": "127.0.0.1:11434", "OLLAMA_CONTEXT_LENGTH": "16384"}
    assert cmd.after_start == [
        ["ollama", "pull", "mistral:7b-instruct"],
        ["ollama", "cp", "mistral:7b-instruct", "mistral-7b-instruct"],
    ]
    assert cmd.base_url == "http://127.0.0.1:11434/v1"


@pytest.mark.parametrize("launcher", ["ollama", "lmstudio"])
def test_launchers_without_api_keys_refuse_non_loopback(launcher: str) -> None:
    spec = lp.ServeSpec(name="m", model="m", launcher=launcher, port=1234, host="0.0.0.0", api_key_env="K")
    with pytest.raises(ServingError, match="no API-key option"):
        lp.build_launch(spec, environ={"K": "v"})


def test_lmstudio_server_start_and_load() -> None:
    spec = lp.ServeSpec(
        name="qwen-coder", model="qwen2.5-coder-7b-instruct", launcher="lmstudio", port=1234, max_model_len=8192
    )
    cmd = lp.build_launch(spec, environ={})
    assert cmd.argv == ["lms", "server", "start", "--port", "1234"]
    load = cmd.after_start[0]
    assert load[:3] == ["lms", "load", "qwen2.5-coder-7b-instruct"]
    assert _flag(load, "--identifier") == "qwen-coder"
    assert _flag(load, "--context-length") == "8192"


def test_llamacpp_command_flags() -> None:
    spec = lp.ServeSpec(
        name="smollm2",
        model="/models/smollm2-135m-instruct-q8_0.gguf",
        launcher="llamacpp",
        port=8011,
        max_model_len=8192,
    )
    cmd = lp.build_launch(spec, environ={}, python="/venv/bin/python")
    assert cmd.argv[0] == str(llama_server.default_binary())  # llama.cpp's own server, not a Python module
    assert Path(cmd.argv[0]).name == "llama-server"
    assert _flag(cmd.argv, "--model") == "/models/smollm2-135m-instruct-q8_0.gguf"
    assert _flag(cmd.argv, "--alias") == "smollm2"
    assert _flag(cmd.argv, "--host") == "127.0.0.1"
    assert _flag(cmd.argv, "--port") == "8011"
    assert _flag(cmd.argv, "--ctx-size") == "8192"
    assert _flag(cmd.argv, "--n-gpu-layers") == "0"
    on_gpu = lp.build_launch(spec.model_copy(update={"gpu_ids": (1,)}), environ={})
    assert _flag(on_gpu.argv, "--n-gpu-layers") == "-1"
    assert on_gpu.env == {"CUDA_VISIBLE_DEVICES": "1"}


def test_llamacpp_flags_exist_in_the_built_server() -> None:
    """The llama-server `make install` built must accept every flag we emit (read from its --help, not started)."""
    spec = lp.ServeSpec(name="m", model="/m.gguf", launcher="llamacpp", port=8011, max_model_len=2048)
    cmd = lp.build_launch(spec.model_copy(update={"api_key_env": "K"}), environ={"K": "secret"})
    help_text = subprocess.run([cmd.argv[0], "--help"], capture_output=True, text=True, timeout=60).stdout
    listed = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_text))
    emitted = {arg for arg in cmd.argv[1:] if arg.startswith("--")}
    assert "--api-key" in emitted
    assert emitted <= listed, emitted - listed


def test_duplicate_ports_are_refused() -> None:
    a, b, _ = lp.seed_stack_2x4090()
    with pytest.raises(ServingError, match="share port"):
        lp.build_all([a, b.model_copy(update={"port": a.port})], environ={})


def test_tensor_parallel_needs_enough_gpu_ids() -> None:
    spec = lp.seed_stack_2x4090()[0].model_copy(update={"gpu_ids": (0,)})
    with pytest.raises(ServingError, match="needs 2 GPU ids"):
        lp.build_launch(spec, environ={})


def test_checked_in_systemd_env_files_match_the_seed_stack() -> None:
    for cmd in lp.build_all(lp.seed_stack_2x4090(), environ={}):
        path = REPO / "deploy" / "systemd" / "vllm" / f"{cmd.name}.env"
        assert path.read_text() == lp.systemd_env_file(cmd), f"regenerate {path}"


def test_compose_file_runs_the_seed_stack_flags() -> None:
    """deploy/docker-compose.yml is hand-written YAML; keep its vLLM arguments identical to the seed stack."""
    services = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())["services"]
    for cmd in lp.build_all(lp.seed_stack_2x4090(), environ={}):
        matches = [s for s in services.values() if cmd.name in s.get("command", [])]
        assert len(matches) == 1, cmd.name
        service = matches[0]
        assert service["entrypoint"] == ["python3", "-m", lp.VLLM_MODULE]
        assert service["command"] == cmd.argv[3:]
        devices = service["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"]
        assert ",".join(devices) == cmd.env["CUDA_VISIBLE_DEVICES"]
        assert service["environment"]["VLLM_SERVER_DEV_MODE"] == "1"
