"""The public API for `code` and `verify`: verified code generation for a task or a spec, and the verifiers alone.

`code` runs the codegen graph (classify → plan → attempt → self-debug → escalate → human review) on a thread whose
id is derived from its inputs, so calling it again with the same task resumes a pending review instead of
generating again. A human review is answered by `review` (the first one) or `on_review` (each one, e.g. the
CLI's interactive prompt); with no answer the result is `waiting` and the same call with `review=` continues it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agents.verification.outcome import VerifierOutcome
from taskmaster.errors import AppError, translated
from taskmaster.workspace.threads import OnUpdate, thread_id_for
from tasks.model import TaskStatus

if TYPE_CHECKING:
    from agents.llm.router import ModelRouter
    from taskmaster.workspace.workspace import Workspace

TASK_TYPES = ("quick_edit", "standard_dev", "complex", "critical")
REVIEW_ACTIONS = ("approve", "edit", "skip")
BY_SUFFIX = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
}
# What a codegen result means for the task's status in tasks.json
TASK_STATUS_FOR = {
    "solved": TaskStatus.DONE,
    "approved": TaskStatus.DONE,
    "edited": TaskStatus.DONE,
    "failed": TaskStatus.REVIEW,
    "skipped": TaskStatus.REVIEW,
    "waiting": TaskStatus.REVIEW,
}
OnReview = Callable[[dict[str, Any]], dict[str, Any] | None]  # a pending review's payload → a decision, or None


class CodeResult(BaseModel):
    """What `code` did: who solved it after how many attempts, where the files are, and any pending review."""

    thread_id: str
    task_id: str | None = None
    task_type: str | None = None
    complexity: int | None = None
    status: str | None = None  # solved, failed, approved, edited, skipped, or waiting (for a human review)
    solved_by: str | None = None
    attempts: int = 0
    escalations: int = 0
    out_dir: str
    files: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    waiting: dict[str, Any] | None = None  # the pending review: the code and whether verification passed
    resumed: bool = False
    usage: str = ""  # model calls and tokens spent, as the router's meter reports them


class VerifyResult(BaseModel):
    """The verifiers' report on one file (the fields of agents.verification.strategy.VerificationReport)."""

    passed: bool
    outcomes: list[VerifierOutcome]
    confidence: float
    skipped: list[str] = Field(default_factory=list)
    file: str
    language: str
    task_type: str


def cap_reply_tokens(router: ModelRouter, max_tokens: int | None) -> None:
    """`--max-tokens`: no tier replies with more than `max_tokens` tokens (changes this router's config)."""
    if max_tokens is None:
        return
    for name, tier in list(router.config.tiers.items()):
        router.config.tiers[name] = tier.model_copy(
            update={"max_output_tokens": min(tier.max_output_tokens, max_tokens)}
        )


def review_decision(review: str | dict[str, Any] | None, edited_code: str | None = None) -> dict[str, Any] | None:
    """A review answer as the graphs take it: approve, skip, or edit with the edited code."""
    if review is None or isinstance(review, dict):
        return review
    if review not in REVIEW_ACTIONS:
        raise AppError(f"unknown review action {review!r}; use approve, edit (with your edited code) or skip")
    if review == "edit":
        if not edited_code:
            raise AppError("the review action edit needs your edited code")
        return {"action": "edit", "code": edited_code}
    return {"action": review}


