"""Structured-output schemas for the planner. Bounds live in the JSON schema itself, so constrained
decoding (llama.cpp grammar, vLLM xgrammar) keeps even a tiny model's output short; values a server
did not constrain are clamped or trimmed on the way back (see agents.llm.bounded)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from agents.llm.bounded import BoundedInt, BoundedList, BoundedStr


class TaskDraft(BaseModel):
    title: BoundedStr(100, min_length=3)
    description: BoundedStr(300, min_length=1)
    details: BoundedStr(600, description="How to implement it.")
    test_strategy: BoundedStr(300, description="How to verify it is done.")
    priority: Literal["high", "medium", "low"]
    depends_on: BoundedList(
        int, 0, 5, description="1-based positions of EARLIER items in this same list that must be done first."
    )


class ComplexityScore(BaseModel):
    complexity: BoundedInt(1, 10, "1 = trivial, 10 = very hard.")
    recommended_subtasks: BoundedInt(0, 10)
    reasoning: BoundedStr(300)


@cache
def draft_list_schema(min_items: int, max_items: int) -> type[BaseModel]:
    """A list schema with the count bounded both ways, cached so each bound pair is one class."""
    return create_model(
        f"TaskDrafts_{min_items}_{max_items}", tasks=(BoundedList(TaskDraft, min_items, max_items), ...)
    )


class TaskPlan(BaseModel):
    details: BoundedStr(600, min_length=20, description="Concrete implementation steps.")
    test_strategy: BoundedStr(300, min_length=10, description="How to verify it is done.")


def feature_key(position: int, name: str) -> str:
    slug = "_".join(re.findall(r"[a-z0-9]+", name.lower()))[:40].strip("_") or "feature"
    return f"feature_{position}_{slug}"


@cache
def feature_drafts_schema(features: tuple[str, ...]) -> type[BaseModel]:
    """One required task per listed feature, keyed and ordered by the feature: constrained decoding then cannot
    split a feature into several tasks or leave one out, whatever a small model makes of the instructions."""
    fields: dict[str, Any] = {
        feature_key(i, name): (TaskDraft, Field(..., description=f"The one task that builds feature {i}: {name}."))
        for i, name in enumerate(features, 1)
    }
    return create_model("FeatureTasks", **fields)
