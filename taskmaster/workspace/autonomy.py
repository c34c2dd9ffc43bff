"""`taskmaster run`: the autonomous loop wired to real parts (model router, knowledge base, ledger, checkpointer).

Heavy resources start on first use, so a run with nothing to do (an empty tag, everything blocked) returns at
once without starting a model server. Limits (--max-tasks, --max-minutes, the token budget) count from the start
of each invocation, so `--resume` continues a stopped run with a fresh allowance.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from agents.llm.router import ModelRouter
from graphs.breakdown import build_breakdown_graph
from graphs.codegen import CodegenContext
from graphs.errors import GraphError
from graphs.research import ResearchContext
from graphs.taskmaster import RECURSION_LIMIT, Dispatcher, RunLimits, TaskmasterContext, build_taskmaster_graph
from taskmaster.errors import AppError
from taskmaster.settings import Settings
from taskmaster.workspace.checkpoints import open_checkpointer
from taskmaster.workspace.ledger import Ledger, ledger_path
from taskmaster.workspace.models import model_router
from taskmaster.workspace.research_context import research_limits
from taskmaster.workspace.run_records import RunRecords, records_path
from taskmaster.workspace.runtime import breakdown_context
from tasks.board import TaskBoard
from tasks.claims import ClaimBook, claims_path
from tasks.store import TaskFile

Decide = Callable[[dict[str, Any]], dict[str, Any] | None]  # a pending review's payload → a decision, or None
OnUpdate = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class RunRequest:
    source_text: str | None = None  # a PRD or goal to plan from when the tag is empty
    max_tasks: int | None = None
    max_minutes: float | None = None
    token_budget: int | None = None
    concurrency: int | None = None
    resume: str | None = None  # a thread id
    review: dict[str, Any] | None = None  # the answer to a pending human review


@dataclass
class RunSummary:
    thread_id: str
    stop_reason: str
    state: str
    done: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    waiting: dict[str, Any] | None = None  # the pending human review, if the run paused for one

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tokens"] = {"input": data.pop("input_tokens"), "output": data.pop("output_tokens")}
        return data


def new_thread_id() -> str:
    return f"run-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


class LazyResources:
    """The model router and knowledge base, opened once on first use (from any worker thread)."""

    def __init__(self, settings: Settings, stack: ExitStack) -> None:
        self.settings = settings
        self._stack = stack
        self._lock = threading.Lock()
        self._router: ModelRouter | None = None
        self._kb: Any = None

    def router(self) -> ModelRouter:
        with self._lock:
            if self._router is None:
                self._router = self._stack.enter_context(model_router(self.settings))
            return self._router

    def knowledge_base(self) -> Any:
        with self._lock:
            if self._kb is None:
                from knowledge.base import KnowledgeBase

                self._kb = KnowledgeBase.open(self.settings.knowledge)
                self._stack.callback(self._kb.close)
            return self._kb


def build_dispatcher(settings: Settings, resources: LazyResources, thread_id: str) -> Dispatcher:
    from taskmaster.cli.code_commands import escalation_matrix
    from taskmaster.workspace.start_policy import start_policy_from_settings

    ledger = Ledger(ledger_path(settings.data_dir))
    matrix = escalation_matrix(settings)
    policy = start_policy_from_settings(settings, run_id=thread_id)

    def codegen(router: ModelRouter) -> CodegenContext:
        return CodegenContext(router=router, matrix=matrix, record=ledger, run_id=thread_id, start_policy=policy)

    def research(router: ModelRouter) -> ResearchContext:
        return ResearchContext.for_knowledge_base(router, resources.knowledge_base(), limits=research_limits(settings))

    b = settings.breakdown
    return Dispatcher(
        router=resources.router,
        codegen=codegen,
        breakdown=lambda router: breakdown_context(settings, router, tasks_file=settings.tasks_file),
        research=research,
        code_dir=settings.data_dir / "code",
        threshold=b.threshold,
        max_depth=b.max_depth,
        max_breadth=b.max_breadth,
    )


def prd_parser(settings: Settings, resources: LazyResources) -> Callable[[str], None]:
    def parse(text: str) -> None:
        inputs = {"mode": "parse", "source_text": text, "num_tasks": settings.breakdown.num_tasks, "first_id": 1}
        context = breakdown_context(settings, resources.router(), tasks_file=settings.tasks_file)
        state = build_breakdown_graph().invoke(inputs, context=context)
        if not state.get("tasks"):
            raise GraphError("the PRD or goal produced no tasks; make it more specific or use a stronger profile")

    return parse


def loop_context(settings: Settings, resources: LazyResources, run_id: str, limits: RunLimits) -> TaskmasterContext:
    """The loop's context from Settings, claiming tasks as `run_id` (shared by `taskmaster run` and Studio)."""
    store = TaskFile(settings.tasks_file, settings.tag)
    return TaskmasterContext(
        board=TaskBoard(store, ClaimBook(claims_path(settings.tasks_file)), run_id),
        work=build_dispatcher(settings, resources, run_id),
        parse=prd_parser(settings, resources),
        limits=limits,
    )


