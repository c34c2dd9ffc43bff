"""The embedded servers start per model on their tier's first call, once, shared by parallel first calls.

Unit tests drive the router with a recording start_server and a scripted chat model; the rest use the real
embedded llama-server (a private runtime dir each, so what was started is exactly what these tests caused).
"""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from e2e import STRONG_ENV, STRONG_MODEL, run_cli
from fakes import ScriptedChat

from agents.errors import EndpointUnavailable
from agents.llm.config import Backend, Endpoint, ModelConfig, Tier
from agents.llm.router import ModelRouter
from serving import llama_server
from serving.embedded import EmbeddedPool, embedded_pool
from serving.errors import ServingError
from serving.process import cmdline_of, pid_alive
from taskmaster.settings import EmbeddedSettings, Settings
from taskmaster.workspace.profiles import model_config

FAST_MODEL = "smollm2"


def _lazy_config() -> ModelConfig:
    def tier(server: str) -> Tier:
        return Tier(model=server, endpoints=[Endpoint(server=server, backend=Backend.LLAMACPP)])

    return ModelConfig(tiers={"planner": tier("big"), "fast": tier("small"), "coder": tier("big")})


class RecordingStarter:
    """start_server stand-in: hands out a URL per server name and records every call."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls: list[str] = []
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self, name: str) -> str:
        time.sleep(self.delay_s)
        with self._lock:
            self.calls.append(name)
        return f"http://127.0.0.1:{9000 + len(name)}/v1"


def _router(starter: RecordingStarter | None) -> tuple[ModelRouter, list[str]]:
    used_urls: list[str] = []
    chat = ScriptedChat(responder=lambda *_: "fine", calls=[], lock=threading.Lock())

    def factory(_tier: str, _t: Tier, endpoint: Endpoint) -> ScriptedChat:
        used_urls.append(endpoint.base_url)
        return chat

    return ModelRouter(_lazy_config(), chat_factory=factory, check_health=False, start_server=starter), used_urls


def test_a_router_starts_only_the_servers_of_the_tiers_it_calls() -> None:
    starter = RecordingStarter()
    router, used_urls = _router(starter)
    assert starter.calls == []  # building the router starts nothing
    assert router.complete("fast", []) == "fine"
    assert router.complete("classifier", []) == "fine"  # another role on the same tier
    assert starter.calls == ["small"]
    assert used_urls == ["http://127.0.0.1:9005/v1"]  # the client talks to the URL the starter returned


def test_the_router_asks_once_per_server_and_its_views_share_what_was_started() -> None:
    starter = RecordingStarter()
    router, _ = _router(starter)
    router.complete("planner", [])
    router.metered().complete("coder", [])  # another tier on the same server, through a view
    router.limited(5).complete("planner", [])
    assert starter.calls == ["big"]


def test_a_server_endpoint_without_a_starter_is_one_clear_error() -> None:
    router, _ = _router(None)
    with pytest.raises(EndpointUnavailable, match="the small server, started on first use"):
        router.complete("fast", [])


def test_an_endpoint_needs_a_url_or_a_server() -> None:
    with pytest.raises(ValueError, match="needs a base_url"):
        Endpoint()


def test_the_embedded_profile_config_names_servers_instead_of_urls() -> None:
    settings = Settings(profile="embedded", embedded=EmbeddedSettings(model=FAST_MODEL, strong_model=STRONG_MODEL))
    config = model_config(settings)
    servers = {name: [(e.server, e.base_url) for e in tier.endpoints] for name, tier in config.tiers.items()}
    assert servers == {"planner": [(STRONG_MODEL, "")], "fast": [(FAST_MODEL, "")], "coder": [(STRONG_MODEL, "")]}


def test_the_pool_refuses_a_model_no_tier_uses(tmp_path: Path) -> None:
    pool = EmbeddedPool(EmbeddedSettings(model=FAST_MODEL, runtime_dir=tmp_path))
    with pytest.raises(ServingError, match=re.escape(f"not {STRONG_MODEL!r}")):
        pool.url(STRONG_MODEL)
    assert list(tmp_path.iterdir()) == []  # nothing was started or even locked


# --- the real embedded server ----------------------------------------------------------------------------
def test_parallel_first_calls_start_one_server_and_closing_stops_it(tmp_path: Path) -> None:
    settings = EmbeddedSettings(model=FAST_MODEL, runtime_dir=tmp_path)
    with embedded_pool(settings) as pool, ThreadPoolExecutor(max_workers=6) as threads:
        urls = set(threads.map(lambda _: pool.url(FAST_MODEL), range(6)))
        assert len(urls) == 1
        started = pool.started()
        assert list(started) == [FAST_MODEL]
        server = started[FAST_MODEL]
        assert len(list((tmp_path / f"{server.key}.leases").iterdir())) == 1  # acquired once, not once per thread
        pid = server.pid
    assert not pid_alive(pid)  # the pool held the only lease
    with pytest.raises(ServingError, match="already released"):
        pool.url(FAST_MODEL)


def test_a_command_that_calls_only_the_fast_tier_starts_only_its_server(isolated_project: Path, tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    env = {**STRONG_ENV, "TASKMASTER_EMBEDDED__RUNTIME_DIR": str(runtime)}  # planner and coder on the 1.5B model
    run = ("eval", "humaneval", "--limit", "1", "--policy", "single", "--tier", "fast", "--json")
    result = run_cli(*run, cwd=isolated_project, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["problems"] == 1
    logs = sorted(p.name for p in runtime.glob("*.log"))
    assert logs == [f"{FAST_MODEL}-8192.log"]  # the 1.5B server was never started
    assert not list(runtime.glob("*.json"))  # and the fast one stopped with the run that alone held it


def test_entering_the_model_router_starts_no_server(tmp_path: Path) -> None:
    from taskmaster.workspace.models import model_router

    settings = Settings(profile="embedded", embedded=EmbeddedSettings(strong_model=STRONG_MODEL, runtime_dir=tmp_path))
    with model_router(settings) as router:
        assert router.config.tier_for("planner")[1].endpoints[0].server == STRONG_MODEL
    assert list(tmp_path.iterdir()) == []


# --- threads ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("cores", "servers", "threads"), [(2, 2, 1), (2, 1, 1), (1, 2, 1), (8, 2, 3), (16, 2, 7)])
def test_servers_never_ask_for_more_threads_than_the_cores_but_one(
    monkeypatch: pytest.MonkeyPatch, cores: int, servers: int, threads: int
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert llama_server.default_threads(servers) == threads


def test_the_embedded_server_runs_with_the_default_threads(tmp_path: Path) -> None:
    settings = EmbeddedSettings(model=FAST_MODEL, runtime_dir=tmp_path)
    with embedded_pool(settings) as pool:
        pool.url(FAST_MODEL)
        argv = cmdline_of(pool.started()[FAST_MODEL].pid).split()
    expected = str(llama_server.default_threads(1))
    assert argv[argv.index("--threads") + 1] == argv[argv.index("--threads-batch") + 1] == expected


def test_the_embedded_server_runs_four_slots_unless_told(tmp_path: Path) -> None:
    settings = EmbeddedSettings(model=FAST_MODEL, runtime_dir=tmp_path)
    with embedded_pool(settings) as pool:
        pool.url(FAST_MODEL)
        argv = cmdline_of(pool.started()[FAST_MODEL].pid).split()
    assert argv[argv.index("--parallel") + 1] == str(llama_server.DEFAULT_SLOTS) == "4"
    assert argv[argv.index("--ctx-size") + 1] == str(settings.n_ctx * 4)  # every slot gets the full context
