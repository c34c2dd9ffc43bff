"""The public API for parse-prd, goal, expand and analyze-complexity: PRDs and tasks broken down by the breakdown graph.

Every function runs the graph through `Workspace.run_thread` on a thread id derived from its inputs (the same
scheme for the CLI, MCP and Python callers), so calling it again with the same inputs resumes a run that was
interrupted (Ctrl-C, a cancelled MCP call, a lost server) instead of paying for the finished steps again. Each run
gets its own view of the workspace's router, metered (its usage is in the result) and capped at the most model
calls the breakdown can need, so runaway input cannot mean unbounded work.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from taskmaster.errors import AppError, translated
from tasks.model import Task, TaskStatus

if TYPE_CHECKING:
    from graphs.breakdown.graph import BreakdownLimits
    from taskmaster.workspace.threads import OnUpdate, ThreadResult
    from taskmaster.workspace.workspace import Workspace

RESEARCH_QUERY_CHARS = 2000  # --research on a PRD searches the knowledge base with its beginning



class RunInfo(BaseModel):
    """How a breakdown run went: its checkpoint thread, whether it resumed one, what it cost, what it skipped."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    thread_id: str
    resumed: bool = False
    usage: str = ""  # model calls, tokens and model seconds spent by this call
    problems: list[str] = []  # what the graph dropped or could not do (an invalid draft, a budget reached)
    tasks_file: Path


class PlanResult(RunInfo):
    """parse_prd / plan_goal: the tag's tasks as written, and how many this run produced."""

    tag: str
    tasks: list[Task]
    top_level: int  # top-level tasks this run produced
    total: int  # tasks and subtasks in the tag after the run


class ExpandResult(RunInfo):
    """expand: each target task (by full id, in the order asked) as written, and those that got no subtasks."""

    ids: list[str]
    tasks: list[Task]  # parallel to ids
    unexpanded: list[str]

    def failure(self) -> str | None:
        """Why the first unexpanded task got no subtasks (the graph's own reason when it gave one), else None."""
        if not self.unexpanded:
            return None
        first = self.unexpanded[0]
        reasons = [p for p in self.problems if p.startswith(f"task {first}:")]
        return reasons[0] if reasons else f"task {first} got no subtasks; retry or use a stronger profile"


class ComplexityScore(BaseModel):
    """One task's complexity (1-10) and recommended subtask count; None when the model gave no valid score."""

    id: str
    title: str
    complexity: int | None = None
    recommended_subtasks: int | None = None

    def report_row(self) -> dict[str, Any]:
        """The row Task Master's complexity report keeps for this task (its expand reads recommendedSubtasks)."""
        return {
            "taskId": int(self.id) if self.id.isdigit() else self.id,
            "taskTitle": self.title,
            "complexityScore": self.complexity,
            "recommendedSubtasks": self.recommended_subtasks,
            "expansionPrompt": f"Break down: {self.title}",
            "reasoning": "",
        }


class ComplexityResult(RunInfo):
    """analyze_complexity: every analysed task's score, and the report file Task Master's tools read."""

    scores: list[ComplexityScore]
    report: Path


# --- the public functions ----------------------------------------------------------------------------------------
def parse_prd(
    ws: Workspace,
    prd: str | Path,
    *,
    num_tasks: int | None = None,
    depth: int | None = None,
    append: bool = False,
    force: bool = False,
    research: bool = False,
    thread: str | None = None,
    fresh: bool = False,
    on_update: OnUpdate | None = None,
) -> PlanResult:
    """Turn the PRD file `prd` (relative paths are in the project) into tasks, score them and expand complex ones
    recursively, up to `depth` levels (default: breakdown.max_depth). A tag that has tasks needs `append` (number
    the new ones after them) or `force` (replace them). `research` adds passages from the knowledge base to the
    planner's prompt. `thread` names the checkpoint thread (default: derived from the inputs); `fresh` discards an
    interrupted run of it. `on_update(node, update)` sees every graph step, for progress displays."""
    from taskmaster.workspace.inputs import read_text_input

    path = Path(prd).expanduser()
    if not path.is_absolute():
        path = ws.paths.project_dir / path
    _check_counts(num_tasks, depth)
    text = read_text_input(path, max_bytes=ws.settings.breakdown.max_prd_bytes)
    return _plan(ws, text, num_tasks, depth, append, force, research, thread, fresh, on_update)


