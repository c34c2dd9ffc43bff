"""Planner calls: each is one structured request through the router, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

from langchain_core.messages import HumanMessage, SystemMessage

from agents.llm.router import ModelRouter
from agents.planner import prompts
from agents.planner.features import checklist, listed_features
from agents.planner.schemas import (
    ComplexityScore,
    TaskDraft,
    TaskPlan,
    draft_list_schema,
    feature_drafts_schema,
    feature_key,
)

ROLE = "planner"


@dataclass(frozen=True)
class TaskBrief:
    """What the planner needs to know about one task."""

    title: str
    description: str = ""
    details: str = ""
    ancestors: list[str] = field(default_factory=list)


def parse_section(
    router: ModelRouter, section: str, *, min_items: int, max_items: int, position: str, context: str | None = None
) -> list[TaskDraft]:
    features = listed_features(section)
    guide = ""
    schema = draft_list_schema(min_items, max_items)
    if 1 < len(features) <= max_items:  # the PRD's own feature list, one task each (agents/planner/features.py)
        min_items = max_items = len(features)
        guide = checklist(features)
        schema = feature_drafts_schema(tuple(features))
    messages = [
        SystemMessage(content=prompts.PARSE_SYSTEM),
        HumanMessage(
            content=prompts.PARSE_USER.format(
                section=section.strip(),
                context=prompts.context_block(context),
                min_items=min_items,
                max_items=max_items,
                position=position,
            )
            + guide
        ),
    ]
    reply = router.structured(ROLE, schema, messages, purpose="PRD parsing")
    if guide:
        return [_named(getattr(reply, feature_key(i, name)), name) for i, name in enumerate(features, 1)]
    return list(reply.tasks)  # type: ignore[attr-defined]


def _named(draft: TaskDraft, feature: str) -> TaskDraft:
    """A listed feature's task is titled so that it names the feature ("Book catalogue: Create a table for books"):
    the schema fixes which feature each task builds, but a small model may title it after one detail."""
    if feature.lower() in draft.title.lower():
        return draft
    return draft.model_copy(update={"title": f"{feature}: {draft.title}"[:100]})


def score_complexity(router: ModelRouter, task: TaskBrief, *, max_subtasks: int) -> ComplexityScore:
    messages = [
        SystemMessage(content=prompts.SCORE_SYSTEM),
        HumanMessage(
            content=prompts.SCORE_USER.format(
                title=task.title,
                description=task.description,
                details=task.details or "-",
                lineage=prompts.lineage_line(task.ancestors),
                max_subtasks=max_subtasks,
            )
        ),
    ]
    score = router.structured(ROLE, ComplexityScore, messages, purpose="complexity scoring")
    return score.model_copy(update={"recommended_subtasks": min(score.recommended_subtasks, max_subtasks)})


def expand_task(
    router: ModelRouter, task: TaskBrief, *, min_items: int, max_items: int, context: str | None = None
) -> list[TaskDraft]:
    schema = draft_list_schema(min_items, max_items)
    messages = [
        SystemMessage(content=prompts.EXPAND_SYSTEM),
        HumanMessage(
            content=prompts.EXPAND_USER.format(
                title=task.title,
                description=task.description,
                details=task.details or "-",
                lineage=prompts.lineage_line(task.ancestors),
                context=prompts.context_block(context),
                min_items=min_items,
                max_items=max_items,
            )
        ),
    ]
    return list(router.structured(ROLE, schema, messages, purpose="task expansion").tasks)  # type: ignore[attr-defined]


def plan_task(router: ModelRouter, task: TaskBrief, *, context: str | None = None) -> TaskPlan:
    """Details and a test strategy for a planning or analysis task (the autonomous loop's planner step)."""
    messages = [
        SystemMessage(content=prompts.PLAN_SYSTEM),
        HumanMessage(
            content=prompts.PLAN_USER.format(
                title=task.title,
                description=task.description,
                details=task.details or "-",
                lineage=prompts.lineage_line(task.ancestors),
                context=prompts.context_block(context),
            )
        ),
    ]
    return router.structured(ROLE, TaskPlan, messages, purpose="task planning")
