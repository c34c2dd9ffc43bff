"""ModelRouter: the one way agents reach a model.

Roles map to tiers, tiers to endpoints. The router enforces the privacy policy, skips endpoints that
fail their health check (failover within a tier), applies each backend's dialect, and turns invalid
structured output into a bounded retry loop with the validation error fed back, then a clear error.

An endpoint may name a server the app starts (`Endpoint.server`, the embedded models) instead of a URL: the
router asks its `start_server` callable for the URL the first time a call needs that endpoint, so a command
starts only the servers of the tiers it calls. The callable lives above this layer (serving/); the router only
knows it as a function.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from agents.errors import AgentError, EndpointUnavailable, StructuredOutputError
from agents.llm.cache import CallScope, ResponseCache, schema_tag
from agents.llm.config import Endpoint, ModelConfig, Tier
from agents.llm.dialects import request_extras, schema_for, structured_runnable
from agents.llm.egress import LOOPBACK_ONLY, Egress, apply_tracing_rule
from agents.llm.endpoints import EndpointHealth, probe
from agents.llm.parsing import InvalidOutput, message_text, parse_reply
from agents.llm.sleep import SleepCoordinator
from agents.llm.usage import UsageMeter

T = TypeVar("T", bound=BaseModel)

ChatFactory = Callable[[str, Tier, Endpoint], BaseChatModel]
# An app-started server's name -> its base URL. Called on the first use of each server, possibly from several
# threads at once (parallel graph branches); it must start a server once and may block while it starts.
ServerStarter = Callable[[str], str]
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.InternalServerError,
)
HEALTH_TTL_S = 30.0


class CallBudgetExceeded(AgentError):
    """A command asked for more model calls than its budget (runaway input must not mean unbounded work)."""


class CallBudget:
    """A thread-safe count of model calls (cache hits excluded) against a ceiling, shared by a router's views."""

    def __init__(self, limit: int | None, why: str = "") -> None:
        self.limit, self.why, self.used = limit, why, 0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.limit is not None and self.used >= self.limit:
                raise CallBudgetExceeded(
                    f"this command reached its limit of {self.limit} model calls{self.why}; "
                    "split the work or raise the limit"
                )
            self.used += 1


def openai_chat_factory(
    tier_name: str, tier: Tier, endpoint: Endpoint, *, egress: Egress = LOOPBACK_ONLY
) -> BaseChatModel:
    """ChatOpenAI over httpx clients from the egress factory: checked host, proxy env vars ignored."""
    from langchain_openai import ChatOpenAI

    timeout = httpx.Timeout(tier.timeout_s, connect=min(tier.timeout_s, 10.0))
    return ChatOpenAI(
        http_client=egress.client(endpoint.base_url, timeout=timeout),
        http_async_client=egress.async_client(endpoint.base_url, timeout=timeout),
        openai_proxy=None,  # else OPENAI_PROXY from the environment would be read (and clash with http_client)
        model=tier.model,
        base_url=endpoint.base_url,
        api_key=endpoint.api_key or "not-needed",  # local servers ignore it; the client insists on one
        temperature=tier.temperature,
        max_completion_tokens=tier.max_output_tokens,
        timeout=tier.timeout_s,
        max_retries=1,
        extra_body=request_extras(endpoint.backend, tier) or None,
        stream_usage=False,
    )


