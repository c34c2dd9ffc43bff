"""The planning API (`ws.parse_prd`, `ws.plan_goal`, `ws.expand`, `ws.analyze_complexity`) on a real temp project.

The run-or-resume and bookkeeping behaviour is checked with a scripted planner in place of the model router (the
one place Settings become a router, taskmaster.workspace.models.model_router), so exact counts can be asserted; bad
input is checked with no model at all; one test runs the whole cycle on the embedded SmolLM2 server.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fakes import make_router

from taskmaster.errors import AppError, TaskStoreError
from taskmaster.workspace.planning import ComplexityResult, ExpandResult, PlanResult
from taskmaster.workspace.workspace import Workspace
from tasks.dependencies import validate_dependencies
from tasks.model import Task
from tasks.store import TaskFile
from tasks.tree import iter_tasks

PRD = "# Shop\n\nSell books online: a catalogue, a cart and a checkout.\n"


def _draft(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": f"Do {title}.",
        "details": "d",
        "test_strategy": "t",
        "priority": "medium",
        "depends_on": [],
    }


class Planner:
    """Three tasks for a PRD (only "Checkout" is complex); two subtasks per expansion; optionally one lost server."""

    def __init__(self, crash_on_expand: int = 0) -> None:
        self.calls: Counter[str] = Counter()
        self.crash_on_expand = crash_on_expand

    def __call__(self, schema: str, messages: list) -> dict[str, Any]:
        prompt = messages[-1].content
        if schema.startswith("TaskDrafts") and "<prd>" in prompt:
            self.calls["parse"] += 1
            return {"tasks": [_draft("Catalogue"), _draft("Cart"), _draft("Checkout")]}
        if schema == "ComplexityScore":
            self.calls["score"] += 1
            title = re.search(r"Task: (.*)", prompt).group(1)
            return {"complexity": 8 if title == "Checkout" else 2, "recommended_subtasks": 2, "reasoning": "r"}
        self.calls["expand"] += 1
        if self.calls["expand"] == self.crash_on_expand:
            raise ConnectionError("server went away")
        parent = re.search(r"Task to break down: (.*)", prompt).group(1)
        return {"tasks": [_draft(f"{parent} part 1"), _draft(f"{parent} part 2")]}


@pytest.fixture
def planner(monkeypatch: pytest.MonkeyPatch) -> Planner:
    """Every Workspace's router answers with this scripted Planner (returned, to count its calls)."""
    planner = Planner()

    @contextmanager
    def scripted_router(settings: object) -> Iterator[object]:
        yield make_router(planner)[0]

    monkeypatch.setattr("taskmaster.workspace.models.model_router", scripted_router)
    return planner


def _store(project: Path) -> TaskFile:
    return TaskFile(project / ".taskmaster" / "tasks" / "tasks.json")


def test_parse_prd_writes_the_tree_and_reports_the_run(isolated_project: Path, planner: Planner) -> None:
    (isolated_project / "prd.md").write_text(PRD)
    seen: list[str] = []
    with Workspace.open(isolated_project) as ws:
        result = ws.parse_prd("prd.md", depth=1, on_update=lambda node, update: seen.append(node))
    assert isinstance(result, PlanResult)
    assert [t.title for t in result.tasks] == ["Catalogue", "Cart", "Checkout"]
    assert [s.title for s in result.tasks[2].subtasks] == ["Checkout part 1", "Checkout part 2"]
    assert result.top_level == 3 and result.total == 5 and result.tag == "master"
    assert result.tasks == _store(isolated_project).load()  # what it returns is what it wrote
    assert result.thread_id.startswith("parse-") and result.resumed is False
    assert result.tasks_file == isolated_project / ".taskmaster" / "tasks" / "tasks.json"
    assert planner.calls == {"parse": 1, "score": 5, "expand": 1}  # 3 tasks and 2 subtasks scored
    assert result.usage.startswith("7 model calls")  # this call's own meter
    assert {"parse_section", "score", "expand", "persist"} <= set(seen)
    json.loads(result.model_dump_json())  # results serialise (the CLI's --json and MCP use them)


def test_an_interrupted_parse_resumes_on_the_same_thread(isolated_project: Path, planner: Planner) -> None:
    (isolated_project / "prd.md").write_text(PRD)
    planner.crash_on_expand = 1
    with Workspace.open(isolated_project) as ws, pytest.raises(ConnectionError):
        ws.parse_prd("prd.md", depth=1)
    assert not _store(isolated_project).exists()  # nothing half-written
    assert planner.calls == {"parse": 1, "score": 3, "expand": 1}
    with Workspace.open(isolated_project) as ws:  # a new process would do the same: the checkpoint is on disk
        result = ws.parse_prd("prd.md", depth=1)
    assert result.resumed is True
    assert planner.calls == {"parse": 1, "score": 5, "expand": 2}  # only the failed expansion (and its children) ran
    assert [s.title for s in result.tasks[2].subtasks] == ["Checkout part 1", "Checkout part 2"]
    with Workspace.open(isolated_project) as ws:  # a finished thread starts over (with force: tasks now exist)
        again = ws.parse_prd("prd.md", depth=1, force=True)
    assert again.resumed is False and planner.calls["parse"] == 2


def test_existing_tasks_need_append_or_force(isolated_project: Path, planner: Planner) -> None:
    with Workspace.open(isolated_project) as ws:
        ws.plan_goal("A shop that sells books", depth=0)
        with pytest.raises(AppError, match=r"already has 3 tasks.*append.*force"):
            ws.plan_goal("A shop that sells books", depth=0)
        appended = ws.plan_goal("A shop that sells books", depth=0, append=True)
        assert [t.id for t in appended.tasks] == [1, 2, 3, 4, 5, 6] and appended.top_level == 3
        replaced = ws.plan_goal("A shop that sells books", depth=0, force=True)
        assert [t.id for t in replaced.tasks] == [1, 2, 3]


