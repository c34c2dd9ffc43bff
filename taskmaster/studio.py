"""Entry points for LangGraph Studio / `langgraph dev` (see langgraph.json).

Studio loads module-level compiled graphs, supplies its own checkpointer, and passes each run a plain dict
as context (the run's configurable values); it cannot pass live objects such as a model router. So every
graph here gets a stand-in context schema that ignores that dict and hands the nodes a lazy view of one
context built from Settings (the current directory's taskmaster.toml and TASKMASTER_* variables, or
TASKMASTER_PROJECT_DIR) on first use, inside a node's worker thread rather than on the server's event loop.
For the embedded profile that starts (or joins) the shared llama.cpp server; everything opened is closed
when the Studio process exits.
"""

from __future__ import annotations

import atexit
import functools
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from pydantic_core import core_schema

from graphs.breakdown import graph as breakdown_module
from graphs.breakdown.graph import BreakdownContext, build_breakdown_graph
from graphs.codegen import CodegenContext, build_codegen_graph
from graphs.research import ResearchContext, build_research_graph
from graphs.taskmaster import RECURSION_LIMIT, RunLimits, TaskmasterContext, build_taskmaster_graph
from taskmaster.settings import Settings, load_settings
from taskmaster.workspace import runtime
from taskmaster.workspace.models import model_router

_resources = ExitStack()
atexit.register(_resources.close)
_build_lock = threading.Lock()  # parallel branches of the first run must not start two routers


@functools.cache
def _settings() -> Settings:
    return load_settings()


@functools.cache
def _router() -> Any:
    return _resources.enter_context(model_router(_settings()))


def _once(factory: Callable[[], Any]) -> Callable[[], Any]:
    cached = functools.cache(factory)

    @functools.wraps(factory)
    def build() -> Any:
        with _build_lock:
            return cached()

    return build


@_once
def breakdown_context() -> BreakdownContext:
    # Studio runs return the tree; write it with `taskmaster import` if wanted
    return runtime.breakdown_context(_settings(), _router(), tasks_file=None)


@_once
def research_context() -> ResearchContext:
    from knowledge.base import KnowledgeBase

    kb = KnowledgeBase.open(_settings().knowledge)
    _resources.callback(kb.close)
    from taskmaster.workspace.research_context import research_limits

    return ResearchContext.for_knowledge_base(_router(), kb, limits=research_limits(_settings()))


@_once
def codegen_context() -> CodegenContext:
    from taskmaster.workspace.ledger import Ledger, ledger_path

    settings = _settings()
    return CodegenContext(
        router=_router(),
        matrix=settings.escalation.model_copy(deep=True),
        record=Ledger(ledger_path(settings.data_dir)),  # Studio attempts show up in `taskmaster stats`
        run_id="studio",
    )


@functools.cache
def _autonomy_resources() -> Any:
    from taskmaster.workspace.autonomy import LazyResources

    return LazyResources(_settings(), _resources)


def taskmaster_context() -> TaskmasterContext:
    """A fresh context per run (limits count from the run's start), claiming tasks as the Studio thread."""
    from langgraph.config import get_config

    from taskmaster.workspace.autonomy import loop_context

    settings = _settings()
    thread_id = str(get_config()["configurable"].get("thread_id") or "studio")
    r = settings.run
    limits = RunLimits(
        max_tasks=r.max_tasks, max_minutes=r.max_minutes, token_budget=r.token_budget, concurrency=r.concurrency
    )
    return loop_context(settings, _autonomy_resources(), thread_id, limits)


class LazyContext:
    """Forwards attribute access to the Settings-built context, built on first use: one per run."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._built: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        with self._lock:
            if self._built is None:
                self._built = self._factory()
        return getattr(self._built, name)


def settings_context(name: str, factory: Callable[[], Any]) -> type:
    """A context schema Studio can coerce its dict into (a dataclass) and describe (an empty object)."""

    @dataclass
    class FromSettings:
        def __new__(cls, **_run_values: Any) -> Any:  # type: ignore[misc]
            return LazyContext(factory)

        @classmethod
        def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
            return core_schema.typed_dict_schema({})

    FromSettings.__name__ = FromSettings.__qualname__ = name
    return FromSettings


def for_studio(graph: Any, name: str, factory: Callable[[], Any]) -> Any:
    return graph.copy(update={"context_schema": settings_context(name, factory)})


breakdown_module.context_factory = breakdown_context  # its nodes accept a missing context through this hook
breakdown = for_studio(build_breakdown_graph(), "BreakdownFromSettings", breakdown_context)
research = for_studio(build_research_graph(), "ResearchFromSettings", research_context)
codegen = for_studio(build_codegen_graph(), "CodegenFromSettings", codegen_context)
taskmaster = for_studio(
    build_taskmaster_graph().with_config(recursion_limit=RECURSION_LIMIT), "TaskmasterFromSettings", taskmaster_context
)