def read_source(path: Path, what: str) -> str:
    """Only readable UTF-8 text is code; anything else gets a one-line reason instead of a traceback."""
    if not path.is_file():
        raise AppError(f"{what} {path} does not exist or is not a file; pass the path of a source file")
    data = path.read_bytes()
    if b"\x00" in data:
        raise AppError(f"{what} {path} is a binary file; pass a UTF-8 source file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AppError(f"{what} {path} is not valid UTF-8; re-save it as UTF-8 and retry") from None


def _test_code(tests: str | Path | None) -> str | None:
    if tests is None or isinstance(tests, str):
        return tests
    return read_source(tests, "tests file")


def _inputs(
    ws: Workspace, task_id: str | None, spec: str | None, task_type: str | None, tests: str | Path | None
) -> dict[str, Any]:
    if bool(task_id) == bool(spec):
        raise AppError("give either a task id or a spec (not both)")
    if task_type is not None and task_type not in TASK_TYPES:
        raise AppError(f"unknown task type {task_type!r}; use one of: {', '.join(TASK_TYPES)}")
    if task_id:
        from tasks.tree import find_task

        with translated():
            task = find_task(ws.task_file().load(), task_id)
        parts = [task.title, task.description, task.details and f"Details: {task.details}"]
        parts.append(task.test_strategy and f"Test strategy: {task.test_strategy}")
        inputs: dict[str, Any] = {
            "spec": "\n\n".join(p for p in parts if p),
            "title": task.title,
            "task_id": task_id,
            "complexity": task.complexity,
        }
    else:
        inputs = {"spec": spec, "task_id": ""}
    inputs["task_type"] = task_type
    inputs["tests"] = _test_code(tests)
    return inputs


def code(
    ws: Workspace,
    task_id: str | None = None,
    *,
    spec: str | None = None,
    task_type: str | None = None,
    tests: str | Path | None = None,
    review: str | dict[str, Any] | None = None,
    edited_code: str | None = None,
    on_review: OnReview | None = None,
    attempts: int | None = None,
    max_tokens: int | None = None,
    fresh: bool = False,
    research: bool = False,
    classify_with_model: bool = False,
    out: str | Path | None = None,
    on_update: OnUpdate | None = None,
) -> CodeResult:
    """Write code for task `task_id` (or `spec`): generate, verify, self-debug, escalate up the tiers, and ask a
    person when every tier failed (or the task type always asks). Sets the task's status from the result.

    `tests`: a pytest file (a Path) or its source (a str) the code must pass; it imports `solution`.
    `review` answers a pending review ("approve", "skip", or "edit" with `edited_code`); `on_review` is asked for
    each review `review` does not answer. `attempts` caps every tier's attempts; `max_tokens` every reply.
    `fresh` discards a pending review; `research` adds passages from the knowledge base to the spec.
    The files go to `out` (default .taskmaster/code/<task id>/).
    """
    from graphs.codegen import build_codegen_graph, result_summary
    from graphs.codegen.outputs import write_outputs

    decision = review_decision(review, edited_code)
    inputs = _inputs(ws, task_id, spec, task_type, tests)
    thread_id = thread_id_for("code", {"inputs": inputs, "tag": ws.settings.tag})
    if research:
        inputs["research_context"] = ws.retrieve_context(str(inputs["spec"])[:2000])
    out_dir = Path(out) if out is not None else ws.paths.code_dir_for(task_id or thread_id.removeprefix("code-"))
    answers = [decision] if decision is not None else []  # `review` answers the first review only

    def on_interrupt(payload: Any) -> Any:
        if answers:
            return answers.pop()
        return on_review(payload) if on_review is not None else None

    with translated():
        router = ws.router()
        cap_reply_tokens(router, max_tokens)
        context = ws.codegen_context(thread_id, attempts=attempts, classify_with_model=classify_with_model)
        result = ws.run_thread(
            build_codegen_graph,
            inputs,
            thread_id,
            context=context,
            fresh=fresh,
            on_update=on_update,
            on_interrupt=on_interrupt,
        )
    state = result.values
    status = "waiting" if result.is_waiting else state.get("status")
    summary = {**result_summary(state), "status": status}
    written = write_outputs(out_dir, state, summary)
    if task_id and status in TASK_STATUS_FOR:
        from tasks.select import set_status

        with translated(), ws.task_file().edit() as tasks:
            set_status(tasks, task_id, TASK_STATUS_FOR[status])
    cached = f" · {router.cache.counts.summary()}" if router.cache else ""
    return CodeResult(
        **summary,
        thread_id=thread_id,
        out_dir=str(out_dir),
        files=[str(p) for p in written],
        notes=list(state.get("notes", [])),
        waiting=dict(result.waiting) if result.is_waiting else None,
        resumed=result.resumed,
        usage=f"{router.meter.summary()}{cached}",
    )


def verify(
    ws: Workspace,
    file: str | Path,
    *,
    tests: str | Path | None = None,
    task_type: str = "standard_dev",
    language: str | None = None,
) -> VerifyResult:
    """Check `file` the way the agents check their candidates: syntax, compile and sandboxed tests by task type.

    `tests`: a pytest file (a Path) or its source (a str); it imports the file by its own name (good.py: `good`)
    or as `solution`. The semantic judge needs a model and is not run here: for complex and critical it is
    reported as skipped (lowering the confidence). A relative `file` is read from the current directory.
    """
    from agents.verification.strategy import verify as run_verifiers

    if task_type not in TASK_TYPES:
        raise AppError(f"unknown task type {task_type!r}; use one of: {', '.join(TASK_TYPES)}")
    path = Path(file)
    source = read_source(path, "file")
    test_code = _test_code(tests)
    lang = language or BY_SUFFIX.get(path.suffix.lower(), "python")
    aliases = (path.stem,) if path.stem.isidentifier() else ()
    with translated():
        report = run_verifiers(source, language=lang, tests=test_code, task_type=task_type, module_aliases=aliases)
    return VerifyResult(**report.model_dump(mode="json"), file=str(path), language=lang, task_type=task_type)
