"""Health checks behind `taskmaster doctor` and `taskmaster models`.

Each check measures one thing a run depends on (an endpoint answers, serves the configured model, follows a
JSON schema, has the context the tier assumes; GPUs; the Qdrant store; free disk) and, when it fails, says
what to do in one line. Checks never raise: a broken dependency is a result, not a crash of the doctor.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import httpx
import openai
from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from agents.errors import AgentError
from agents.llm.config import Backend, Endpoint, ModelConfig, Tier
from agents.llm.egress import LOOPBACK_ONLY, Egress
from agents.llm.endpoints import EndpointHealth, probe
from agents.llm.router import ModelRouter
from knowledge.config import KnowledgeConfig
from serving.errors import ServingError
from serving.process import cmdline_of, pid_alive
from taskmaster.settings import Settings

Level = Literal["ok", "info", "warn", "fail"]
LOW_DISK_BYTES = 2 * 1024**3
PROBE_TIMEOUT_S = 60.0
QDRANT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    area: str
    subject: str
    level: Level
    summary: str
    fix: str = ""

    @property
    def problem(self) -> bool:
        return self.level == "fail"

    def line(self) -> str:
        text = f"{self.area} {self.subject}: {self.summary}"
        return f"{text}; {self.fix}" if self.fix else text


class ProbeReply(BaseModel):
    """The tiniest schema that still proves the server enforces (or at least follows) a JSON schema."""

    ok: bool


# --- endpoints -------------------------------------------------------------------------------------
def guess_backend(base_url: str, timeout_s: float = 2.0, egress: Egress = LOOPBACK_ONLY) -> Backend:
    """Tell server families apart by what only they answer; plain OpenAI-compatible when unsure."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        if egress.get(root + "/props", timeout=timeout_s).status_code == 200:
            return Backend.LLAMACPP  # llama.cpp's own server
        models = egress.get(base_url.rstrip("/") + "/models", timeout=timeout_s)
        items = models.json().get("data", []) if models.status_code == 200 else []
        if any(isinstance(i, dict) and "max_model_len" in i for i in items):
            return Backend.VLLM
        if any(isinstance(i, dict) and i.get("owned_by") == "me" for i in items):
            return Backend.LLAMACPP  # llama-cpp-python's server
        if "Ollama is running" in egress.get(root + "/", timeout=timeout_s).text:
            return Backend.OLLAMA
    except (httpx.HTTPError, ValueError, AttributeError):
        pass
    return Backend.LMSTUDIO if base_url.rstrip("/").endswith(":1234/v1") else Backend.OPENAI


def server_context_length(
    endpoint: Endpoint, model: str, timeout_s: float = 3.0, egress: Egress = LOOPBACK_ONLY
) -> int | None:
    """The context the server really serves: vLLM's `max_model_len`, llama.cpp's `/props` n_ctx; else None."""
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    base = endpoint.base_url.rstrip("/")
    try:
        items = egress.get(base + "/models", headers=headers, timeout=timeout_s).json().get("data", [])
        for item in items:
            if isinstance(item, dict) and item.get("id") == model and isinstance(item.get("max_model_len"), int):
                return int(item["max_model_len"])
        if endpoint.backend == Backend.LLAMACPP:
            props = egress.get(base.removesuffix("/v1") + "/props", headers=headers, timeout=timeout_s)
            if props.status_code == 200:
                data = props.json()
                n_ctx = data.get("n_ctx") or (data.get("default_generation_settings") or {}).get("n_ctx")
                return int(n_ctx) if n_ctx else None
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        return None
    return None


def _probe_router(tier_name: str, tier: Tier, endpoint: Endpoint, egress: Egress) -> ModelRouter:
    """A router over just this endpoint, so the probe goes through the same dialect and parsing as real runs."""
    small = tier.model_copy(
        update={"endpoints": [endpoint], "max_output_tokens": 32, "timeout_s": min(tier.timeout_s, PROBE_TIMEOUT_S)}
    )
    config = ModelConfig(
        tiers={tier_name: small},
        roles={},
        allow_hosts=list(egress.allow_hosts),
        proxy_url=egress.proxy,
        structured_retries=1,
    )
    return ModelRouter(config, check_health=False)


