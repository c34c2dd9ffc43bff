"""The egress rule, proven per command: nothing connects to a host that is not loopback or allowed, proxy
environment variables never carry traffic, and an API key is never sent to a refused host (issue 11, 1-2).

Two kinds of trap, both real sockets:
* a listener on this machine's own non-loopback address (the rule treats all of 127.0.0.0/8 as loopback, so a
  127.x alias would be allowed): configured as the model endpoint, the Qdrant URL, the Postgres host or the
  proxy, it must see no connection at all;
* a listener on 127.0.0.1 named in HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/OPENAI_PROXY while the model endpoint is a
  loopback stub: the stub must get the requests and the proxy none.

Every command is run as a user runs it: the real CLI in a subprocess.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from e2e import run_cli
from stub_server import stub_openai_server

SECRET = "sk-tm-egress-secret-4d1c"
TASKS = (
    '{"master": {"tasks": [{"id": 1, "title": "Build the parser", "description": "Parse input files", '
    '"status": "pending", "dependencies": [], "priority": "medium", "details": "", "testStrategy": "", '
    '"subtasks": [{"id": 1, "title": "Read files", "description": "Open each input file", "status": "pending", '
    '"dependencies": []}]}]}}\n'
)
# Every command that can open a network connection (model calls, probes, the knowledge base, runs).
MODEL_COMMANDS: dict[str, list[str]] = {
    "models": ["models"],
    "doctor": ["doctor"],
    "parse-prd": ["parse-prd", "prd.md", "--force"],
    "goal": ["goal", "Build a command-line calculator", "--force"],
    "expand": ["expand", "1", "--num", "2"],
    "analyze-complexity": ["analyze-complexity"],
    "research": ["research", "How are input files parsed?"],
    "code": ["code", "--spec", "a function add(a, b) returning the sum", "--out", "out"],
    "run": ["run", "--max-tasks", "1"],
    "add-task": ["add-task", "--prompt", "Add logging to the parser"],
    "update-task": ["update-task", "--id", "1", "--prompt", "Mention error handling"],
    "update": ["update", "--from", "1", "--prompt", "Use Rust instead of Python"],
    "update-subtask": ["update-subtask", "--id", "1.1", "--prompt", "Note the encoding"],
    "eval humaneval": ["eval", "humaneval", "--limit", "1"],
}
# Commands whose connections all go through code the tests above exercise, or that open none.
THROUGH_EXERCISED_CODE = {
    "scheduler": "fires `run` (run_autonomous, tested above as `run`)",
    "schedule": "stores schedules; runs happen in `scheduler`",
    "mcp": "tools call the same runtime.model_router / run_autonomous as the CLI commands above",
    "serve": "starts local servers and polls them with the loopback-only egress client",
    "kb": "embeds locally; the Qdrant server (knowledge.url) is tested below",
    "eval": "humaneval is tested above; research retrieval is local, --answers runs `research`",
}
OFFLINE = {
    "init", "list", "show", "next", "set-status", "add-dependency", "remove-dependency", "validate-dependencies",
    "import", "export", "add-subtask", "remove-subtask", "clear-subtasks", "remove-task", "move", "generate",
    "complexity-report", "tags", "add-tag", "use-tag", "delete-tag", "rename-tag", "copy-tag", "verify",
    "plan-gpus", "serve-commands", "stats", "runs", "routing",
}  # fmt: skip


def test_every_command_is_accounted_for() -> None:
    """A new command must be placed: tested for egress here, shown to use tested code, or offline."""
    from taskmaster.cli.registry import COMMANDS

    tested = {name.split()[0] for name in MODEL_COMMANDS}
    unplaced = set(COMMANDS) - tested - set(THROUGH_EXERCISED_CODE) - OFFLINE
    assert not unplaced, f"commands not covered by the egress suite: {sorted(unplaced)}"


@dataclass
class Trap:
    """A TCP listener that records every connection and the first bytes each sends."""

    host: str
    port: int = 0
    received: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def seen(self) -> bytes:
        return b"".join(self.received)


@contextmanager
def trap_on(host: str) -> Iterator[Trap]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, 0))
    server.listen(16)
    server.settimeout(0.2)
    trap = Trap(host, server.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with closing(conn):
                conn.settimeout(1.0)
                try:
                    trap.received.append(conn.recv(65536) or b"<connected>")
                except OSError:
                    trap.received.append(b"<connected>")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield trap
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def own_non_loopback_address() -> str:
    """The address this machine would send from: not loopback, so the egress rule must refuse it."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: connect() on UDP only picks a route
        except OSError:
            pytest.fail("this machine has no non-loopback IPv4 route; the egress tests need one local address")
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.fail(f"the only local address is loopback ({address}); the egress tests need a non-loopback one")
    return address


