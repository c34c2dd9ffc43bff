"""The model layer: tiers, roles, endpoints and one client path (langchain-openai) for every backend."""

from typing import TYPE_CHECKING, Any

from agents.llm.config import Backend, Endpoint, ModelConfig, Tier

if TYPE_CHECKING:
    from agents.llm.router import ModelRouter

__all__ = ["Backend", "Endpoint", "ModelConfig", "ModelRouter", "Tier"]


def __getattr__(name: str) -> Any:
    # The router pulls in langchain/openai (seconds of start-up); task commands that only read config must not pay.
    if name == "ModelRouter":
        from agents.llm.router import ModelRouter

        return ModelRouter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
