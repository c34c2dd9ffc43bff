"""Named model profiles: which servers serve which tiers.

A profile is only a starting point: `[tiers.<name>]` in taskmaster.toml overrides any field of a tier,
and `[roles]` rebinds roles. `embedded` is a two-model ladder on llama-server processes the app starts itself:
`fast` on SmolLM2-135M, `planner` and `coder` on Qwen2.5-Coder-1.5B (embedded.model / embedded.strong_model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from agents.llm.config import Backend, Endpoint, ModelConfig, Tier
from serving.bundled_models import BUNDLED
from serving.launch_plan import seed_stack_2x4090
from taskmaster.errors import AppError
from taskmaster.settings import Settings

PROFILES = ("embedded", "vllm-2x4090", "vllm-cpu", "ollama", "lmstudio", "localai", "openai-compatible")

# Served names match `taskmaster serve --profile vllm-2x4090`.
SEED_STACK = {
    "planner": ("llama-3.1-70b-instruct-awq", "http://127.0.0.1:8000/v1", 16384, 2048),
    "fast": ("mistral-7b-instruct", "http://127.0.0.1:8001/v1", 16384, 1024),
    "coder": ("codellama-13b-instruct", "http://127.0.0.1:8002/v1", 8192, 2048),
}

DEFAULT_LOCAL_URL = {
    "ollama": "http://127.0.0.1:11434/v1",
    "lmstudio": "http://127.0.0.1:1234/v1",
    "localai": "http://127.0.0.1:8080/v1",
    "vllm-cpu": "http://127.0.0.1:8000/v1",
}
BACKEND = {
    "ollama": Backend.OLLAMA,
    "lmstudio": Backend.LMSTUDIO,
    "localai": Backend.LOCALAI,
    "vllm-cpu": Backend.VLLM,
    "openai-compatible": Backend.OPENAI,
}
OLLAMA_MODELS = {"planner": "llama3.1:70b", "fast": "mistral:7b", "coder": "codellama:13b"}


def _same_model_everywhere(model: str, endpoint: Endpoint, context: int, max_out: int) -> dict[str, Tier]:
    return {
        name: Tier(model=model, endpoints=[endpoint], context_length=context, max_output_tokens=max_out)
        for name in ("planner", "fast", "coder")
    }


def _sleep_fields(served_name: str) -> dict[str, Any]:
    """Sleep mode and GPU groups as `serve` launches the seed stack, so the router wakes the 70B (sleeping the 13B
    and 7B, which share its GPUs) for planner calls and the reverse for worker calls, like deploy/sleep-switch.sh."""
    spec = next((s for s in seed_stack_2x4090() if s.name == served_name), None)
    if spec is None or not spec.sleep_mode:
        return {}
    return {"sleep_mode": True, "gpu_groups": [f"gpu{gpu}" for gpu in spec.gpu_ids]}


def _embedded_tiers(settings: Settings, urls: Mapping[str, str] | None) -> dict[str, Tier]:
    """Each tier on its model's server, with that model's reply cap and timeout (sized for 2 cores). Without
    `urls` each endpoint names its model's server, which the router starts on the tier's first call."""
    embedded = settings.embedded
    tiers = {}
    for name, key in embedded.tier_models().items():
        if urls is not None and key not in urls:
            raise AppError(
                f"the embedded {key} server is not running; run through the `taskmaster` CLI, which starts it"
            )
        spec = BUNDLED[key]
        address = {"server": key} if urls is None else {"base_url": urls[key]}
        tiers[name] = Tier(
            model=key,
            endpoints=[Endpoint(**address, backend=Backend.LLAMACPP)],
            context_length=embedded.n_ctx,
            max_output_tokens=embedded.max_output_tokens or spec.max_output_tokens,
            timeout_s=spec.timeout_s,
        )
    return tiers


def profile_tiers(settings: Settings, embedded_url: str | Mapping[str, str] | None = None) -> dict[str, Tier]:
    """`embedded_url`: the embedded servers' URLs by model (a single URL serves every model); None: each embedded
    tier names its model's server (Endpoint.server), started by the router's start_server on first use."""
    profile = settings.profile
    if profile == "embedded":
        if isinstance(embedded_url, str):
            embedded_url = dict.fromkeys(settings.embedded.tier_models().values(), embedded_url)
        return _embedded_tiers(settings, embedded_url)
    if profile == "vllm-2x4090":
        return {
            name: Tier(
                model=model,
                endpoints=[Endpoint(base_url=url, backend=Backend.VLLM, api_key=settings.api_key)],
                context_length=context,
                max_output_tokens=max_out,
                **_sleep_fields(model),
            )
            for name, (model, url, context, max_out) in SEED_STACK.items()
        }
    if profile == "ollama" and not settings.model:
        url = settings.base_url or DEFAULT_LOCAL_URL["ollama"]
        return {
            name: Tier(model=model, endpoints=[Endpoint(base_url=url, backend=Backend.OLLAMA)], context_length=8192)
            for name, model in OLLAMA_MODELS.items()
        }
    url = settings.base_url or DEFAULT_LOCAL_URL.get(profile)
    if not url:
        raise AppError(
            "the openai-compatible profile needs a base URL: set base_url in taskmaster.toml or TASKMASTER_BASE_URL"
        )
    model = settings.model or "local-model"
    return _same_model_everywhere(
        model, Endpoint(base_url=url, backend=BACKEND[profile], api_key=settings.api_key), 8192, 1024
    )


def _apply_overrides(
    tiers: dict[str, Tier], overrides: dict[str, dict[str, Any]], timeout: float | None
) -> dict[str, Tier]:
    merged = dict(tiers)
    for name, fields in overrides.items():
        base = merged[name].model_dump() if name in merged else {}
        try:
            merged[name] = Tier.model_validate({**base, **fields})
        except ValueError as exc:
            first = str(exc).splitlines()
            raise AppError(f"tier {name!r} in taskmaster.toml is invalid: {' '.join(first[:3])}") from exc
    if timeout is not None:
        merged = {name: tier.model_copy(update={"timeout_s": timeout}) for name, tier in merged.items()}
    return merged


def model_config(settings: Settings, embedded_url: str | Mapping[str, str] | None = None) -> ModelConfig:
    tiers = _apply_overrides(profile_tiers(settings, embedded_url), settings.tiers, settings.timeout_s)
    defaults = ModelConfig.model_fields["roles"].default_factory()  # type: ignore[misc]
    roles = {**defaults, **settings.roles}
    try:
        return ModelConfig(
            tiers=tiers,
            roles=roles,
            allow_hosts=settings.allow_hosts,
            proxy_url=settings.proxy_url,
            allow_cloud=settings.allow_cloud,
            structured_retries=settings.structured_retries,
            health_timeout_s=settings.health_timeout_s,
        )
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise AppError(f"model configuration is invalid: {message}") from None


def uses_embedded_server(settings: Settings) -> bool:
    return settings.profile == "embedded"
