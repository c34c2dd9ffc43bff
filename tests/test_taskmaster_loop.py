"""The autonomous loop's logic with scripted workers: order, statuses, stops, parallel claims, outside edits."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fakes import make_router
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agents.escalation import EscalationMatrix, TypeRule
from graphs.breakdown import BreakdownContext, BreakdownLimits
from graphs.codegen import CodegenContext
from graphs.taskmaster import (
    RECURSION_LIMIT,
    Dispatcher,
    RunLimits,
    TaskmasterContext,
    build_taskmaster_graph,
    kind_of,
)
from tasks.board import TaskBoard
from tasks.claims import ClaimBook, claims_path
from tasks.model import Task, TaskStatus
from tasks.store import TaskFile
from tasks.tree import find_task


def make_store(tmp_path: Path, tasks: list[Task]) -> TaskFile:
    store = TaskFile(tmp_path / "tasks.json")
    store.save(tasks)
    return store


def chain_of_three() -> list[Task]:
    return [
        Task.new(1, "Set up the repo"),
        Task.new(2, "Add the parser", dependencies=[1]),
        Task.new(3, "Add the CLI", dependencies=[2]),
    ]


class Recorder:
    """A scripted worker: returns the outcome given per task id (default done) and logs the order."""

    def __init__(self, outcomes: dict[str, dict[str, Any]] | None = None, tokens: int = 0) -> None:
        self.outcomes = outcomes or {}
        self.tokens = tokens
        self.order: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, ticket: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.order.append(ticket["task_id"])
        result = {"outcome": "done", "kind": "code", "input_tokens": self.tokens, "output_tokens": 0}
        return {**result, **self.outcomes.get(ticket["task_id"], {})}


def run(store: TaskFile, worker: Any, run_id: str = "run-a", **limits: Any) -> tuple[dict[str, Any], list]:
    events: list[tuple[str, str, dict]] = []
    board = TaskBoard(store, ClaimBook(claims_path(store.path)), run_id)
    context = TaskmasterContext(
        board=board, work=worker, limits=RunLimits(**limits), events=lambda t, e, d: events.append((t, e, d))
    )
    graph = build_taskmaster_graph(InMemorySaver())
    config = {"configurable": {"thread_id": run_id}, "recursion_limit": RECURSION_LIMIT}
    state = graph.invoke({}, config, context=context)
    return state, events


def statuses(store: TaskFile) -> dict[str, str]:
    return {str(t.id): t.status.value for t in store.load()}


def test_works_tasks_in_dependency_order_until_all_done(tmp_path: Path) -> None:
    store = make_store(tmp_path, chain_of_three())
    worker = Recorder()
    state, events = run(store, worker)
    assert worker.order == ["1", "2", "3"]
    assert statuses(store) == {"1": "done", "2": "done", "3": "done"}
    assert state["stop_reason"] == "all_done"
    assert [e for _, e, _ in events].count("finished") == 3
    assert ClaimBook(claims_path(store.path)).claims("master") == {}  # every claim released


def test_review_and_deferred_keep_the_reason_in_the_details(tmp_path: Path) -> None:
    store = make_store(tmp_path, [Task.new(1, "A"), Task.new(2, "B")])
    worker = Recorder(
        {
            "1": {"outcome": "review", "reason": "tests failed: see result.json"},
            "2": {"outcome": "deferred", "reason": "the knowledge base is empty"},
        }
    )
    state, _ = run(store, worker)
    tasks = store.load()
    assert tasks[0].status == TaskStatus.REVIEW and "tests failed" in tasks[0].details
    assert tasks[1].status == TaskStatus.DEFERRED and "knowledge base is empty" in tasks[1].details
    assert state["stop_reason"] == "nothing_ready"  # review/deferred are not finished


def test_stops_at_max_tasks(tmp_path: Path) -> None:
    store = make_store(tmp_path, chain_of_three())
    state, _ = run(store, Recorder(), max_tasks=2)
    assert state["stop_reason"] == "max_tasks"
    assert statuses(store) == {"1": "done", "2": "done", "3": "pending"}


def test_stops_at_the_token_budget(tmp_path: Path) -> None:
    store = make_store(tmp_path, chain_of_three())
    state, _ = run(store, Recorder(tokens=100), token_budget=150)
    assert state["stop_reason"] == "token_budget"
    assert statuses(store)["3"] == "pending"


def test_stops_at_max_minutes(tmp_path: Path) -> None:
    store = make_store(tmp_path, chain_of_three())
    now = [0.0]

    def slow_worker(ticket: dict[str, Any]) -> dict[str, Any]:
        now[0] += 40.0  # each task takes 40 "seconds"
        return {"outcome": "done", "kind": "code"}

    board = TaskBoard(store, ClaimBook(claims_path(store.path)), "run-t")
    context = TaskmasterContext(
        board=board, work=slow_worker, limits=RunLimits(max_minutes=1), clock=lambda: now[0], started=0.0
    )
    state = build_taskmaster_graph().invoke({}, {"recursion_limit": RECURSION_LIMIT}, context=context)
    assert state["stop_reason"] == "max_minutes"
    assert statuses(store) == {"1": "done", "2": "done", "3": "pending"}


def test_independent_tasks_run_in_parallel_batches(tmp_path: Path) -> None:
    store = make_store(tmp_path, [Task.new(i, f"T{i}") for i in range(1, 5)])
    barrier = threading.Barrier(2, timeout=10)

    def worker(ticket: dict[str, Any]) -> dict[str, Any]:
        barrier.wait()  # only returns if two tasks are in flight at the same time
        return {"outcome": "done", "kind": "code"}

    state, _events = run(store, worker, concurrency=2)
    assert state["stop_reason"] == "all_done"
    assert set(statuses(store).values()) == {"done"}


def test_parent_tasks_are_started_worked_through_subtasks_and_completed(tmp_path: Path) -> None:
    parent = Task.new(1, "Build the API", subtasks=[Task.new(1, "Routes"), Task.new(2, "Auth", dependencies=[1])])
    store = make_store(tmp_path, [parent, Task.new(2, "Docs", dependencies=[1])])
    worker = Recorder()
    state, _ = run(store, worker)
    assert worker.order == ["1.1", "1.2", "2"]
    assert statuses(store) == {"1": "done", "2": "done"}
    assert "started parent task 1" in state["notes"]


def test_an_unreachable_model_hands_the_task_back_and_stops(tmp_path: Path) -> None:
    store = make_store(tmp_path, chain_of_three())
    state, _ = run(store, Recorder({"1": {"outcome": "error", "reason": "no endpoint answered"}}))
    assert state["stop_reason"] == "error"
    assert statuses(store) == {"1": "pending", "2": "pending", "3": "pending"}


def test_edits_made_under_a_running_loop_are_detected_and_kept(tmp_path: Path) -> None:
    store = make_store(tmp_path, [Task.new(1, "A"), Task.new(2, "B"), Task.new(3, "C")])

    def worker(ticket: dict[str, Any]) -> dict[str, Any]:
        if ticket["task_id"] == "1":
            with store.edit() as tasks:  # a person edits the file while task 1 is being worked
                find_task(tasks, "1").status = TaskStatus.CANCELLED
                find_task(tasks, "3").title = "C, renamed by hand"
        return {"outcome": "done", "kind": "code", "details": "worked"}

    state, _ = run(store, worker)
    tasks = {str(t.id): t for t in store.load()}
    assert tasks["1"].status == TaskStatus.CANCELLED  # the person's status won
    assert "worked" not in tasks["1"].details
    assert tasks["3"].title == "C, renamed by hand" and tasks["3"].status == TaskStatus.DONE
    assert any("set to cancelled outside this run" in n for n in state["notes"])


def test_two_runs_never_take_the_same_task(tmp_path: Path) -> None:
    store = make_store(tmp_path, [Task.new(1, "A"), Task.new(2, "B")])
    book = ClaimBook(claims_path(store.path))
    first = TaskBoard(store, book, "run-1").pick(1)
    second = TaskBoard(store, book, "run-2").pick(2)
    assert [t.task_id for t in first.tickets] == ["1"]
    assert [t.task_id for t in second.tickets] == ["2"]
    assert TaskBoard(store, book, "run-3").pick(2).tickets == []


def test_a_resumed_run_takes_back_its_own_claim(tmp_path: Path) -> None:
    store = make_store(tmp_path, [Task.new(1, "A")])
    book = ClaimBook(claims_path(store.path))
    assert [t.task_id for t in TaskBoard(store, book, "run-1").pick(1).tickets] == ["1"]
    # run-1 "crashed" (the claim is held by this live test process, so it still counts as live for others)
    assert TaskBoard(store, book, "run-2").pick(1).tickets == []
    assert [t.task_id for t in TaskBoard(store, book, "run-1").pick(1).tickets] == ["1"]


def test_an_in_progress_task_nobody_claims_is_left_to_its_owner(tmp_path: Path) -> None:
    store = make_store(tmp_path, [Task.new(1, "A", status="in-progress"), Task.new(2, "B")])
    worker = Recorder()
    _state, _ = run(store, worker)
    assert worker.order == ["2"]
    assert statuses(store)["1"] == "in-progress"


@pytest.mark.parametrize(
    ("ticket", "kind"),
    [
        ({"title": "Research vector databases", "kind": None}, "research"),
        ({"title": "Design the database schema"}, "plan"),
        ({"title": "Implement the login endpoint"}, "code"),
        ({"title": "Implement everything", "complexity": 9, "depth": 0}, "breakdown"),
        ({"title": "Implement everything", "complexity": 9, "depth": 2}, "code"),
        ({"title": "Research it", "kind": "code"}, "code"),
    ],
)
def test_routing_rules(ticket: dict[str, Any], kind: str) -> None:
    assert kind_of(ticket, threshold=5, max_depth=2)[0] == kind


# --- the real dispatcher with a scripted model ---------------------------------------------------------------
GOOD_CODE = (
    "```python\ndef add(a, b):\n    return a + b\n```\n\n"
    "```python\nfrom solution import *\n\n\ndef test_add():\n    assert add(2, 3) == 5\n```"
)


def responder(schema: str, messages: list) -> Any:
    if schema == "TaskPlan":
        details = "Write the schema in db/schema.sql with users and sessions tables."
        return {"details": details, "test_strategy": "x" * 12}
    if schema == "CodePlan":
        return {"steps": ["write add"]}
    if schema == "JudgeVerdict":
        return {"passed": True, "confidence": 0.9, "reasons": ["right"]}
    if schema == "ComplexityScore":
        return {"complexity": 2, "recommended_subtasks": 0, "reasoning": "small"}
    if schema.startswith("TaskDrafts"):
        return {
            "tasks": [
                {
                    "title": "Sub one",
                    "description": "d",
                    "details": "",
                    "test_strategy": "",
                    "priority": "high",
                    "depends_on": [],
                }
            ]
        }
    return GOOD_CODE


def dispatcher(tmp_path: Path, store: TaskFile, matrix: EscalationMatrix | None = None) -> Dispatcher:
    router, _ = make_router(responder)
    limits = BreakdownLimits(5, 2, 5, 60)
    return Dispatcher(
        router=lambda: router,
        codegen=lambda r: CodegenContext(router=r, matrix=matrix or EscalationMatrix()),
        breakdown=lambda r: BreakdownContext(
            router=r, limits=limits, context_length=2048, max_output_tokens=256, tasks_file=store.path, tag="master"
        ),
        research=None,
        code_dir=tmp_path / "code",
    )


def test_dispatcher_routes_plan_code_and_breakdown_tasks(tmp_path: Path) -> None:
    store = make_store(
        tmp_path,
        [
            Task.new(1, "Design the database schema"),
            Task.new(2, "Write add(a, b) returning the sum", complexity=2),
            Task.new(3, "Implement the whole billing system", complexity=9),
            Task.new(4, "Research payment providers"),
        ],
    )
    state, _ = run(store, dispatcher(tmp_path, store))
    tasks = {str(t.id): t for t in store.load()}
    assert tasks["1"].status == TaskStatus.DONE and "db/schema.sql" in tasks["1"].details
    assert tasks["2"].status == TaskStatus.DONE
    assert (tmp_path / "code" / "2" / "solution.py").read_text().startswith("def add")
    assert [s.title for s in tasks["3"].subtasks] == ["Sub one"]
    assert tasks["3"].status == TaskStatus.DONE  # its one subtask (code) was done, so the parent completed
    assert tasks["4"].status == TaskStatus.DEFERRED and "kb add" in tasks["4"].details
    kinds = {r["ticket"]["task_id"]: r["kind"] for r in state["results"]}
    assert kinds == {"1": "plan", "2": "code", "3": "breakdown", "3.1": "code", "4": "research"}
    assert all(r["input_tokens"] > 0 for r in state["results"] if r["kind"] != "research")


def test_human_review_in_codegen_pauses_the_run_and_resumes_it(tmp_path: Path) -> None:
    store = make_store(tmp_path, [Task.new(1, "Write add(a, b) returning the sum"), Task.new(2, "Write sub(a, b)")])
    rule = TypeRule(
        complexity_min=0,
        complexity_max=10,
        chain=["coder"],
        verifiers=["syntax"],
        max_attempts=1,
        human_review="always",
    )
    matrix = EscalationMatrix(rules={name: rule for name in EscalationMatrix().rules})
    board = TaskBoard(store, ClaimBook(claims_path(store.path)), "run-h")
    context = TaskmasterContext(board=board, work=dispatcher(tmp_path, store, matrix))
    graph = build_taskmaster_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "run-h"}, "recursion_limit": RECURSION_LIMIT}
    state = graph.invoke({}, config, context=context)
    assert "__interrupt__" in state
    assert statuses(store)["1"] == "in-progress"
    state = graph.invoke(Command(resume={"action": "approve"}), config, context=context)
    assert "__interrupt__" in state  # task 2 also wants review
    state = graph.invoke(Command(resume={"action": "skip"}), config, context=context)
    assert statuses(store) == {"1": "done", "2": "review"}
    assert state["stop_reason"] == "nothing_ready"
