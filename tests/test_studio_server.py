"""LangGraph Studio's server (`langgraph dev`) loads every graph in langgraph.json and runs the breakdown graph
against the real embedded model, with the dependencies it builds from Settings; the autonomous loop's graph
builds its context there too."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import ROOT

LANGGRAPH = ROOT / ".venv" / "bin" / "langgraph"
EXPECTED_GRAPHS = {"breakdown", "research", "codegen", "taskmaster"}
READY_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config_for(workdir: Path) -> Path:
    """The repo's langgraph.json with absolute paths: the in-memory server keeps its state in `.langgraph_api/`
    under its working directory, which must be the test's, not the shared checkout."""
    config = json.loads((ROOT / "langgraph.json").read_text())
    config["dependencies"] = [str(ROOT / dep) for dep in config["dependencies"]]
    config["graphs"] = {name: str(ROOT / spec.removeprefix("./")) for name, spec in config["graphs"].items()}
    path = workdir / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


def _stop(process: subprocess.Popen) -> None:
    """SIGINT lets the server shut down and run the atexit hook that releases the embedded model's lease."""
    for sig, wait in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def studio(isolated_project: Path, tmp_path: Path, embedded_server) -> Iterator[str]:
    workdir = tmp_path / "studio"
    workdir.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "TASKMASTER_PROJECT_DIR": str(isolated_project),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
    }
    log = workdir / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(LANGGRAPH),
                "dev",
                "--config",
                str(_config_for(workdir)),
                "--no-browser",
                "--no-reload",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"langgraph dev exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"langgraph dev was not ready in {READY_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url
    finally:
        _stop(process)
    assert (workdir / ".langgraph_api").exists()  # the server kept its state out of the checkout


@pytest.mark.e2e
def test_studio_serves_every_graph_and_runs_breakdown_on_the_embedded_model(studio: str, tmp_path: Path) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=studio)
    assistants = client.assistants.search(limit=50)
    ids = {a["graph_id"]: a["assistant_id"] for a in assistants}
    assert set(ids) >= EXPECTED_GRAPHS
    schemas = client.assistants.get_schemas(ids["breakdown"])
    context = schemas["context_schema"]  # plain run values (no live objects): which project, tag and profile
    assert set(context["properties"]) == {"project", "tag", "profile"}, context
    assert set(schemas["output_schema"]["properties"]) == {"tasks", "nodes", "problems", "written"}

    thread = client.threads.create()
    prd = "# Word counter\nA command-line tool that counts the words in a text file.\n"
    state = client.runs.wait(
        thread["thread_id"], "breakdown", input={"mode": "parse", "source_text": prd, "num_tasks": 1}
    )
    assert isinstance(state, dict), state
    assert len(state.get("tasks", [])) >= 1, state
    assert all(task["title"].strip() for task in state["tasks"])
    assert state["nodes"]  # scored by the model through the Settings-built router

    # the autonomous loop on a project without tasks stops at once, explaining why (no model needed)
    loop = client.runs.wait(client.threads.create()["thread_id"], "taskmaster", input={})
    assert loop["stop_reason"] == "nothing_ready", loop
    assert any("has no tasks" in note for note in loop["notes"])
    # a run names its project and tag as plain context values
    other = tmp_path / "other"
    other.mkdir()
    loop = client.runs.wait(
        client.threads.create()["thread_id"], "taskmaster", input={}, context={"project": str(other), "tag": "side"}
    )
    assert any("tag 'side' has no tasks" in note for note in loop["notes"]), loop
