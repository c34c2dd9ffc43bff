"""The Workspace: one project directory and its Settings, turned into the objects every entry point needs.

This is the only place Settings become objects: the model router (starting the embedded llama.cpp servers when
the profile needs them), the knowledge base, the attempt ledger, run records, task claims, the checkpointer, and
each graph's context. Resources open lazily on first use (a `taskmaster list` starts no model, a run with nothing
to do opens no knowledge base), from any thread, once; `close()` (or leaving the `with` block) releases them,
including the embedded servers' lease. The CLI, MCP server, Studio, scheduler, evals and the Python API all build
their work through one Workspace, so they do the same thing the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from taskmaster.settings import Settings, load_settings
from taskmaster.workspace import coding as _coding
from taskmaster.workspace import knowledge as _knowledge
from taskmaster.workspace import planning as _planning
from taskmaster.workspace import research as _research
from taskmaster.workspace import runs as _runs
from taskmaster.workspace import tasks_api as _tasks_api
from taskmaster.workspace.paths import WorkspacePaths
from taskmaster.workspace.threads import Finished, OnInterrupt, OnUpdate, ThreadResult, run_thread

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from agents.escalation import EscalationMatrix
    from agents.llm.config import ModelConfig
    from agents.llm.router import ModelRouter
    from graphs.breakdown.graph import BreakdownContext, BreakdownLimits
    from graphs.codegen import CodegenContext
    from graphs.research import ResearchContext, ResearchLimits
    from graphs.taskmaster import Dispatcher, RunLimits, TaskmasterContext
    from knowledge.base import KnowledgeBase
    from taskmaster.workspace.knowledge import KnowledgeAPI
    from taskmaster.workspace.ledger import Ledger
    from taskmaster.workspace.run_records import RunRecords
    from taskmaster.workspace.start_policy import LedgerStartPolicy
    from tasks.claims import ClaimBook
    from tasks.store import TaskFile

T = TypeVar("T")
Warn = Callable[[str], None]

# --research for parse-prd, expand and code: a few retrieved passages, delimited as data by the planner's prompt
RESEARCH_PASSAGES = 4
RESEARCH_CHARS = 2400


def project_settings(
    path: str | Path | None = None, *, tag: str | None = None, profile: str | None = None, **overrides: Any
) -> Settings:
    """Settings for project directory `path` (default: TASKMASTER_PROJECT_DIR or the current directory), the one
    way every shell loads them: `overrides` (CLI flags, MCP arguments), TASKMASTER_* variables, the project's
    taskmaster.toml, then the user's. Without a tag given or configured, Task Master's active tag (state.json's
    currentTag) is used, as Task Master does."""
    from tasks.tags import current_tag

    if tag:
        overrides["tag"] = tag
    if profile:
        overrides["profile"] = profile
    settings = load_settings(Path(path) if path is not None else None, **overrides)
    if "tag" not in settings.model_fields_set:
        settings.tag = current_tag(settings.tasks_file)
    return settings


class Workspace:
    """A project and its configured resources. Build it with `Workspace.open(path)`; use it as a context manager."""

    # --- the public API (docs/python-api.md) --------------------------------------------------------------------
    # One module per capability; each function takes the workspace as its first argument and is assigned here, so
    # the methods keep their modules' signatures and docstrings. The modules import their heavy parts lazily.
    parse_prd = _planning.parse_prd
    plan_goal = _planning.plan_goal
    expand = _planning.expand
    analyze_complexity = _planning.analyze_complexity
    research = _research.research
    code = _coding.code
    verify = _coding.verify
    run = _runs.run
    runs = _runs.runs
    run_status = _runs.run_status
    stats = _runs.stats

    @property
    def tasks(self) -> _tasks_api.TasksAPI:
        """tasks.json, Task Master's way: list, get, next, set_status, add, update, move, remove, tags, …"""
        return _tasks_api.TasksAPI.of(self)

    @property
    def kb(self) -> KnowledgeAPI:
        """The knowledge base: add, search, list, remove, stats."""
        return _knowledge.KnowledgeAPI(self)

    def __init__(
        self, settings: Settings, *, warn: Warn | None = None, shared_router: Callable[[], ModelRouter] | None = None
    ) -> None:
        """`shared_router` supplies a router owned by the caller (the MCP server keeps one per process, so the
        embedded servers stay up between tool calls); this workspace then never closes it."""
        self.settings = settings
        self.paths: WorkspacePaths = settings.paths
        self.warn: Warn = warn or (lambda message: None)  # the CLI prints these to stderr as `warning: ...`
        self._shared_router = shared_router
        self._stack = ExitStack()
        self._lock = threading.RLock()  # parallel graph branches may ask for the same resource at once
        self._opened: dict[str, Any] = {}

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        tag: str | None = None,
        profile: str | None = None,
        warn: Warn | None = None,
        **overrides: Any,
    ) -> Workspace:
        """The workspace of project directory `path` (default: TASKMASTER_PROJECT_DIR or the current directory).

        Settings come from `overrides`, TASKMASTER_* variables, the project's taskmaster.toml, then the user's.
        Without a tag, Task Master's active tag (state.json's currentTag) is used.
        """
        return cls(project_settings(path, tag=tag, profile=profile, **overrides), warn=warn)

    # --- lifetime ----------------------------------------------------------------------------------------------
    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release everything opened (model servers' lease, the knowledge base, database connections)."""
        with self._lock:
            self._opened.clear()
            self._stack.close()
            self._stack = ExitStack()

    def _once(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._opened:
                self._opened[name] = build()
            return self._opened[name]  # type: ignore[no-any-return]

    def _enter(self, name: str, manager: Callable[[], AbstractContextManager[T]]) -> T:
        return self._once(name, lambda: self._stack.enter_context(manager()))

    # --- resources (lazy) --------------------------------------------------------------------------------------
    def router(self) -> ModelRouter:
        """The model router for the configured profile; starts (or joins) the embedded servers on first use."""
        from taskmaster.workspace.models import model_router

        if self._shared_router is not None:
            return self._once("router", self._shared_router)
        return self._enter("router", lambda: model_router(self.settings))

    def model_config(self, embedded_url: str | None = None) -> ModelConfig:
        """The profile's tiers, roles and limits as configured, without starting any server (the embedded tiers
        name their model's server, or `embedded_url` for all of them)."""
        from taskmaster.workspace.profiles import model_config

        return model_config(self.settings, embedded_url)

    def knowledge_base(self) -> KnowledgeBase:
        from knowledge.base import KnowledgeBase

        def open_kb() -> KnowledgeBase:
            kb = KnowledgeBase.open(self.settings.knowledge)
            self._stack.callback(kb.close)
            return kb

        return self._once("knowledge_base", open_kb)

    def checkpointer(self) -> BaseCheckpointSaver:
        """SQLite in the project, or Postgres when `checkpoint_url` is set (checked against allow_hosts)."""
        from taskmaster.workspace.checkpoints import open_checkpointer

        return self._enter("checkpointer", lambda: open_checkpointer(self.settings))

    def ledger(self) -> Ledger:
        from taskmaster.workspace.ledger import Ledger

        return self._once("ledger", lambda: Ledger(self.paths.ledger))

    def run_records(self) -> RunRecords:
        from taskmaster.workspace.run_records import RunRecords

        return self._once("run_records", lambda: RunRecords(self.paths.runs))

    def claims(self) -> ClaimBook:
        from tasks.claims import ClaimBook

        return self._once("claims", lambda: ClaimBook(self.paths.claims))

    def task_file(self, tag: str | None = None) -> TaskFile:
        """The Task Master-compatible tasks file, on the workspace's tag unless another is named."""
        from tasks.store import TaskFile

        return TaskFile(self.paths.tasks_file, tag=tag or self.settings.tag)

    # --- policies from settings --------------------------------------------------------------------------------
    def escalation_matrix(self, attempts: int | None = None) -> EscalationMatrix:
        """The configured escalation matrix (a copy), with every type's attempts capped when `attempts` is given."""
        matrix = self.settings.escalation.model_copy(deep=True)
        if attempts is not None:
            for name, rule in matrix.rules.items():
                matrix.rules[name] = rule.model_copy(update={"max_attempts": attempts})
        return matrix

    def start_policy(self, run_id: str = "") -> LedgerStartPolicy | None:
        """Adaptive routing's start-tier policy; None when `[routing]` is off (each type starts at its first tier)."""
        if not self.settings.routing.enabled:
            return None
        from taskmaster.workspace.start_policy import LedgerStartPolicy

        return LedgerStartPolicy(self.ledger(), self.settings.routing, run_id=run_id)

    def breakdown_limits(self, depth: int | None = None) -> BreakdownLimits:
        from graphs.breakdown.graph import BreakdownLimits

        b = self.settings.breakdown
        return BreakdownLimits(b.threshold, b.max_depth if depth is None else depth, b.max_breadth, b.max_total_tasks)

    def research_limits(self) -> ResearchLimits:
        """How much model work one research question may cost on this profile.

        On the embedded profile every model call runs on the machine's CPU cores, where prompt length dominates: the
        grading call alone (8 passages) took 150 s on 2 busy cores. Hybrid retrieval of the question itself already
        puts an answering passage in the top 5 for every held-out question (docs/knowledge.md), so there the graph
        skips sub-query planning and grading and shows the writer the top 3 passages, clipped. Served profiles keep
        the full pipeline.
        """
        from graphs.research import ResearchLimits

        if self.settings.profile == "embedded":
            return ResearchLimits(
                max_queries=0, per_query=5, max_candidates=5, max_passages=3, grade=False, prompt_chars=900
            )
        return ResearchLimits()

    # --- graph contexts ----------------------------------------------------------------------------------------
    def breakdown_context(
        self,
        *,
        write: bool = True,
        limits: BreakdownLimits | None = None,
        replace: bool = False,
        router: ModelRouter | None = None,
    ) -> BreakdownContext:
        """The breakdown graph's context, sized from the planner tier; `write=False` returns the tree unwritten."""
        from graphs.breakdown.graph import BreakdownContext

        router = router or self.router()
        tier = router.config.tier_for("planner")[1]
        return BreakdownContext(
            router=router,
            limits=limits or self.breakdown_limits(),
            context_length=tier.context_length,
            max_output_tokens=tier.max_output_tokens,
            tasks_file=self.paths.tasks_file if write else None,
            tag=self.settings.tag,
            replace=replace,
        )

    def research_context(
        self, *, on_stage: Callable[[str], None] | None = None, router: ModelRouter | None = None
    ) -> ResearchContext:
        """The research graph's context; an empty knowledge base gets no router (it is answered without a model)."""
        from graphs.research import ResearchContext

        kb = self.knowledge_base()
        if router is None and not kb.is_empty():
            router = self.router()
        return ResearchContext.for_knowledge_base(router, kb, limits=self.research_limits(), on_stage=on_stage)

    def codegen_context(
        self,
        run_id: str,
        *,
        attempts: int | None = None,
        classify_with_model: bool = False,
        router: ModelRouter | None = None,
    ) -> CodegenContext:
        """Codegen's context: the escalation matrix, the ledger (every attempt is recorded) and adaptive routing."""
        from graphs.codegen import CodegenContext

        return CodegenContext(
            router=router or self.router(),
            matrix=self.escalation_matrix(attempts),
            record=self.ledger(),
            run_id=run_id,
            classify_with_model=classify_with_model,
            start_policy=self.start_policy(run_id),
        )

    def dispatcher(self, run_id: str) -> Dispatcher:
        """Routes one claimed task of an autonomous run to research, breakdown or codegen."""
        from graphs.taskmaster import Dispatcher

        b = self.settings.breakdown
        return Dispatcher(
            router=self.router,
            codegen=lambda router: self.codegen_context(run_id, router=router),
            breakdown=lambda router: self.breakdown_context(router=router),
            research=lambda router: self.research_context(router=router),
            code_dir=self.paths.code_dir,
            threshold=b.threshold,
            max_depth=b.max_depth,
            max_breadth=b.max_breadth,
        )

    def loop_context(self, run_id: str, limits: RunLimits | None = None) -> TaskmasterContext:
        """The autonomous loop's context, claiming tasks as `run_id`; limits default to the `[run]` settings."""
        from graphs.taskmaster import RunLimits, TaskmasterContext
        from tasks.board import TaskBoard

        if limits is None:
            r = self.settings.run
            limits = RunLimits(
                max_tasks=r.max_tasks, max_minutes=r.max_minutes, token_budget=r.token_budget, concurrency=r.concurrency
            )
        return TaskmasterContext(
            board=TaskBoard(self.task_file(), self.claims(), run_id),
            work=self.dispatcher(run_id),
            parse=self._prd_parser(),
            limits=limits,
        )

    def _prd_parser(self) -> Callable[[str], None]:
        def parse(text: str) -> None:
            from graphs.breakdown import build_breakdown_graph
            from graphs.errors import GraphError

            inputs = {"mode": "parse", "source_text": text, "num_tasks": self.settings.breakdown.num_tasks}
            state = build_breakdown_graph().invoke({**inputs, "first_id": 1}, context=self.breakdown_context())
            if not state.get("tasks"):
                raise GraphError("the PRD or goal produced no tasks; make it more specific or use a stronger profile")

        return parse

    # --- inputs shared by several entry points -----------------------------------------------------------------
    def retrieve_context(self, query: str) -> str | None:
        """`--research`: a few passages from the knowledge base for the planner, or None (warning) when it is empty."""
        kb = self.knowledge_base()
        if kb.is_empty():
            self.warn("the knowledge base is empty; add documents with `taskmaster kb add`")
            return None
        hits = kb.search(query, limit=RESEARCH_PASSAGES)
        passages = [f"[{h.source}:{h.line_start}-{h.line_end}]\n{h.text.strip()}" for h in hits]
        return "\n\n".join(passages)[:RESEARCH_CHARS] or None

    def expand_inputs(
        self,
        targets: Sequence[tuple[str, Any]],
        *,
        num: int | None = None,
        depth: int | None = None,
        force: bool = False,
        guidance: str | None = None,
        research: bool = False,
    ) -> tuple[dict[str, Any], BreakdownLimits]:
        """The breakdown graph's input for expanding `targets` ((full id, task) pairs). Each task's subtask count
        comes from `num`, else from analyze-complexity's report (ours or Task Master's, as in Task Master), else
        from its own complexity, capped by the breadth limit."""
        from graphs.breakdown.roots import expansion_root, subtask_count
        from tasks.complexity_report import recommended_subtasks, report_path

        limits = self.breakdown_limits(depth)
        report = report_path(self.paths.tasks_file, self.settings.tag)
        roots = []
        for full_id, task in targets:
            recommended = recommended_subtasks(report, full_id)
            if num:
                count = min(num, limits.max_breadth)
            elif recommended:
                count = min(recommended, limits.max_breadth)
            else:
                count = subtask_count(task.complexity, limits.max_breadth)
            roots.append(expansion_root(full_id, task, count=count, force=force))
        extra = guidance or ""
        if research:
            retrieved = self.retrieve_context(" ".join(t.title for _, t in targets))
            extra = "\n\n".join(filter(None, [extra, retrieved]))
        return {"mode": "expand", "roots": roots, "research_context": extra or None}, limits

    # --- the one run-or-resume loop ----------------------------------------------------------------------------
    def run_thread(
        self,
        build_graph: Callable[[Any], Any],
        inputs: dict[str, Any] | None,
        thread_id: str,
        *,
        context: Any = None,
        fresh: bool = False,
        finished: Finished = "restart",
        on_update: OnUpdate | None = None,
        on_interrupt: OnInterrupt | None = None,
        config: dict[str, Any] | None = None,
    ) -> ThreadResult:
        """Run or resume `thread_id` on the graph `build_graph(checkpointer)` compiles (see threads.run_thread)."""
        graph = build_graph(self.checkpointer())
        return run_thread(
            graph,
            inputs,
            thread_id,
            context=context,
            fresh=fresh,
            finished=finished,
            on_update=on_update,
            on_interrupt=on_interrupt,
            config=config,
        )