@contextmanager
def _graph_and_config(settings: Settings, thread_id: str, concurrency: int) -> Iterator[tuple[Any, dict[str, Any]]]:
    with open_checkpointer(settings) as saver:
        config = {
            "configurable": {"thread_id": thread_id},
            "recursion_limit": RECURSION_LIMIT,
            "max_concurrency": concurrency,
        }
        yield build_taskmaster_graph(saver), config


def _collect(values: dict[str, Any], summary: RunSummary) -> None:
    latest: dict[str, dict[str, Any]] = {}
    for result in values.get("results", []):
        latest[result["ticket"]["task_id"]] = result
        summary.input_tokens += int(result.get("input_tokens", 0))
        summary.output_tokens += int(result.get("output_tokens", 0))
    buckets = {"done": summary.done, "review": summary.review, "deferred": summary.deferred, "error": summary.failed}
    for task_id, result in latest.items():
        bucket = buckets.get(result.get("outcome", ""))
        if bucket is not None:
            bucket.append(task_id)
    summary.notes = list(values.get("notes", []))


def run_autonomous(
    settings: Settings,
    request: RunRequest,
    *,
    on_update: OnUpdate | None = None,
    decide: Decide | None = None,
) -> RunSummary:
    """Run (or resume) the loop until a stop condition; returns what happened."""
    records = RunRecords(records_path(settings.data_dir))
    thread_id = request.resume or new_thread_id()
    r = settings.run
    concurrency = request.concurrency or r.concurrency
    started = time.monotonic()
    with ExitStack() as stack:
        graph, config = stack.enter_context(_graph_and_config(settings, thread_id, concurrency))
        snapshot = graph.get_state(config)
        if request.resume and not snapshot.values:
            raise AppError(
                f"there is no run {request.resume!r} to resume in this project's checkpoints; "
                "list runs with `taskmaster runs`"
            )
        if request.review is not None and not snapshot.interrupts:
            raise AppError(f"run {thread_id} is not waiting for a review; resume it without --review")
        limits = RunLimits(
            max_tasks=request.max_tasks if request.max_tasks is not None else r.max_tasks,
            max_minutes=request.max_minutes if request.max_minutes is not None else r.max_minutes,
            token_budget=request.token_budget if request.token_budget is not None else r.token_budget,
            concurrency=concurrency,
        )
        context = loop_context(settings, LazyResources(settings, stack), thread_id, limits)
        context.events = lambda task_id, event, detail: records.event(thread_id, task_id, event, detail)
        context.counted_from = len(snapshot.values.get("results", [])) if snapshot.values else 0
        board = context.board
        records.start(
            thread_id, settings.tag, {k: v for k, v in asdict(request).items() if k != "source_text" and v is not None}
        )
        payload: Any
        if snapshot.interrupts and request.review is not None:
            from langgraph.types import Command

            payload = Command(resume=request.review)
        elif snapshot.next:
            payload = None  # continue where the run stopped (a crash, Ctrl-C or a pending review)
        else:
            payload = {"source_text": request.source_text}
        try:
            while True:
                for chunk in graph.stream(payload, config, context=context, stream_mode="updates"):
                    for node, update in chunk.items():
                        if on_update is not None and isinstance(update, dict):
                            on_update(node, update)
                snapshot = graph.get_state(config)
                if not snapshot.interrupts:
                    break
                decision = decide(snapshot.interrupts[0].value) if decide else None
                if decision is None:
                    break
                from langgraph.types import Command

                payload = Command(resume=decision)
        except KeyboardInterrupt:
            records.finish(thread_id, "interrupted", None, {})
            raise
        except BaseException as exc:
            records.finish(thread_id, "failed", "error", {"error": str(exc)})
            raise
        summary = RunSummary(thread_id=thread_id, stop_reason="", state="stopped")
        _collect(dict(snapshot.values), summary)
        if snapshot.interrupts:
            summary.stop_reason, summary.state = "human_review", "waiting"
            summary.waiting = dict(snapshot.interrupts[0].value or {})
        else:
            summary.stop_reason = snapshot.values.get("stop_reason") or "nothing_ready"
            board.claims.release_run(settings.tag, thread_id)
        summary.seconds = round(time.monotonic() - started, 2)
        records.finish(thread_id, summary.state, summary.stop_reason, summary.as_json())
        return summary
