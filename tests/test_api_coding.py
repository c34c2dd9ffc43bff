"""The coding API (code, verify) on a real temp project; the model is scripted (the real-model runs of the same
functions go through `taskmaster code` in test_codegen_e2e.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fakes import make_router

from taskmaster.errors import AppError, TaskmasterError, TaskStoreError
from taskmaster.workspace import Workspace
from tasks.model import Task, TaskStatus
from tasks.store import TaskFile

GOOD = (
    "```python\ndef add(a, b):\n    return a + b\n```\n\n"
    "```python\nfrom solution import *\n\n\ndef test_add():\n    assert add(2, 3) == 5\n```"
)
BROKEN = "```python\ndef add(a, b:\n```"


@pytest.fixture
def replies(isolated_project: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    replies: dict[str, Any] = {"code": GOOD, "routers": 0}

    def respond(schema: str, messages: list) -> Any:
        if schema == "CodePlan":
            return {"steps": ["write it"]}
        if schema == "JudgeVerdict":
            return {"passed": True, "confidence": 0.8, "reasons": ["ok"]}
        return replies["code"]

    @contextmanager
    def scripted_router(settings: Any) -> Iterator[Any]:
        replies["routers"] += 1
        yield make_router(respond)[0]

    monkeypatch.setattr("taskmaster.workspace.models.model_router", scripted_router)
    return replies


@pytest.fixture
def ws(isolated_project: Path, replies: dict[str, Any]) -> Iterator[Workspace]:
    with Workspace.open(isolated_project) as workspace:
        yield workspace


def tasks(project: Path, *titles: str) -> TaskFile:
    store = TaskFile(project / ".taskmaster" / "tasks" / "tasks.json")
    store.save([Task.new(i + 1, title, description=title) for i, title in enumerate(titles)])
    return store


def test_code_for_a_spec_writes_files_and_ledger(ws: Workspace, isolated_project: Path) -> None:
    result = ws.code(spec="Write add(a, b).", task_type="standard_dev")
    assert (result.status, result.solved_by, result.attempts, result.escalations) == ("solved", "fast", 1, 0)
    assert result.thread_id.startswith("code-") and result.waiting is None and not result.resumed
    out = Path(result.out_dir)
    assert out.parent == isolated_project / ".taskmaster" / "code"
    assert (out / "solution.py").read_text().startswith("def add(a, b):")
    assert sorted(Path(f).name for f in result.files) == ["result.json", "solution.py", "test_solution.py"]
    assert result.usage.startswith("2 model calls")  # plan + code, as the router meter counts them
    assert [r.worker_tier for r in (row.record for row in ws.ledger().rows())] == ["fast"]
    assert result.model_dump(mode="json")["status"] == "solved"


def test_code_for_a_task_pauses_for_review_and_resumes_without_rerunning(
    ws: Workspace, isolated_project: Path, replies: dict[str, Any]
) -> None:
    store = tasks(isolated_project, "Add two numbers", "Refactor the parser")
    assert ws.code("1", task_type="quick_edit").status == "solved"
    assert store.load()[0].status == TaskStatus.DONE

    replies["code"] = BROKEN  # "refactor" → complex: coder, planner, then a person decides
    waiting = ws.code("2", attempts=1, out=isolated_project / "out")
    assert waiting.status == "waiting" and waiting.waiting is not None and "code" in waiting.waiting
    assert store.load()[1].status == TaskStatus.REVIEW
    attempts = len(ws.ledger().rows())

    with pytest.raises(AppError, match="needs your edited code"):
        ws.code("2", attempts=1, review="edit")
    edited = ws.code("2", attempts=1, out=isolated_project / "out", review="edit", edited_code="def add(a, b): ...")
    assert edited.status == "edited" and edited.resumed
    assert (isolated_project / "out" / "solution.py").read_text().startswith("def add(a, b): ...")
    assert store.load()[1].status == TaskStatus.DONE
    assert len(ws.ledger().rows()) == attempts  # answering the review ran no worker again


def test_on_review_answers_in_the_same_call(ws: Workspace, replies: dict[str, Any]) -> None:
    replies["code"] = BROKEN
    seen: list[dict[str, Any]] = []

    def approve(payload: dict[str, Any]) -> dict[str, Any]:
        seen.append(payload)
        return {"action": "approve"}

    result = ws.code(spec="Refactor the parser module.", attempts=1, on_review=approve)
    assert result.status == "approved" and len(seen) == 1 and "passed" in seen[0]
    again = ws.code(spec="Refactor the parser module.", attempts=1, fresh=True)  # a finished thread starts over
    assert again.status == "waiting" and not again.resumed


def test_code_bad_input_raises_api_errors(ws: Workspace, isolated_project: Path, replies: dict[str, Any]) -> None:
    with pytest.raises(AppError, match="either a task id or a spec"):
        ws.code()
    with pytest.raises(AppError, match="either a task id or a spec"):
        ws.code("1", spec="x")
    with pytest.raises(AppError, match="unknown task type 'huge'"):
        ws.code(spec="x", task_type="huge")
    with pytest.raises(AppError, match="unknown review action"):
        ws.code(spec="x", review="maybe")
    tasks(isolated_project, "Add two numbers")
    with pytest.raises(TaskStoreError):
        ws.code("9")
    assert replies["routers"] == 0  # none of these started a model


def test_verify_passes_fails_and_refuses_unreadable_files(ws: Workspace, tmp_path: Path) -> None:
    good, bad, blob = tmp_path / "good.py", tmp_path / "bad.py", tmp_path / "blob.py"
    good.write_text("def add(a, b):\n    return a + b\n")
    bad.write_text("def add(a, b):\n    return a - b\n")
    blob.write_bytes(b"\x7fELF\x00")
    tests = "from good import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    passed = ws.verify(good, tests=tests)
    assert passed.passed and [o.name for o in passed.outcomes][-1] == "tests" and passed.language == "python"
    test_file = tmp_path / "test_add.py"
    test_file.write_text(tests.replace("from good", "from solution"))
    failed = ws.verify(bad, tests=test_file, task_type="critical")
    assert not failed.passed and any("assert -1 == 3" in e for o in failed.outcomes for e in o.errors)
    assert any("judge" in s for s in failed.skipped)
    with pytest.raises(AppError, match="binary file"):
        ws.verify(blob)
    with pytest.raises(AppError, match="does not exist"):
        ws.verify(tmp_path / "nope.py")
    with pytest.raises(TaskmasterError, match="unknown task type"):
        ws.verify(good, task_type="yolo")
