"""TaskFile: tagged layout, legacy migration, atomic and locked edits, readable errors."""

import json
import multiprocessing
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from tasks.atomic import write_text_atomic
from tasks.errors import TasksFileError
from tasks.model import Task, TaskStatus
from tasks.store import TaskFile

DATA = Path(__file__).parent / "data"


@pytest.fixture
def tagged(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.json"
    shutil.copy(DATA / "taskmaster_tagged.json", path)
    return path


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.json"
    shutil.copy(DATA / "taskmaster_legacy.json", path)
    return path


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_missing_file_loads_empty(tmp_path: Path) -> None:
    store = TaskFile(tmp_path / "nope.json")
    assert not store.exists()
    assert store.load() == []
    assert store.tags() == []


def test_tags_and_loading_each_tag(tagged: Path) -> None:
    assert TaskFile(tagged).tags() == ["master", "feature-auth"]
    master = TaskFile(tagged).load()
    assert [task.id for task in master] == [1, 2, 3, 4]
    feature = TaskFile(tagged, tag="feature-auth").load()
    assert feature[0].title == "Add OAuth login"
    assert feature[0].complexity == 7
    assert TaskFile(tagged, tag="unknown").load() == []


def test_load_then_save_is_an_identical_json_object(tagged: Path) -> None:
    before = _read(tagged)
    store = TaskFile(tagged)
    store.save(store.load())
    assert _read(tagged) == before
    for tag in ("master", "feature-auth"):
        other = TaskFile(tagged, tag=tag)
        with other.edit():
            pass
    assert _read(tagged) == before


def test_edit_writes_task_master_formatting_byte_for_byte(tagged: Path) -> None:
    original = tagged.read_text(encoding="utf-8")
    store = TaskFile(tagged)
    with store.edit() as tasks:
        tasks.append(Task.new(5, "temporary"))
    with store.edit() as tasks:
        tasks.pop()
    expected = json.loads(original)
    expected["master"]["metadata"]["updated"] = store.metadata()["updated"]
    assert tagged.read_text(encoding="utf-8") == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    assert (
        tagged.read_text(encoding="utf-8").replace(
            store.metadata()["updated"], json.loads(original)["master"]["metadata"]["updated"]
        )
        == original
    )


def test_tag_name_colliding_with_unknown_top_level_key_is_refused(tagged: Path) -> None:
    before = tagged.read_bytes()
    with pytest.raises(TasksFileError, match="'schemaNote' that is not a tag"), TaskFile(tagged, "schemaNote").edit():
        pass
    assert tagged.read_bytes() == before


def test_edit_changes_only_its_tag_and_bumps_updated(tagged: Path) -> None:
    before = _read(tagged)
    with TaskFile(tagged).edit() as tasks:
        tasks[0].status = TaskStatus.REVIEW
        tasks.append(Task.new(5, "New task"))
    after = _read(tagged)
    assert after["feature-auth"] == before["feature-auth"]
    assert after["schemaNote"] == before["schemaNote"]
    assert after["master"]["metadata"]["projectName"] == "demo-app"
    assert after["master"]["metadata"]["created"] == before["master"]["metadata"]["created"]
    assert after["master"]["metadata"]["updated"] > before["master"]["metadata"]["updated"]
    assert after["master"]["tasks"][0] == {**before["master"]["tasks"][0], "status": "review"}
    assert after["master"]["tasks"][1:4] == before["master"]["tasks"][1:4]
    assert after["master"]["tasks"][4]["title"] == "New task"
    assert set(after["master"]["tasks"][4]) >= {"id", "title", "description", "details", "testStrategy", "status"}


def test_edit_creates_new_tag_with_metadata(tagged: Path) -> None:
    with TaskFile(tagged, tag="spike").edit() as tasks:
        tasks.append(Task.new(1, "Try it"))
    document = _read(tagged)
    assert list(document) == ["master", "feature-auth", "schemaNote", "spike"]
    assert document["spike"]["metadata"]["description"] == "Tasks for spike context"
    assert TaskFile(tagged).tags() == ["master", "feature-auth", "spike"]


def test_first_edit_creates_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tasks.json"
    TaskFile(path).save([Task.new(1, "first")])
    assert [task.title for task in TaskFile(path).load()] == ["first"]
    assert list(_read(path)) == ["master"]


def test_legacy_file_reads_as_master_and_migrates_on_write(legacy: Path) -> None:
    before = _read(legacy)
    store = TaskFile(legacy)
    assert store.tags() == ["master"]
    assert [task.id for task in store.load()] == [1, 2]
    store.save(store.load())  # nothing changed: no rewrite, no migration yet
    assert _read(legacy) == before
    with store.edit() as tasks:
        tasks.append(Task.new(3, "after migration"))
    after = _read(legacy)
    assert list(after) == ["master"]
    assert after["master"]["tasks"][:2] == before["tasks"]
    assert after["master"]["meta"] == before["meta"]
    assert {"created", "updated", "description"} <= set(after["master"]["metadata"])
    assert [task.id for task in TaskFile(legacy).load()] == [1, 2, 3]


def test_exception_inside_edit_leaves_file_untouched(tagged: Path) -> None:
    before = tagged.read_bytes()
    with pytest.raises(RuntimeError), TaskFile(tagged).edit() as tasks:
        tasks.clear()
        tasks.append(Task.new(99, "half done"))
        raise RuntimeError("boom")
    assert tagged.read_bytes() == before
    assert not [name for name in os.listdir(tagged.parent) if name.endswith(".tmp")]


def test_atomic_write_keeps_mode_and_cleans_up_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.json"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o600)
    write_text_atomic(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def crash(*_: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        write_text_atomic(path, "never visible")
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert sorted(os.listdir(tmp_path)) == ["f.json"]


def test_invalid_json_gives_tasks_file_error_with_path(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text('{"master": {"tasks": [', encoding="utf-8")
    with pytest.raises(TasksFileError, match=r"tasks\.json is not valid JSON \(line 1"):
        TaskFile(path).load()
    with pytest.raises(TasksFileError, match=re.escape(str(path))), TaskFile(path).edit():
        pass


def test_non_utf8_gives_tasks_file_error(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_bytes('{"master": {"tasks": [{"id": 1, "title": "caf\u00e9"}]}}'.encode("latin-1"))
    with pytest.raises(TasksFileError, match=r"is not UTF-8 \(bad byte at offset \d+\); re-save it as UTF-8") as info:
        TaskFile(path).load()
    assert str(path) in str(info.value)


def test_wrong_shapes_give_tasks_file_error(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(TasksFileError, match="must hold a JSON object"):
        TaskFile(path).load()
    path.write_text('{"master": {"tasks": [{"id": "one", "title": 5}]}}', encoding="utf-8")
    store = TaskFile(path)
    assert store.load() == []  # one bad entry is reported, not fatal (see test_tasks_integrity.py)
    assert "invalid task one in tag 'master' at tasks.0.id" in store.problems[0].message


def _append_tasks(path: str, worker: int, count: int) -> None:
    store = TaskFile(Path(path))
    for index in range(count):
        with store.edit() as tasks:
            next_id = max((task.id for task in tasks), default=0) + 1
            tasks.append(Task.new(next_id, f"worker {worker} task {index}"))


def test_concurrent_writers_never_lose_updates(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_tasks, args=(str(path), worker, 10)) for worker in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    document = _read(path)  # valid JSON
    tasks = TaskFile(path).load()
    assert len(tasks) == 40
    assert sorted(task.id for task in tasks) == list(range(1, 41))
    titles = {task.title for task in tasks}
    assert titles == {f"worker {worker} task {index}" for worker in range(4) for index in range(10)}
    assert list(document) == ["master"]
