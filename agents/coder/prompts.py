"""Prompts for the coder. The spec and earlier output are data, fenced and labelled."""

from __future__ import annotations

SYSTEM = (
    "You are a careful Python programmer. Write complete, runnable code for the spec. "
    "Reply with fenced ```python blocks only, no prose."
)

PLAN_SYSTEM = "You plan small coding tasks. List the few concrete steps needed to implement the spec."

PLAN_USER = "<spec>\n{spec}\n</spec>{context}\nList at most 6 short steps."

CODE_USER = """<spec>
{spec}
</spec>{context}{plan}{handoff}
{what}"""

WANT_CODE = "Write the solution as one ```python block (a module named `solution`, with any imports it needs)."
WANT_CODE_AND_TESTS = (
    "Write two ```python blocks: first the solution (a module named `solution`, with any imports it needs), "
    "then pytest tests in functions named test_* that do `from solution import *`."
)

RETRY_USER = """Your previous solution failed verification.
<previous_code>
{code}
</previous_code>
<verifier_errors>
{feedback}
</verifier_errors>
Fix the problems. {what}"""


HANDOFF = """
<earlier_failures>
{note}
</earlier_failures>
Write your own solution from the spec."""


def handoff_block(note: str) -> str:
    """After an escalation: what failed on the smaller tier, never its code (agents.coder.handoff says why)."""
    return HANDOFF.format(note=note.strip()) if note and note.strip() else ""


def context_block(context: str | None) -> str:
    return f"\n<context>\n{context.strip()}\n</context>" if context and context.strip() else ""


def plan_block(steps: list[str]) -> str:
    return "\nPlan:\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)) if steps else ""
