"""`taskmaster mcp --http --port N`: streamable HTTP, listening on 127.0.0.1 only, driven by the SDK's HTTP client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tasks.model import Task
from tasks.store import TaskFile


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listen_addresses(port: int) -> set[str]:
    """Local addresses listening on `port`, from /proc/net/tcp{,6} (state 0A = LISTEN)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_streamable_http_on_loopback_only(isolated_project: Path) -> None:
    TaskFile(isolated_project / ".taskmaster" / "tasks" / "tasks.json").save([Task.new(1, "Only task")])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "taskmaster.cli", "mcp", "--http", "--port", str(port)],
        cwd=isolated_project,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listen_addresses(port):
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, "the HTTP server did not start listening"
            time.sleep(0.2)
        assert _listen_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else

        async def main() -> tuple[set[str], dict]:
            async with (
                streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                tools = {t.name for t in (await session.list_tools()).tools}
                result = await session.call_tool("get_tasks", {"projectRoot": str(isolated_project)})
                return tools, result.structured_content

        tools, listed = anyio.run(main)
        assert {"get_tasks", "next_task", "parse_prd", "kb_search"} <= tools
        assert [t["title"] for t in listed["tasks"]] == ["Only task"]
    finally:
        server.terminate()
        server.wait(timeout=30)