def plan_goal(
    ws: Workspace,
    goal: str,
    *,
    num_tasks: int | None = None,
    depth: int | None = None,
    append: bool = False,
    force: bool = False,
    research: bool = False,
    fresh: bool = False,
    on_update: OnUpdate | None = None,
) -> PlanResult:
    """Like parse_prd, from a goal of one or a few sentences instead of a PRD file."""
    if not goal.strip():
        raise AppError("the goal is empty; describe what you want to build")
    _check_counts(num_tasks, depth)
    text = f"# Goal\n\n{goal.strip()}\n"
    return _plan(ws, text, num_tasks, depth, append, force, research, None, fresh, on_update)


def expand(
    ws: Workspace,
    ids: str | Sequence[str] | None = None,
    *,
    all: bool = False,
    num: int | None = None,
    depth: int = 1,
    force: bool = False,
    prompt: str | None = None,
    research: bool = False,
    fresh: bool = False,
    on_update: OnUpdate | None = None,
) -> ExpandResult:
    """Break the tasks `ids` (e.g. "3" or ["3", "4.2"]), or with `all` every pending top-level task that has no
    subtasks yet (with `force`, those too), into subtasks, `depth` levels deep. Each task gets `num` subtasks, else
    what analyze_complexity recommended, else a count from its complexity. `force` replaces existing subtasks;
    `prompt` is extra guidance for the planner. Tasks that got no subtasks are listed in `unexpanded` (see
    ExpandResult.failure): an expansion that produced nothing is reported, not raised, so `all` keeps the rest."""
    wanted = [ids] if isinstance(ids, str) else list(ids or [])
    wanted = [i.strip() for i in wanted if i.strip()]
    if bool(wanted) == all:
        raise AppError("give task ids or all (--all) to expand, not both")
    _check_counts(num, depth)
    from tasks.tree import find_task

    with translated():
        tasks = ws.task_file().load()
        if all:
            targets = [(str(t.id), t) for t in tasks if t.status == TaskStatus.PENDING and (force or not t.subtasks)]
        else:
            targets = [(i, find_task(tasks, i)) for i in wanted]
    if not targets:
        raise AppError("no pending tasks without subtasks to expand; use force (--force) to redo expanded ones")
    with translated():
        inputs, limits = ws.expand_inputs(
            targets, num=num, depth=depth, force=force, guidance=prompt, research=research
        )
    result, usage = _run(ws, inputs, limits, replace=False, fresh=fresh, on_update=on_update)
    with translated():
        updated = ws.task_file().load()
        written = [find_task(updated, full_id) for full_id, _ in targets]
    parents = {node.get("parent") for node in result.values.get("nodes", {}).values()}
    return ExpandResult(
        ids=[full_id for full_id, _ in targets],
        tasks=written,
        unexpanded=[full_id for full_id, _ in targets if full_id not in parents],
        **_run_info(ws, result, usage),
    )


def analyze_complexity(
    ws: Workspace,
    ids: str | Sequence[str] | None = None,
    *,
    fresh: bool = True,
    on_update: OnUpdate | None = None,
) -> ComplexityResult:
    """Score every pending or in-progress top-level task (or only `ids`) 1-10 and recommend a subtask count. The
    scores go into Task Master's complexity report, which expand (ours and Task Master's) reads. A finished
    analysis is redone on every call (`fresh`): task texts change, and scoring costs one call per task."""
    from graphs.breakdown.roots import expansion_root
    from tasks.complexity_report import write_report

    only = {i.strip() for i in ([ids] if isinstance(ids, str) else ids or []) if i.strip()} or None
    with translated():
        tasks = ws.task_file().load()
    roots = [
        {**expansion_root(str(t.id), t, count=None, force=False), "scored": False}
        for t in tasks
        if t.status in (TaskStatus.PENDING, TaskStatus.IN_PROGRESS) and (only is None or str(t.id) in only)
    ]
    if not roots:
        raise AppError("no pending tasks to analyse; create some with parse-prd first")
    result, usage = _run(
        ws, {"mode": "analyze", "roots": roots}, ws.breakdown_limits(0), replace=False, fresh=fresh, on_update=on_update
    )
    scores = [
        ComplexityScore(
            id=str(n["id"]), title=n["title"], complexity=n.get("complexity"), recommended_subtasks=n.get("recommended")
        )
        for n in result.values.get("nodes", {}).values()
    ]
    rows = [s.report_row() for s in scores if s.complexity is not None]
    with translated():
        report = write_report(ws.paths.tasks_file, ws.settings.tag, rows, total_tasks=len(tasks))
    return ComplexityResult(scores=scores, report=report, **_run_info(ws, result, usage))


# --- shared steps ------------------------------------------------------------------------------------------------
def _check_counts(num: int | None, depth: int | None) -> None:
    """Before anything is loaded or started: a count asks for tasks, so it must be at least one."""
    if num is not None and num < 1:
        raise AppError(f"num must be at least 1 (got {num}); it is how many tasks or subtasks to ask for")
    if depth is not None and depth < 0:
        raise AppError(f"depth must be 0 or more (got {depth})")


