"""Differential test of `next` against the real Task Master (npm task-master-ai 0.43.1) on 240 generated graphs.

Each graph mixes every status (incl. blocked), every priority (incl. critical, missing and null), string and int
ids, sibling subtask dependencies written as ints and as dot-less strings (toFullSubId), cross-task dotted
dependencies, missing references and in-progress parents. All graphs live as tags of one tasks.json.

Task Master's answers come from its own tm-core (`tasks.getNext`, loaded once by tests/task_master_next.mjs, the
function `task-master next` calls); a sample of graphs is also run through the real `task-master next --format json`
CLI and must agree with that driver, and through our CLI's `next --json`.
"""

from __future__ import annotations

import json
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from e2e import run_cli
from task_master_npm import TOOL_DIR, VERSION, _isolation, init_project, offline_env, require_cli, tm_next_id

from tasks.select import next_task
from tasks.store import TaskFile

GRAPHS = 240
CLI_SAMPLE = 10
STATUSES = ["pending"] * 4 + ["in-progress"] * 3 + ["done"] * 3 + ["review", "deferred", "cancelled", "blocked"]
LEVELS = ["critical", "high", "medium", "low"]
# Subtasks may lack a priority (missing or null: it is inherited). tm-core refuses a whole tag when a top-level task
# has no valid priority or an empty description (TaskEntity.validate), so top-level tasks always have both.
SUB_PRIORITIES = [*LEVELS, "missing", "missing", None]


def _subtask(rng: random.Random, sub_id: int, siblings: int, n_tasks: int) -> dict[str, Any]:
    deps: list[Any] = []
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        roll = rng.random()
        if roll < 0.4 and siblings > 1:
            other = rng.choice([i for i in range(1, siblings + 1) if i != sub_id])
            deps.append(other if rng.random() < 0.6 else str(other))  # sibling, as Task Master writes either
        elif roll < 0.85:
            deps.append(f"{rng.randint(1, n_tasks)}.{rng.randint(1, 3)}")  # another task's subtask
        else:
            deps.append(f"{rng.randint(1, n_tasks)}.9")  # a subtask that does not exist
    subtask: dict[str, Any] = {
        "id": sub_id,
        "title": f"sub {sub_id}",
        "description": "",
        "status": rng.choice(STATUSES),
        "dependencies": list(dict.fromkeys(deps)),
    }
    priority = rng.choice(SUB_PRIORITIES)
    if priority != "missing":
        subtask["priority"] = priority
    return subtask


def graph(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    n_tasks = rng.randint(2, 7)
    tasks = []
    for task_id in range(1, n_tasks + 1):
        deps: list[Any] = []
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            roll = rng.random()
            if roll < 0.7:
                other = rng.randint(1, n_tasks)
                if other != task_id:
                    deps.append(other if rng.random() < 0.5 else str(other))
            elif roll < 0.9:
                deps.append(f"{rng.randint(1, n_tasks)}.{rng.randint(1, 3)}")
            else:
                deps.append(99)  # missing task
        n_subs = rng.choice([0, 0, 1, 2, 3, 4])
        task: dict[str, Any] = {
            "id": task_id if rng.random() < 0.7 else str(task_id),  # tm-core writes string ids
            "title": f"task {task_id}",
            "description": f"task {task_id} of graph {seed}",
            "status": rng.choice(STATUSES),
            "priority": rng.choice(LEVELS),
            "dependencies": list(dict.fromkeys(deps)),
            "subtasks": [_subtask(rng, sub, n_subs, n_tasks) for sub in range(1, n_subs + 1)],
        }
        tasks.append(task)
    return tasks


@pytest.fixture(scope="module")
def graphs_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    require_cli()
    root = tmp_path_factory.mktemp("next-diff")
    tags = [f"g{seed:03d}" for seed in range(GRAPHS)]
    document = {"master": {"tasks": [], "metadata": {}}}
    document.update({tag: {"tasks": graph(seed), "metadata": {}} for seed, tag in enumerate(tags)})
    init_project(root, document)
    return root, tags


def _task_master_answers(project: Path, tags: list[str]) -> dict[str, str | None]:
    package = json.loads((TOOL_DIR / "node_modules" / "task-master-ai" / "package.json").read_text())
    assert package["version"] == VERSION, "the next driver is written against task-master-ai 0.43.1's bundle"
    driver = Path(__file__).with_name("task_master_next.mjs")
    dist = TOOL_DIR / "node_modules" / "task-master-ai" / "dist"
    result = subprocess.run(
        [*_isolation(), "node", str(driver), str(dist), str(project), *tags],
        cwd=project,
        env=offline_env(project / ".home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _ours(project: Path, tag: str) -> str | None:
    picked = next_task(TaskFile(project / ".taskmaster" / "tasks" / "tasks.json", tag).load())
    return picked[0] if picked else None


def test_next_matches_task_master_on_every_generated_graph(graphs_project: tuple[Path, list[str]]) -> None:
    project, tags = graphs_project
    theirs = _task_master_answers(project, tags)
    ours = {tag: _ours(project, tag) for tag in tags}
    differences = [(tag, ours[tag], theirs[tag]) for tag in tags if ours[tag] != theirs[tag]]
    assert not differences, f"{len(differences)} graphs differ (tag, ours, task-master): {differences[:10]}"
    # The graphs exercise both branches of the rule and the empty answer, not just one of them.
    picked = list(ours.values())
    assert sum("." in (p or "") for p in picked) >= 20, "too few graphs where a subtask is next"
    assert sum(p is not None and "." not in p for p in picked) >= 20, "too few graphs where a top-level task is next"
    assert sum(p is None for p in picked) >= 5, "too few graphs with nothing to do"


def test_driver_and_both_clis_agree_on_a_sample(graphs_project: tuple[Path, list[str]]) -> None:
    """The real `task-master next --format json` and our `taskmaster next --json` on a sample of the graphs."""
    project, tags = graphs_project
    driver = _task_master_answers(project, tags)
    sample = [tag for tag in tags if driver[tag] is not None and "." in driver[tag]][:4]
    sample += [tag for tag in tags if driver[tag] is not None and "." not in driver[tag]][:4]
    sample += [tag for tag in tags if driver[tag] is None][: CLI_SAMPLE - len(sample)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # node start-up is seconds; two at a time on 2 cores
        cli_answers = dict(zip(sample, pool.map(lambda tag: tm_next_id(project, tag), sample), strict=True))
    assert cli_answers == {tag: driver[tag] for tag in sample}
    for tag in sample[:5]:
        result = run_cli("next", "--json", "--tag", tag, cwd=project)
        assert result.returncode == 0, result.stderr
        ours = json.loads(result.stdout)
        assert (ours["id"] if ours else None) == cli_answers[tag], tag
