"""Dependency graph checks over nested tasks, keyed by full dotted ids.

Everything here resolves stored dependencies (sibling ints, dotted strings) to full ids first, so a cycle that runs
through different nesting levels ("2" → "3.1" → "2") is found the same way as one between top-level tasks.
"""

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tasks.errors import DependencyError
from tasks.model import Task
from tasks.tree import duplicate_ids, find_task, iter_tasks, resolve_dependency

ProblemKind = Literal["missing", "self", "cycle", "duplicate"]


@dataclass
class DependencyProblem:
    """One defect in the dependency graph; `str()` is a line fit for the CLI."""

    kind: ProblemKind
    task_id: str
    detail: str

    def __str__(self) -> str:
        if self.kind == "missing":
            return f"task {self.task_id} depends on {self.detail}, which does not exist"
        if self.kind == "self":
            return f"task {self.task_id} depends on itself"
        if self.kind == "duplicate":
            return f"task id {self.task_id} is used by {self.detail} tasks; give them distinct ids by hand"
        return f"dependency cycle: {self.detail}"


def _graph(tasks: Sequence[Task]) -> dict[str, list[str]]:
    """Full id → resolved dependency ids, in stored order and without duplicates."""
    graph: dict[str, list[str]] = {}
    for full_id, task in iter_tasks(tasks):
        resolved = (resolve_dependency(full_id, dep) for dep in task.dependencies)
        graph[full_id] = list(dict.fromkeys(resolved))
    return graph


def _format_path(path: Sequence[str]) -> str:
    return " → ".join(path)


def _find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each elementary cycle reachable by DFS, reported once, as a closed path like [1, 3, 1].

    Iterative DFS so very long dependency chains cannot hit Python's recursion limit.
    """
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    cycles: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for root in graph:
        if colour[root] != white:
            continue
        path: list[str] = [root]
        stack = [iter(graph[root])]
        colour[root] = grey
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = black
                stack.pop()
                continue
            if nxt not in graph or nxt == path[-1]:
                continue  # missing refs and self refs are reported separately
            if colour[nxt] == grey:
                loop = path[path.index(nxt) :]
                start = loop.index(min(loop))
                key = tuple(loop[start:] + loop[:start])
                if key not in seen:
                    seen.add(key)
                    cycles.append([*loop, nxt])
            elif colour[nxt] == white:
                colour[nxt] = grey
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return cycles


def _duplicate_problems(tasks: Sequence[Task]) -> list[DependencyProblem]:
    counts: dict[str, int] = {}
    for full_id, _ in iter_tasks(tasks):
        counts[full_id] = counts.get(full_id, 0) + 1
    return [DependencyProblem("duplicate", full_id, str(counts[full_id])) for full_id in duplicate_ids(tasks)]


def validate_dependencies(tasks: Sequence[Task]) -> list[DependencyProblem]:
    """Duplicate ids first, then all missing references, self references and cycles, at any depth.

    A dependency on a duplicated id is ambiguous, so it is never called a self reference.
    """
    duplicates = _duplicate_problems(tasks)
    ambiguous = {problem.task_id for problem in duplicates}
    graph = _graph(tasks)
    problems: list[DependencyProblem] = list(duplicates)
    for full_id, deps in graph.items():
        for dep in deps:
            if dep == full_id and full_id in ambiguous:
                continue
            if dep == full_id:
                problems.append(DependencyProblem("self", full_id, full_id))
            elif dep not in graph:
                problems.append(DependencyProblem("missing", full_id, dep))
    for cycle in _find_cycles(graph):
        problems.append(DependencyProblem("cycle", cycle[0], _format_path(cycle)))
    return problems


def fix_dependencies(tasks: Sequence[Task]) -> list[DependencyProblem]:
    """Drop missing and self references in place (and exact duplicates); return what was removed.

    Cycles are left alone: which edge to cut is a judgement call for the user, not something to guess.
    Refuses (changing nothing) while two tasks share an id, since any reference to that id is ambiguous.
    """
    duplicates = _duplicate_problems(tasks)
    if duplicates:
        raise DependencyError(f"{duplicates[0]} before fixing dependencies; nothing was changed")
    known = {full_id for full_id, _ in iter_tasks(tasks)}
    removed: list[DependencyProblem] = []
    for full_id, task in iter_tasks(tasks):
        kept: list[int | str] = []
        kept_resolved: set[str] = set()
        for dep in task.dependencies:
            resolved = resolve_dependency(full_id, dep)
            if resolved == full_id:
                removed.append(DependencyProblem("self", full_id, full_id))
            elif resolved not in known:
                removed.append(DependencyProblem("missing", full_id, resolved))
            elif resolved not in kept_resolved:
                kept.append(dep)
                kept_resolved.add(resolved)
        if kept != task.dependencies:
            task.dependencies = kept
    return removed


def _path(graph: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """Shortest dependency path start → … → goal (BFS), used to explain a would-be cycle."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while (back := previous[path[-1]]) is not None:
                path.append(back)
            return path[::-1]
        for dep in graph.get(node, []):
            if dep in graph and dep not in previous:
                previous[dep] = node
                queue.append(dep)
    return None


