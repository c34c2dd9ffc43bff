"""The public API for autonomous runs (`run`, `runs`, `run_status`) and the codegen ledger's aggregates (`stats`).

A run works through the tag's tasks on its own: next ready task → research, code, plan or break down → verify →
status, until a limit or a human review stops it. Its thread keeps its history: resuming continues where it
stopped (a crash, Ctrl-C, a cancelled MCP call, a pending review) and resuming a finished run feeds it again with a
fresh allowance, since limits count from the start of each call. Heavy resources open on first use, so a run with
nothing to do returns at once without starting a model server.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from taskmaster.errors import AppError, translated
from taskmaster.workspace.coding import OnReview, review_decision

if TYPE_CHECKING:
    from graphs.codegen.records import AttemptRecord
    from taskmaster.workspace.workspace import Workspace

OnRunUpdate = Callable[[str, dict[str, Any]], None]  # (loop node, its state update) for progress displays


class Tokens(BaseModel):
    input: int = 0
    output: int = 0


class RunSummary(BaseModel):
    """What one `run` call did: why it stopped, which tasks ended where, and the review it waits for."""

    thread_id: str
    stop_reason: str  # max_tasks, max_minutes, token_budget, nothing_ready, human_review, error, ...
    state: str  # stopped, or waiting (for a human review)
    done: list[str] = Field(default_factory=list)
    review: list[str] = Field(default_factory=list)
    deferred: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    tokens: Tokens = Field(default_factory=Tokens)
    seconds: float = 0.0
    notes: list[str] = Field(default_factory=list)
    waiting: dict[str, Any] | None = None  # the pending human review, if the run paused for one

    @property
    def input_tokens(self) -> int:
        return self.tokens.input

    @property
    def output_tokens(self) -> int:
        return self.tokens.output

    @property
    def failure(self) -> str | None:
        """When a task failed and stopped the run: what to fix, and how to continue; else None."""
        if self.stop_reason != "error":
            return None
        reason = next((n for n in reversed(self.notes) if "handed back" in n), "a task failed")
        return f"{reason}; fix it, then continue with `taskmaster run --resume {self.thread_id}`"

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class RunInfo(BaseModel):
    """One recorded run: its thread id (to resume), state, and the summary it finished with."""

    thread_id: str
    tag: str
    started_at: float
    updated_at: float
    state: str  # running, stopped, waiting (human review), interrupted, failed
    stop_reason: str | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, Any] | None = None


class RunEvent(BaseModel):
    task_id: str
    event: str
    pid: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class RunStatus(BaseModel):
    run: RunInfo
    events: list[RunEvent] = Field(default_factory=list)


class GroupStats(BaseModel):
    attempts: int = 0
    passed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    reference_cost_usd: float = 0.0
    success_rate: float = 0.0


class LedgerStats(BaseModel):
    """`taskmaster stats`: success by tier and type, attempts, escalations, tokens, and cost saved locally."""

    runs: int = 0
    solved_runs: int = 0
    escalated_runs: int = 0
    mean_attempts: float = 0.0
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    reference_cost_usd: float = 0.0
    escalation_rate: float = 0.0
    cost_saved_usd: float = 0.0
    by_tier: dict[str, GroupStats] = Field(default_factory=dict)
    by_type: dict[str, GroupStats] = Field(default_factory=dict)


def new_thread_id() -> str:
    return f"run-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


def _collect(values: dict[str, Any], summary: RunSummary) -> None:
    latest: dict[str, dict[str, Any]] = {}
    for result in values.get("results", []):
        latest[result["ticket"]["task_id"]] = result
        summary.tokens.input += int(result.get("input_tokens", 0))
        summary.tokens.output += int(result.get("output_tokens", 0))
    buckets = {"done": summary.done, "review": summary.review, "deferred": summary.deferred, "error": summary.failed}
    for task_id, result in latest.items():
        bucket = buckets.get(result.get("outcome", ""))
        if bucket is not None:
            bucket.append(task_id)
    summary.notes = list(values.get("notes", []))


def _source_text(ws: Workspace, prd: str | Path | None, goal: str | None, source_text: str | None) -> str | None:
    from taskmaster.workspace.inputs import read_text_input

    if sum(x is not None for x in (prd, goal, source_text)) > 1:
        raise AppError("give a PRD, a goal or a source text, not more than one")
    if prd is not None:
        path = Path(prd)
        return read_text_input(path, max_bytes=ws.settings.breakdown.max_prd_bytes)
    if goal is not None:
        if not goal.strip():
            raise AppError("the goal is empty; describe what you want to build")
        return f"# Goal\n\n{goal.strip()}\n"
    return source_text


def run(
    ws: Workspace,
    *,
    prd: str | Path | None = None,
    goal: str | None = None,
    source_text: str | None = None,
    max_tasks: int | None = None,
    max_minutes: float | None = None,
    token_budget: int | None = None,
    concurrency: int | None = None,
    resume: str | None = None,
    review: str | dict[str, Any] | None = None,
    edited_code: str | None = None,
    on_update: OnRunUpdate | None = None,
    decide: OnReview | None = None,
) -> RunSummary:
    """Run (or, with `resume=<thread id>`, continue) the autonomous loop until a stop condition.

    When the tag has no tasks the loop plans them first from `prd` (a file), `goal` (a sentence) or `source_text`.
    Limits default to the `[run]` settings and count from the start of this call. `review` answers the pending
    human review of a resumed run ("approve", "skip", or "edit" with `edited_code`); `decide` is asked for every
    review after that (None leaves the run waiting). `on_update` sees each loop step's update.
    """
    from graphs.taskmaster import RECURSION_LIMIT, RunLimits, build_taskmaster_graph

    if review is not None and resume is None:
        raise AppError("a review answers a paused run: also give the run's thread id to resume (see `runs`)")
    first = review_decision(review, edited_code)
    source = _source_text(ws, prd, goal, source_text)
    records = ws.run_records()
    thread_id = resume or new_thread_id()
    r = ws.settings.run
    concurrency = concurrency or r.concurrency
    started = time.monotonic()
    with translated():
        graph = build_taskmaster_graph(ws.checkpointer())
        snapshot = graph.get_state({"configurable": {"thread_id": thread_id}})
    if resume and not snapshot.values:
        raise AppError(
            f"there is no run {resume!r} to resume in this project's checkpoints; list runs with `taskmaster runs`"
        )
    if first is not None and not snapshot.interrupts:
        raise AppError(f"run {thread_id} is not waiting for a review; resume it without a review")
    limits = RunLimits(
        max_tasks=max_tasks if max_tasks is not None else r.max_tasks,
        max_minutes=max_minutes if max_minutes is not None else r.max_minutes,
        token_budget=token_budget if token_budget is not None else r.token_budget,
        concurrency=concurrency,
    )
    context = ws.loop_context(thread_id, limits)
    context.events = lambda task_id, event, detail: records.event(thread_id, task_id, event, detail)
    context.counted_from = len(snapshot.values.get("results", [])) if snapshot.values else 0
    request = {
        "max_tasks": max_tasks,
        "max_minutes": max_minutes,
        "token_budget": token_budget,
        "concurrency": concurrency,
        "resume": resume,
        "review": first,
    }
    records.start(thread_id, ws.settings.tag, {k: v for k, v in request.items() if v is not None})
    answers = [first] if first is not None else []

    def on_interrupt(payload: Any) -> Any:
        if answers:
            return answers.pop()
        return decide(payload) if decide is not None else None

    def updates(node: str, update: Any) -> None:
        if on_update is not None and isinstance(update, dict):
            on_update(node, update)

    try:
        with translated():
            result = ws.run_thread(
                lambda _saver: graph,
                {"source_text": source},
                thread_id,
                context=context,
                finished="continue",
                on_update=updates,
                on_interrupt=on_interrupt,
                config={"recursion_limit": RECURSION_LIMIT, "max_concurrency": concurrency},
            )
    except KeyboardInterrupt:
        records.finish(thread_id, "interrupted", None, {})
        raise
    except BaseException as exc:
        records.finish(thread_id, "failed", "error", {"error": str(exc)})
        raise
    summary = RunSummary(thread_id=thread_id, stop_reason="", state="stopped")
    _collect(result.values, summary)
    if result.is_waiting:
        summary.stop_reason, summary.state = "human_review", "waiting"
        summary.waiting = dict(result.waiting or {})
    else:
        summary.stop_reason = result.values.get("stop_reason") or "nothing_ready"
        context.board.claims.release_run(ws.settings.tag, thread_id)
    summary.seconds = round(time.monotonic() - started, 2)
    records.finish(thread_id, summary.state, summary.stop_reason, summary.as_json())
    return summary


def _info(row: Any) -> RunInfo:
    return RunInfo(**{name: getattr(row, name) for name in RunInfo.model_fields})


def runs(ws: Workspace, limit: int = 20) -> list[RunInfo]:
    """The `limit` most recent autonomous runs, newest first (their thread ids resume them)."""
    return [_info(row) for row in ws.run_records().recent(limit)]


def run_status(ws: Workspace, thread_id: str) -> RunStatus:
    """One run and its task-by-task events (claimed, started, finished, released, ...)."""
    records = ws.run_records()
    row = records.get(thread_id)
    if row is None:
        raise AppError(f"no run {thread_id!r} in this project; list runs with `taskmaster runs`")
    events = [RunEvent(task_id=t, event=e, pid=p, detail=d) for t, e, p, d in records.events(thread_id)]
    return RunStatus(run=_info(row), events=events)


def _since(since: datetime | str | None) -> datetime | None:
    if since is None or isinstance(since, datetime):
        return since
    try:
        return datetime.fromisoformat(since)
    except ValueError:
        raise AppError(f"since {since!r} is not an ISO date or time; use e.g. 2026-01-31 or 2026-01-31T12:00") from None


def ledger_records(ws: Workspace, since: datetime | str | None = None) -> list[AttemptRecord]:
    """Every codegen attempt in the ledger (at or after `since`); an absent ledger is not created."""
    moment = _since(since)
    if not ws.paths.ledger.exists():
        return []
    return [row.record for row in ws.ledger().rows(moment)]


def stats(ws: Workspace, since: datetime | str | None = None) -> LedgerStats:
    """Aggregates over the codegen ledger (attempts at or after `since`, an ISO date/time or a datetime)."""
    from taskmaster.workspace.stats import summarize

    return LedgerStats.model_validate(summarize(ledger_records(ws, since)).as_dict())
