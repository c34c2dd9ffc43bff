"""The breakdown graph.

split → parse_section ×N (Send) → merge → schedule ⇄ {score ×N, expand ×N} (Send) → finalize → persist.

`schedule` is the loop's single decision point: score what is unscored, else expand what is over
the threshold within the depth, breadth and total limits, else finish. Scoring or expansion that
fails for one task is recorded as a problem and the rest goes on; a PRD section that cannot be
parsed fails the run before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from agents.errors import AgentError
from agents.llm.router import ModelRouter
from agents.planner.agent import TaskBrief, expand_task, parse_section, score_complexity
from agents.planner.schemas import TaskDraft
from graphs.breakdown.drafts import nodes_from_drafts
from graphs.breakdown.persist import build_tree, persist_tree
from graphs.breakdown.sections import section_budget_chars, share_tasks, split_sections
from graphs.breakdown.state import BreakdownInput, BreakdownOutput, BreakdownState, PlanNode
from graphs.context import ContextResolver, context_seam
from graphs.errors import EmptyInput, GraphError


@dataclass(frozen=True)
class BreakdownLimits:
    threshold: int = 5
    max_depth: int = 2
    max_breadth: int = 5
    max_total_tasks: int = 60


@dataclass
class BreakdownContext:
    router: ModelRouter
    limits: BreakdownLimits
    context_length: int = 8192
    max_output_tokens: int = 768
    tasks_file: Path | None = None
    tag: str = "master"
    replace: bool = False  # parse mode: replace the tag's tasks instead of appending


def ctx(runtime: Runtime[BreakdownContext]) -> BreakdownContext:
    if isinstance(runtime.context, BreakdownContext):
        return runtime.context
    raise GraphError("the breakdown graph needs a BreakdownContext (router, limits); pass context=…")


def _brief(node: dict[str, Any], nodes: dict[str, Any]) -> TaskBrief:
    ancestors: list[str] = []
    parent = node.get("parent")
    while parent and parent in nodes:
        ancestors.insert(0, nodes[parent]["title"])
        parent = nodes[parent].get("parent")
    return TaskBrief(node["title"], node.get("description", ""), node.get("details", ""), ancestors)


# --- nodes ---------------------------------------------------------------------------------------
def split(state: BreakdownState, runtime: Runtime[BreakdownContext]) -> dict[str, Any]:
    if state.get("mode", "parse") != "parse":
        return {"nodes": {node["id"]: node for node in state.get("roots", [])}}
    text = (state.get("source_text") or "").strip()
    if not text:
        raise EmptyInput("the PRD is empty; write the requirements into the file and run again")
    ctx_ = ctx(runtime)
    return {"sections": split_sections(text, section_budget_chars(ctx_.context_length, ctx_.max_output_tokens))}


def fan_out_sections(state: BreakdownState) -> list[Send] | str:
    if state.get("mode", "parse") != "parse":
        return "schedule"
    sections = state["sections"]
    shares = share_tasks(sections, state.get("num_tasks", 5))
    return [
        Send(
            "parse_section",
            {"index": i, "section": s, "count": n, "of": len(sections), "research": state.get("research_context")},
        )
        for i, (s, n) in enumerate(zip(sections, shares, strict=True))
    ]


def parse_one_section(payload: dict[str, Any], runtime: Runtime[BreakdownContext]) -> dict[str, Any]:
    count = payload["count"]
    drafts = parse_section(
        ctx(runtime).router,
        payload["section"],
        min_items=1,
        max_items=count,
        position=f"section {payload['index'] + 1} of {payload['of']}",
        context=payload.get("research"),
    )
    return {"drafts": {str(payload["index"]): [d.model_dump() for d in drafts]}}


def merge(state: BreakdownState) -> dict[str, Any]:
    ordered = [TaskDraft.model_validate(d) for key in sorted(state["drafts"], key=int) for d in state["drafts"][key]]
    nodes = nodes_from_drafts(ordered, parent=None, first_id=state.get("first_id", 1), depth=0)
    return {"nodes": {n["id"]: n for n in nodes}}


def schedule(state: BreakdownState) -> dict[str, Any]:
    return {}


def route(state: BreakdownState, runtime: Runtime[BreakdownContext]) -> list[Send] | str:
    nodes: dict[str, Any] = state.get("nodes", {})
    limits = ctx(runtime).limits
    mode = state.get("mode", "parse")
    to_score = [n for n in nodes.values() if not n.get("scored") and not n.get("force_children")]
    if to_score:
        return [Send("score", {"node": n, "lineage": _brief(n, nodes).ancestors}) for n in to_score]
    if mode == "analyze":
        return "finalize"
    budget = limits.max_total_tasks - len(nodes)
    sends: list[Send] = []
    for node in sorted(nodes.values(), key=lambda n: (n["depth"], n["order"])):
        if node.get("expanded") or budget <= 0:
            continue
        forced = node.get("force_children")
        wanted = forced or node.get("recommended") or 0
        complex_enough = (node.get("complexity") or 0) > limits.threshold
        if not forced and (node["depth"] >= limits.max_depth or not complex_enough or wanted < 1):
            continue
        count = max(1, min(wanted or 3, limits.max_breadth, budget))
        budget -= count
        sends.append(
            Send(
                "expand",
                {
                    "node": node,
                    "count": count,
                    "brief": _brief(node, nodes).__dict__,
                    "research": state.get("research_context"),
                },
            )
        )
    return sends or "finalize"


def score(payload: dict[str, Any], runtime: Runtime[BreakdownContext]) -> dict[str, Any]:
    node = payload["node"]
    brief = TaskBrief(node["title"], node.get("description", ""), node.get("details", ""), payload["lineage"])
    try:
        result = score_complexity(ctx(runtime).router, brief, max_subtasks=ctx(runtime).limits.max_breadth)
    except AgentError as exc:
        return {"nodes": {node["id"]: {"scored": True}}, "problems": [f"task {node['id']}: not scored: {exc}"]}
    update = {"scored": True, "complexity": result.complexity, "recommended": result.recommended_subtasks}
    return {"nodes": {node["id"]: update}}


def expand(payload: dict[str, Any], runtime: Runtime[BreakdownContext]) -> dict[str, Any]:
    node: PlanNode = payload["node"]
    count = payload["count"]
    try:
        drafts = expand_task(
            ctx(runtime).router,
            TaskBrief(**payload["brief"]),
            min_items=1,
            max_items=count,
            context=payload.get("research"),
        )
    except AgentError as exc:
        return {"nodes": {node["id"]: {"expanded": True}}, "problems": [f"task {node['id']}: not expanded: {exc}"]}
    first = node.get("next_child") or 1
    children = nodes_from_drafts(drafts, parent=node["id"], first_id=first, depth=node["depth"] + 1)
    return {"nodes": {node["id"]: {"expanded": True, "force_children": None}, **{c["id"]: c for c in children}}}


def finalize(state: BreakdownState) -> dict[str, Any]:
    return {"tasks": build_tree(state.get("nodes", {}))}


def persist(state: BreakdownState, runtime: Runtime[BreakdownContext]) -> dict[str, Any]:
    ctx_ = ctx(runtime)
    if ctx_.tasks_file is None:
        return {"written": False}
    problems = persist_tree(ctx_.tasks_file, ctx_.tag, state.get("mode", "parse"), state["tasks"], replace=ctx_.replace)
    return {"written": True, "problems": problems}


def build_breakdown_graph(checkpointer: Any = None, *, resolve_context: ContextResolver[Any, Any] | None = None) -> Any:
    """The compiled graph; run it with a BreakdownContext, or with `resolve_context`'s plain values (Studio)."""
    context_schema, live = context_seam(BreakdownContext, resolve_context)
    builder = StateGraph(
        BreakdownState, context_schema=context_schema, input_schema=BreakdownInput, output_schema=BreakdownOutput
    )
    builder.add_node("split", live(split))
    builder.add_node("parse_section", live(parse_one_section))
    builder.add_node("merge", merge)
    builder.add_node("schedule", schedule)
    builder.add_node("score", live(score))
    builder.add_node("expand", live(expand))
    builder.add_node("finalize", finalize)
    builder.add_node("persist", live(persist))
    builder.add_edge(START, "split")
    builder.add_conditional_edges("split", fan_out_sections, ["parse_section", "schedule"])
    builder.add_edge("parse_section", "merge")
    builder.add_edge("merge", "schedule")
    builder.add_conditional_edges("schedule", live(route), ["score", "expand", "finalize"])
    builder.add_edge("score", "schedule")
    builder.add_edge("expand", "schedule")
    builder.add_edge("finalize", "persist")
    builder.add_edge("persist", END)
    return builder.compile(checkpointer=checkpointer)
