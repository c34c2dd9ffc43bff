"""A busy one-slot server (llama.cpp mid-reply) is slow to answer a health probe. It must be used, not dropped
or replaced: replacing the shared embedded server killed another run's request in flight."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.messages import HumanMessage
from stub_server import stub_openai_server

from agents.llm.config import Backend, Endpoint, ModelConfig, Tier
from agents.llm.endpoints import probe
from agents.llm.router import ModelRouter
from serving.embedded import EmbeddedServer


@contextmanager
def slow_models_server(delay_s: float) -> Iterator[int]:
    """/v1/models answers only after `delay_s`; chat completions answer at once."""
    with stub_openai_server("hello", model="m", models_delay_s=delay_s) as url:
        yield int(url.rsplit(":", 1)[1].split("/", 1)[0])


def test_a_slow_health_probe_marks_the_endpoint_busy_and_the_router_still_calls_it() -> None:
    with slow_models_server(delay_s=1.5) as port:
        endpoint = Endpoint(base_url=f"http://127.0.0.1:{port}/v1", backend=Backend.LLAMACPP)
        health = probe(endpoint, timeout_s=0.3)
        assert not health.ok and health.busy
        config = ModelConfig(
            tiers={name: Tier(model="m", endpoints=[endpoint]) for name in ("planner", "fast", "coder")},
            health_timeout_s=0.3,
        )
        assert ModelRouter(config).complete("planner", [HumanMessage(content="hi")]) == "hello"


def test_a_refused_connection_is_not_busy() -> None:
    with slow_models_server(delay_s=0) as port:
        pass  # closed: nothing listens on the port any more
    health = probe(Endpoint(base_url=f"http://127.0.0.1:{port}/v1"), timeout_s=0.5)
    assert not health.ok and not health.busy


def test_the_shared_embedded_server_counts_a_busy_server_as_serving() -> None:
    with slow_models_server(delay_s=3.0) as port:
        assert EmbeddedServer._serving(port)
        assert not EmbeddedServer._healthy(port)  # start-up still waits for a real answer
    assert not EmbeddedServer._serving(port)


def test_the_embedded_llama_cpp_server_honours_the_tiers_reply_cap(embedded_server: object) -> None:
    """llama-cpp-python ignores max_completion_tokens; the dialect sends max_tokens so the cap holds."""
    endpoint = Endpoint(base_url=embedded_server.base_url, backend=Backend.LLAMACPP)  # type: ignore[attr-defined]
    tier = Tier(model="smollm2", endpoints=[endpoint], max_output_tokens=16)
    router = ModelRouter(ModelConfig(tiers={name: tier for name in ("planner", "fast", "coder")}))
    router.complete("fast", [HumanMessage(content="Write a long story about a dragon, at least 300 words.")])
    assert 0 < router.meter.tiers["fast"].output_tokens <= 16


def test_a_structured_reply_cut_off_by_the_cap_is_one_clear_error(embedded_server: object) -> None:
    """With the cap enforced, a too-long JSON reply must become StructuredOutputError, not a client traceback."""
    import pytest
    from pydantic import BaseModel

    from agents.errors import StructuredOutputError

    class Essay(BaseModel):
        text: str

    endpoint = Endpoint(base_url=embedded_server.base_url, backend=Backend.LLAMACPP)  # type: ignore[attr-defined]
    tier = Tier(model="smollm2", endpoints=[endpoint], max_output_tokens=16)
    config = ModelConfig(tiers={name: tier for name in ("planner", "fast", "coder")}, structured_retries=1)
    prompt = [HumanMessage(content="Write a 300-word essay about dragons as JSON with a `text` field.")]
    with pytest.raises(StructuredOutputError, match="cut off at the token limit"):
        ModelRouter(config).structured("fast", Essay, prompt)
