"""The autonomous loop's view of a tasks file: take ready tasks, hand back results, never clash with other writers.

Every read-modify-write goes through `TaskFile.edit()` (file lock + atomic replace), so an edit made by a person
or another run between two steps is never overwritten: `finish` re-reads the task and, when its status was
changed outside the run (cancelled, done by hand, removed), keeps that and reports it instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tasks.claims import ClaimBook
from tasks.errors import TaskNotFound
from tasks.model import Task, TaskStatus
from tasks.select import ready_tasks, set_status
from tasks.tree import find_task, iter_tasks

FINISHED = frozenset({TaskStatus.DONE, TaskStatus.CANCELLED})
OPEN = frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS})


@dataclass(frozen=True)
class Ticket:
    """A claimed task, as plain data (it goes into graph checkpoints)."""

    task_id: str
    title: str
    description: str
    details: str
    test_strategy: str
    complexity: int | None
    depth: int
    kind: str | None  # an explicit `type` field on the task, if the user set one

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Pick:
    tickets: list[Ticket] = field(default_factory=list)
    started_parents: list[str] = field(default_factory=list)  # pending parents moved to in-progress
    completed_parents: list[str] = field(default_factory=list)  # parents whose subtasks are all finished
    open_tasks: int = 0  # pending or in-progress tasks left (any depth)
    all_finished: bool = False


@dataclass(frozen=True)
class Finish:
    applied: bool
    note: str = ""


def _ticket(full_id: str, task: Task) -> Ticket:
    extra = task.model_extra or {}
    kind = extra.get("type") or extra.get("kind")
    return Ticket(
        task_id=full_id,
        title=task.title,
        description=task.description,
        details=task.details,
        test_strategy=task.test_strategy,
        complexity=task.complexity,
        depth=full_id.count("."),
        kind=str(kind) if kind else None,
    )


def complete_finished_parents(tasks: Sequence[Task]) -> list[str]:
    """Mark done every open parent whose subtasks are all done or cancelled (deepest first)."""
    completed: list[str] = []
    for full_id, task in sorted(iter_tasks(tasks), key=lambda item: -item[0].count(".")):
        if task.subtasks and task.status in OPEN and all(s.status in FINISHED for s in task.subtasks):
            task.status = TaskStatus.DONE
            completed.append(full_id)
    return completed


class TaskBoard:
    def __init__(self, store: Any, claims: ClaimBook, run_id: str) -> None:
        self.store = store  # tasks.store.TaskFile
        self.claims = claims
        self.run_id = run_id

    @property
    def tag(self) -> str:
        return str(self.store.tag)

    def is_empty(self) -> bool:
        return not self.store.load()

    def pick(self, limit: int) -> Pick:
        """Claim up to `limit` ready leaf tasks for this run and mark them in-progress, in `next` order."""
        pick = Pick()
        with self.store.edit() as tasks:
            pick.completed_parents = complete_finished_parents(tasks)
            claims = self.claims.claims(self.tag)
            others = {c.task_id for c in claims.values() if c.run_id != self.run_id and c.is_live()}
            claimed = set(claims)
            while len(pick.tickets) < limit:
                taken = {t.task_id for t in pick.tickets}

                def skip(full_id: str, task: Task, taken: set[str] = taken) -> bool:
                    if full_id in others or full_id in taken:
                        return True
                    if task.status == TaskStatus.IN_PROGRESS:
                        # a parent in progress is worked through its subtasks; an in-progress leaf that no run
                        # claims is someone's manual work, left alone
                        return bool(task.subtasks) or full_id not in claimed
                    return False

                ready = ready_tasks(tasks, skip=skip)
                if not ready:
                    break
                full_id, task = ready[0]
                if task.subtasks:  # start the parent; its subtasks become ready next round
                    task.status = TaskStatus.IN_PROGRESS
                    pick.started_parents.append(full_id)
                    continue
                if not self.claims.take(self.tag, full_id, self.run_id):
                    others.add(full_id)
                    continue
                task.status = TaskStatus.IN_PROGRESS
                pick.tickets.append(_ticket(full_id, task))
            statuses = [t.status for _, t in iter_tasks(tasks)]
        pick.open_tasks = sum(1 for s in statuses if s in OPEN) - len(pick.tickets)
        pick.all_finished = bool(statuses) and all(s in FINISHED for s in statuses)
        return pick

    def still_ours(self, task_id: str) -> bool:
        """False when another run took the task over (our claim went stale while this run was down)."""
        holder = self.claims.holder(self.tag, task_id)
        return holder is None or holder == self.run_id

    def finish(
        self,
        ticket: Ticket,
        status: TaskStatus,
        *,
        details: str | None = None,
        test_strategy: str | None = None,
        reason: str | None = None,
    ) -> Finish:
        """Record a task's outcome, unless someone changed the task under the run (then theirs wins)."""
        try:
            with self.store.edit() as tasks:
                try:
                    task = find_task(tasks, ticket.task_id)
                except TaskNotFound:
                    return Finish(False, f"task {ticket.task_id} was removed from the tasks file during the run")
                if task.status != TaskStatus.IN_PROGRESS:
                    return Finish(
                        False,
                        f"task {ticket.task_id} was set to {task.status.value} outside this run; kept that status",
                    )
                note = ""
                if (task.title, task.description) != (ticket.title, ticket.description):
                    note = f"task {ticket.task_id} was edited during the run; its result is for the earlier text"
                if details:
                    task.details = f"{task.details.rstrip()}\n\n{details}".lstrip() if task.details else details
                if test_strategy and not task.test_strategy.strip():
                    task.test_strategy = test_strategy
                if reason and status != TaskStatus.DONE:
                    line = f"[taskmaster] {status.value}: {reason}"
                    task.details = f"{task.details.rstrip()}\n\n{line}".lstrip()
                if status != TaskStatus.IN_PROGRESS:
                    set_status(tasks, ticket.task_id, status)
                complete_finished_parents(tasks)
                return Finish(True, note)
        finally:
            self.claims.release(self.tag, ticket.task_id, self.run_id)

    def hand_back(self, ticket: Ticket) -> None:
        """Return an unfinished task to pending (the run stopped on an error before it could be worked)."""
        try:
            with self.store.edit() as tasks:
                try:
                    task = find_task(tasks, ticket.task_id)
                except TaskNotFound:
                    return
                if task.status == TaskStatus.IN_PROGRESS and not task.subtasks:
                    task.status = TaskStatus.PENDING
        finally:
            self.claims.release(self.tag, ticket.task_id, self.run_id)