@pytest.fixture
def project(isolated_project: Path, tmp_path: Path) -> Path:
    tasks = isolated_project / ".taskmaster" / "tasks" / "tasks.json"
    tasks.parent.mkdir(parents=True)
    tasks.write_text(TASKS)
    (isolated_project / "prd.md").write_text("# PRD\nA command-line calculator that adds numbers.\n")
    return isolated_project


def base_env(base_url: str, **extra: str) -> dict[str, str]:
    return {
        "TASKMASTER_PROFILE": "openai-compatible",
        "TASKMASTER_BASE_URL": base_url,
        "TASKMASTER_MODEL": "stub",
        "TASKMASTER_API_KEY": SECRET,
        "TASKMASTER_HEALTH_TIMEOUT_S": "2",
        "TASKMASTER_TIMEOUT_S": "10",
        **extra,
    }


def no_proxy_env() -> dict[str, str]:
    return {name: "" for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")}


# --- a host that is not allowed sees nothing -----------------------------------------------------------------
@pytest.mark.parametrize("command", sorted(MODEL_COMMANDS))
def test_a_refused_model_host_sees_no_connection_and_no_key(project: Path, command: str) -> None:
    if command == "research":  # research only calls the model when the knowledge base has passages
        (project / "notes.md").write_text("Input files are parsed by the parser module, line by line.\n")
        assert run_cli("kb", "add", "notes.md", cwd=project).returncode == 0
    with trap_on(own_non_loopback_address()) as trap:
        result = run_cli(*MODEL_COMMANDS[command], cwd=project, env=base_env(trap.url + "/v1"), timeout=120)
    assert trap.received == [], f"{command} connected to a refused host: {trap.seen()[:200]!r}"
    assert SECRET not in result.stdout + result.stderr
    assert "refusing non-loopback" in result.stdout + result.stderr, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def test_models_with_a_refused_endpoint_shows_it_refused_and_sends_no_key(project: Path) -> None:
    """The issue's first finding: `models` probed the endpoint with the API key, past allow_hosts."""
    with trap_on(own_non_loopback_address()) as trap:
        result = run_cli("models", "--json", cwd=project, env=base_env(trap.url + "/v1"))
    assert trap.received == []
    assert result.returncode == 0, result.stderr
    assert '"ok": false' in result.stdout and "refused (refusing non-loopback endpoint" in result.stdout


def test_doctor_endpoint_option_refuses_a_host_that_is_not_allowed(project: Path) -> None:
    with trap_on(own_non_loopback_address()) as trap:
        result = run_cli("doctor", "--endpoint", trap.url + "/v1", cwd=project, env=base_env("http://127.0.0.1:1/v1"))
    assert trap.received == []
    assert result.returncode == 1 and "refusing non-loopback endpoint" in result.stdout


def test_an_allowed_host_is_reached_so_the_trap_is_real(project: Path) -> None:
    """The same trap, with its host allowed, does get the probe: the refusals above are the rule, not the trap."""
    with trap_on(own_non_loopback_address()) as trap:
        env = base_env(trap.url + "/v1", TASKMASTER_ALLOW_HOSTS=f'["{trap.host}"]')
        run_cli("models", cwd=project, env=env, timeout=60)
    assert any(b"GET /v1/models" in chunk for chunk in trap.received), trap.received


@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("TASKMASTER_KNOWLEDGE__URL", "{url}", ["kb", "search", "parser"]),
        ("TASKMASTER_KNOWLEDGE__URL", "{url}", ["research", "How are input files parsed?"]),
        ("TASKMASTER_CHECKPOINT_URL", "postgresql://tm@{host}:{port}/tm", ["parse-prd", "prd.md", "--force"]),
        ("TASKMASTER_PROXY_URL", "{url}", ["models"]),
        ("TASKMASTER_PROXY_URL", "{url}", ["parse-prd", "prd.md", "--force"]),
    ],
    ids=["qdrant-kb", "qdrant-research", "postgres", "proxy-models", "proxy-parse-prd"],
)
def test_other_connections_obey_the_same_rule(project: Path, setting: str, value: str, command: list[str]) -> None:
    with trap_on(own_non_loopback_address()) as trap, stub_openai_server("{}") as stub:
        env = base_env(stub, **{setting: value.format(url=trap.url, host=trap.host, port=trap.port)})
        result = run_cli(*command, cwd=project, env=env, timeout=120)
    assert trap.received == [], f"{command} reached the refused host: {trap.seen()[:200]!r}"
    assert result.returncode != 0
    assert "refusing" in result.stderr and "Traceback" not in result.stderr, result.stderr


# --- proxy environment variables are ignored -----------------------------------------------------------------
@contextmanager
def counting_stub() -> Iterator[tuple[str, list[str]]]:
    """A loopback OpenAI-compatible stub that records the paths it served."""
    served: list[str] = []

    def responder(body: dict) -> str:
        served.append("chat")
        return '{"tasks": []}'

    with stub_openai_server('{"tasks": []}', responder=responder) as url:
        yield url, served


