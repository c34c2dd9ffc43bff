"""Bad input gets one `error:` line, a non-zero exit, and leaves tasks.json untouched."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from e2e import one_line_error, run_cli
from stub_server import stub_openai_server

from serving.process import free_port

ORIGINAL = '{\n  "master": {\n    "tasks": [\n      {"id": 1, "title": "keep me", "dependencies": []}\n    ]\n  }\n}\n'


@pytest.fixture
def project(isolated_project: Path) -> Path:
    tasks = isolated_project / ".taskmaster" / "tasks" / "tasks.json"
    tasks.parent.mkdir(parents=True)
    tasks.write_text(ORIGINAL)
    return isolated_project


def untouched(project: Path) -> bool:
    return (project / ".taskmaster" / "tasks" / "tasks.json").read_text() == ORIGINAL


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "not found"),
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        (b"caf\xe9 au lait", "UTF-8"),
    ],
    ids=["missing", "empty", "blank", "binary", "latin1"],
)
def test_bad_prd_files(project: Path, content: bytes | None, expected: str) -> None:
    if content is not None:
        (project / "prd.md").write_bytes(content)
    result = run_cli("parse-prd", "prd.md", "--force", cwd=project)
    assert expected in one_line_error(result)
    assert untouched(project)


def test_unreachable_endpoint_fails_within_the_timeout(project: Path) -> None:
    (project / "prd.md").write_text("# PRD\nBuild a thing.\n")
    dead = f"http://127.0.0.1:{free_port()}/v1"
    env = {"TASKMASTER_PROFILE": "openai-compatible", "TASKMASTER_BASE_URL": dead, "TASKMASTER_HEALTH_TIMEOUT_S": "2"}
    start = time.monotonic()
    result = run_cli("parse-prd", "prd.md", "--force", cwd=project, env=env)
    assert "did not answer" in one_line_error(result) or "answered" in result.stderr
    assert time.monotonic() - start < 30
    assert untouched(project)


def test_non_loopback_endpoint_is_refused(project: Path) -> None:
    (project / "prd.md").write_text("# PRD\nBuild a thing.\n")
    env = {"TASKMASTER_PROFILE": "openai-compatible", "TASKMASTER_BASE_URL": "http://203.0.113.7:8000/v1"}
    assert "allow_hosts" in one_line_error(run_cli("parse-prd", "prd.md", "--force", cwd=project, env=env))
    assert untouched(project)


def test_model_that_keeps_returning_invalid_json(project: Path) -> None:
    (project / "prd.md").write_text("# PRD\nBuild a thing.\n")
    with stub_openai_server("Sure! Here are your tasks: 1. build it") as url:
        env = {"TASKMASTER_PROFILE": "openai-compatible", "TASKMASTER_BASE_URL": url}
        result = run_cli("parse-prd", "prd.md", "--force", cwd=project, env=env)
    assert "invalid output" in one_line_error(result)
    assert untouched(project)


def test_unknown_task_id_for_expand(project: Path) -> None:
    assert "42" in one_line_error(run_cli("expand", "42", cwd=project))
    assert untouched(project)


def test_existing_tasks_need_append_or_force(project: Path) -> None:
    (project / "prd.md").write_text("# PRD\nBuild a thing.\n")
    assert "--append" in one_line_error(run_cli("parse-prd", "prd.md", cwd=project))
    assert untouched(project)


def test_corrupt_tasks_file(project: Path) -> None:
    (project / ".taskmaster" / "tasks" / "tasks.json").write_text("{ not json")
    assert "tasks.json" in one_line_error(run_cli("list", cwd=project))


# --- bounded work on huge or odd input (issue 11) ---------------------------------------------------------------
@contextmanager
def counted_stub() -> Iterator[tuple[str, list[dict]]]:
    """A loopback model that records every chat request it gets."""
    calls: list[dict] = []

    def responder(body: dict) -> str:
        calls.append(body)
        return '{"tasks": []}'

    with stub_openai_server("{}", responder=responder) as url:
        yield url, calls


def stub_env(url: str, **extra: str) -> dict[str, str]:
    return {"TASKMASTER_PROFILE": "openai-compatible", "TASKMASTER_BASE_URL": url, **extra}


def test_a_nul_byte_after_the_first_8_kib_is_still_binary(project: Path) -> None:
    (project / "prd.md").write_bytes(b"# PRD\n" + b"Build a thing.\n" * 1000 + b"\x00 tail\n")
    assert "binary" in one_line_error(run_cli("parse-prd", "prd.md", "--force", cwd=project))
    assert untouched(project)


def test_a_prd_over_max_prd_bytes_is_refused_before_any_model_call(project: Path) -> None:
    (project / "prd.md").write_text("# PRD\n" + "The system shall add numbers.\n" * 20_000)  # 600 KB
    with counted_stub() as (url, calls):
        result = run_cli("parse-prd", "prd.md", "--force", cwd=project, env=stub_env(url))
    line = one_line_error(result)
    assert "breakdown.max_prd_bytes" in line and "600 KB" in line
    assert calls == []
    assert untouched(project)


def test_max_prd_bytes_is_a_setting(project: Path) -> None:
    (project / "prd.md").write_text("# PRD\n" + "x" * 3000 + "\n")
    env = {"TASKMASTER_BREAKDOWN__MAX_PRD_BYTES": "2000"}
    assert "max_prd_bytes (2 KB)" in one_line_error(run_cli("parse-prd", "prd.md", "--force", cwd=project, env=env))


def test_more_sections_than_max_total_tasks_is_refused_before_any_model_call(project: Path) -> None:
    """A PRD under the byte limit can still split into more sections (one model call each) than tasks allowed."""
    body = "".join(f"# Part {i}\n" + f"Requirement {i}: the system shall do thing {i}.\n" * 400 for i in range(6))
    (project / "prd.md").write_text(body)
    with counted_stub() as (url, calls):
        env = stub_env(url, TASKMASTER_BREAKDOWN__MAX_TOTAL_TASKS="3")
        result = run_cli("parse-prd", "prd.md", "--force", cwd=project, env=env)
    assert "more than breakdown.max_total_tasks (3)" in one_line_error(result)
    assert calls == []


@pytest.mark.parametrize("num", ["0", "-3"])
def test_expand_num_must_be_positive_and_is_checked_before_any_model_call(project: Path, num: str) -> None:
    with counted_stub() as (url, calls):
        started = time.monotonic()
        result = run_cli("expand", "1", "--num", num, cwd=project, env=stub_env(url))
    assert f"--num must be at least 1 (got {num})" in one_line_error(result)
    assert calls == [] and time.monotonic() - started < 30
    assert untouched(project)


def test_parse_prd_num_must_be_positive(project: Path) -> None:
    (project / "prd.md").write_text("# PRD\nBuild a thing.\n")
    assert "--num must be at least 1" in one_line_error(run_cli("parse-prd", "prd.md", "-n", "0", cwd=project))


def test_a_command_cannot_make_more_model_calls_than_its_budget() -> None:
    """The router view a breakdown runs on stops at its call budget, whatever the graph asks for."""
    from langchain_core.messages import HumanMessage

    from agents.llm.config import Endpoint, ModelConfig, Tier
    from agents.llm.router import CallBudgetExceeded, ModelRouter

    with counted_stub() as (url, calls):
        config = ModelConfig(tiers={"fast": Tier(model="stub", endpoints=[Endpoint(base_url=url)])}, roles={})
        router = ModelRouter(config).limited(2, " (test)")
        router.complete("fast", [HumanMessage(content="one")])
        router.metered().complete("fast", [HumanMessage(content="two")])  # views share the budget
        with pytest.raises(CallBudgetExceeded, match="limit of 2 model calls"):
            router.complete("fast", [HumanMessage(content="three")])
    assert len(calls) == 2


def test_long_breakdowns_report_progress_without_a_terminal(project: Path) -> None:
    """Issue 11: a long parse-prd printed nothing when stderr was not a terminal (Rich hides its live bar)."""
    reply = (
        '{"tasks": [{"title": "Add numbers", "description": "Sum two inputs", "details": "Parse and add", '
        '"test_strategy": "Unit tests", "priority": "high", "depends_on": []}], '
        '"complexity": 2, "recommended_subtasks": 0, "reasoning": "simple"}'
    )
    (project / "prd.md").write_text("# Part 1\n" + "Add numbers.\n" * 2000 + "# Part 2\n" + "Show results.\n" * 2000)
    with stub_openai_server(reply, reply_delay_s=0.2) as url:
        result = run_cli("parse-prd", "prd.md", "--force", "--depth", "0", cwd=project, env=stub_env(url))
    assert result.returncode == 0, result.stderr
    assert "planning: 1 sections parsed" in result.stderr, result.stderr
