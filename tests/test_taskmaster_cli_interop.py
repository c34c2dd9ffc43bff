"""Interop with the real Task Master CLI (npm task-master-ai 0.43.1, `make test-tools`), offline, no API key.

- Task Master writes, we read: everything it writes (string ids, blocked, updatedAt, parentTaskId, its metadata)
  loads, and `next` agrees.
- We write, Task Master reads and edits: its list/show/next/set-status/validate-dependencies work on our file, and
  nothing of ours (unknown fields, complexity, a third nesting level) is lost afterwards.
- One lock: proper-lockfile (the library tm-core uses) and Task Master's legacy lock file both exclude our writes
  and ours exclude theirs; both tools writing the same file at once keep every write.
- Task Master's own repository tasks.json round-trips through import/export unchanged and stays readable by it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from e2e import ROOT, run_cli
from task_master_npm import PROPER_LOCKFILE, init_project, offline_env, require_cli, tm, tm_json, tm_next_id

from tasks import editing
from tasks.lock import TasksLock
from tasks.model import Task
from tasks.select import next_task
from tasks.store import TaskFile

REPO_DATA = ROOT / "tests" / "data" / "taskmaster-repo"


def ours(project: Path, *args: str) -> Any:
    """Run our CLI with --json and parse it; fails the test on a non-zero exit."""
    result = run_cli(*args, "--json", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def raw_document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_task_master_writes_we_read(tmp_path: Path) -> None:
    require_cli()
    path = init_project(tmp_path)
    tm(tmp_path, "add-task", "--title", "Set up repo", "--description", "init", "--priority", "high")
    tm(tmp_path, "add-task", "--title", "Build API", "--description", "api", "--dependencies", "1")
    tm(tmp_path, "add-task", "--title", "Ship it", "--description", "ship", "--priority", "low")
    tm(tmp_path, "add-subtask", "--parent", "2", "--title", "Schema", "--description", "s")
    tm(tmp_path, "add-subtask", "--parent", "2", "--title", "Routes", "--description", "r", "--dependencies", "2.1")
    tm(tmp_path, "add-dependency", "--id", "3", "--depends-on", "2")
    tm(tmp_path, "set-status", "--id", "1", "--status", "done")
    tm(tmp_path, "set-status", "--id", "2.1", "--status", "done")  # tm-core rolls task 2 up to in-progress
    tm(tmp_path, "set-status", "--id", "3", "--status", "blocked")
    tm(tmp_path, "move", "--from", "3", "--to", "7")
    tm(tmp_path, "add-tag", "feature", "--description", "feature work")

    store = TaskFile(path)
    tasks = store.load()
    assert store.problems == []
    assert [(task.id, str(task.status)) for task in tasks] == [(1, "done"), (2, "in-progress"), (7, "blocked")]
    assert [(sub.id, str(sub.status)) for sub in tasks[1].subtasks] == [(1, "done"), (2, "pending")]

    listed = ours(tmp_path, "list")
    theirs = tm_json(tmp_path, "list", "--format", "json", "--with-subtasks")
    assert [(str(t["id"]), t["title"], t["status"]) for t in listed] == [
        (str(t["id"]), t["title"], t["status"]) for t in theirs["tasks"]
    ]
    picked = ours(tmp_path, "next")
    assert picked["id"] == tm_next_id(tmp_path) == "2.2"
    assert ours(tmp_path, "show", "2.2")["title"] == "Routes"
    assert {row["name"] for row in ours(tmp_path, "tags")} == {"master", "feature"}

    # Our edit keeps everything Task Master wrote that we do not model (updatedAt, parentTaskId, its metadata).
    before = raw_document(path)
    result = run_cli("set-status", "2.2", "done", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    after = raw_document(path)
    sub_before, sub_after = before["master"]["tasks"][1]["subtasks"][1], after["master"]["tasks"][1]["subtasks"][1]
    assert sub_after["status"] == "done" and after["master"]["tasks"][1]["status"] == "done"  # rolled up
    assert {key: sub_before[key] for key in sub_before if key not in ("status", "updatedAt")} == {
        key: sub_after[key] for key in sub_before if key not in ("status", "updatedAt")
    }
    assert set(before["master"]["metadata"]) <= set(after["master"]["metadata"])
    assert after["feature"] == before["feature"]
    assert tm_next_id(tmp_path) is None and ours(tmp_path, "next") is None


def _our_project(root: Path) -> Path:
    path = init_project(root)
    for args in (
        ["add-task", "--title", "Design schema", "--description", "tables", "--priority", "critical"],
        ["add-task", "--title", "Write API", "--description", "routes", "--dependencies", "1"],
        ["add-task", "--title", "Docs", "--description", "guide", "--priority", "low"],
        ["add-subtask", "--parent", "2", "--title", "GET routes", "--description", "reads"],
        ["add-subtask", "--parent", "2", "--title", "POST routes", "--description", "writes", "--dependencies", "2.1"],
        ["set-status", "1", "done"],
        ["set-status", "2.1", "in-progress"],
        ["add-tag", "later", "--description", "someday"],
    ):
        result = run_cli(*args, cwd=root)
        assert result.returncode == 0, f"{args}: {result.stderr}"
    with TaskFile(path).edit() as tasks:  # what our recursive breakdown writes beyond Task Master's model
        tasks[1].complexity = 6.5
        tasks[1].subtasks[1].subtasks.append(Task.model_validate({"id": 1, "title": "deep"}))
        tasks[2].ourNote = {"kept": True}  # an unknown field: Task keeps extras
    return path


def _normalised(value: Any) -> Any:
    """Task Master rewrites ids and dependencies as strings; compare values modulo that."""
    if isinstance(value, dict):
        return {key: _normalised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _assert_kept(before: Any, after: Any, where: str, ignore: frozenset[str]) -> None:
    """Every key of `before` is in `after` with the same (normalised) value, except `ignore`d keys."""
    if isinstance(before, dict):
        assert isinstance(after, dict), where
        for key, value in before.items():
            if key in ignore:
                continue
            assert key in after, f"{where}.{key} was lost"
            _assert_kept(value, after[key], f"{where}.{key}", ignore)
    elif isinstance(before, list):
        assert isinstance(after, list) and len(after) == len(before), where
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            _assert_kept(old, new, f"{where}[{index}]", ignore)
    else:
        assert _normalised(before) == _normalised(after), f"{where}: {before!r} became {after!r}"


def test_we_write_task_master_reads_and_edits(tmp_path: Path) -> None:
    require_cli()
    path = _our_project(tmp_path)
    ours_before = raw_document(path)

    theirs = tm_json(tmp_path, "list", "--format", "json", "--with-subtasks")
    assert [str(t["id"]) for t in theirs["tasks"]] == ["1", "2", "3"]
    assert [t["priority"] for t in theirs["tasks"]] == ["critical", "medium", "low"]
    shown = tm_json(tmp_path, "show", "2", "--format", "json")
    shown_task = shown.get("task", shown)
    assert [s["title"] for s in shown_task["subtasks"]] == ["GET routes", "POST routes"]
    picked = next_task(TaskFile(path).load())
    assert picked is not None and tm_next_id(tmp_path) == picked[0] == "2.1"

    tm(tmp_path, "set-status", "--id", "2.1", "--status", "done")
    tm(tmp_path, "validate-dependencies")

    after = raw_document(path)
    # What tm-core does when it saves a tag (docs/switching-from-task-master.md): string ids, its own metadata.
    assert [task["id"] for task in after["master"]["tasks"]] == ["1", "2", "3"]
    assert "created" in ours_before["master"]["metadata"] and "created" not in after["master"]["metadata"]
    status_keys = frozenset({"status", "updatedAt", "metadata"})
    _assert_kept(ours_before["master"]["tasks"], after["master"]["tasks"], "master.tasks", status_keys)
    _assert_kept(ours_before["later"], after["later"], "later", frozenset())
    tasks = TaskFile(path).load()
    assert str(tasks[1].subtasks[0].status) == "done" and str(tasks[1].status) == "in-progress"
    assert tasks[1].complexity == 6.5 and tasks[1].subtasks[1].subtasks[0].title == "deep"
    assert tasks[2].model_extra == {"ourNote": {"kept": True}}
    picked = next_task(tasks)
    assert picked is not None and tm_next_id(tmp_path) == picked[0] == "2.2"


NODE_LOCKER = """
const lockfile = (await import(process.argv[1])).default;
const file = process.argv[2];
const release = await lockfile.lock(file, { stale: 10000, realpath: false });
console.log("locked");
await new Promise((resolve) => setTimeout(resolve, 1500));
const fs = await import("node:fs");
const data = JSON.parse(fs.readFileSync(file, "utf8"));
data.master.metadata.nodeWasHere = true;
fs.writeFileSync(file, JSON.stringify(data, null, 2));
await release();
console.log("released");
"""

NODE_TRY_LOCK = """
const lockfile = (await import(process.argv[1])).default;
try {
  const release = await lockfile.lock(process.argv[2], { stale: 10000, realpath: false, retries: 0 });
  await release();
  console.log("acquired");
} catch (error) {
  console.log(error.code);
}
"""


def _node(script: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    require_cli()
    return subprocess.Popen(
        ["node", "--input-type=module", "-e", script, str(PROPER_LOCKFILE), *args],
        cwd=cwd,
        env=offline_env(cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_proper_lockfile_holder_blocks_our_write_and_nothing_is_lost(tmp_path: Path) -> None:
    path = init_project(tmp_path)
    locker = _node(NODE_LOCKER, str(path), cwd=tmp_path)
    assert locker.stdout is not None
    assert locker.stdout.readline().strip() == "locked", locker.stderr.read() if locker.stderr else ""
    assert (Path(f"{path}.lock")).is_dir()  # proper-lockfile's lock is a directory
    started = time.monotonic()
    editing.add_task(TaskFile(path), title="written while node held the lock")
    waited = time.monotonic() - started
    assert locker.wait(timeout=60) == 0
    assert waited >= 1.0, f"our write did not wait for the proper-lockfile lock ({waited:.2f}s)"
    document = raw_document(path)
    assert document["master"]["metadata"]["nodeWasHere"] is True
    assert [task["title"] for task in document["master"]["tasks"]] == ["written while node held the lock"]
    assert not Path(f"{path}.lock").exists()


def test_our_lock_blocks_proper_lockfile(tmp_path: Path) -> None:
    path = init_project(tmp_path)
    with TasksLock(path):
        attempt = _node(NODE_TRY_LOCK, str(path), cwd=tmp_path)
        out, err = attempt.communicate(timeout=60)
        assert out.strip() == "ELOCKED", err
    attempt = _node(NODE_TRY_LOCK, str(path), cwd=tmp_path)
    out, err = attempt.communicate(timeout=60)
    assert out.strip() == "acquired", err


def test_legacy_lock_file_is_respected_and_a_stale_one_is_cleared(tmp_path: Path) -> None:
    path = init_project(tmp_path)
    lock = Path(f"{path}.lock")
    lock.write_text(json.dumps({"pid": 1, "timestamp": int(time.time() * 1000)}))  # Task Master's legacy scripts
    threading.Timer(1.0, lock.unlink).start()
    started = time.monotonic()
    editing.add_task(TaskFile(path), title="after the legacy lock")
    assert time.monotonic() - started >= 0.9
    lock.write_text("{}")
    old = time.time() - 60
    os.utime(lock, (old, old))  # a crashed holder's lock: older than the 10 s staleness limit
    started = time.monotonic()
    editing.add_task(TaskFile(path), title="past a stale lock")
    assert time.monotonic() - started < 5 and not lock.exists()


def test_both_tools_writing_at_once_keep_every_write(tmp_path: Path) -> None:
    require_cli()
    document = {
        "master": {"tasks": [], "metadata": {}},
        "tm": {
            "tasks": [
                {
                    "id": n,
                    "title": f"tm {n}",
                    "description": "d",
                    "status": "pending",
                    "priority": "medium",
                    "dependencies": [],
                    "subtasks": [],
                }
                for n in range(1, 5)
            ],
            "metadata": {},
        },
    }
    path = init_project(tmp_path, document, current_tag="tm")  # task-master set-status acts on the active tag
    failures: list[str] = []

    def task_master_side() -> None:
        for n in range(1, 5):
            result = tm(tmp_path, "set-status", "--id", str(n), "--status", "done", check=False)
            if result.returncode != 0:
                failures.append(result.stdout + result.stderr)

    other = threading.Thread(target=task_master_side)
    other.start()
    ours_written = 0
    store = TaskFile(path, "master")
    while other.is_alive() and ours_written < 400:
        editing.add_task(store, title=f"ours {ours_written}")
        ours_written += 1
        # A busy agent's pace. Task Master retries its lock for only ~2.5 s (5 tries), so a writer that held the
        # lock most of the time (50 writes/s with fsync on a loaded machine did) could starve it.
        time.sleep(0.25)
    other.join(timeout=600)
    assert not failures, failures
    final = raw_document(path)
    assert [task["status"] for task in final["tm"]["tasks"]] == ["done"] * 4
    assert [task["title"] for task in final["master"]["tasks"]] == [f"ours {n}" for n in range(ours_written)]
    assert ours_written >= 10, "the two writers hardly overlapped"
    assert not Path(f"{path}.lock").exists()


def test_task_master_repository_file_round_trips_and_stays_readable(tmp_path: Path) -> None:
    source = REPO_DATA / "tasks.json"
    original = json.loads(source.read_text())
    assert sum(len(section["tasks"]) for section in original.values()) == 182 and len(original) == 9
    project = tmp_path / "ours"
    project.mkdir()
    result = run_cli("import", str(source), cwd=project)
    assert result.returncode == 0, result.stderr
    exported = tmp_path / "exported.json"
    result = run_cli("export", str(exported), cwd=project)
    assert result.returncode == 0, result.stderr
    assert json.loads(exported.read_text()) == original  # every tag, task, subtask and field, in value
    for tag in original:
        store = TaskFile(exported, tag)
        loaded = store.load()
        assert store.problems == [], store.problems
        assert [task.to_json() for task in loaded] == original[tag]["tasks"]

    require_cli()
    readable = tmp_path / "tm"
    init_project(readable, original, current_tag="loop")
    theirs = tm_json(readable, "list", "--format", "json")
    assert len(theirs["tasks"]) == len(original["loop"]["tasks"])
    listed = ours(readable, "list")  # our default tag follows state.json's currentTag, as Task Master's does
    assert [str(t["id"]) for t in listed] == [str(t["id"]) for t in theirs["tasks"]]


def test_task_master_refuses_a_tag_we_read(tmp_path: Path) -> None:
    """tm-core rejects a whole tag when one top-level task lacks a description or priority; we read it."""
    tasks = [
        {"id": 1, "title": "no description", "status": "pending", "dependencies": [], "subtasks": []},
        {"id": 2, "title": "fine", "description": "d", "status": "pending", "priority": "high", "dependencies": []},
    ]
    path = init_project(tmp_path, {"master": {"tasks": tasks, "metadata": {}}})
    for command in ("next", "list"):
        result = tm(tmp_path, command, "--format", "json", check=False)
        assert result.returncode != 0 and "Task description is required" in result.stdout + result.stderr
    picked = next_task(TaskFile(path).load())
    assert picked is not None and picked[0] == "2"
