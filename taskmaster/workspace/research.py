"""The public API for research: a question answered from the knowledge base with checked, numbered citations.

`research()` is `taskmaster research` and the MCP `research` tool: it runs the research graph on a checkpointed
thread (re-asking the same question resumes an interrupted run), with the context `ws.research_context()` builds.
An empty knowledge base is answered without starting a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from taskmaster.errors import AppError, translated
from taskmaster.workspace.threads import OnUpdate, thread_id_for

if TYPE_CHECKING:
    from taskmaster.workspace.workspace import Workspace

OnStage = Callable[[str], None]  # one line per research stage (searching, grading, answer: …)


class Citation(BaseModel):
    """A numbered source of the answer: a passage that was retrieved, shown to the model and cited (or quoted)."""

    n: int
    source: str
    line_start: int
    line_end: int
    heading: str = ""


class ResearchAnswer(BaseModel):
    """A cited answer. `answer` is empty when no sentence survived the citation check; `flags` say how it was made
    (extractive, empty_knowledge_base, …) and `problems` what went wrong on the way (a fallback was used)."""

    question: str
    answer: str = ""
    sources: list[Citation] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    removed_sentences: int = 0  # sentences dropped by the citation check
    queries: list[str] = Field(default_factory=list)  # what was searched: the question first, then sub-queries
    problems: list[str] = Field(default_factory=list)
    saved: dict[str, str] = Field(default_factory=dict)  # {"task": id, "file": path} for what was written
    thread_id: str = ""
    resumed: bool = False  # True when this call continued an interrupted run of the same question
    usage: str | None = None  # the model router's usage summary, when a model was used

    def markdown(self) -> str:
        """The answer, its numbered sources and any flags, as saved to task details and files."""
        from graphs.research.report import answer_markdown

        return answer_markdown(self.question, self.model_dump())


def _task_ids(tasks: str | Sequence[str] | None) -> list[str]:
    if tasks is None:
        return []
    raw = [tasks] if isinstance(tasks, str) else list(tasks)
    return [part.strip() for item in raw for part in str(item).split(",") if part.strip()]


def _task_context(ws: Workspace, ids: list[str], extra: str | None) -> str | None:
    from tasks.tree import find_task

    parts = []
    if ids:
        loaded = ws.task_file().load()
        for task_id in ids:
            task = find_task(loaded, task_id)
            parts.append("\n".join(filter(None, [f"Task {task_id}: {task.title}", task.description, task.details])))
    return "\n\n".join(filter(None, [*parts, extra])) or None


def research_thread_id(
    ws: Workspace, question: str, *, tasks: str | Sequence[str] | None = None, context: str | None = None
) -> str:
    """The checkpoint thread `research()` runs this question on: the same question with the same context resumes
    the same thread."""
    with translated():
        task_context = _task_context(ws, _task_ids(tasks), context)
    return _thread_id(ws, {"question": question.strip(), "task_context": task_context})


def _thread_id(ws: Workspace, inputs: dict[str, str | None]) -> str:
    return thread_id_for("research", {"inputs": inputs, "profile": ws.settings.profile})


def _file_for(ws: Workspace, question: str, save_file: str | Path | bool) -> Path:
    if save_file is True:
        slug = re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:60] or "research"
        return ws.paths.research_dir / f"{slug}.md"
    return Path(save_file).expanduser()


def research(
    ws: Workspace,
    question: str,
    *,
    tasks: str | Sequence[str] | None = None,
    context: str | None = None,
    save_to: str | None = None,
    save_file: str | Path | bool = False,
    fresh: bool = False,
    on_stage: OnStage | None = None,
    on_update: OnUpdate | None = None,
) -> ResearchAnswer:
    """Answer `question` from the knowledge base with numbered citations checked against the retrieved passages.

    `tasks` (an id, "15,16.2" or a list) adds those tasks' title, description and details as context, `context`
    any other text. `save_to` appends the answer to that task's details; `save_file` writes it as markdown (True:
    under .taskmaster/docs/research/). Both targets are checked before any model time is spent. `fresh` starts
    over instead of resuming an interrupted run of the same question. `on_stage` gets one line per stage,
    `on_update(node, update)` every graph step (progress displays; raising there stops the run between steps).
    """
    from graphs.research import build_research_graph
    from tasks.atomic import write_text_atomic
    from tasks.tree import find_task

    question = question.strip()
    if not question:
        raise AppError("the question is empty; ask something in a few words")
    with translated():
        if save_to:
            find_task(ws.task_file().load(), save_to)  # fail before spending model time
        task_context = _task_context(ws, _task_ids(tasks), context)
        target = _file_for(ws, question, save_file) if save_file else None
        if target is not None and target.is_dir():
            raise AppError(f"{target} is a directory; name the markdown file to write")

        inputs: dict[str, str | None] = {"question": question, "task_context": task_context}
        thread_id = _thread_id(ws, inputs)
        research_context = ws.research_context(on_stage=on_stage)
        result = ws.run_thread(
            build_research_graph,
            inputs,
            thread_id,
            context=research_context,
            fresh=fresh or research_context.router is None,  # an empty base: answered at once, nothing to resume
            on_update=on_update,
            config={"max_concurrency": ws.settings.breakdown.concurrency},
        )
    state = result.values
    answer = ResearchAnswer(
        question=question,
        answer=state.get("answer") or "",
        sources=[Citation.model_validate(s) for s in state.get("sources", [])],
        flags=list(state.get("flags", [])),
        removed_sentences=int(state.get("removed_sentences", 0)),
        queries=list(state.get("queries", [])),
        problems=list(state.get("problems", [])),
        thread_id=thread_id,
        resumed=result.resumed,
        usage=research_context.router.meter.summary() if research_context.router is not None else None,
    )
    text = answer.markdown()
    with translated():
        if save_to:
            _append_to_task(ws, save_to, text)
            answer.saved["task"] = save_to
        if target is not None:
            write_text_atomic(target, text)
            answer.saved["file"] = str(target)
    return answer


def _append_to_task(ws: Workspace, task_id: str, text: str) -> None:
    from tasks.tree import find_task

    with ws.task_file().edit() as loaded:
        task = find_task(loaded, task_id)
        task.details = f"{task.details.rstrip()}\n\n{text}".lstrip() if task.details else text
