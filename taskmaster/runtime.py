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
            from serving.embedded import embedded_servers

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


def expand_inputs(
    settings: Settings,
    targets: Sequence[tuple[str, Any]],
    *,
    num: int | None,
    depth: int | None,
    force: bool,
    guidance: str | None,
    research: bool,
) -> tuple[dict[str, Any], BreakdownLimits]:
    """The breakdown graph's input for expanding `targets` ((full id, task) pairs), shared by the CLI's `expand` and
    MCP's expand_task/expand_all. Each task's subtask count comes from `num`, else from analyze-complexity's report
    (ours or Task Master's, as in Task Master), else from its own complexity, capped by the breadth limit."""
    from graphs.breakdown.roots import expansion_root, subtask_count
    from tasks.complexity_report import recommended_subtasks, report_path

    limits = breakdown_limits(settings, depth)
    report = report_path(settings.tasks_file, settings.tag)
    roots = []
    for full_id, task in targets:
        recommended = recommended_subtasks(report, full_id)
        if num:
            count = min(num, limits.max_breadth)
        elif recommended:
            count = min(recommended, limits.max_breadth)
        else:
            count = subtask_count(task.complexity, limits.max_breadth)
        roots.append(expansion_root(full_id, task, count=count, force=force))
    extra = guidance or ""
    if research:
        from taskmaster.research_context import retrieve_context

        retrieved = retrieve_context(settings, " ".join(t.title for _, t in targets))
        extra = "\n\n".join(filter(None, [extra, retrieved]))
    return {"mode": "expand", "roots": roots, "research_context": extra or None}, limits
