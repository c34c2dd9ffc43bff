"""Studio's graphs take plain run values as their context (what a server can pass and describe) and resolve the live
context from them through one Workspace per project: two projects served by one Studio process never share tasks,
ledgers, knowledge bases or settings. No model is called here (contexts are built, not run)."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphs.errors import GraphError
from taskmaster.studio import STUDIO_RUN_ID, StudioRun, StudioWorkspaces, studio_graphs

PLAIN = (str, int, float, bool, type(None))


@pytest.fixture
def workspaces() -> Iterator[StudioWorkspaces]:
    served = StudioWorkspaces()
    yield served
    served.close()


@pytest.fixture
def projects(isolated_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two projects, and a server default (TASKMASTER_PROJECT_DIR) that is neither, as `langgraph dev` is run."""
    monkeypatch.setenv("TASKMASTER_PROJECT_DIR", str(isolated_project))
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (two / "taskmaster.toml").write_text("[routing]\nenabled = true\n", encoding="utf-8")
    return one, two


def test_every_studio_graph_takes_plain_json_schema_values_as_context(workspaces: StudioWorkspaces) -> None:
    graphs = studio_graphs(workspaces)
    assert set(graphs) == {"breakdown", "research", "codegen", "taskmaster"}
    hints = typing.get_type_hints(StudioRun)
    for field in dataclasses.fields(StudioRun):
        assert set(typing.get_args(hints[field.name])) <= set(PLAIN), field
    for name, graph in graphs.items():
        assert graph.context_schema is StudioRun, name
        schema = graph.get_context_jsonschema()
        assert set(schema["properties"]) == {"project", "tag", "profile"}, name
        for prop in schema["properties"].values():
            assert {option["type"] for option in prop["anyOf"]} == {"string", "null"}
        json.dumps(schema)  # describable to Studio's forms
        assert graph.get_output_jsonschema()["properties"], name  # callers get a defined result


def test_two_projects_contexts_do_not_mix(workspaces: StudioWorkspaces, projects: tuple[Path, Path]) -> None:
    one, two = (StudioRun(project=str(p), tag=tag) for p, tag in zip(projects, ("alpha", "beta"), strict=True))
    ws_one, ws_two = workspaces.workspace(one), workspaces.workspace(two)
    assert ws_one is not ws_two
    assert ws_one.paths.tasks_file.is_relative_to(projects[0].resolve())  # not TASKMASTER_PROJECT_DIR's
    assert ws_two.paths.tasks_file.is_relative_to(projects[1].resolve())
    assert (ws_one.settings.tag, ws_two.settings.tag) == ("alpha", "beta")

    breakdown_one, breakdown_two = workspaces.breakdown(one), workspaces.breakdown(two)
    assert (breakdown_one.tag, breakdown_two.tag) == ("alpha", "beta")
    assert breakdown_one.tasks_file is None and breakdown_two.tasks_file is None  # Studio returns the tree
    assert breakdown_one.router is ws_one.router() and breakdown_two.router is ws_two.router()
    assert ws_one.router() is not ws_two.router()

    run_one, run_two = StudioRun(project=str(projects[0])), StudioRun(project=str(projects[1]))
    codegen_one, codegen_two = workspaces.codegen(run_one), workspaces.codegen(run_two)
    assert codegen_one.record is workspaces.workspace(run_one).ledger()
    assert codegen_two.record is workspaces.workspace(run_two).ledger()
    assert codegen_one.record is not codegen_two.record
    assert codegen_one.run_id == codegen_two.run_id == STUDIO_RUN_ID
    assert codegen_one.start_policy is None  # routing is off in project one
    assert codegen_two.start_policy is not None  # and on in two: Studio gets it like every other entry point

    assert ws_one.knowledge_base() is not ws_two.knowledge_base()
    assert ws_one.settings.knowledge.data_dir != ws_two.settings.knowledge.data_dir


def test_a_run_resolves_its_context_once_from_its_projects_workspace(
    workspaces: StudioWorkspaces, projects: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(projects[0].parent)
    absolute, relative = StudioRun(project=str(projects[0])), StudioRun(project=projects[0].name)
    assert workspaces.workspace(absolute) is workspaces.workspace(relative)  # one Workspace per project
    first, again, other_run = (
        workspaces.breakdown(absolute),
        workspaces.breakdown(absolute),
        workspaces.breakdown(relative),
    )
    assert first is again  # every node of a run sees the same context
    assert other_run is not first and other_run.router is first.router  # a new run shares the project's router
    assert workspaces.workspace(StudioRun()).paths.project_dir != workspaces.workspace(absolute).paths.project_dir

    with pytest.raises(GraphError, match="context"):
        workspaces.research(None)


def test_the_studio_loop_works_the_project_and_tag_its_run_names(
    workspaces: StudioWorkspaces, projects: tuple[Path, Path]
) -> None:
    loop = studio_graphs(workspaces)["taskmaster"]
    for project, tag in zip(projects, ("alpha", "beta"), strict=True):
        context = {"project": str(project), "tag": tag}  # what the server passes: the run's plain values
        state = loop.invoke({}, {"configurable": {"thread_id": f"run-{tag}"}}, context=context)
        assert state["stop_reason"] == "nothing_ready", state
        assert any(f"tag {tag!r} has no tasks" in note for note in state["notes"]), state["notes"]
        assert set(state) <= {"results", "stop_reason", "notes"}  # the output schema, not the raw state
