"""The top-level autonomous loop.

seed → pick ⇄ (Send per ready task) work → apply → pick … → END

`pick` checks the stop conditions (all done, nothing ready, --max-tasks, --max-minutes, the token budget), then
claims up to `concurrency` ready tasks (Task Master's `next` order, dependencies respected, never a task another
live run holds) and marks them in-progress. Each `work` branch routes its task to research, codegen, the planner
or breakdown and verifies the outcome; `apply` writes the statuses back (done, review, or deferred with a reason).
A human-review interrupt inside codegen pauses the whole run; `Command(resume=…)` continues it.

Every superstep is checkpointed: a run killed mid-task resumes with the finished branches' results kept and only
the unfinished task redone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from graphs.context import ContextResolver, context_seam
from graphs.errors import GraphError
from graphs.taskmaster.state import TaskmasterInput, TaskmasterOutput, TaskmasterState, WorkResult
from tasks.board import TaskBoard, Ticket
from tasks.model import TaskStatus

RECURSION_LIMIT = 100_000  # three supersteps per round; the loop's own limits stop it, not LangGraph's
OUTCOME_STATUS = {
    "done": TaskStatus.DONE,
    "review": TaskStatus.REVIEW,
    "deferred": TaskStatus.DEFERRED,
    "expanded": TaskStatus.IN_PROGRESS,
}
EventSink = Callable[[str, str, dict[str, Any]], None]  # (task id, event, detail)


@dataclass(frozen=True)
class RunLimits:
    max_tasks: int | None = None
    max_minutes: float | None = None
    token_budget: int | None = None
    concurrency: int = 1


@dataclass
class TaskmasterContext:
    board: TaskBoard
    work: Callable[[dict[str, Any]], WorkResult]  # routes one claimed task to a graph and verifies the outcome
    parse: Callable[[str], None] | None = None  # turns a PRD or goal into tasks on an empty tag
    limits: RunLimits = field(default_factory=RunLimits)
    events: EventSink | None = None
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)  # this process's start: --max-minutes is per invocation
    counted_from: int = 0  # results before this index belong to earlier invocations (limits are per invocation)

    def emit(self, task_id: str, event: str, **detail: Any) -> None:
        if self.events is not None:
            self.events(task_id, event, detail)


def ctx(runtime: Runtime[TaskmasterContext]) -> TaskmasterContext:
    if runtime.context is None:
        raise GraphError("the taskmaster graph needs a TaskmasterContext; run it through `taskmaster run`")
    return runtime.context


def _counted(results: list[WorkResult]) -> list[WorkResult]:
    """Results that used up a task slot (a task taken over by another run or handed back did not)."""
    return [r for r in results if r.get("outcome") not in ("superseded", "error")]


# --- nodes ---------------------------------------------------------------------------------------------------
def seed(state: TaskmasterState, runtime: Runtime[TaskmasterContext]) -> dict[str, Any]:
    c = ctx(runtime)
    if state.get("seeded"):
        return {}
    source = (state.get("source_text") or "").strip()
    notes: list[str] = []
    if source and c.board.is_empty():
        if c.parse is None:
            raise GraphError("this run cannot plan from a PRD or goal (no planner configured)")
        c.parse(source)
        notes.append("planned tasks from the PRD/goal")
    elif source:
        notes.append(f"tag {c.board.tag!r} already has tasks; the PRD/goal was not parsed again")
    return {"seeded": True, "applied": state.get("applied", 0), "notes": notes}


def pick(state: TaskmasterState, runtime: Runtime[TaskmasterContext]) -> dict[str, Any]:
    c = ctx(runtime)
    limits = c.limits
    mine = state.get("results", [])[c.counted_from :]
    counted = _counted(mine)
    tokens = sum(r.get("input_tokens", 0) + r.get("output_tokens", 0) for r in mine)
    if limits.max_tasks is not None and len(counted) >= limits.max_tasks:
        return {"batch": [], "stop_reason": "max_tasks"}
    if limits.max_minutes is not None and c.clock() - c.started >= limits.max_minutes * 60:
        return {"batch": [], "stop_reason": "max_minutes"}
    if limits.token_budget is not None and tokens >= limits.token_budget:
        return {"batch": [], "stop_reason": "token_budget"}
    room = limits.concurrency
    if limits.max_tasks is not None:
        room = min(room, limits.max_tasks - len(counted))
    chosen = c.board.pick(room)
    notes = [f"started parent task {p}" for p in chosen.started_parents]
    notes += [f"task {p} done: all its subtasks are finished" for p in chosen.completed_parents]
    if not chosen.tickets:
        if chosen.open_tasks == 0 and not chosen.all_finished and c.board.is_empty():
            notes.append(f"tag {c.board.tag!r} has no tasks; plan some with --prd, --goal or `taskmaster parse-prd`")
        return {"batch": [], "stop_reason": "all_done" if chosen.all_finished else "nothing_ready", "notes": notes}
    for ticket in chosen.tickets:
        c.emit(ticket.task_id, "claimed")
    return {"batch": [t.as_dict() for t in chosen.tickets], "stop_reason": None, "notes": notes}


def after_pick(state: TaskmasterState) -> list[Send] | str:
    if state.get("stop_reason") or not state.get("batch"):
        return END
    return [Send("work", ticket) for ticket in state["batch"]]


def work(ticket: dict[str, Any], runtime: Runtime[TaskmasterContext]) -> dict[str, Any]:
    c = ctx(runtime)
    task_id = ticket["task_id"]
    if not c.board.still_ours(task_id):
        reason = "another run took this task over while this run was stopped"
        return {"results": [WorkResult(ticket=ticket, kind="", outcome="superseded", reason=reason)]}
    c.emit(task_id, "started")
    result = c.work(ticket)
    return {"results": [{**result, "ticket": ticket}]}


def apply(state: TaskmasterState, runtime: Runtime[TaskmasterContext]) -> dict[str, Any]:
    c = ctx(runtime)
    results = state.get("results", [])
    start = state.get("applied", 0)
    notes: list[str] = []
    stop: str | None = None
    for result in results[start:]:
        ticket = Ticket(**result["ticket"])
        outcome = result.get("outcome", "deferred")
        if outcome == "superseded":
            notes.append(f"task {ticket.task_id}: {result.get('reason')}")
            continue
        if outcome == "error":
            c.board.hand_back(ticket)
            stop = "error"
            notes.append(f"task {ticket.task_id} handed back: {result.get('reason')}")
            c.emit(ticket.task_id, "handed_back", reason=result.get("reason"))
            continue
        finish = c.board.finish(
            ticket,
            OUTCOME_STATUS[outcome],
            details=result.get("details"),
            test_strategy=result.get("test_strategy"),
            reason=result.get("reason"),
        )
        if finish.note:
            notes.append(finish.note)
        c.emit(ticket.task_id, "finished", outcome=outcome, applied=finish.applied, kind=result.get("kind"))
    update: dict[str, Any] = {"applied": len(results), "batch": [], "notes": notes}
    if stop:
        update["stop_reason"] = stop
    return update


def after_apply(state: TaskmasterState) -> str:
    return END if state.get("stop_reason") else "pick"


def build_taskmaster_graph(
    checkpointer: Any = None, *, resolve_context: ContextResolver[Any, Any] | None = None
) -> Any:
    """The compiled loop; run it with a TaskmasterContext, or with `resolve_context`'s plain values (Studio).

    A resolver is called by every node of a run, so it returns the same live context throughout one run (the
    limits count from the run's start) and a fresh one for the next.
    """
    context_schema, live = context_seam(TaskmasterContext, resolve_context)
    builder = StateGraph(
        TaskmasterState, context_schema=context_schema, input_schema=TaskmasterInput, output_schema=TaskmasterOutput
    )
    builder.add_node("seed", live(seed))
    builder.add_node("pick", live(pick))
    builder.add_node("work", live(work))
    builder.add_node("apply", live(apply))
    builder.add_edge(START, "seed")
    builder.add_edge("seed", "pick")
    builder.add_conditional_edges("pick", after_pick, ["work", END])
    builder.add_edge("work", "apply")
    builder.add_conditional_edges("apply", after_apply, ["pick", END])
    return builder.compile(checkpointer=checkpointer)