def test_expand_one_task_and_all(isolated_project: Path, planner: Planner) -> None:
    with Workspace.open(isolated_project) as ws:
        ws.plan_goal("A shop that sells books", depth=0)
        one = ws.expand("2", num=2)
        assert isinstance(one, ExpandResult)
        assert one.ids == ["2"] and one.unexpanded == [] and one.failure() is None
        assert [s.title for s in one.tasks[0].subtasks] == ["Cart part 1", "Cart part 2"]
        rest = ws.expand(all=True, num=2)  # pending tasks without subtasks: 1 and 3
        assert rest.ids == ["1", "3"] and rest.unexpanded == []
        with pytest.raises(AppError, match=r"no pending tasks without subtasks.*force"):
            ws.expand(all=True)
    tasks = _store(isolated_project).load()
    assert all(len(t.subtasks) == 2 for t in tasks) and validate_dependencies(tasks) == []


def test_analyze_complexity_writes_task_masters_report(isolated_project: Path, planner: Planner) -> None:
    with Workspace.open(isolated_project) as ws:
        ws.plan_goal("A shop that sells books", depth=0)
        result = ws.analyze_complexity()
        assert isinstance(result, ComplexityResult)
        assert [(s.id, s.complexity) for s in result.scores] == [("1", 2), ("2", 2), ("3", 8)]
        report = json.loads(result.report.read_text())
        assert [row["taskId"] for row in report["complexityAnalysis"]] == [1, 2, 3]
        only = ws.analyze_complexity(["3"])
        assert [s.id for s in only.scores] == ["3"]
        # expand reads the report's recommendation (2) when no count is given
        assert len(ws.expand("1").tasks[0].subtasks) == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "not found"),
        (b"  \n", "empty"),
        (b"# PRD\n\x00binary", "binary"),
        (b"caf\xe9", "UTF-8"),
        (b"# PRD\n" + b"x" * 3000, r"breakdown.max_prd_bytes \(2 KB\)"),
    ],
    ids=["missing", "blank", "binary", "latin1", "huge"],
)
def test_bad_prd_files_raise_before_any_model(isolated_project: Path, content: bytes | None, expected: str) -> None:
    if content is not None:
        (isolated_project / "prd.md").write_bytes(content)
    with Workspace.open(isolated_project, breakdown={"max_prd_bytes": 2000}) as ws:
        with pytest.raises(AppError, match=expected):
            ws.parse_prd(isolated_project / "prd.md")
        assert "router" not in ws._opened  # no model was set up for a bad input


def test_bad_arguments_raise_one_sentence(isolated_project: Path) -> None:
    _store(isolated_project).save([Task.new(1, "Only task")])
    with Workspace.open(isolated_project) as ws:
        with pytest.raises(AppError, match="goal is empty"):
            ws.plan_goal("   ")
        with pytest.raises(AppError, match=r"num must be at least 1 \(got 0\)"):
            ws.plan_goal("A word counter", num_tasks=0, force=True)
        with pytest.raises(AppError, match="depth must be 0 or more"):
            ws.expand("1", depth=-1)
        with pytest.raises(AppError, match="not both"):
            ws.expand("1", all=True)
        with pytest.raises(AppError, match="not both"):
            ws.expand()
        with pytest.raises(TaskStoreError, match="42"):
            ws.expand("42")
        with pytest.raises(AppError, match="no pending tasks to analyse"):
            ws.analyze_complexity(["7"])
        parts = [f"# Part {i}\n" + f"Requirement {i}: the system shall do thing {i}.\n" * 400 for i in range(6)]
        (isolated_project / "big.md").write_text("".join(parts))
        ws.settings.breakdown.max_total_tasks = 3
        with pytest.raises(AppError, match=r"more than breakdown.max_total_tasks \(3\)"):
            ws.parse_prd("big.md", force=True)
        assert "router" not in ws._opened
    assert [t.title for t in _store(isolated_project).load()] == ["Only task"]


@pytest.mark.e2e
def test_plan_expand_and_analyze_on_the_embedded_model(isolated_project: Path, embedded_server: object) -> None:
    """The whole cycle on SmolLM2-135M, kept to a few calls: what the system guarantees whatever the model says."""
    # the machine running the suite may be busy: a slow answer is not what this test checks
    with Workspace.open(isolated_project, breakdown={"max_breadth": 2}, timeout_s=900) as ws:
        plan = ws.plan_goal("A command-line tool that counts words in text files", num_tasks=1, depth=0)
        assert 1 <= len(plan.tasks) <= 2 and plan.tasks == _store(isolated_project).load()
        assert plan.usage and "model calls" in plan.usage
        expanded = ws.expand("1", num=2, force=True)
        assert expanded.unexpanded == [], expanded.failure()
        scored = ws.analyze_complexity("1")
    tasks = _store(isolated_project).load()
    for _, task in iter_tasks(tasks):
        Task.model_validate(task.model_dump(by_alias=True))
    assert validate_dependencies(tasks) == []
    assert 1 <= len(tasks[0].subtasks) <= 2 and expanded.tasks[0] == tasks[0]
    assert [s.id for s in scored.scores] == ["1"] and scored.report.is_file()
    assert all(s.complexity is None or 1 <= s.complexity <= 10 for s in scored.scores)
