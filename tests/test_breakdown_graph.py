"""The breakdown graph's logic with a scripted model: fan-out, limits, dependency hygiene, resume."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fakes import make_router
from langgraph.checkpoint.memory import InMemorySaver

from agents.errors import StructuredOutputError
from graphs.breakdown import BreakdownContext, BreakdownLimits, build_breakdown_graph
from graphs.breakdown.sections import section_budget_chars, split_sections
from tasks.dependencies import validate_dependencies
from tasks.store import TaskFile
from tasks.tree import iter_tasks


def draft(title: str, deps: list[int] | None = None) -> dict[str, Any]:
    return {
        "title": title,
        "description": f"Do {title}.",
        "details": "Implement it.",
        "test_strategy": "Unit tests.",
        "priority": "medium",
        "depends_on": deps or [],
    }


def scripted(complexity_of: dict[str, int] | None = None, children: int = 2):
    """Parse gives three tasks (with a self and a forward dependency to be dropped); scores by title."""
    complexity_of = complexity_of or {}

    def respond(schema: str, messages: list) -> dict[str, Any]:
        prompt = messages[-1].content
        if schema.startswith("TaskDrafts") and "<prd>" in prompt:
            return {"tasks": [draft("Setup", [1, 3]), draft("Models", [1]), draft("API", [1, 2]), draft("setup!")]}
        if schema == "ComplexityScore":
            title = re.search(r"Task: (.*)", prompt).group(1)
            return {"complexity": complexity_of.get(title, 2), "recommended_subtasks": children, "reasoning": "r"}
        if schema.startswith("TaskDrafts"):
            parent = re.search(r"Task to break down: (.*)", prompt).group(1)
            return {"tasks": [draft(f"{parent} part {i}", [i - 1] if i > 1 else []) for i in range(1, children + 2)]}
        raise AssertionError(schema)

    return respond


def run(router, tmp_path: Path, limits: BreakdownLimits, inputs: dict[str, Any], saver=None, thread="t") -> dict:
    graph = build_breakdown_graph(saver or InMemorySaver())
    context = BreakdownContext(
        router=router, limits=limits, tasks_file=tmp_path / "tasks.json", context_length=2048, max_output_tokens=256
    )
    return graph.invoke(inputs, {"configurable": {"thread_id": thread}}, context=context)


def test_parse_scores_and_expands_above_threshold_only(tmp_path: Path) -> None:
    router, _ = make_router(scripted({"API": 8}))
    state = run(
        router,
        tmp_path,
        BreakdownLimits(threshold=5, max_depth=2, max_breadth=5),
        {"mode": "parse", "source_text": "# PRD\nBuild it.", "num_tasks": 3},
    )
    tasks = TaskFile(tmp_path / "tasks.json").load()
    assert [t.title for t in tasks] == ["Setup", "Models", "API"]  # duplicate "setup!" dropped
    assert tasks[0].dependencies == [] and tasks[1].dependencies == [1] and tasks[2].dependencies == [1, 2]
    # only the complex task (8 > 5) is expanded, to the recommended 2 (the model's third item is trimmed)
    assert [len(t.subtasks) for t in tasks] == [0, 0, 2]
    assert [s.dependencies for s in tasks[2].subtasks] == [[], [1]]
    assert validate_dependencies(tasks) == []
    assert all(t.complexity is not None for _, t in iter_tasks(tasks))
    assert state["written"] is True
    assert set(state) == {"tasks", "nodes", "problems", "written"}  # the output schema, not the working state


def test_recursion_respects_depth_breadth_and_total_limits(tmp_path: Path) -> None:
    router, _ = make_router(
        lambda s, m: (
            scripted(children=4)(s, m)
            if s != "ComplexityScore"
            else {"complexity": 9, "recommended_subtasks": 4, "reasoning": "r"}
        )
    )
    run(
        router,
        tmp_path,
        BreakdownLimits(threshold=5, max_depth=2, max_breadth=3, max_total_tasks=20),
        {"mode": "parse", "source_text": "# PRD\nBuild it.", "num_tasks": 3},
    )
    tasks = TaskFile(tmp_path / "tasks.json").load()
    ids = [full_id for full_id, _ in iter_tasks(tasks)]
    assert len(ids) <= 20
    assert max(i.count(".") for i in ids) <= 2  # depth limit
    assert all(len(t.subtasks) <= 3 for _, t in iter_tasks(tasks))  # breadth limit
    assert any(i.count(".") == 2 for i in ids)  # it did recurse


def test_long_prd_is_split_and_parsed_in_parallel_within_budget(tmp_path: Path) -> None:
    sections = [f"## Part {i}\n" + ("words and more words. " * 120) for i in range(6)]
    text = "# Big PRD\n" + "\n".join(sections)
    budget = section_budget_chars(2048, 256)
    assert len(text) > budget
    router, chat = make_router(scripted())
    run(router, tmp_path, BreakdownLimits(max_depth=0), {"mode": "parse", "source_text": text, "num_tasks": 6})
    prd_prompts = [m[-1].content for name, m in chat.calls if "<prd>" in m[-1].content]
    assert len(prd_prompts) == len(split_sections(text, budget)) > 1
    for prompt in prd_prompts:
        section = prompt.split("<prd>")[1].split("</prd>")[0]
        assert len(section.strip()) <= budget


def test_model_that_never_returns_valid_json_fails_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    router, chat = make_router(lambda schema, messages: "{not json", retries=2)
    with pytest.raises(StructuredOutputError, match="3 times"):
        run(router, tmp_path, BreakdownLimits(), {"mode": "parse", "source_text": "# PRD\nx", "num_tasks": 2})
    assert not (tmp_path / "tasks.json").exists()
    assert len(chat.calls) == 3
    assert "not valid JSON" in chat.calls[-1][1][-1].content  # the error was fed back


def test_failed_scoring_is_reported_not_fatal(tmp_path: Path) -> None:
    base = scripted()
    router, _ = make_router(lambda s, m: "garbage" if s == "ComplexityScore" else base(s, m), retries=0)
    state = run(router, tmp_path, BreakdownLimits(), {"mode": "parse", "source_text": "# PRD\nx", "num_tasks": 3})
    assert len(TaskFile(tmp_path / "tasks.json").load()) == 3
    assert any("not scored" in p for p in state["problems"])


def test_interrupted_run_resumes_without_redoing_finished_work(tmp_path: Path) -> None:
    calls = {"expand": 0}
    base = scripted({"API": 8})

    def flaky(schema: str, messages: list) -> Any:
        if schema.startswith("TaskDrafts") and "Task to break down" in messages[-1].content:
            calls["expand"] += 1
            if calls["expand"] == 1:
                raise ConnectionError("server went away")
        return base(schema, messages)

    router, chat = make_router(flaky)
    saver = InMemorySaver()
    inputs = {"mode": "parse", "source_text": "# PRD\nx", "num_tasks": 3}
    with pytest.raises(ConnectionError):
        run(router, tmp_path, BreakdownLimits(), inputs, saver=saver)
    parse_calls = sum(1 for _, m in chat.calls if "<prd>" in m[-1].content)
    graph = build_breakdown_graph(saver)
    context = BreakdownContext(router=router, limits=BreakdownLimits(), tasks_file=tmp_path / "tasks.json")
    graph.invoke(None, {"configurable": {"thread_id": "t"}}, context=context)
    assert sum(1 for _, m in chat.calls if "<prd>" in m[-1].content) == parse_calls == 1
    assert len(TaskFile(tmp_path / "tasks.json").load()[2].subtasks) == 2


def test_expand_mode_replaces_or_appends_children(tmp_path: Path) -> None:
    from tasks.model import Task

    store = TaskFile(tmp_path / "tasks.json")
    store.save([Task.new(1, "API", subtasks=[Task.new(1, "old")])])
    router, _ = make_router(scripted(children=1))
    root = {
        "id": "1",
        "parent": None,
        "depth": 0,
        "order": 1,
        "title": "API",
        "scored": True,
        "expanded": False,
        "force_children": 2,
        "next_child": 2,
        "replace_children": False,
    }
    run(router, tmp_path, BreakdownLimits(max_depth=1), {"mode": "expand", "roots": [root]})
    assert [s.id for s in store.load()[0].subtasks] == [1, 2, 3]
    root |= {"next_child": 1, "replace_children": True}
    run(router, tmp_path, BreakdownLimits(max_depth=1), {"mode": "expand", "roots": [root]}, thread="t2")
    assert [s.title for s in store.load()[0].subtasks] == ["API part 1", "API part 2"]
