"""Per-backend protocol differences, kept in one place.

All backends speak OpenAI-compatible HTTP, but not the same structured-output dialect. Backend.LLAMACPP covers
both llama.cpp servers: llama.cpp's own `llama-server` (the embedded profile's and `taskmaster serve --profile
llamacpp`'s, built by `make install`) and llama-cpp-python's, when a user runs one. llama-cpp-python's rejects
`response_format: {type: json_schema}`; both take a schema as `{type: json_object, schema: …}`, which llama-server
turns into the same grammar as `json_schema` (one code path there, same tokens/s: docs/models.md), so that form
is sent to either. vLLM, LM Studio, Ollama and OpenAI take `json_schema`. Ollama silently truncates prompts to its
default context unless `num_ctx` is sent. llama-cpp-python's server ignores `max_completion_tokens` (what current
OpenAI clients send) and only honours the older `max_tokens`, which llama-server honours too.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from agents.llm.config import Backend, Tier


def schema_for(schema: type[BaseModel]) -> dict[str, Any]:
    return schema.model_json_schema()


def structured_runnable(llm: BaseChatModel, backend: Backend, schema: type[BaseModel]) -> Runnable[Any, AIMessage]:
    """A runnable returning the raw AIMessage, generated under the backend's schema constraint.

    Parsing and validation happen in one place (the router) for every backend, so the retry with
    the validation error fed back works the same everywhere.
    """
    json_schema = schema_for(schema)
    if backend == Backend.LLAMACPP:
        response_format: dict[str, Any] = {"type": "json_object", "schema": json_schema}
    else:
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": json_schema, "strict": False},
        }
    return llm.bind(response_format=response_format)


def request_extras(backend: Backend, tier: Tier) -> dict[str, Any]:
    """Extra request-body fields a backend needs to honour the tier's settings."""
    if backend == Backend.OLLAMA:
        return {"options": {"num_ctx": tier.context_length}}
    if backend == Backend.LLAMACPP:
        return {"max_tokens": tier.max_output_tokens}
    return {}