def check_endpoint(
    endpoint: Endpoint,
    tier_names: list[str],
    tier: Tier,
    *,
    egress: Egress = LOOPBACK_ONLY,
    configured_context: int | None = None,
    timeout_s: float = 3.0,
) -> list[Check]:
    subject = f"{'/'.join(tier_names)} @ {endpoint.base_url}"
    area = "endpoint"
    try:
        egress.check(endpoint.base_url)
    except AgentError as exc:
        return [Check(area, subject, "fail", str(exc))]
    health: EndpointHealth = probe(endpoint, timeout_s, egress)
    if not health.ok:
        return [
            Check(
                area,
                subject,
                "fail",
                f"not reachable ({health.error})",
                "start the server (`taskmaster serve --profile …`) or fix the tier's base_url in taskmaster.toml",
            )
        ]
    checks = [Check(area, subject, "ok", f"reachable in {health.latency_ms:.0f} ms ({endpoint.backend.value})")]
    if tier.model in health.models:
        checks.append(Check(area, subject, "ok", f"serves {tier.model}"))
    else:
        listed = ", ".join(health.models) or "nothing"
        checks.append(
            Check(
                area,
                subject,
                "fail",
                f"does not list model {tier.model!r} (it serves {listed})",
                "load that model or set the tier's model to one of those names",
            )
        )
        return checks  # probing a model the server does not have would only repeat this failure
    router = _probe_router(tier_names[0], tier, endpoint, egress)
    messages = [HumanMessage(content="Reply with the single word OK.")]
    start = time.perf_counter()
    try:
        router.complete(tier_names[0], messages)
        checks.append(Check(area, subject, "ok", f"completion in {(time.perf_counter() - start) * 1000:.0f} ms"))
    except (AgentError, openai.APIError) as exc:
        checks.append(
            Check(area, subject, "fail", f"a tiny completion failed ({_one_line(exc)})", "check the server log")
        )
        return checks
    start = time.perf_counter()
    try:
        router.structured(tier_names[0], ProbeReply, [HumanMessage(content='Answer with the JSON {"ok": true}.')])
        checks.append(Check(area, subject, "ok", f"structured output in {(time.perf_counter() - start) * 1000:.0f} ms"))
    except (AgentError, openai.APIError) as exc:
        checks.append(
            Check(
                area,
                subject,
                "fail",
                f"structured output (JSON schema) failed ({_one_line(exc)})",
                f"set the endpoint's backend to match the server (now {endpoint.backend.value}) or use a larger model",
            )
        )
    checks.append(_context_check(area, subject, endpoint, tier.model, configured_context, timeout_s, egress))
    return checks


def _context_check(
    area: str, subject: str, endpoint: Endpoint, model: str, configured: int | None, timeout_s: float, egress: Egress
) -> Check:
    served = server_context_length(endpoint, model, timeout_s, egress)
    if served is None:
        known = f"{configured} tokens (configured value; the server does not report it)" if configured else "unknown"
        return Check(area, subject, "info", f"context {known}")
    if configured and served < configured:
        return Check(
            area,
            subject,
            "fail",
            f"server context is {served} tokens but the tier assumes {configured}",
            f"lower the tier's context_length to {served} or restart the server with a longer --max-model-len",
        )
    return Check(area, subject, "ok", f"context {served} tokens (reported by the server)")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


def check_router(router: ModelRouter, timeout_s: float = 3.0) -> list[Check]:
    """`doctor` on the router a run would use: every tier's servers, the embedded ones started (or joined) first, so
    each model the profile serves gets its rows; a server that cannot start is one failed row naming its tiers."""
    tiers: dict[str, Tier] = {}
    failed: dict[str, tuple[list[str], str]] = {}
    for name, tier in router.config.tiers.items():
        try:
            tiers[name] = tier.model_copy(update={"endpoints": router.endpoints(name)})
        except (AgentError, ServingError) as exc:
            label = " / ".join(e.label for e in tier.endpoints)
            failed.setdefault(label, ([], str(exc)))[0].append(name)
    checks = [Check("endpoint", f"{'/'.join(names)} @ {label}", "fail", why) for label, (names, why) in failed.items()]
    if tiers:
        checks += check_model_config(router.config.model_copy(update={"tiers": tiers}), timeout_s)
    return checks


