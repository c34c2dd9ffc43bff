"""The one exception hierarchy of the public API. Every message is one actionable sentence: the CLI prints it as
`error: …` and exits 1, MCP returns it as the tool error, and Python callers catch `TaskmasterError`.

Lower layers keep their own base classes (they must not import this package); `translated()` turns them into the
matching subclass here at the Workspace boundary, keeping the original as `__cause__`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class TaskmasterError(Exception):
    """Base of every error the Workspace API raises for a problem the user can fix."""


class AppError(TaskmasterError):
    """Settings, workspace or input problems found by the app itself: bad config, bad ids, unreadable files."""


class TaskStoreError(TaskmasterError):
    """tasks.json problems: an unknown id, a dependency cycle, a file Task Master wrote that cannot be read."""


class KnowledgeBaseError(TaskmasterError):
    """The knowledge base cannot ingest a file or reach its store."""


class ModelError(TaskmasterError):
    """A model endpoint is refused, unreachable or keeps returning invalid output; a budget would be exceeded."""


class WorkflowError(TaskmasterError):
    """A graph cannot go on: nothing to resume, a run that produced nothing, a chain naming an unknown tier."""


class ServingError(TaskmasterError):
    """A model server cannot be planned, built or started."""


def _lower_errors() -> list[tuple[type[BaseException], type[TaskmasterError]]]:
    from agents.errors import AgentError
    from graphs.errors import GraphError
    from knowledge.errors import KnowledgeError
    from serving.errors import ServingError as LowerServingError
    from tasks.errors import TaskError

    return [
        (TaskError, TaskStoreError),
        (KnowledgeError, KnowledgeBaseError),
        (AgentError, ModelError),
        (GraphError, WorkflowError),
        (LowerServingError, ServingError),
    ]


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise a lower layer's user-facing error as the matching TaskmasterError (same message)."""
    try:
        yield
    except TaskmasterError:
        raise
    except Exception as exc:
        for lower, ours in _lower_errors():
            if isinstance(exc, lower):
                raise ours(str(exc)) from exc
        raise
