"""Entry points for LangGraph Studio / `langgraph dev` (see langgraph.json).

Studio loads module-level compiled graphs, supplies its own checkpointer and gives each run only plain values as
its context (the run's configurable values); it cannot pass live objects such as a model router. So every graph
here declares `StudioRun` (which project, tag and profile the run works on) as its context schema, and is built
with a resolver that turns those values into the graph's live context through a Workspace, as every other entry
point does. There is one Workspace per (project, tag, profile), opened on a node's first use (in its worker thread,
not on the server's event loop) and kept for the process; for the embedded profile its router starts (or joins)
the shared llama.cpp server on the first model call. Everything opened is closed when the Studio process exits.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from graphs.breakdown import build_breakdown_graph
from graphs.codegen import build_codegen_graph
from graphs.context import ContextResolver
from graphs.errors import GraphError
from graphs.research import build_research_graph
from graphs.taskmaster import RECURSION_LIMIT, build_taskmaster_graph
from taskmaster.workspace import Workspace

if TYPE_CHECKING:
    from graphs.breakdown import BreakdownContext
    from graphs.codegen import CodegenContext
    from graphs.research import ResearchContext
    from graphs.taskmaster import TaskmasterContext

T = TypeVar("T")
STUDIO_RUN_ID = "studio"  # codegen attempts from Studio show up under this run in `taskmaster stats`


@dataclass(eq=False)  # compared by identity: each run coerces its own instance, which keys its context
class StudioRun:
    """What a Studio run may choose; unset fields fall back to the server's settings."""

    project: str | None = None  # project directory (default: TASKMASTER_PROJECT_DIR or the server's directory)
    tag: str | None = None  # default: the project's active tag
    profile: str | None = None  # default: the project's configured profile


OpenWorkspace = Callable[[StudioRun], Workspace]
Key = tuple[str | None, str | None, str | None]  # project directory (resolved), tag, profile


def open_workspace(run: StudioRun) -> Workspace:
    return Workspace.open(run.project, tag=run.tag, profile=run.profile)


class StudioWorkspaces:
    """The Workspaces Studio runs use, one per (project, tag, profile), and each run's graph context.

    A run's context is built once, on its first node, from the run's Workspace (which holds the router, knowledge
    base and ledger for every run on that project), then reused by the run's other nodes: the loop's limits count
    from the run's start, and a research run started after `taskmaster kb add` sees the new documents.
    """

    def __init__(self, open_workspace: OpenWorkspace = open_workspace) -> None:
        self._open = open_workspace
        self._lock = threading.RLock()  # parallel branches of a run resolve their context at once
        self._workspaces: dict[Key, Workspace] = {}
        self._runs: weakref.WeakKeyDictionary[StudioRun, Any] = weakref.WeakKeyDictionary()

    @staticmethod
    def _key(run: StudioRun) -> Key:
        project = str(Path(run.project).expanduser().resolve()) if run.project else None
        return project, run.tag or None, run.profile or None

    def workspace(self, run: StudioRun) -> Workspace:
        """The Workspace of the run's project, tag and profile (unset: the server's defaults)."""
        key = self._key(run)
        with self._lock:
            if key not in self._workspaces:
                self._workspaces[key] = self._open(StudioRun(*key))
            return self._workspaces[key]

    def _context(self, run: StudioRun | None, build: Callable[[Workspace], T]) -> T:
        if run is None:  # the server always passes one; without it each node would build a context of its own
            raise GraphError("a Studio graph needs its run's context; invoke it with context=StudioRun(...) or {}")
        with self._lock:
            if run not in self._runs:
                self._runs[run] = build(self.workspace(run))
            return self._runs[run]  # type: ignore[no-any-return]

    def breakdown(self, run: StudioRun | None) -> BreakdownContext:
        # Studio runs return the tree; write it with `taskmaster import` if wanted
        return self._context(run, lambda ws: ws.breakdown_context(write=False))

    def research(self, run: StudioRun | None) -> ResearchContext:
        return self._context(run, lambda ws: ws.research_context())

    def codegen(self, run: StudioRun | None) -> CodegenContext:
        return self._context(run, lambda ws: ws.codegen_context(STUDIO_RUN_ID))

    def loop(self, run: StudioRun | None) -> TaskmasterContext:
        """The loop's context, claiming tasks as the run's Studio thread."""
        from langgraph.config import get_config

        def build(ws: Workspace) -> TaskmasterContext:
            return ws.loop_context(str(get_config()["configurable"].get("thread_id") or STUDIO_RUN_ID))

        return self._context(run, build)

    def close(self) -> None:
        """Release every workspace (model servers' lease, knowledge bases, database connections)."""
        with self._lock:
            workspaces = list(self._workspaces.values())
            self._workspaces.clear()
            self._runs.clear()
        for ws in workspaces:
            ws.close()


def studio_graphs(workspaces: StudioWorkspaces) -> dict[str, Any]:
    """The four graphs Studio serves, each resolving its context from a run's `StudioRun` values."""

    def resolver(resolve: Callable[[StudioRun | None], Any]) -> ContextResolver[StudioRun, Any]:
        return ContextResolver(StudioRun, resolve)

    return {
        "breakdown": build_breakdown_graph(resolve_context=resolver(workspaces.breakdown)),
        "research": build_research_graph(resolve_context=resolver(workspaces.research)),
        "codegen": build_codegen_graph(resolve_context=resolver(workspaces.codegen)),
        "taskmaster": build_taskmaster_graph(resolve_context=resolver(workspaces.loop)).with_config(
            recursion_limit=RECURSION_LIMIT
        ),
    }


WORKSPACES = StudioWorkspaces()
atexit.register(WORKSPACES.close)
_graphs = studio_graphs(WORKSPACES)
breakdown = _graphs["breakdown"]
research = _graphs["research"]
codegen = _graphs["codegen"]
taskmaster = _graphs["taskmaster"]
