"""One pydantic-settings model for the whole app.

Sources, strongest first: explicit arguments, `TASKMASTER_*` environment variables (nested with `__`,
e.g. `TASKMASTER_EMBEDDED__MODEL=gemma3`), `taskmaster.toml` in the project dir, then the user's
`~/.config/taskmaster/taskmaster.toml`. Only the shell reads Settings; lower layers get plain objects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from agents.errors import EndpointRefused
from agents.escalation import EscalationMatrix, RoutingThresholds
from agents.llm.egress import Egress, apply_tracing_rule
from knowledge.config import KnowledgeConfig
from serving.config import EmbeddedSettings
from taskmaster.errors import AppError
from taskmaster.workspace.paths import CONFIG_NAME, WorkspacePaths, user_config_path


class BreakdownSettings(BaseModel):
    num_tasks: int = Field(default=5, ge=1, le=50, description="Top-level tasks parse-prd aims for.")
    threshold: int = Field(default=5, ge=1, le=10, description="Tasks scored above this are expanded.")
    max_depth: int = Field(default=2, ge=0, le=6)
    max_breadth: int = Field(default=5, ge=1, le=20)
    max_total_tasks: int = Field(default=60, ge=1, le=1000)
    concurrency: int = Field(default=4, ge=1, le=64)
    max_prd_bytes: int = Field(
        default=300_000, ge=1_000, description="A larger PRD is refused (split it, or raise this deliberately)."
    )


class SchedulerSettings(BaseModel):
    """Missed-run policy of `taskmaster scheduler` (APScheduler job defaults), and how often it re-reads schedules."""

    misfire_grace_seconds: int | None = Field(
        default=3600, ge=1, description="A run this late still starts; later ones are recorded as missed. None: any."
    )
    coalesce: bool = Field(default=True, description="Several missed runs of one schedule start once, not N times.")
    catch_up: bool = Field(
        default=True, description="After downtime, start runs missed while the scheduler was stopped (within grace)."
    )
    poll_seconds: float = Field(default=5.0, gt=0, le=3600, description="How often schedule add/rm are picked up.")


class RoutingSettings(RoutingThresholds):
    """Adaptive routing (off by default): start a task type one tier up when the ledger shows the lower tier fails."""

    enabled: bool = False
    window_tasks: int = Field(default=50, ge=1, description="Only each tier's most recent N tasks of a type count.")
    window_days: float | None = Field(
        default=None, gt=0, description="Only tasks this recent count; lets a skipped tier get re-tried later."
    )


class CacheSettings(BaseModel):
    """Model-response cache in .taskmaster/cache/responses.sqlite; it only ever serves temperature-0 calls."""

    enabled: bool = False
    deterministic: bool = Field(
        default=False, description="Run every tier at temperature 0 so every call is cacheable (and repeatable)."
    )
    ttl_s: float = Field(default=7 * 24 * 3600, gt=0, description="Entries older than this are ignored.")
    semantic: bool = Field(default=False, description="Also reuse replies to near-identical prompts (MiniLM).")
    semantic_threshold: float = Field(default=0.95, ge=0.5, le=1.0, description="Cosine similarity needed.")


class RunSettings(BaseModel):
    """Defaults for `taskmaster run` (the autonomous loop); each has a command-line option too."""

    concurrency: int = Field(default=1, ge=1, le=32, description="Independent ready tasks worked at once.")
    max_tasks: int | None = Field(default=None, ge=1)
    max_minutes: float | None = Field(default=None, gt=0)
    token_budget: int | None = Field(default=None, ge=1, description="Stop starting tasks past this many tokens.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKMASTER_", env_nested_delimiter="__", extra="ignore")

    _toml_files: ClassVar[tuple[Path, ...]] = ()

    profile: Literal["embedded", "vllm-2x4090", "vllm-cpu", "ollama", "lmstudio", "localai", "openai-compatible"] = (
        "embedded"
    )
    project_dir: Path = Field(default_factory=Path.cwd)
    tag: str = "master"
    base_url: str | None = Field(default=None, description="Endpoint for the openai-compatible profile.")
    model: str | None = Field(default=None, description="Model name for single-model profiles.")
    api_key: str | None = None
    allow_hosts: list[str] = Field(default_factory=list)
    proxy_url: str | None = Field(
        default=None,
        description="HTTP proxy for all app traffic; its host must be loopback or in allow_hosts. Proxy environment "
        "variables (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) are always ignored.",
    )
    allow_cloud: bool = False
    timeout_s: float | None = Field(default=None, gt=0, description="Overrides every tier's request timeout.")
    health_timeout_s: float = Field(default=3.0, gt=0)
    structured_retries: int = Field(default=2, ge=0, le=10)
    tiers: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-tier overrides of the profile.")
    roles: dict[str, str] = Field(default_factory=dict)
    checkpoint_url: str | None = Field(
        default=None,
        description="Postgres URL for graph checkpoints (postgresql://user@127.0.0.1:5432/db); unset: the SQLite file.",
    )
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    breakdown: BreakdownSettings = Field(default_factory=BreakdownSettings)
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    escalation: EscalationMatrix = Field(default_factory=EscalationMatrix)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    run: RunSettings = Field(default_factory=RunSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        tomls = [TomlConfigSettingsSource(settings_cls, toml_file=path) for path in cls._toml_files if path.is_file()]
        return (init_settings, env_settings, *tomls)

    # --- derived paths (defined once, in taskmaster/workspace/paths.py) ----------------------------------------
    @property
    def paths(self) -> WorkspacePaths:
        return WorkspacePaths(self.project_dir)

    @property
    def data_dir(self) -> Path:
        return self.paths.data_dir

    @property
    def tasks_file(self) -> Path:
        return self.paths.tasks_file

    def egress(self) -> Egress:
        """The one egress rule (loopback or allow_hosts, proxy only from proxy_url) every HTTP client obeys."""
        return Egress.of(self.allow_hosts, self.proxy_url)


def load_settings(project_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings for a project directory: its taskmaster.toml wins over the user's."""
    root = Path(project_dir or os.environ.get("TASKMASTER_PROJECT_DIR") or Path.cwd()).resolve()
    Settings._toml_files = (root / CONFIG_NAME, user_config_path())
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(part) for part in err["loc"])
        raise AppError(
            f"invalid setting {where}: {err['msg']}; fix it in taskmaster.toml, a TASKMASTER_* variable or the option"
        ) from None
    if "project_dir" not in overrides and (project_dir is not None or "TASKMASTER_PROJECT_DIR" not in os.environ):
        settings.project_dir = root  # a named project wins over TASKMASTER_PROJECT_DIR (the default project)
    try:  # refused here, before any command can open a connection to them
        egress = settings.egress()
        apply_tracing_rule(egress)
        if settings.knowledge.url:
            egress.check(settings.knowledge.url, what="Qdrant server", setting="knowledge.url")
    except EndpointRefused as exc:
        raise AppError(str(exc)) from None
    if not settings.knowledge.data_dir.is_absolute():
        settings.knowledge = settings.knowledge.model_copy(update={"data_dir": root / settings.knowledge.data_dir})
    return settings
