"""Settings → the model router: the profile's tiers (taskmaster/workspace/profiles.py), the embedded llama.cpp
servers when the profile needs them (serving/), and the response cache. Only the Workspace calls this."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from agents.llm.cache import ResponseCache
from agents.llm.config import ModelConfig
from agents.llm.router import ModelRouter
from taskmaster.settings import Settings
from taskmaster.workspace.profiles import model_config, uses_embedded_server


@contextmanager
def model_router(settings: Settings) -> Iterator[ModelRouter]:
    with ExitStack() as stack:
        start_server = None  # the embedded servers start per model on their tier's first call
        if uses_embedded_server(settings):
            from serving.embedded import embedded_pool

            start_server = stack.enter_context(embedded_pool(settings.embedded)).url
        config = model_config(settings)
        yield ModelRouter(_deterministic(config, settings), cache=response_cache(settings), start_server=start_server)


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
        settings.paths.response_cache,
        ttl_s=settings.cache.ttl_s,
        embed=embed,
        semantic_threshold=settings.cache.semantic_threshold,
    )