def planner_sections(ws: Workspace, text: str) -> list[str]:
    """The PRD sections parse-prd will send, one model call each, computed without starting any server."""
    from graphs.breakdown.sections import section_budget_chars, split_sections
    with translated():
        tier = ws.model_config().tier_for("planner")[1]
    return split_sections(text.strip(), section_budget_chars(tier.context_length, tier.max_output_tokens))


def call_budget(limits: BreakdownLimits, inputs: dict[str, Any], sections: int = 0) -> int:
    """The most model calls a breakdown can need: one per PRD section and per root, then each of at most
    max_total_tasks tasks is scored once and expanded once."""
    return sections + len(inputs.get("roots", [])) + 2 * limits.max_total_tasks


def _plan(
    ws: Workspace,
    text: str,
    num_tasks: int | None,
    depth: int | None,
    append: bool,
    force: bool,
    research: bool,
    thread: str | None,
    fresh: bool,
    on_update: OnUpdate | None,
) -> PlanResult:
    from tasks.tree import iter_tasks, next_child_id

    settings = ws.settings
    with translated():
        existing = ws.task_file().load()
    if existing and not (append or force):
        raise AppError(
            f"tag {settings.tag!r} already has {len(existing)} tasks; add to them with append (--append) or replace "
            "them with force (--force)"
        )
    sections = len(planner_sections(ws, text))
    most = settings.breakdown.max_total_tasks
    if sections > most:
        raise AppError(
            f"the PRD splits into {sections} sections (one model call each), more than breakdown.max_total_tasks "
            f"({most}); split it into smaller PRDs or raise breakdown.max_total_tasks"
        )
    with translated():
        retrieved = ws.retrieve_context(text[:RESEARCH_QUERY_CHARS]) if research else None
    inputs: dict[str, Any] = {
        "mode": "parse",
        "source_text": text,
        "num_tasks": num_tasks or settings.breakdown.num_tasks,
        "first_id": next_child_id(existing) if append else 1,
        "research_context": retrieved,
    }
    limits = ws.breakdown_limits(depth)
    result, usage = _run(
        ws, inputs, limits, replace=force, fresh=fresh, on_update=on_update, sections=sections, thread=thread
    )
    with translated():
        written = ws.task_file().load()
    return PlanResult(
        tag=settings.tag,
        tasks=written,
        top_level=len(result.values.get("tasks", [])),
        total=sum(1 for _ in iter_tasks(written)),
        **_run_info(ws, result, usage),
    )


def breakdown_thread_id(ws: Workspace, inputs: dict[str, Any], limits: BreakdownLimits) -> str:
    """The checkpoint thread of a breakdown: the same inputs, limits, tag and profile give the same thread, from
    whichever shell, so a run interrupted in one resumes in another."""
    from taskmaster.workspace.threads import thread_id_for

    payload = {"inputs": inputs, "limits": limits.__dict__, "tag": ws.settings.tag, "profile": ws.settings.profile}
    return thread_id_for(inputs.get("mode", "parse"), payload)


def _run(
    ws: Workspace,
    inputs: dict[str, Any],
    limits: BreakdownLimits,
    *,
    replace: bool,
    fresh: bool,
    on_update: OnUpdate | None,
    sections: int = 0,
    thread: str | None = None,
) -> tuple[ThreadResult, str]:
    """Run or resume the breakdown of `inputs`; returns where the thread stands and the run's usage summary."""
    from graphs.breakdown import build_breakdown_graph

    thread_id = thread or breakdown_thread_id(ws, inputs, limits)
    with translated():
        ws.checkpointer()  # a dead database fails before any model server is started
        why = " (PRD sections + tasks + 2 x breakdown.max_total_tasks)"
        router = ws.router().metered().limited(call_budget(limits, inputs, sections), why)
        context = ws.breakdown_context(limits=limits, replace=replace, router=router)
        result = ws.run_thread(
            build_breakdown_graph,
            inputs,
            thread_id,
            context=context,
            fresh=fresh,
            on_update=on_update,
            config={"max_concurrency": ws.settings.breakdown.concurrency},
        )
    return result, router.meter.summary()


def _run_info(ws: Workspace, result: ThreadResult, usage: str) -> dict[str, Any]:
    return {
        "thread_id": result.thread_id,
        "resumed": result.resumed,
        "usage": usage,
        "problems": list(result.values.get("problems", [])),
        "tasks_file": ws.paths.tasks_file,
    }
