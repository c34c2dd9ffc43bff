"""Classify a coding task: keyword rules and a known complexity score first, a model only when both are silent.

Rules are cheap, predictable and explainable; a 135M model is none of those, so it only breaks ties the
rules cannot. A risk keyword (security, payments, migrations) always lifts the type: under-classifying a
critical change costs far more than over-checking a simple one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from agents.errors import AgentError
from agents.escalation.matrix import EscalationMatrix
from agents.escalation.types import TaskType
from agents.llm.bounded import BoundedInt, BoundedStr

if TYPE_CHECKING:  # the router pulls in langchain/openai; config loading (task commands) must not
    from agents.llm.router import ModelRouter

KEYWORDS: dict[str, tuple[str, ...]] = {
    TaskType.CRITICAL: (
        "security",
        "auth",
        "authentication",
        "authorization",
        "password",
        "credential",
        "secret",
        "encrypt",
        "crypto",
        "payment",
        "billing",
        "migration",
        "production",
        "data loss",
        "permission",
        "vulnerability",
    ),
    TaskType.COMPLEX: (
        "refactor",
        "architecture",
        "concurrency",
        "concurrent",
        "thread",
        "async",
        "distributed",
        "parser",
        "compiler",
        "algorithm",
        "optimi",
        "performance",
        "redesign",
        "protocol",
        "cache invalidation",
    ),
    TaskType.QUICK_EDIT: (
        "typo",
        "rename",
        "comment",
        "docstring",
        "format",
        "bump",
        "log message",
        "whitespace",
        "lint",
        "one-line",
        "spelling",
    ),
}
_RANK = {TaskType.QUICK_EDIT: 0, TaskType.STANDARD_DEV: 1, TaskType.COMPLEX: 2, TaskType.CRITICAL: 3}


@dataclass(frozen=True)
class Classification:
    task_type: str
    complexity: int
    source: Literal["rules", "complexity", "model", "default"]
    reason: str


class TaskTypeGuess(BaseModel):
    task_type: Literal["quick_edit", "standard_dev", "complex", "critical"]
    complexity: BoundedInt(0, 10, "0 = trivial edit, 10 = critical and hard.")
    reason: BoundedStr(200)


def keyword_hits(text: str) -> dict[str, list[str]]:
    lowered = text.lower()
    return {
        task_type: [w for w in words if re.search(rf"\b{re.escape(w)}", lowered)]
        for task_type, words in KEYWORDS.items()
        if any(re.search(rf"\b{re.escape(w)}", lowered) for w in words)
    }


def classify(
    title: str,
    description: str = "",
    *,
    complexity: int | None = None,
    matrix: EscalationMatrix | None = None,
    router: ModelRouter | None = None,
) -> Classification:
    matrix = matrix or EscalationMatrix()
    hits = keyword_hits(f"{title}\n{description}")
    by_keyword = max(hits, key=lambda t: _RANK[TaskType(t)]) if hits else None
    if complexity is not None:
        by_score = matrix.type_for_complexity(complexity)
        if by_keyword == TaskType.CRITICAL and _RANK.get(TaskType(by_score), 0) < _RANK[TaskType.CRITICAL]:
            return Classification(by_keyword, complexity, "rules", f"risk keywords {hits[by_keyword]} lift it")
        return Classification(by_score, complexity, "complexity", f"complexity {complexity}")
    if by_keyword is not None:
        rule = matrix.rule_for(by_keyword)
        middle = (rule.complexity_min + rule.complexity_max) // 2
        return Classification(by_keyword, middle, "rules", f"keywords {hits[by_keyword]}")
    if router is not None:
        try:
            guess = _ask_model(router, title, description)
        except AgentError:
            guess = None
        if guess is not None:
            return Classification(guess.task_type, guess.complexity, "model", guess.reason or "model guess")
    rule = matrix.rule_for(TaskType.STANDARD_DEV)
    return Classification(TaskType.STANDARD_DEV, rule.complexity_min, "default", "no keyword or score matched")


def _ask_model(router: ModelRouter, title: str, description: str) -> TaskTypeGuess:
    from langchain_core.messages import HumanMessage, SystemMessage

    messages = [
        SystemMessage(
            content="Classify a software task. quick_edit: trivial one-line change. standard_dev: a normal feature "
            "or fix. complex: multi-part design or tricky algorithm. critical: security, money or data safety."
        ),
        HumanMessage(content=f"Task: {title}\n{description}".strip()),
    ]
    return router.structured("classifier", TaskTypeGuess, messages, purpose="task classification")
