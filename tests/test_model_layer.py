"""The inference layer: dialects, privacy policy, health and failover, structured retries."""

from __future__ import annotations

import pytest
from fakes import ScriptedChat, make_router
from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from agents.errors import EndpointRefused, EndpointUnavailable, StructuredOutputError
from agents.llm.config import Backend, Endpoint, ModelConfig, Tier
from agents.llm.dialects import request_extras
from agents.llm.endpoints import probe
from agents.llm.router import ModelRouter
from agents.planner.schemas import ComplexityScore
from serving.process import free_port


class Answer(BaseModel):
    value: int


def tier(*urls: str, backend: Backend = Backend.VLLM) -> Tier:
    return Tier(model="m", endpoints=[Endpoint(base_url=u, backend=backend) for u in urls], context_length=4096)


@pytest.mark.parametrize(
    ("backend", "expected_type"),
    [
        (Backend.LLAMACPP, "json_object"),
        (Backend.VLLM, "json_schema"),
        (Backend.OLLAMA, "json_schema"),
        (Backend.LMSTUDIO, "json_schema"),
    ],
)
def test_structured_output_dialect_per_backend(backend: Backend, expected_type: str) -> None:
    seen = {}

    def respond(schema, messages):
        return {"value": 3}

    router, chat = make_router(respond, backend=backend)
    original = chat._generate

    def spy(messages, stop=None, run_manager=None, **kwargs):
        seen.update(kwargs)
        return original(messages, stop, run_manager, **kwargs)

    object.__setattr__(chat, "_generate", spy)
    assert router.structured("planner", Answer, [HumanMessage(content="x")]).value == 3
    fmt = seen["response_format"]
    assert fmt["type"] == expected_type
    schema = fmt["schema"] if expected_type == "json_object" else fmt["json_schema"]["schema"]
    assert schema["properties"]["value"]["type"] == "integer"


def test_ollama_gets_its_context_length_sent() -> None:
    t = tier("http://127.0.0.1:11434/v1", backend=Backend.OLLAMA)
    assert request_extras(Backend.OLLAMA, t) == {"options": {"num_ctx": 4096}}
    assert request_extras(Backend.VLLM, t) == {}
    assert request_extras(Backend.LLAMACPP, t) == {"max_tokens": t.max_output_tokens}


def test_non_loopback_endpoints_are_refused_unless_allowlisted() -> None:
    config = ModelConfig(tiers={"planner": tier("http://10.0.0.5:8000/v1")}, roles={"planner": "planner"})
    with pytest.raises(EndpointRefused, match="allow_hosts"):
        ModelRouter(config, check_health=False)
    allowed = config.model_copy(update={"allow_hosts": ["10.0.0.5"]})
    ModelRouter(allowed, check_health=False)
    ModelRouter(
        ModelConfig(tiers={"planner": tier("http://localhost:1/v1")}, roles={"planner": "planner"}), check_health=False
    )


def test_invalid_output_is_retried_with_the_error_fed_back() -> None:
    replies = iter(['{"value": "many"}', '{"complexity": 3, "recommended_subtasks": 2, "reasoning": "ok"}'])
    router, chat = make_router(lambda schema, messages: next(replies))
    score = router.structured("planner", ComplexityScore, [HumanMessage(content="rate")])
    assert score.complexity == 3
    retry_prompt = chat.calls[1][1][-1].content
    assert "does not match the schema" in retry_prompt


def test_out_of_range_values_are_clamped_not_retried() -> None:
    router, chat = make_router(lambda s, m: {"complexity": 14, "recommended_subtasks": 30, "reasoning": "x" * 999})
    score = router.structured("planner", ComplexityScore, [HumanMessage(content="rate")])
    assert (score.complexity, score.recommended_subtasks, len(score.reasoning)) == (10, 10, 300)
    assert len(chat.calls) == 1


def test_retries_are_bounded_then_a_clear_error() -> None:
    router, chat = make_router(lambda s, m: "I think the answer is 3", retries=1)
    with pytest.raises(StructuredOutputError, match="2 times"):
        router.structured("planner", Answer, [HumanMessage(content="x")], purpose="testing")
    assert len(chat.calls) == 2


def test_dead_endpoint_fails_health_fast_and_failover_picks_the_live_one() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    health = probe(Endpoint(base_url=dead), timeout_s=1.0)
    assert not health.ok and health.latency_ms < 1500

    chat = ScriptedChat(responder=lambda s, m: {"value": 7}, calls=[], lock=__import__("threading").Lock())
    used = []

    def factory(tier_name, tier_cfg, endpoint):
        used.append(endpoint.base_url)
        return chat

    config = ModelConfig(tiers={"planner": tier(dead, "http://127.0.0.1:2/v1")}, roles={"planner": "planner"})
    router = ModelRouter(config, chat_factory=factory)
    router.health = lambda name, refresh=False: [  # type: ignore[method-assign]
        health,
        health.__class__("http://127.0.0.1:2/v1", True, ("m",), 1.0),
    ]
    assert router.structured("planner", Answer, [HumanMessage(content="x")]).value == 7
    assert used == ["http://127.0.0.1:2/v1"]


def test_no_healthy_endpoint_is_a_clear_error() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    config = ModelConfig(tiers={"planner": tier(dead)}, roles={"planner": "planner"}, health_timeout_s=0.5)
    with pytest.raises(EndpointUnavailable, match="taskmaster doctor"):
        ModelRouter(config).structured("planner", Answer, [HumanMessage(content="x")])
