"""A research result as markdown: the answer, its numbered sources and any flags (for task details and files)."""

from __future__ import annotations

from typing import Any


def answer_markdown(question: str, state: dict[str, Any]) -> str:
    lines = [f"## Research: {question}", "", state.get("answer") or "(no answer)", ""]
    if state.get("sources"):
        lines.append("Sources:")
        lines += [f"[{s['n']}] {s['source']}:{s['line_start']}-{s['line_end']}" for s in state["sources"]]
    if state.get("flags"):
        lines.append(f"Flags: {', '.join(state['flags'])}")
    return "\n".join(lines).rstrip() + "\n"