def check_model_config(config: ModelConfig, timeout_s: float = 3.0) -> list[Check]:
    """Every distinct (endpoint, model) once, naming all tiers that use it."""
    groups: dict[tuple[str, str], tuple[Endpoint, Tier, list[str]]] = {}
    for name, tier in config.tiers.items():
        for endpoint in tier.endpoints:
            key = (endpoint.base_url, tier.model)
            if key in groups:
                groups[key][2].append(name)
            else:
                groups[key] = (endpoint, tier, [name])
    checks: list[Check] = []
    try:
        egress = Egress.of(config.allow_hosts, config.proxy_url)
    except AgentError as exc:
        return [Check("models", "proxy_url", "fail", str(exc))]
    for endpoint, tier, names in groups.values():
        checks += check_endpoint(
            endpoint,
            names,
            tier,
            egress=egress,
            configured_context=tier.context_length,
            timeout_s=timeout_s,
        )
    return checks


def check_single_endpoint(
    base_url: str, model: str | None, backend: Backend | None, egress: Egress, timeout_s: float = 3.0
) -> list[Check]:
    """`doctor --endpoint`: probe a server that is not in the config; the model defaults to its first one."""
    endpoint = Endpoint(base_url=base_url, backend=backend or Backend.OPENAI)
    try:
        egress.check(endpoint.base_url)
    except AgentError as exc:
        return [Check("endpoint", base_url, "fail", str(exc))]
    if backend is None:
        endpoint = endpoint.model_copy(update={"backend": guess_backend(base_url, timeout_s, egress)})
    if model is None:
        health = probe(endpoint, timeout_s, egress)
        model = health.models[0] if health.models else "local-model"
    tier = Tier(model=model, endpoints=[endpoint])
    return check_endpoint(endpoint, ["--endpoint"], tier, egress=egress, timeout_s=timeout_s)


# --- the machine -----------------------------------------------------------------------------------
def check_gpus() -> Check:
    if shutil.which("nvidia-smi") is None:
        return Check("gpu", "nvidia", "info", "no NVIDIA GPU: CPU inference")
    query = ["nvidia-smi", "--query-gpu=index,name,memory.total,memory.used", "--format=csv,noheader,nounits"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("gpu", "nvidia", "fail", f"nvidia-smi did not run ({_one_line(exc)})", "check the NVIDIA driver")
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()[:1] or ["no output"]
        return Check("gpu", "nvidia", "fail", f"nvidia-smi failed ({reason[0]})", "check the NVIDIA driver")
    gpus = []
    for line in done.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4:
            gpus.append(f"GPU {parts[0]} {parts[1]} {int(parts[3]) / 1024:.1f}/{int(parts[2]) / 1024:.1f} GiB used")
    return Check("gpu", "nvidia", "ok", "; ".join(gpus) or "nvidia-smi lists no GPUs")


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(directory: Path) -> bool:
    if directory.is_dir():
        try:
            with tempfile.TemporaryFile(dir=directory):
                return True
        except OSError:
            return False
    parent = _existing_ancestor(directory)
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)


