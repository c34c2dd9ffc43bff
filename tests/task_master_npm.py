"""Drive the real Task Master CLI (npm task-master-ai, installed by `make test-tools`) from the interop tests.

Only its non-AI commands are used, with no API key in the environment. Each call runs in its own network
namespace (`unshare -n`) when the machine allows it, so nothing can reach the network (Task Master has telemetry
and update checks); the project's config.json also turns telemetry off. A missing CLI FAILS the tests: the
interop promise is only proven against the real tool.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION = "0.43.1"
TOOL_DIR = ROOT / "tools" / "task-master"
TASK_MASTER = TOOL_DIR / "node_modules" / ".bin" / "task-master"
PROPER_LOCKFILE = TOOL_DIR / "node_modules" / "proper-lockfile" / "index.js"

# Task Master's config with every network feature off; models are never used by the commands we run.
CONFIG = {
    "models": {
        "main": {"provider": "anthropic", "modelId": "claude-sonnet-4-20250514", "maxTokens": 64000, "temperature": 0.2}
    },
    "global": {
        "logLevel": "silent",
        "debug": False,
        "defaultSubtasks": 5,
        "defaultPriority": "medium",
        "projectName": "interop",
        "enableCodebaseAnalysis": False,
        "enableProxy": False,
        "anonymousTelemetry": False,
    },
}


def require_cli() -> Path:
    """The CLI's path; fails (never skips) when it is not installed."""
    if not TASK_MASTER.exists():
        pytest.fail(f"task-master {VERSION} is not installed at {TASK_MASTER}; run `make test-tools`")
    return TASK_MASTER


@functools.cache
def _isolation() -> list[str]:
    """`unshare -n` (no network at all) where permitted, else nothing (config and env still keep it offline)."""
    try:
        ok = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return ["unshare", "-n"] if ok else []


def offline_env(home: Path) -> dict[str, str]:
    """A minimal environment: no API keys, no proxies, a private HOME."""
    keep = {key: os.environ[key] for key in ("PATH", "LANG", "TZ") if key in os.environ}
    return {**keep, "HOME": str(home), "NO_COLOR": "1", "FORCE_COLOR": "0", "CI": "1", "NODE_NO_WARNINGS": "1"}


def init_project(root: Path, tasks: dict[str, Any] | None = None, current_tag: str = "master") -> Path:
    """A `.taskmaster/` layout both tools accept (what `task-master init` makes, minus its IDE rule files)."""
    data = root / ".taskmaster"
    (data / "tasks").mkdir(parents=True, exist_ok=True)
    (data / "reports").mkdir(exist_ok=True)
    (data / "config.json").write_text(json.dumps(CONFIG, indent=2))
    (data / "state.json").write_text(
        json.dumps({"currentTag": current_tag, "branchTagMapping": {}, "migrationNoticeShown": True}, indent=2)
    )
    document = tasks or {"master": {"tasks": [], "metadata": {"created": "2026-01-01T00:00:00.000Z"}}}
    (data / "tasks" / "tasks.json").write_text(json.dumps(document, indent=2))
    (root / ".home").mkdir(exist_ok=True)
    return data / "tasks" / "tasks.json"


def tm(project: Path, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run `task-master <args>` in `project`; with `check`, a non-zero exit fails the test with its output."""
    cli = require_cli()
    home = project / ".home"
    home.mkdir(exist_ok=True)
    result = subprocess.run(
        [*_isolation(), str(cli), *args],
        cwd=project,
        env=offline_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        pytest.fail(f"task-master {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def tm_json(project: Path, *args: str) -> Any:
    """Parse the JSON a `--format json` command prints (the first `{` or `[` onwards)."""
    out = tm(project, *args).stdout
    starts = [index for index in (out.find("{"), out.find("[")) if index >= 0]
    if not starts:
        pytest.fail(f"task-master {' '.join(args)} printed no JSON:\n{out}")
    return json.loads(out[min(starts) :])


def tm_next_id(project: Path, tag: str | None = None) -> str | None:
    """The id `task-master next --format json` picks (a dotted id for a subtask), or None."""
    args = ["next", "--format", "json", *(["--tag", tag] if tag else [])]
    reply = tm_json(project, *args)
    if not reply.get("found") or not reply.get("task"):
        return None
    return str(reply["task"]["id"])
