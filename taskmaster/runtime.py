"""Builds the real dependencies from Settings: the model router (starting the embedded server when
the profile needs it), the knowledge base and checkpointers. Only the shell calls this."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from agents.llm.cache import ResponseCache
from agents.llm.config import ModelConfig
from agents.llm.router import ModelRouter
from graphs.breakdown.graph import BreakdownContext, BreakdownLimits
from taskmaster.profiles import model_config, uses_embedded_server
from taskmaster.settings import Settings


@contextmanager
def model_router(settings: Settings) -> Iterator[ModelRouter]:
    with ExitStack() as stack:
        url = None
        if uses_embedded_server(settings):
            from taskmaster.serving.embedded import embedded_servers

            servers = stack.enter_context(embedded_servers(settings.embedded))
            url = {model: server.base_url for model, server in servers.items()}
        config = model_config(settings, url)
        yield ModelRouter(_deterministic(config, settings), cache=response_cache(settings))


def _deterministic(config: ModelConfig, settings: Settings) -> ModelConfig:
    """cache.deterministic: every tier at temperature 0, so every call is repeatable and cacheable."""
    if settings.cache.enabled and settings.cache.deterministic:
        config.tiers = {name: tier.model_copy(update={"temperature": 0.0}) for name, tier in config.tiers.items()}
    return config


def response_cache(settings: Settings) -> ResponseCache | None:
    """The [cache] section as a ResponseCache (None when off); MiniLM loads on the first semantic lookup only."""
    if not settings.cache.enabled:
        return None
    embed = None
    if settings.cache.semantic:

        @functools.cache
        def embedder() -> Any:
            from knowledge.embedders import MiniLmBm25Embedder

            return MiniLmBm25Embedder()

        def embed(text: str) -> Sequence[float]:
            return embedder().embed_query(text).dense

    return ResponseCache(
        settings.data_dir / "cache" / "responses.sqlite",
        ttl_s=settings.cache.ttl_s,
        embed=embed,
        semantic_threshold=settings.cache.semantic_threshold,
    )


def breakdown_limits(settings: Settings, depth: int | None = None) -> BreakdownLimits:
    b = settings.breakdown
    return BreakdownLimits(b.threshold, b.max_depth if depth is None else depth, b.max_breadth, b.max_total_tasks)


def breakdown_context(
    settings: Settings,
    router: ModelRouter,
    *,
    tasks_file: Path | None,
    limits: BreakdownLimits | None = None,
    replace: bool = False,
) -> BreakdownContext:
    """The breakdown graph's context, sized from the planner tier; `tasks_file=None` returns the tree unwritten."""
    tier = router.config.tier_for("planner")[1]
    return BreakdownContext(
        router=router,
        limits=limits or breakdown_limits(settings),
        context_length=tier.context_length,
        max_output_tokens=tier.max_output_tokens,
        tasks_file=tasks_file,
        tag=settings.tag,
        replace=replace,
    )