@pytest.mark.parametrize("command", ["models", "doctor", "parse-prd", "goal", "expand"])
def test_proxy_environment_variables_carry_nothing(project: Path, command: str) -> None:
    """The issue's second finding: with HTTP_PROXY set, parse-prd sent the PRD through the proxy."""
    with trap_on("127.0.0.1") as proxy, counting_stub() as (stub, served):
        proxies = {
            name: proxy.url
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
        }
        env = base_env(stub, **proxies, OPENAI_PROXY=proxy.url, NO_PROXY="", no_proxy="")
        result = run_cli(*MODEL_COMMANDS[command], cwd=project, env=env, timeout=180)
    assert proxy.received == [], f"{command} went through the proxy: {proxy.seen()[:300]!r}"
    if command not in ("models",):
        assert served, f"{command} never reached the loopback model: {result.stderr[-500:]}"
    assert "Traceback" not in result.stderr, result.stderr


def test_an_opted_in_loopback_proxy_is_used(project: Path) -> None:
    """proxy_url is the only way to use a proxy; when its host is allowed (here loopback), traffic goes there."""
    with trap_on("127.0.0.1") as proxy, counting_stub() as (stub, _):
        env = base_env(stub, TASKMASTER_PROXY_URL=proxy.url, **no_proxy_env())
        run_cli("models", cwd=project, env=env, timeout=60)
    assert any(f"GET {stub}/models".encode() in chunk for chunk in proxy.received), proxy.received


def test_the_qdrant_client_ignores_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Qdrant server mode: the REST client must talk to the (loopback) server directly, never via HTTP_PROXY."""
    from knowledge.errors import StoreUnavailable
    from knowledge.store import ServerStore

    with trap_on("127.0.0.1") as proxy, trap_on("127.0.0.1") as qdrant:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with pytest.raises(StoreUnavailable):  # the trap is not a Qdrant server; only where it connected matters
            ServerStore.connect(qdrant.url, "egress", timeout_s=2)
    assert proxy.received == [], proxy.received
    assert any(b"GET /collections" in chunk for chunk in qdrant.received), qdrant.received


@pytest.mark.e2e
def test_the_embedded_model_works_with_proxy_variables_set(isolated_project: Path, embedded_server: object) -> None:
    """End to end on the real embedded llama.cpp server: with every proxy variable pointing at a trap, `goal`
    and `doctor` still reach the loopback model directly (the issue's proxy sent both chat requests away, and
    its failed health probe made the embedded server be replaced) and the proxy sees nothing."""
    with trap_on("127.0.0.1") as proxy:
        proxies = {
            name: proxy.url
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
        }
        env = {**proxies, "OPENAI_PROXY": proxy.url, "NO_PROXY": "", "no_proxy": ""}
        small = {"TASKMASTER_BREAKDOWN__MAX_DEPTH": "0"}
        goal = run_cli(
            "goal", "A command-line calculator that adds numbers", "-n", "2", cwd=isolated_project, env={**env, **small}
        )
        doctor = run_cli("doctor", "--json", cwd=isolated_project, env=env)
    assert proxy.received == [], proxy.seen()[:300]
    assert goal.returncode == 0, goal.stderr
    assert "tasks written" in goal.stderr
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


@pytest.mark.parametrize(("command", "allowed"), [("goal", False), ("doctor", False), ("goal", True)])
def test_langsmith_tracing_variables_send_nothing(project: Path, command: str, allowed: bool) -> None:
    """LangChain sends traces (prompts, PRD text, replies) to LangSmith when LANGSMITH_TRACING is set; that is
    egress too, so it only happens when the LangSmith host is allowed (the allowed case shows the trap works)."""
    with trap_on(own_non_loopback_address()) as trap, counting_stub() as (stub, served):
        allow = {"TASKMASTER_ALLOW_HOSTS": f'["{trap.host}"]'} if allowed else {}
        tracing = {
            **allow,
            "LANGSMITH_TRACING": "true",
            "LANGCHAIN_TRACING_V2": "true",
            "LANGSMITH_ENDPOINT": trap.url,
            "LANGCHAIN_ENDPOINT": trap.url,
            "LANGSMITH_API_KEY": SECRET,
            "LANGCHAIN_API_KEY": SECRET,
        }
        result = run_cli(*MODEL_COMMANDS[command], cwd=project, env=base_env(stub, **tracing), timeout=180)
    assert served, result.stderr[-500:]
    if allowed:
        assert trap.received, "tracing to an allowed LangSmith host should have connected"
    else:
        assert trap.received == [], f"{command} sent traces off the machine: {trap.seen()[:300]!r}"