def check_qdrant(knowledge: KnowledgeConfig, egress: Egress = LOOPBACK_ONLY) -> Check:
    if knowledge.url:
        headers = {"api-key": knowledge.api_key} if knowledge.api_key else {}
        try:
            egress.check(knowledge.url, what="Qdrant server", setting="knowledge.url")
        except AgentError as exc:
            return Check("qdrant", knowledge.url, "fail", str(exc))
        try:
            response = egress.get(knowledge.url, headers=headers, timeout=QDRANT_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return Check(
                "qdrant",
                knowledge.url,
                "fail",
                f"not reachable ({_one_line(exc)})",
                "start Qdrant or unset knowledge.url to use the embedded store",
            )
        if response.status_code in (401, 403):
            return Check("qdrant", knowledge.url, "fail", "rejected the API key", "set knowledge.api_key")
        if response.status_code != 200:
            return Check("qdrant", knowledge.url, "fail", f"answered HTTP {response.status_code}", "check the URL")
        return Check("qdrant", knowledge.url, "ok", "server reachable")
    where = str(knowledge.data_dir)
    if _writable(knowledge.data_dir):
        return Check("qdrant", where, "ok", "embedded Edge store directory is writable")
    return Check(
        "qdrant",
        where,
        "fail",
        "embedded Edge store directory is not writable",
        "fix its permissions or set knowledge.data_dir to a writable directory",
    )


def check_disk(paths: list[Path], low_bytes: int = LOW_DISK_BYTES) -> list[Check]:
    """Free space per file system the data dirs live on (each file system reported once)."""
    seen: set[int] = set()
    checks: list[Check] = []
    for path in paths:
        existing = _existing_ancestor(path)
        device = existing.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        free = shutil.disk_usage(existing).free
        summary = f"{free / 1024**3:.1f} GiB free"
        if free < low_bytes:
            checks.append(Check("disk", str(path), "warn", summary, f"free space: below {low_bytes / 1024**3:.0f} GiB"))
        else:
            checks.append(Check("disk", str(path), "ok", summary))
    return checks


def data_dirs(settings: Settings) -> list[Path]:
    dirs = [settings.data_dir, settings.knowledge.data_dir]
    if settings.profile == "embedded":
        dirs.append(embedded_runtime_dir(settings))
    return dirs


def system_checks(settings: Settings) -> list[Check]:
    qdrant = check_qdrant(settings.knowledge, settings.egress())
    return [check_gpus(), qdrant, *check_disk(data_dirs(settings))]


# --- the embedded servers, without starting them ------------------------------------------------------
def embedded_runtime_dir(settings: Settings) -> Path:
    from serving.embedded import default_runtime_dir

    return settings.embedded.runtime_dir or default_runtime_dir()


@dataclass(frozen=True)
class EmbeddedStatus:
    model: str
    tiers: tuple[str, ...]  # the tiers this model's server serves
    running: bool
    base_url: str | None
    pid: int | None
    detail: str


def embedded_statuses(settings: Settings) -> dict[str, EmbeddedStatus]:
    """Whether each embedded model's shared server is up (one per model, in tier order), read from the state files
    `serving.embedded` writes; nothing is started."""
    tiers: dict[str, list[str]] = {}
    for tier, model in settings.embedded.tier_models().items():
        tiers.setdefault(model, []).append(tier)
    return {model: _embedded_status(settings, model, tuple(names)) for model, names in tiers.items()}


def _embedded_status(settings: Settings, model: str, tiers: tuple[str, ...]) -> EmbeddedStatus:
    from serving.embedded import HOST, SERVER_MODULE, EmbeddedServer

    state_file = embedded_runtime_dir(settings) / f"{EmbeddedServer(settings.embedded, model=model).key}.json"
    try:
        state = json.loads(state_file.read_text())
        pid, port = int(state["pid"]), int(state["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return EmbeddedStatus(model, tiers, False, None, None, "not running; the CLI starts it on demand")
    if not (pid_alive(pid) and SERVER_MODULE in cmdline_of(pid)):
        return EmbeddedStatus(
            model, tiers, False, None, pid, "not running (stale state file); the CLI starts it on demand"
        )
    url = f"http://{HOST}:{port}/v1"
    health = probe(Endpoint(base_url=url, backend=Backend.LLAMACPP), 2.0)
    if not health.ok:
        detail = f"process {pid} is up but {url} does not answer ({health.error})"
        return EmbeddedStatus(model, tiers, False, url, pid, detail)
    return EmbeddedStatus(model, tiers, True, url, pid, f"running, pid {pid}")


def report_json(checks: list[Check]) -> str:
    problems = sum(c.problem for c in checks)
    return json.dumps({"ok": problems == 0, "problems": problems, "checks": [asdict(c) for c in checks]}, indent=2)
