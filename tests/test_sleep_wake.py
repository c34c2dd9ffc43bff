"""Router-driven vLLM sleep/wake, against stub servers that emulate vLLM's dev-mode sleep endpoints.

The stubs speak real HTTP and the router uses its real client path, so what is asserted is what the servers
saw: how many /wake_up and /sleep calls, and whether a chat request ever reached a sleeping server or a
server was put to sleep while it was answering.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from langchain_core.messages import HumanMessage

from agents.errors import EndpointUnavailable
from agents.llm.config import Backend, Endpoint, ModelConfig, Tier
from agents.llm.router import ModelRouter


@dataclass
class SleepyServer:
    """State of one emulated vLLM server; the handler mutates it under `lock`."""

    name: str
    sleeping: bool = False
    chat_seconds: float = 0.0
    wake_seconds: float = 0.0
    wake_status: int = 200
    dev_mode: bool = True
    url: str = ""
    calls: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    active_chats: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for call in self.calls if call == path)


@contextmanager
def sleepy_server(state: SleepyServer) -> Iterator[SleepyServer]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            with state.lock:
                state.calls.append(path)
            if path == "/is_sleeping" and state.dev_mode:
                self._send(200, {"is_sleeping": state.sleeping})
            elif path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": state.name, "object": "model"}]})
            else:
                self._send(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            path = self.path.split("?")[0]
            with state.lock:
                state.calls.append(path)
            if path in ("/sleep", "/wake_up") and not state.dev_mode:
                self._send(404, {"detail": "Not Found"})
            elif path == "/sleep":
                with state.lock:
                    if state.active_chats:
                        state.violations.append("put to sleep while answering a request")
                    state.sleeping = True
                self._send(200, {})
            elif path == "/wake_up":
                time.sleep(state.wake_seconds)
                if state.wake_status == 200:
                    with state.lock:
                        state.sleeping = False
                self._send(state.wake_status, {} if state.wake_status == 200 else {"error": "CUDA out of memory"})
            elif path == "/v1/chat/completions":
                self._chat()
            else:
                self._send(404, {"detail": "Not Found"})

        def _chat(self) -> None:
            with state.lock:
                if state.sleeping:
                    state.violations.append("chat request reached a sleeping server")
                state.active_chats += 1
            time.sleep(state.chat_seconds)
            with state.lock:
                state.active_chats -= 1
                if state.sleeping:
                    state.violations.append("fell asleep during a request")
            self._send(
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": state.name,
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": state.name}}
                    ],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads, server.block_on_close = True, False  # clients' keep-alive threads must not delay teardown
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def seed_like() -> Iterator[dict[str, SleepyServer]]:
    """Three servers laid out like the 2 x 4090 seed stack: planner on gpu0+gpu1, fast on gpu1, coder on gpu0."""
    servers = {"planner": SleepyServer("planner"), "fast": SleepyServer("fast"), "coder": SleepyServer("coder")}
    with ExitStack() as stack:
        for state in servers.values():
            stack.enter_context(sleepy_server(state))
        yield servers


GROUPS = {"planner": ["gpu0", "gpu1"], "fast": ["gpu1"], "coder": ["gpu0"]}


def router_for(servers: dict[str, SleepyServer], *, sleep_mode: bool = True, timeout_s: float = 10.0) -> ModelRouter:
    tiers = {
        name: Tier(
            model=state.name,
            endpoints=[Endpoint(base_url=state.url, backend=Backend.VLLM)],
            timeout_s=timeout_s,
            sleep_mode=sleep_mode,
            gpu_groups=GROUPS[name] if sleep_mode else [],
        )
        for name, state in servers.items()
    }
    return ModelRouter(ModelConfig(tiers=tiers))


def ask(router: ModelRouter, role: str) -> str:
    return router.complete(role, [HumanMessage(content="hi")])


def test_a_sleeping_tier_is_woken_once_before_the_request(seed_like: dict[str, SleepyServer]) -> None:
    seed_like["planner"].sleeping = True
    router = router_for(seed_like)

    assert ask(router, "planner") == "planner"
    assert ask(router, "planner") == "planner"

    planner = seed_like["planner"]
    assert planner.count("/wake_up") == 1
    assert planner.count("/v1/chat/completions") == 2
    assert planner.violations == []


def test_concurrent_callers_wake_the_server_only_once(seed_like: dict[str, SleepyServer]) -> None:
    planner = seed_like["planner"]
    planner.sleeping, planner.wake_seconds = True, 0.3
    router = router_for(seed_like)

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: ask(router, "planner"), range(8)))

    assert replies == ["planner"] * 8
    assert planner.count("/wake_up") == 1
    assert planner.violations == []


def test_waking_puts_to_sleep_only_the_tiers_that_share_a_gpu(seed_like: dict[str, SleepyServer]) -> None:
    seed_like["planner"].sleeping = True  # the "workers" phase: 13B and 7B awake, 70B asleep
    router = router_for(seed_like)

    ask(router, "planner")
    assert [seed_like[n].sleeping for n in ("planner", "fast", "coder")] == [False, True, True]

    ask(router, "fast")  # fast shares gpu1 with the planner only: the coder (gpu0) stays asleep
    assert [seed_like[n].sleeping for n in ("planner", "fast", "coder")] == [True, False, True]
    ask(router, "coder")
    assert [seed_like[n].sleeping for n in ("planner", "fast", "coder")] == [True, False, False]
    assert seed_like["planner"].count("/sleep") == 1
    assert all(state.violations == [] for state in seed_like.values())


def test_a_neighbour_is_not_put_to_sleep_while_it_answers(seed_like: dict[str, SleepyServer]) -> None:
    seed_like["planner"].sleeping = True
    seed_like["fast"].chat_seconds = 0.5
    router = router_for(seed_like)

    with ThreadPoolExecutor(max_workers=2) as pool:
        fast = pool.submit(ask, router, "fast")
        time.sleep(0.15)  # the fast request is in flight when the planner call arrives
        planner = pool.submit(ask, router, "planner")
        assert (fast.result(), planner.result()) == ("fast", "planner")

    assert seed_like["fast"].count("/sleep") == 1
    assert all(state.violations == [] for state in seed_like.values())


def test_a_failed_wake_up_is_a_one_line_error_and_no_request_is_sent(seed_like: dict[str, SleepyServer]) -> None:
    planner = seed_like["planner"]
    planner.sleeping, planner.wake_status = True, 500
    router = router_for(seed_like)

    with pytest.raises(EndpointUnavailable) as caught:
        ask(router, "planner")

    message = str(caught.value)
    assert "\n" not in message
    assert "could not wake the sleeping vLLM server" in message and planner.url.removesuffix("/v1") in message
    assert "--enable-sleep-mode" in message
    assert planner.count("/v1/chat/completions") == 0


def test_a_wake_up_slower_than_the_timeout_is_a_clear_error(seed_like: dict[str, SleepyServer]) -> None:
    planner = seed_like["planner"]
    planner.sleeping, planner.wake_seconds = True, 2.0
    router = router_for(seed_like, timeout_s=0.5)

    with pytest.raises(EndpointUnavailable, match="could not wake the sleeping vLLM server"):
        ask(router, "planner")


def test_tiers_without_sleep_mode_never_touch_the_sleep_endpoints(seed_like: dict[str, SleepyServer]) -> None:
    router = router_for(seed_like, sleep_mode=False)

    ask(router, "planner")

    assert {"/is_sleeping", "/sleep", "/wake_up"}.isdisjoint(seed_like["planner"].calls)


def test_a_server_without_dev_mode_is_called_as_is(seed_like: dict[str, SleepyServer]) -> None:
    seed_like["planner"].dev_mode = False  # /is_sleeping is 404: the server cannot be asleep
    router = router_for(seed_like)

    assert ask(router, "planner") == "planner"
    assert seed_like["planner"].count("/wake_up") == 0


def test_the_seed_profile_matches_the_launch_plan() -> None:
    from serving.launch_plan import seed_stack_2x4090
    from taskmaster.settings import Settings
    from taskmaster.workspace.profiles import model_config

    config = model_config(Settings(profile="vllm-2x4090"))
    specs = {spec.name: spec for spec in seed_stack_2x4090()}
    for tier in config.tiers.values():
        spec = specs[tier.model]
        assert tier.sleep_mode == spec.sleep_mode
        assert tier.gpu_groups == [f"gpu{gpu}" for gpu in spec.gpu_ids]
        assert tier.endpoints[0].base_url == f"http://127.0.0.1:{spec.port}/v1"
    router = ModelRouter(config, check_health=False)
    assert router._sleep.neighbours("planner") == ["http://127.0.0.1:8001", "http://127.0.0.1:8002"]
    assert router._sleep.neighbours("fast") == ["http://127.0.0.1:8000"]
