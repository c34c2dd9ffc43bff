"""The Workspace: one project directory and its Settings turned into objects, in one place.

`Workspace` is imported lazily so that light users of this package (the task commands read only `paths`) do not
pay for the graph and model imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskmaster.workspace.workspace import Workspace

__all__ = ["Workspace"]


def __getattr__(name: str) -> Any:
    if name == "Workspace":
        from taskmaster.workspace.workspace import Workspace

        return Workspace
    raise AttributeError(name)
