"""The model-response cache: exact and semantic hits, TTL, the temperature-0-only rule, and the router hook."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import pytest
from fakes import ScriptedChat
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from agents.llm.cache import CallScope, ResponseCache
from agents.llm.config import Backend, Endpoint, ModelConfig, Tier
from agents.llm.router import ModelRouter
from taskmaster.settings import load_settings
from taskmaster.workspace.models import _deterministic, response_cache

SYSTEM = SystemMessage(content="You are terse.")
SCOPE = CallScope(model="m", endpoints=("llamacpp:http://127.0.0.1:9/v1",), temperature=0.0, max_tokens=64)


class Answer(BaseModel):
    value: int


def ask(text: str) -> list:
    return [SYSTEM, HumanMessage(content=text)]


def router_with(cache: ResponseCache | None, *, temperature: float = 0.0, reply: object = "hello") -> tuple:
    chat = ScriptedChat(responder=lambda _schema, _messages: reply, calls=[], lock=threading.Lock())
    tier = Tier(
        model="fake",
        endpoints=[Endpoint(base_url="http://127.0.0.1:9/v1", backend=Backend.LLAMACPP)],
        temperature=temperature,
        max_output_tokens=64,
    )
    config = ModelConfig(tiers={"planner": tier, "fast": tier, "coder": tier})
    return ModelRouter(config, chat_factory=lambda *_: chat, check_health=False, cache=cache), chat


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


VOCABULARY = ("add", "two", "numbers", "sum", "delete", "files")


def toy_embed(text: str) -> list[float]:
    """Bag of words over a tiny vocabulary: exact, explainable similarities for the threshold tests."""
    words = re.findall(r"[a-z]+", text.lower())
    return [float(words.count(w)) for w in VOCABULARY]


def test_exact_hit_skips_the_model_and_costs_no_tokens(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "responses.sqlite")
    router, chat = router_with(cache)
    assert router.complete("fast", ask("say hello")) == "hello"
    assert router.complete("fast", ask("say hello")) == "hello"
    assert len(chat.calls) == 1
    assert router.meter.tiers["fast"].calls == 1 and router.meter.total_tokens == 15  # the hit added nothing
    assert (cache.counts.hits, cache.counts.misses, cache.counts.stored) == (1, 1, 1)

    router.complete("fast", ask("say goodbye"))  # another prompt: a miss
    assert len(chat.calls) == 2 and cache.counts.misses == 2
    with sqlite3.connect(cache.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_key_covers_model_params_and_schema(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "responses.sqlite")
    cache.store(SCOPE, ask("q"), "a")
    assert cache.lookup(SCOPE, ask("q")) == "a"
    for changed in (
        CallScope(**{**SCOPE.__dict__, "model": "other"}),
        CallScope(**{**SCOPE.__dict__, "endpoints": ("vllm:http://127.0.0.1:8000/v1",)}),
        CallScope(**{**SCOPE.__dict__, "max_tokens": 65}),
        CallScope(**{**SCOPE.__dict__, "schema": "Answer:abc"}),
    ):
        assert cache.lookup(changed, ask("q")) is None
    assert cache.lookup(SCOPE, [SystemMessage(content="Be verbose."), HumanMessage(content="q")]) is None


def test_structured_hits_are_validated_and_a_bad_entry_is_never_returned(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "responses.sqlite")
    router, chat = router_with(cache, reply={"value": 7})
    assert router.structured("fast", Answer, ask("seven")) == Answer(value=7)
    assert router.structured("fast", Answer, ask("seven")) == Answer(value=7)
    assert len(chat.calls) == 1
    with sqlite3.connect(cache.path) as conn:
        conn.execute("UPDATE responses SET reply = ?", ('{"value": "not a number"}',))
    assert router.structured("fast", Answer, ask("seven")) == Answer(value=7)  # bad entry dropped, model asked
    assert len(chat.calls) == 2
    assert router.structured("fast", Answer, ask("seven")) == Answer(value=7)  # and the fresh answer re-stored
    assert len(chat.calls) == 2


def test_entries_expire_after_the_ttl(tmp_path: Path) -> None:
    clock = Clock()
    cache = ResponseCache(tmp_path / "responses.sqlite", ttl_s=60, clock=clock)
    cache.store(SCOPE, ask("q"), "a")
    clock.now += 59
    assert cache.lookup(SCOPE, ask("q")) == "a"
    clock.now += 2
    assert cache.lookup(SCOPE, ask("q")) is None
    cache.store(SCOPE, ask("other"), "b")  # storing purges expired rows
    with sqlite3.connect(cache.path) as conn:
        assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 1


def test_sampled_calls_bypass_the_cache(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "responses.sqlite")
    router, chat = router_with(cache, temperature=0.2)
    router.complete("fast", ask("say hello"))
    router.complete("fast", ask("say hello"))
    assert len(chat.calls) == 2
    assert (cache.counts.hits, cache.counts.misses, cache.counts.bypassed, cache.counts.stored) == (0, 0, 2, 0)
    with sqlite3.connect(cache.path) as conn:
        assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 0


def test_semantic_hit_above_threshold_and_miss_below(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "responses.sqlite", embed=toy_embed, semantic_threshold=0.95)
    cache.store(SCOPE, ask("Add two numbers"), "def add(a, b): return a + b")
    # same words, different punctuation and case: not an exact hit, cosine 1.0
    assert cache.lookup(SCOPE, ask("add TWO numbers!")) == "def add(a, b): return a + b"
    assert (cache.counts.hits, cache.counts.semantic_hits) == (1, 1)
    # cosine 2/3 and 0: below the threshold
    assert cache.lookup(SCOPE, ask("add two files")) is None
    assert cache.lookup(SCOPE, ask("delete files")) is None
    # the same last message after a different system prompt is another conversation
    assert cache.lookup(SCOPE, [SystemMessage(content="Be verbose."), HumanMessage(content="add two numbers")]) is None
    # long last messages never match semantically (embedders truncate; the tails could differ)
    long_prompt = "add two numbers " * 100
    cache.store(SCOPE, ask(long_prompt), "x")
    assert cache.lookup(SCOPE, ask(long_prompt + "and then delete files")) is None
    assert cache.counts.semantic_hits == 1


def test_semantic_cache_with_the_real_minilm_embedder(tmp_path: Path) -> None:
    from knowledge.embedders import MiniLmBm25Embedder

    embedder = MiniLmBm25Embedder()
    cache = ResponseCache(
        tmp_path / "responses.sqlite", embed=lambda t: embedder.embed_query(t).dense, semantic_threshold=0.95
    )
    cache.store(SCOPE, ask("Write a Python function that adds two numbers."), "def add(a, b): return a + b")
    assert cache.lookup(SCOPE, ask("Write a Python function that adds two numbers")) == "def add(a, b): return a + b"
    assert cache.lookup(SCOPE, ask("Explain how TCP congestion control works.")) is None
    assert cache.lookup(SCOPE, ask("Write a Python function that deletes temporary files.")) is None
    assert (cache.counts.hits, cache.counts.semantic_hits, cache.counts.misses) == (1, 1, 2)


def test_settings_build_the_cache_and_the_deterministic_switch(isolated_project: Path) -> None:
    settings = load_settings(isolated_project)
    assert settings.cache.enabled is False and response_cache(settings) is None
    (isolated_project / "taskmaster.toml").write_text(
        "[cache]\nenabled = true\ndeterministic = true\nttl_s = 120\nsemantic = true\nsemantic_threshold = 0.97\n"
    )
    settings = load_settings(isolated_project)
    cache = response_cache(settings)
    assert cache is not None and cache.path == isolated_project / ".taskmaster" / "cache" / "responses.sqlite"
    assert (cache.ttl_s, cache.semantic_threshold, cache.embed is not None) == (120, 0.97, True)
    tier = Tier(model="m", endpoints=[Endpoint(base_url="http://127.0.0.1:9/v1")], temperature=0.7)
    config = _deterministic(ModelConfig(tiers={"planner": tier, "fast": tier, "coder": tier}), settings)
    assert {t.temperature for t in config.tiers.values()} == {0.0}


@pytest.mark.timeout(300)
def test_second_identical_call_to_the_real_server_is_served_from_cache(embedded_server, tmp_path: Path) -> None:
    tier = Tier(
        model="smollm2",
        endpoints=[Endpoint(base_url=embedded_server.base_url, backend=Backend.LLAMACPP)],
        temperature=0.0,
        max_output_tokens=24,
    )
    cache = ResponseCache(tmp_path / "responses.sqlite")
    router = ModelRouter(ModelConfig(tiers={"planner": tier, "fast": tier, "coder": tier}), cache=cache)
    messages = ask("Name one colour.")
    first = router.complete("fast", messages)
    assert first.strip()
    second = router.complete("fast", messages)
    assert second == first
    assert router.meter.tiers["fast"].calls == 1  # one HTTP chat request in all
    assert (cache.counts.hits, cache.counts.misses) == (1, 1)
    assert router.structured("fast", Answer, ask("Reply with a JSON object whose value is 3.")) == router.structured(
        "fast", Answer, ask("Reply with a JSON object whose value is 3.")
    )
    assert cache.counts.hits == 2