class ModelRouter:
    def __init__(
        self,
        config: ModelConfig,
        *,
        chat_factory: ChatFactory | None = None,
        check_health: bool = True,
        meter: UsageMeter | None = None,
        cache: ResponseCache | None = None,
        start_server: ServerStarter | None = None,
    ) -> None:
        self.config = config
        self.meter = meter or UsageMeter()
        self.cache = cache  # serves temperature-0 calls only; a hit costs no tokens and no HTTP request
        self.egress = Egress.of(config.allow_hosts, config.proxy_url)  # checks the proxy's host too
        apply_tracing_rule(self.egress)  # LangSmith traces carry prompts: same rule
        self._chat_factory = chat_factory or functools.partial(openai_chat_factory, egress=self.egress)
        self._check_health = check_health
        self._lock = threading.Lock()
        self._health: dict[str, tuple[float, list[EndpointHealth]]] = {}
        self._chats: dict[tuple[str, str], BaseChatModel] = {}
        self._runnables: dict[tuple[str, str, tuple[str, ...]], Runnable] = {}
        self._start_server = start_server
        self._started: dict[str, str] = {}  # server name -> its URL, once started
        for tier in config.tiers.values():
            for endpoint in tier.endpoints:
                if endpoint.base_url:  # an app-started server's URL is checked when it is known
                    self.egress.check(endpoint.base_url)
        self._sleep = SleepCoordinator(config, egress=self.egress)  # wakes sleep-mode vLLM tiers on demand
        self.budget = CallBudget(None)

    # --- endpoints -----------------------------------------------------------------------------
    def _resolved(self, endpoint: Endpoint) -> Endpoint:
        """The endpoint with its URL: an app-started server is started (or found started) here, on first use."""
        if endpoint.base_url:
            return endpoint
        with self._lock:
            url = self._started.get(endpoint.server)
        if url is None:
            if self._start_server is None:
                raise EndpointUnavailable(
                    f"{endpoint.label} has no URL and nothing here starts it; "
                    "run through the `taskmaster` CLI or the Workspace, which start the embedded servers"
                )
            url = self._start_server(endpoint.server)  # outside the lock: other tiers' calls go on meanwhile
            self.egress.check(url)
            with self._lock:
                self._started[endpoint.server] = url
        return endpoint.model_copy(update={"base_url": url})

    def endpoints(self, tier_name: str) -> list[Endpoint]:
        """The tier's endpoints with their URLs, starting the app-started servers among them."""
        return [self._resolved(endpoint) for endpoint in self.config.tiers[tier_name].endpoints]

    def health(self, tier_name: str, *, refresh: bool = False) -> list[EndpointHealth]:
        with self._lock:
            cached = self._health.get(tier_name)
            if cached and not refresh and time.monotonic() - cached[0] < HEALTH_TTL_S:
                return cached[1]
        endpoints = self.endpoints(tier_name)
        results = [probe(endpoint, self.config.health_timeout_s, self.egress) for endpoint in endpoints]
        with self._lock:
            self._health[tier_name] = (time.monotonic(), results)
        return results

    def healthy_endpoints(self, tier_name: str) -> list[Endpoint]:
        endpoints = self.endpoints(tier_name)
        if not self._check_health:
            return endpoints
        results = self.health(tier_name)
        healthy = [ep for ep, h in zip(endpoints, results, strict=True) if h.ok]
        if not healthy:  # a busy server (connected, slow to answer) is worth the real call and its longer timeout
            healthy = [ep for ep, h in zip(endpoints, results, strict=True) if h.busy]
        if not healthy:
            detail = "; ".join(f"{h.base_url}: {h.error}" for h in results)
            raise EndpointUnavailable(
                f"no endpoint of tier {tier_name!r} answered ({detail}); "
                "start the model server or run `taskmaster doctor`"
            )
        return healthy

    def _mark_unhealthy(self, tier_name: str) -> None:
        with self._lock:
            self._health.pop(tier_name, None)

    def _chat(self, tier_name: str, endpoint: Endpoint) -> BaseChatModel:
        key = (tier_name, endpoint.base_url)
        with self._lock:
            if key not in self._chats:
                self._chats[key] = self._chat_factory(tier_name, self.config.tiers[tier_name], endpoint)
            return self._chats[key]

    def _runnable(self, tier_name: str, schema: type[BaseModel] | None) -> Runnable:
        endpoints = self.healthy_endpoints(tier_name)
        key = (tier_name, schema.__qualname__ + str(id(schema)) if schema else "", tuple(e.base_url for e in endpoints))
        with self._lock:
            cached = self._runnables.get(key)
        if cached is not None:
            return cached
        chain: list[Runnable] = []
        for endpoint in endpoints:
            chat = self._chat(tier_name, endpoint)
            chain.append(structured_runnable(chat, endpoint.backend, schema) if schema else chat)
        runnable = (
            chain[0].with_fallbacks(chain[1:], exceptions_to_handle=TRANSIENT_ERRORS) if len(chain) > 1 else chain[0]
        )
        with self._lock:
            self._runnables[key] = runnable
        return runnable

    def metered(self, meter: UsageMeter | None = None) -> ModelRouter:
        """A view that shares endpoints, health and clients but counts usage on its own meter, so concurrent
        tasks in one process each know what they spent."""
        view = copy.copy(self)
        view.meter = meter or UsageMeter()
        return view

    def limited(self, max_calls: int, why: str = "") -> ModelRouter:
        """A view that shares everything but refuses model calls past `max_calls` (CallBudgetExceeded)."""
        view = copy.copy(self)
        view.budget = CallBudget(max_calls, why)
        return view

    # --- calls ---------------------------------------------------------------------------------
    def tier_name(self, role: str) -> str:
        try:
            return self.config.tier_for(role)[0]
        except KeyError:
            raise EndpointUnavailable(
                f"no tier is bound to role {role!r}; bind it under [roles] in taskmaster.toml"
            ) from None

    def _invoke(self, tier_name: str, runnable: Runnable, messages: Sequence[BaseMessage]) -> AIMessage:
        start = time.perf_counter()
        try:
            with self._sleep.awake(tier_name):
                reply = runnable.invoke(list(messages))
        except TRANSIENT_ERRORS as exc:
            self._mark_unhealthy(tier_name)
            self.meter.record(tier_name, input_tokens=0, output_tokens=0, seconds=time.perf_counter() - start, ok=False)
            urls = ", ".join(e.base_url for e in self.endpoints(tier_name))
            raise EndpointUnavailable(
                f"tier {tier_name!r} did not answer ({type(exc).__name__}) at {urls}; check the server with "
                "`taskmaster doctor` or raise the tier's timeout_s"
            ) from exc
        usage = getattr(reply, "usage_metadata", None) or {}
        self.meter.record(
            tier_name,
            input_tokens=int(usage.get("input_tokens", 0)),
            output_tokens=int(usage.get("output_tokens", 0)),
            seconds=time.perf_counter() - start,
            ok=True,
        )
        return reply

    def _cache_scope(self, tier_name: str, schema: type[BaseModel] | None) -> CallScope:
        tier = self.config.tiers[tier_name]
        extras = [request_extras(e.backend, tier) for e in tier.endpoints]
        return CallScope(
            model=tier.model,
            # an app-started server by name: its port changes from start to start, its model does not
            endpoints=tuple(f"{e.backend}:{e.base_url or 'server:' + e.server}" for e in tier.endpoints),
            temperature=tier.temperature,
            max_tokens=tier.max_output_tokens,
            schema=schema_tag(schema.__name__, schema_for(schema)) if schema else "",
            extras=json.dumps(extras, sort_keys=True),
        )

    def complete(self, role: str, messages: Sequence[BaseMessage]) -> str:
        tier_name = self.tier_name(role)
        scope = self._cache_scope(tier_name, None) if self.cache else None
        if self.cache and scope and (cached := self.cache.lookup(scope, messages)) is not None:
            return cached
        self.budget.take()
        text = message_text(self._invoke(tier_name, self._runnable(tier_name, None), messages))
        if self.cache and scope:
            self.cache.store(scope, messages, text)
        return text

    def structured(self, role: str, schema: type[T], messages: Sequence[BaseMessage], *, purpose: str = "") -> T:
        """Call the role's tier under the schema; retry invalid replies with the error fed back."""
        tier_name = self.tier_name(role)
        scope = self._cache_scope(tier_name, schema) if self.cache else None
        if self.cache and scope and (cached := self.cache.lookup(scope, messages)) is not None:
            try:
                return parse_reply(AIMessage(content=cached), schema)  # validated like a fresh reply
            except InvalidOutput:
                self.cache.discard(scope, messages)
        self.budget.take()
        runnable = self._runnable(tier_name, schema)
        conversation = list(messages)
        attempts = self.config.structured_retries + 1
        last_error = ""
        for _ in range(attempts):
            try:
                reply = self._invoke(tier_name, runnable, conversation)
            except openai.LengthFinishReasonError:  # the client refuses a reply cut off at the token limit
                last_error = "was cut off at the token limit"
                conversation = [
                    *messages,
                    HumanMessage(content="Your last reply was too long. Reply with one much shorter JSON object."),
                ]
                continue
            try:
                parsed = parse_reply(reply, schema)
            except InvalidOutput as exc:
                last_error = str(exc)
                conversation = [
                    *messages,
                    AIMessage(content=message_text(reply)[:2000]),
                    HumanMessage(
                        content=f"Your reply {last_error}. Reply again with only one JSON object matching the schema."
                    ),
                ]
                continue
            if self.cache and scope:  # the valid answer, stored under the original question
                self.cache.store(scope, messages, message_text(reply))
            return parsed
        what = f" for {purpose}" if purpose else ""
        raise StructuredOutputError(
            f"the {tier_name!r} model returned invalid output{what} {attempts} times (last: {last_error}); "
            "retry, or use a stronger model profile (see `taskmaster models`)"
        )
