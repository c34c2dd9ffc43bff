"""`--research` for parse-prd and expand: a few retrieved passages from the knowledge base, delimited
as data by the planner's prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskmaster.cli.common import err_console
from taskmaster.settings import Settings

if TYPE_CHECKING:
    from graphs.research import ResearchLimits

MAX_PASSAGES = 4
MAX_CHARS = 2400


def retrieve_context(settings: Settings, query: str) -> str | None:
    from knowledge.base import KnowledgeBase

    kb = KnowledgeBase.open(settings.knowledge)
    try:
        if kb.is_empty():
            err_console.print("[yellow]warning:[/] the knowledge base is empty; add documents with `taskmaster kb add`")
            return None
        hits = kb.search(query, limit=MAX_PASSAGES)
    finally:
        kb.close()
    passages = [f"[{h.source}:{h.line_start}-{h.line_end}]\n{h.text.strip()}" for h in hits]
    return "\n\n".join(passages)[:MAX_CHARS] or None


def research_limits(settings: Settings) -> ResearchLimits:
    """How much model work one research question may cost on this profile.

    On the embedded profile every model call runs on the machine's CPU cores, where prompt length dominates: the
    grading call alone (8 passages) took 150 s on 2 busy cores. Hybrid retrieval of the question itself already
    puts an answering passage in the top 5 for every held-out question (docs/knowledge.md), so there the graph
    skips sub-query planning and grading and shows the writer the top 3 passages, clipped. Served profiles keep
    the full pipeline.
    """
    from graphs.research import ResearchLimits

    if settings.profile == "embedded":
        return ResearchLimits(
            max_queries=0, per_query=5, max_candidates=5, max_passages=3, grade=False, prompt_chars=900
        )
    return ResearchLimits()
