"""One claimed task → the graph that can do it → a verified outcome.

Each kind has its own check, so "done" means something:
- code: the codegen graph's verifiers passed (or a person approved); otherwise review, with the reason;
- research: an answer that cites retrieved passages; an uncited answer goes to review;
- plan: the planner wrote concrete details and a test strategy (the schema bounds their length);
- breakdown: at least one subtask was written; the task stays in progress and its subtasks come next.

The subgraphs are called from inside the loop's `work` node, so they share its checkpointer: a human-review
interrupt in codegen pauses the whole run, and a resumed run continues the subgraph where it stopped.
Failures the user can act on become "deferred" with the error's own one-line message; an unreachable model
server becomes "error", which stops the run and hands the task back instead of deferring every task in turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.errors import GraphBubbleUp

from agents.errors import AgentError, EndpointUnavailable
from agents.llm.router import ModelRouter
from agents.planner.agent import TaskBrief, plan_task
from graphs.breakdown.graph import BreakdownContext, build_breakdown_graph
from graphs.breakdown.roots import expansion_root, subtask_count
from graphs.codegen.graph import CodegenContext, build_codegen_graph, result_summary
from graphs.codegen.outputs import write_outputs
from graphs.errors import GraphError
from graphs.research.graph import ResearchContext, build_research_graph
from graphs.research.report import answer_markdown
from graphs.taskmaster.state import WorkResult
from graphs.taskmaster.work_kind import kind_of
from tasks.errors import TaskError
from tasks.model import Task

PASSED_CODE = ("solved", "approved", "edited")


@dataclass
class Dispatcher:
    router: Callable[[], ModelRouter]  # called on first use, so a run with nothing to do starts no model server
    codegen: Callable[[ModelRouter], CodegenContext]
    breakdown: Callable[[ModelRouter], BreakdownContext]
    research: Callable[[ModelRouter], ResearchContext] | None  # None: no knowledge base configured
    code_dir: Path
    threshold: int = 5
    max_depth: int = 2
    max_breadth: int = 5

    def __call__(self, ticket: dict[str, Any]) -> WorkResult:
        kind, why = kind_of(ticket, threshold=self.threshold, max_depth=self.max_depth)
        router = self.router().metered()
        started = time.perf_counter()
        try:
            result = getattr(self, f"_{kind}")(ticket, router)
        except GraphBubbleUp:  # an interrupt (human review) must reach the loop untouched
            raise
        except EndpointUnavailable as exc:
            result = WorkResult(outcome="error", reason=str(exc))
        except (AgentError, GraphError, TaskError) as exc:
            result = WorkResult(outcome="deferred", reason=str(exc))
        tokens_in = sum(u.input_tokens for u in router.meter.tiers.values())
        tokens_out = sum(u.output_tokens for u in router.meter.tiers.values())
        return WorkResult(
            **result,
            kind=kind,
            why=why,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            seconds=round(time.perf_counter() - started, 3),
        )

    # --- kinds ---------------------------------------------------------------------------------------------
    def _code(self, ticket: dict[str, Any], router: ModelRouter) -> WorkResult:
        inputs = {
            "spec": spec_text(ticket),
            "title": ticket["title"],
            "task_id": ticket["task_id"],
            "complexity": ticket.get("complexity"),
        }
        state = build_codegen_graph().invoke(inputs, context=self.codegen(router))
        summary = result_summary(state)
        out = self.code_dir / ticket["task_id"].replace(".", "_")
        written = write_outputs(out, state, summary)
        status = state.get("status")
        note = f"Code: {out} ({summary['attempts']} attempts, solved by {summary['solved_by'] or '-'})"
        if status in PASSED_CODE:
            return WorkResult(outcome="done", details=note, artifacts=[str(p) for p in written])
        problems = "; ".join(state.get("notes", [])[-2:]) or "verification failed"
        return WorkResult(
            outcome="review",
            details=note,
            reason=f"the code did not pass verification ({status}: {problems}); see {out / 'result.json'}",
            artifacts=[str(p) for p in written],
        )

    def _research(self, ticket: dict[str, Any], router: ModelRouter) -> WorkResult:
        if self.research is None:
            return WorkResult(outcome="deferred", reason="no knowledge base; add documents with `taskmaster kb add`")
        question = ticket["title"] if not ticket.get("description") else f"{ticket['title']}: {ticket['description']}"
        context = self.research(router)
        state = build_research_graph().invoke(
            {"question": question, "task_context": ticket.get("details") or None}, context=context
        )
        text = answer_markdown(question, state)
        if "empty_knowledge_base" in state.get("flags", []):
            return WorkResult(
                outcome="deferred", reason="the knowledge base is empty; add documents with `taskmaster kb add`"
            )
        if not state.get("sources"):
            flags = ", ".join(state.get("flags", [])) or "no citations"
            return WorkResult(outcome="review", details=text, reason=f"the answer cites no retrieved source ({flags})")
        return WorkResult(outcome="done", details=text)

    def _plan(self, ticket: dict[str, Any], router: ModelRouter) -> WorkResult:
        brief = TaskBrief(ticket["title"], ticket.get("description", ""), ticket.get("details", ""))
        plan = plan_task(router, brief)
        details, strategy = plan.details.strip(), plan.test_strategy.strip()
        if len(details.split()) < 5:
            return WorkResult(outcome="review", reason="the plan is too short to act on; rerun with a stronger model")
        return WorkResult(outcome="done", details=f"Plan:\n{details}", test_strategy=strategy)

    def _breakdown(self, ticket: dict[str, Any], router: ModelRouter) -> WorkResult:
        task = Task.new(
            int(ticket["task_id"].rsplit(".", 1)[-1]),
            ticket["title"],
            description=ticket.get("description", ""),
            details=ticket.get("details", ""),
            complexity=ticket.get("complexity"),
        )
        count = subtask_count(ticket.get("complexity"), self.max_breadth)
        root = expansion_root(ticket["task_id"], task, count=count, force=False)
        state = build_breakdown_graph().invoke(
            {"mode": "expand", "roots": [root], "research_context": None}, context=self.breakdown(router)
        )
        children = [n for n in state.get("nodes", {}).values() if n.get("parent") == ticket["task_id"]]
        if not children:
            problems = [p for p in state.get("problems", []) if p.startswith(f"task {ticket['task_id']}:")]
            return WorkResult(outcome="deferred", reason=problems[0] if problems else "it could not be broken down")
        return WorkResult(outcome="expanded", reason=None, details=None)


def spec_text(ticket: dict[str, Any]) -> str:
    parts = [ticket["title"], ticket.get("description"), ticket.get("details") and f"Details: {ticket['details']}"]
    parts.append(ticket.get("test_strategy") and f"Test strategy: {ticket['test_strategy']}")
    return "\n\n".join(p for p in parts if p)
