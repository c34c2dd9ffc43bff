"""One process-wide model router per project and profile, built on the first tool that needs a model (starting
the embedded llama.cpp server then, not at server start) and closed when the MCP server stops.

Task tools never come here, so `get_tasks` and friends answer without importing any model stack.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from agents.llm.router import ModelRouter
    from taskmaster.settings import Settings
    from taskmaster.workspace import Workspace


class Models:
    def __init__(self) -> None:
        self._stack = ExitStack()
        self._routers: dict[str, ModelRouter] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(settings: Settings) -> str:
        return settings.model_dump_json(exclude={"tag"})

    def router(self, settings: Settings) -> ModelRouter:
        from taskmaster.workspace import Workspace

        key = self._key(settings)
        with self._lock:
            if key not in self._routers:
                owner = self._stack.enter_context(Workspace(settings))  # holds the router until the server stops
                self._routers[key] = owner.router()
            return self._routers[key]

    def workspace(self, settings: Settings, warn: Callable[[str], None] | None = None) -> Workspace:
        """A Workspace for one tool call on this process-wide router, so the embedded server the first model tool
        started stays up for the next call instead of stopping when this call's Workspace closes."""
        from taskmaster.workspace import Workspace

        return Workspace(settings, warn=warn, shared_router=lambda: self.router(settings))

    def loaded(self) -> list[dict[str, Any]]:
        return [{"tiers": sorted(r.config.tiers)} for r in self._routers.values()]

    def close(self) -> None:
        with self._lock:
            self._routers.clear()
            self._stack.close()
            self._stack = ExitStack()


MODELS = Models()
