"""Graph inputs and contexts from Settings (being folded into taskmaster.workspace.Workspace)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.llm.router import ModelRouter
from graphs.breakdown.graph import BreakdownContext, BreakdownLimits
from taskmaster.settings import Settings


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
        from taskmaster.workspace.research_context import retrieve_context

        retrieved = retrieve_context(settings, " ".join(t.title for _, t in targets))
        extra = "\n\n".join(filter(None, [extra, retrieved]))
    return {"mode": "expand", "roots": roots, "research_context": extra or None}, limits
