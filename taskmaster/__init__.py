"""Task Master Local's public Python API.

    from taskmaster import Workspace

    with Workspace.open("path/to/project") as ws:
        plan = ws.parse_prd("prd.md")
        print(ws.tasks.next())
        answer = ws.research("How should passwords be hashed?")
        result = ws.code("3")

Every CLI command has a typed method (docs/python-api.md); results are pydantic models and every error is a
`TaskmasterError` whose message is the CLI's one-line `error:` text. Names are imported on first use, so
`import taskmaster` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from taskmaster.errors import (
    AppError,
    KnowledgeBaseError,
    ModelError,
    ServingError,
    TaskmasterError,
    TaskStoreError,
    WorkflowError,
)

if TYPE_CHECKING:
    from taskmaster.settings import Settings, load_settings
    from taskmaster.workspace.coding import CodeResult, VerifyResult
    from taskmaster.workspace.knowledge import IngestReport, KnowledgeAPI, KnowledgeStats, Passage
    from taskmaster.workspace.planning import ComplexityResult, ExpandResult, PlanResult
    from taskmaster.workspace.research import Citation, ResearchAnswer
    from taskmaster.workspace.runs import LedgerStats, RunStatus, RunSummary
    from taskmaster.workspace.tasks_api import TaskEntry, TaskList, TasksAPI
    from taskmaster.workspace.threads import ThreadResult
    from taskmaster.workspace.workspace import Workspace

_LAZY = {
    "Workspace": "taskmaster.workspace.workspace",
    "ThreadResult": "taskmaster.workspace.threads",
    "Settings": "taskmaster.settings",
    "load_settings": "taskmaster.settings",
    "PlanResult": "taskmaster.workspace.planning",
    "ExpandResult": "taskmaster.workspace.planning",
    "ComplexityResult": "taskmaster.workspace.planning",
    "ResearchAnswer": "taskmaster.workspace.research",
    "Citation": "taskmaster.workspace.research",
    "KnowledgeAPI": "taskmaster.workspace.knowledge",
    "IngestReport": "taskmaster.workspace.knowledge",
    "Passage": "taskmaster.workspace.knowledge",
    "KnowledgeStats": "taskmaster.workspace.knowledge",
    "CodeResult": "taskmaster.workspace.coding",
    "VerifyResult": "taskmaster.workspace.coding",
    "RunSummary": "taskmaster.workspace.runs",
    "RunStatus": "taskmaster.workspace.runs",
    "LedgerStats": "taskmaster.workspace.runs",
    "TasksAPI": "taskmaster.workspace.tasks_api",
    "TaskEntry": "taskmaster.workspace.tasks_api",
    "TaskList": "taskmaster.workspace.tasks_api",
}

__all__ = [
    "AppError",
    "Citation",
    "CodeResult",
    "ComplexityResult",
    "ExpandResult",
    "IngestReport",
    "KnowledgeAPI",
    "KnowledgeBaseError",
    "KnowledgeStats",
    "LedgerStats",
    "ModelError",
    "Passage",
    "PlanResult",
    "ResearchAnswer",
    "RunStatus",
    "RunSummary",
    "ServingError",
    "Settings",
    "TaskEntry",
    "TaskList",
    "TaskStoreError",
    "TaskmasterError",
    "TasksAPI",
    "ThreadResult",
    "VerifyResult",
    "WorkflowError",
    "Workspace",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'taskmaster' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
