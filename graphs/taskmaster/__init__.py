"""The autonomous loop: next ready task → route to research, codegen, planner or breakdown → verify → status."""

from graphs.taskmaster.dispatch import Dispatcher
from graphs.taskmaster.graph import RECURSION_LIMIT, RunLimits, TaskmasterContext, build_taskmaster_graph
from graphs.taskmaster.state import TaskmasterInput, TaskmasterOutput, TaskmasterState, WorkResult
from graphs.taskmaster.work_kind import kind_of

__all__ = [
    "RECURSION_LIMIT",
    "Dispatcher",
    "RunLimits",
    "TaskmasterContext",
    "TaskmasterInput",
    "TaskmasterOutput",
    "TaskmasterState",
    "WorkResult",
    "build_taskmaster_graph",
    "kind_of",
]
