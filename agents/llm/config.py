"""Plain data describing tiers, roles and endpoints; the app shell fills it from Settings and profiles."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator


class Backend(StrEnum):
    """Server families differ in small protocol details (structured-output dialect, context length)."""

    LLAMACPP = "llamacpp"
    VLLM = "vllm"
    OLLAMA = "ollama"
    LMSTUDIO = "lmstudio"
    LOCALAI = "localai"
    OPENAI = "openai"


class Role(StrEnum):
    PLANNER = "planner"
    FAST = "fast"
    CODER = "coder"
    RESEARCHER = "researcher"
    CHECKER = "checker"
    CLASSIFIER = "classifier"


class Endpoint(BaseModel):
    base_url: str = Field(default="", description="The server's OpenAI-compatible base URL (…/v1).")
    backend: Backend = Backend.OPENAI
    api_key: str | None = Field(
        default=None, description="Only needed for servers started with --api-key or cloud APIs."
    )
    server: str = Field(
        default="",
        description="A server the app starts on first use (an embedded model's name) instead of a base_url: "
        "the router asks its start_server callable for the URL the first time a call needs it, so a command "
        "starts only the servers of the tiers it really calls.",
    )

    @model_validator(mode="after")
    def _has_an_address(self) -> Endpoint:
        if not (self.base_url or self.server):
            raise ValueError("an endpoint needs a base_url")
        return self

    @property
    def label(self) -> str:
        """How messages name it: its URL, or the app-started server it will be."""
        return self.base_url or f"(the {self.server} server, started on first use)"


class Tier(BaseModel):
    model: str
    endpoints: list[Endpoint] = Field(min_length=1)
    context_length: int = Field(default=8192, ge=256)
    max_output_tokens: int = Field(default=1024, ge=16)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    timeout_s: float = Field(default=120.0, gt=0)
    cost_per_1m_input: float = 0.0
    cost_per_1m_output: float = 0.0
    cloud: bool = Field(default=False, description="A paid cloud tier: used only when allow_cloud is on.")
    sleep_mode: bool = Field(
        default=False,
        description="The tier's vLLM server runs with --enable-sleep-mode and VLLM_SERVER_DEV_MODE=1: the router "
        "POSTs /wake_up before calling it when it reports sleeping.",
    )
    gpu_groups: list[str] = Field(
        default_factory=list,
        description="Labels of the GPUs the tier's server occupies (e.g. ['gpu0', 'gpu1']). Waking a sleep-mode "
        "tier first puts to sleep the other sleep-mode tiers that share a label, so their weights leave the GPU.",
    )


class ModelConfig(BaseModel):
    tiers: dict[str, Tier]
    roles: dict[str, str] = Field(
        default_factory=lambda: {
            "planner": "planner",
            "fast": "fast",
            "coder": "coder",
            "researcher": "planner",
            "checker": "fast",
            "classifier": "fast",
        }
    )
    allow_hosts: list[str] = Field(default_factory=list, description="Non-loopback hosts the app may talk to.")
    proxy_url: str | None = Field(
        default=None, description="HTTP proxy for model traffic (its host must be allowed); proxy env vars are ignored."
    )
    allow_cloud: bool = False
    structured_retries: int = Field(default=2, ge=0, le=10)
    health_timeout_s: float = Field(default=3.0, gt=0)
    # What the same tokens would cost on a cloud model, for the "cost saved" figures.
    reference_cost_per_1m_input: float = 3.0
    reference_cost_per_1m_output: float = 15.0

    @model_validator(mode="after")
    def _roles_point_at_tiers(self) -> ModelConfig:
        missing = {role: tier for role, tier in self.roles.items() if tier not in self.tiers}
        if missing:
            role, tier = next(iter(missing.items()))
            raise ValueError(
                f"role {role!r} is bound to tier {tier!r}, which is not defined; define it or rebind the role"
            )
        return self

    def tier_for(self, role_or_tier: str) -> tuple[str, Tier]:
        name = self.roles.get(role_or_tier, role_or_tier)
        if name not in self.tiers:
            raise KeyError(name)
        return name, self.tiers[name]
