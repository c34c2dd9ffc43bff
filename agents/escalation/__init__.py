"""Which worker tries a coding task, who checks it, how often to retry, and when to hand it up the chain."""

from agents.escalation.adaptive import (
    RoutingThresholds,
    StartDecision,
    StartPolicy,
    TierRecord,
    decide_start,
)
from agents.escalation.budget import BudgetGuard, step_cost
from agents.escalation.classifier import Classification, classify
from agents.escalation.matrix import DEFAULT_RULES, EscalationMatrix, HumanReview, TypeRule
from agents.escalation.types import TASK_TYPES, TaskType

__all__ = [
    "DEFAULT_RULES",
    "TASK_TYPES",
    "BudgetGuard",
    "Classification",
    "EscalationMatrix",
    "HumanReview",
    "RoutingThresholds",
    "StartDecision",
    "StartPolicy",
    "TaskType",
    "TierRecord",
    "TypeRule",
    "classify",
    "decide_start",
    "step_cost",
]
