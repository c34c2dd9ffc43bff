"""Which graph works a task: research, codegen, the planner, or breakdown when it is too big to do in one go.

Rules first, so choosing costs no model call and is easy to predict: an explicit `type` field on the task wins,
then a complexity above the threshold sends a leaf task to breakdown, then keywords in the title and description.
Everything else is code, the common case for a development task list.
"""

from __future__ import annotations

import re
from typing import Any, Literal

Kind = Literal["research", "code", "plan", "breakdown"]
KINDS: tuple[str, ...] = ("research", "code", "plan", "breakdown")

_RESEARCH = re.compile(
    r"\b(research|investigate|investigation|survey|compare|comparison|evaluate|evaluation|explore|study|"
    r"find out|look into|assess|choose (?:a|the|between)|select (?:a|the)|which (?:library|framework|database))\b",
    re.IGNORECASE,
)
_PLAN = re.compile(
    r"\b(design|plan|planning|architecture|architect|specify|specification|spec|document|documentation|"
    r"analy[sz]e|analysis|requirements?|outline|define|strategy|roadmap|write (?:a |the )?(?:doc|guide|rfc|adr))\b",
    re.IGNORECASE,
)
_ALIASES = {"coding": "code", "codegen": "code", "dev": "code", "planning": "plan", "analysis": "plan"}


def kind_of(ticket: dict[str, Any], *, threshold: int, max_depth: int) -> tuple[Kind, str]:
    """The kind of work for a claimed task, and a short reason (it is logged with the result)."""
    explicit = str(ticket.get("kind") or "").strip().lower()
    explicit = _ALIASES.get(explicit, explicit)
    if explicit in KINDS:
        return explicit, f"the task's type field says {explicit}"  # type: ignore[return-value]
    complexity = ticket.get("complexity")
    if complexity is not None and complexity > threshold and int(ticket.get("depth", 0)) < max_depth:
        return "breakdown", f"complexity {complexity} is above the threshold {threshold}"
    text = f"{ticket.get('title', '')}\n{ticket.get('description', '')}"
    if match := _RESEARCH.search(text):
        return "research", f"research keyword {match.group(0)!r}"
    if match := _PLAN.search(text):
        return "plan", f"planning keyword {match.group(0)!r}"
    return "code", "a development task (no research or planning keywords)"