def _stored_form(owner_id: str, dep_id: str) -> int | str:
    """How Task Master writes `dep_id` in `owner_id`'s list: a bare int for a sibling subtask or a top-level task
    of a top-level owner, else the dotted full id (which `toFullSubId` keeps as is)."""
    owner_parts, dep_parts = owner_id.split("."), dep_id.split(".")
    if len(owner_parts) == len(dep_parts) and owner_parts[:-1] == dep_parts[:-1]:
        return int(dep_parts[-1])
    if len(owner_parts) > 1 and len(dep_parts) == 1:
        parent = ".".join(owner_parts[:-1])
        raise DependencyError(
            f"subtask {owner_id} cannot depend on top-level task {dep_id}: Task Master reads a dependency without a "
            f"dot on a subtask as a sibling; make task {parent} depend on {dep_id} instead"
        )
    return dep_id


def add_dependency(tasks: Sequence[Task], task_id: str | int, depends_on: str | int) -> None:
    """Make `task_id` depend on `depends_on`; refuse self references and cycles with the offending path."""
    owner_id, dep_id = str(task_id).strip(), str(depends_on).strip()
    owner = find_task(tasks, owner_id)
    find_task(tasks, dep_id)
    if owner_id == dep_id:
        raise DependencyError(f"task {owner_id} cannot depend on itself; pick a different task id")
    graph = _graph(tasks)
    if dep_id in graph[owner_id]:
        return
    stored = _stored_form(owner_id, dep_id)
    back_path = _path(graph, dep_id, owner_id)
    if back_path is not None:
        cycle = _format_path([owner_id, *back_path])
        raise DependencyError(
            f"making {owner_id} depend on {dep_id} would create a cycle {cycle}; remove one of those dependencies first"
        )
    owner.dependencies = [*owner.dependencies, stored]


def remove_dependency(tasks: Sequence[Task], task_id: str | int, depends_on: str | int) -> bool:
    """Remove every stored form of `depends_on` from `task_id`; return False if it was not a dependency."""
    owner_id, dep_id = str(task_id).strip(), str(depends_on).strip()
    owner = find_task(tasks, owner_id)
    kept = [dep for dep in owner.dependencies if resolve_dependency(owner_id, dep) != dep_id]
    if len(kept) == len(owner.dependencies):
        return False
    owner.dependencies = kept
    return True


def topological_order(tasks: Sequence[Task]) -> list[str]:
    """Full ids with every task after its dependencies; ties keep file order. Missing refs are ignored.

    Raises DependencyError naming a cycle if there is one, since no order exists then.
    """
    graph = _graph(tasks)
    for full_id, deps in graph.items():
        if full_id in deps:
            raise DependencyError(
                f"task {full_id} depends on itself; run `taskmaster validate-dependencies --fix` or remove it"
            )
    pending = {full_id: sum(1 for dep in deps if dep in graph) for full_id, deps in graph.items()}
    dependants: dict[str, list[str]] = {full_id: [] for full_id in graph}
    for full_id, deps in graph.items():
        for dep in deps:
            if dep in graph:
                dependants[dep].append(full_id)
    position = {full_id: index for index, full_id in enumerate(graph)}
    heap = [(position[full_id], full_id) for full_id, count in pending.items() if count == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, full_id = heapq.heappop(heap)
        order.append(full_id)
        for dependant in dependants[full_id]:
            pending[dependant] -= 1
            if pending[dependant] == 0:
                heapq.heappush(heap, (position[dependant], dependant))
    if len(order) < len(graph):
        cycles = _find_cycles(graph)
        detail = _format_path(cycles[0]) if cycles else "unknown"
        raise DependencyError(f"dependency cycle {detail} has no valid order; remove one of those dependencies")
    return order
