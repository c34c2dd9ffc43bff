"""The research graph.

inspect → plan → retrieve ×N (Send) → collect → grade → synthesize → check_citations.

An empty knowledge base ends at `inspect` with a plain answer and no model call. Planning or grading failures fall
back (the question alone; the top hits by retrieval score) and are recorded as problems. Sub-queries sharing no
content word with the question are dropped. When the model's answer fails (error, empty, malformed, or nothing
cited survives the citation check), the answer is *extractive*: the best lines of the top passages, quoted with
their file and line range and flagged ``extractive`` — never a made-up answer and never a fragment. Sources in the
output are always passages that were retrieved, shown to the model and cited (or quoted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from agents.errors import AgentError
from agents.llm.router import ModelRouter
from agents.researcher.agent import grade_passages, plan_queries, synthesize
from agents.researcher.prompts import Passage
from graphs.context import ContextResolver, context_seam
from graphs.errors import GraphError
from graphs.research.citations import FLAG_NOTHING_LEFT, FLAG_UNCITED, check_citations
from graphs.research.extractive import (
    FLAG_ATTRIBUTED,
    FLAG_EXTRACTIVE,
    attribute_citations,
    extractive_answer,
    looks_malformed,
    relevant_queries,
)
from graphs.research.state import ResearchInput, ResearchOutput, ResearchState, SourceRef
from knowledge.base import Hit, KnowledgeBase

EMPTY_ANSWER = "The knowledge base is empty, so there is nothing to research; add documents to it first."
NO_HITS_ANSWER = "No passage in the knowledge base matched the question."
FLAG_EMPTY = "empty_knowledge_base"
FLAG_NO_HITS = "no_passages_found"
FLAG_UNGRADED = "grading_fallback"
FLAG_MALFORMED = "malformed_answer"

Retrieve = Callable[[str, int], list[Hit]]


@dataclass(frozen=True)
class ResearchLimits:
    max_queries: int = 3  # model sub-queries, on top of the question itself; 0 skips the planning call
    per_query: int = 4  # hits fetched per query
    max_candidates: int = 8  # merged hits shown to the grader
    max_passages: int = 5  # passages shown to the writer (the [n] range)
    fallback_keep: int = 3  # top hits by score kept when grading fails or keeps nothing
    grade: bool = True  # False: no grading call, the top hits by retrieval score go to the writer (saves a call)
    extractive_quotes: int = 3  # passages quoted by the extractive fallback
    prompt_chars: int = 2000  # characters of each passage shown to the model (prompt size drives CPU latency)


@dataclass
class ResearchContext:
    router: ModelRouter | None
    retrieve: Retrieve
    is_empty: Callable[[], bool] = lambda: False
    limits: ResearchLimits = field(default_factory=ResearchLimits)
    on_stage: Callable[[str], None] | None = None  # one line per stage (the CLI prints them to stderr)

    def stage(self, message: str) -> None:
        if self.on_stage is not None:
            self.on_stage(message)

    @classmethod
    def for_knowledge_base(
        cls,
        router: ModelRouter | None,
        kb: KnowledgeBase,
        limits: ResearchLimits | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> ResearchContext:
        """Searches are serialised: the embedder and the Edge shard are shared by the parallel retrieve branches."""
        lock = threading.Lock()

        def retrieve(query: str, limit: int) -> list[Hit]:
            with lock:
                return kb.search(query, limit=limit)

        return cls(
            router=router,
            retrieve=retrieve,
            is_empty=kb.is_empty,
            limits=limits or ResearchLimits(),
            on_stage=on_stage,
        )

    def model(self) -> ModelRouter:
        if self.router is None:
            raise GraphError("research needs a model for a non-empty knowledge base; configure a model profile")
        return self.router


def _passages(items: list[dict[str, Any]], max_chars: int) -> list[Passage]:
    return [Passage(item["n"], item["source"], _clip(item["text"], max_chars)) for item in items]


def _clip(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    return cut[: cut.rfind("\n")] if "\n" in cut[max_chars // 2 :] else cut


def _numbered(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**hit, "n": number} for number, hit in enumerate(hits, start=1)]


def _by_score(hits: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(hits.values(), key=lambda h: (-h["score"], h["source"], h["line_start"]))


# --- nodes ---------------------------------------------------------------------------------------
def inspect(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    if not (state.get("question") or "").strip():
        raise GraphError("the research question is empty; ask a question in a few words")
    if runtime.context.is_empty():
        return {"empty": True, "answer": EMPTY_ANSWER, "sources": [], "flags": [FLAG_EMPTY], "removed_sentences": 0}
    return {"empty": False}


def after_inspect(state: ResearchState) -> str:
    return END if state.get("empty") else "plan"


def plan(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    ctx = runtime.context
    question = " ".join(state["question"].split())
    extra: list[str] = []
    problems: list[str] = []
    if ctx.limits.max_queries > 0:
        ctx.stage("planning search queries")
        try:
            extra = plan_queries(
                ctx.model(), question, task_context=state.get("task_context"), max_queries=ctx.limits.max_queries
            )
        except AgentError as exc:
            problems = [f"sub-queries not planned, searching the question only: {exc}"]
    extra, dropped = relevant_queries(extra, question, state.get("task_context"))
    if dropped:
        problems.append(
            f"dropped {len(dropped)} sub-quer{'y' if len(dropped) == 1 else 'ies'} unrelated to the question"
        )
    queries = {question.casefold(): question}
    for query in extra:
        queries.setdefault(query.casefold(), query)
    ctx.stage(f"searching {len(queries)} quer{'y' if len(queries) == 1 else 'ies'}: " + " | ".join(queries.values()))
    return {"queries": list(queries.values()), "problems": problems}


def fan_out(state: ResearchState) -> list[Send]:
    return [Send("retrieve", {"query": query}) for query in state["queries"]]


def retrieve(payload: dict[str, Any], runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    ctx = runtime.context
    hits = ctx.retrieve(payload["query"], ctx.limits.per_query)
    return {"hits": {hit.chunk_id: asdict(hit) for hit in hits}}


def collect(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    candidates = _numbered(_by_score(state.get("hits", {}))[: runtime.context.limits.max_candidates])
    files = len({c["source"] for c in candidates})
    runtime.context.stage(f"found {len(candidates)} passages in {files} files")
    if not candidates:
        return {
            "passages": [],
            "answer": NO_HITS_ANSWER,
            "sources": [],
            "flags": [FLAG_NO_HITS],
            "removed_sentences": 0,
        }
    return {"passages": candidates}


def after_collect(state: ResearchState) -> str:
    return "grade" if state.get("passages") else END


def grade(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    ctx = runtime.context
    candidates = state["passages"]
    problem = ""
    if not ctx.limits.grade:
        kept = [c["chunk_id"] for c in candidates[: ctx.limits.max_passages]]
        return {"relevant": kept}
    ctx.stage(f"grading {len(candidates)} passages")
    try:
        keep = grade_passages(ctx.model(), state["question"], _passages(candidates, ctx.limits.prompt_chars))
        if not keep:
            problem = "the grader kept no passage; using the top passages by retrieval score"
    except AgentError as exc:
        keep, problem = [], f"relevance grading failed, using the top passages by retrieval score: {exc}"
    if problem:
        keep = [c["n"] for c in candidates[: ctx.limits.fallback_keep]]
    kept = [c["chunk_id"] for c in candidates if c["n"] in set(keep)][: ctx.limits.max_passages]
    return {"relevant": kept, "flags": [FLAG_UNGRADED] if problem else [], "problems": [problem] if problem else []}


def write(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    ctx = runtime.context
    hits = state["hits"]
    passages = _numbered([hits[chunk_id] for chunk_id in state["relevant"]])
    ctx.stage(f"writing the answer from {len(passages)} passages")
    try:
        draft = synthesize(
            ctx.model(),
            state["question"],
            _passages(passages, ctx.limits.prompt_chars),
            task_context=state.get("task_context"),
        )
        problems: list[str] = []
    except AgentError as exc:
        draft, problems = "", [f"the model gave no usable answer ({exc}); quoting the best passages instead"]
    return {"passages": passages, "draft": draft, "problems": problems}


def _extractive(state: ResearchState, runtime: Runtime[ResearchContext], flags: list[str]) -> dict[str, Any]:
    ranked = list(state.get("passages") or [])
    answer, quotes = extractive_answer(state["question"], ranked, runtime.context.limits.extractive_quotes)
    sources: list[SourceRef] = [
        SourceRef(n=q.n, source=q.source, line_start=q.line_start, line_end=q.line_end, heading=q.heading)
        for q in quotes
    ]
    runtime.context.stage(f"answer: extractive, quoting {len(quotes)} passages")
    return {"answer": answer, "sources": sources, "flags": [*flags, FLAG_EXTRACTIVE]}


def verify_citations(state: ResearchState, runtime: Runtime[ResearchContext]) -> dict[str, Any]:
    passages = {p["n"]: p for p in state["passages"]}
    draft = state.get("draft") or ""
    checked = check_citations(draft, passages)
    flags = [*state.get("flags", []), *checked.flags]
    if draft.strip() and looks_malformed(checked.answer or draft):
        flags.append(FLAG_MALFORMED)
    if FLAG_UNCITED in flags and FLAG_MALFORMED not in flags:
        attributed, unsupported = attribute_citations(checked.answer, state["passages"])
        if attributed:
            checked = check_citations(attributed, passages)
            checked.removed_sentences += unsupported
            flags = [f for f in flags if f != FLAG_UNCITED] + [FLAG_ATTRIBUTED]
    if FLAG_MALFORMED in flags or FLAG_UNCITED in flags or FLAG_NOTHING_LEFT in flags:
        return {"removed_sentences": checked.removed_sentences} | _extractive(state, runtime, flags)
    sources: list[SourceRef] = [
        SourceRef(
            n=n,
            source=passages[n]["source"],
            line_start=passages[n]["line_start"],
            line_end=passages[n]["line_end"],
            heading=passages[n]["heading"],
        )
        for n in checked.cited
    ]
    runtime.context.stage(f"answer: {len(sources)} cited passage{'s' if len(sources) != 1 else ''}")
    return {
        "answer": checked.answer,
        "sources": sources,
        "flags": flags,
        "removed_sentences": checked.removed_sentences,
    }


def build_research_graph(checkpointer: Any = None, *, resolve_context: ContextResolver[Any, Any] | None = None) -> Any:
    """The compiled graph; run it with a ResearchContext, or with `resolve_context`'s plain values (Studio)."""
    context_schema, live = context_seam(ResearchContext, resolve_context)
    builder = StateGraph(
        ResearchState, context_schema=context_schema, input_schema=ResearchInput, output_schema=ResearchOutput
    )
    builder.add_node("inspect", live(inspect))
    builder.add_node("plan", live(plan))
    builder.add_node("retrieve", live(retrieve))
    builder.add_node("collect", live(collect))
    builder.add_node("grade", live(grade))
    builder.add_node("synthesize", live(write))
    builder.add_node("check_citations", live(verify_citations))
    builder.add_edge(START, "inspect")
    builder.add_conditional_edges("inspect", after_inspect, ["plan", END])
    builder.add_conditional_edges("plan", fan_out, ["retrieve"])
    builder.add_edge("retrieve", "collect")
    builder.add_conditional_edges("collect", after_collect, ["grade", END])
    builder.add_edge("grade", "synthesize")
    builder.add_edge("synthesize", "check_citations")
    builder.add_edge("check_citations", END)
    return builder.compile(checkpointer=checkpointer)


def answer_question(context: ResearchContext, question: str, task_context: str | None = None) -> dict[str, Any]:
    """One research run without a checkpointer: a plain function for evaluations and the MCP server."""
    state = build_research_graph().invoke({"question": question, "task_context": task_context}, context=context)
    return dict(state)
