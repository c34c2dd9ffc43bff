"""`kb` (add, list, remove, search: the knowledge base without a model) and `research` (the research graph)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, TagOpt, settings_for, task_file
from taskmaster.settings import Settings

if TYPE_CHECKING:
    from knowledge.base import IngestReport, KnowledgeBase

STAGES = {"scan": "reading files", "embed": "embedding passages", "store": "writing the index"}
KbTagOpt = Annotated[list[str] | None, typer.Option("--tag", help="Label the files (repeatable); search can filter.")]


@contextmanager
def open_kb(settings: Settings) -> Iterator[KnowledgeBase]:
    from knowledge.base import KnowledgeBase

    kb = KnowledgeBase.open(settings.knowledge)
    try:
        yield kb
    finally:
        kb.close()


def _emit_json(data: Any) -> None:
    """Plain JSON on stdout (no Rich wrapping or highlighting) so scripts can parse it."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


# --- kb ----------------------------------------------------------------------------------------------
def _print_report(report: IngestReport) -> None:
    if report.reindexed_from:
        console.print(
            f"re-embedding every indexed file: it was embedded with {report.reindexed_from}, a different embedder",
            highlight=False,
            markup=False,
        )
    for label, items in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
        for item in items:
            console.print(f"{label:>9}  {item}", highlight=False)
    for skipped in report.skipped:
        console.print(f"  skipped  {skipped.path}: {skipped.reason}", highlight=False, markup=False)
    for item in report.truncated:
        err_console.print(
            f"[yellow]warning:[/] {item} is larger than knowledge.max_file_bytes; only its start is indexed"
        )
    console.print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed, {len(report.skipped)} skipped "
        f"({report.chunks_embedded} passages embedded, {report.chunks_reused} reused)",
        highlight=False,
    )
    if report.skipped:
        counts = ", ".join(f"{count} {reason}" for reason, count in report.skip_counts().items())
        console.print(f"skipped by reason: {counts}", highlight=False, markup=False)


@one_line_errors
def kb_add(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to ingest.")],
    tags: KbTagOpt = None,
    include_unknown: Annotated[
        bool, typer.Option("--include-unknown", help="Also index files of unknown type whose content is text.")
    ] = False,
    follow_symlinks: Annotated[
        bool, typer.Option("--follow-symlinks", help="Follow symlinks that lead outside the directories given.")
    ] = False,
    project: ProjectOpt = None,
) -> None:
    """Ingest files and directories (markdown, MDX, rst, AsciiDoc, notebooks, Word, HTML, PDF, text, source).

    Unchanged files are skipped; every file left out is listed with its reason.
    """
    from knowledge.documents import discover

    existing = [p for p in paths if p.exists() or p.is_symlink()]
    if existing:
        # An empty directory, unsupported file or symlink out of bounds fails here, before the embedder loads.
        discover(existing, include_unknown, follow_symlinks)
    settings = settings_for(project)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with open_kb(settings) as kb, Progress(*columns, console=err_console, transient=True) as progress:
        bars: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(STAGES.get(stage, stage), total=total or None)
            progress.update(bars[stage], completed=done, total=total or None)

        report = kb.add(
            paths, tags=tags, progress=on_progress, include_unknown=include_unknown, follow_symlinks=follow_symlinks
        )
    _print_report(report)


@one_line_errors
def kb_list(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """List the ingested files with their passage counts and tags."""
    with open_kb(settings_for(project)) as kb:
        sources = kb.sources()
    if as_json:
        _emit_json(
            [
                {"path": s.path, "chunks": s.chunks, "ingested_at": s.ingested_at.isoformat(), "tags": list(s.tags)}
                for s in sources
            ]
        )
        return
    if not sources:
        console.print("The knowledge base is empty. Add documents with: taskmaster kb add PATH")
        return
    table = Table("path", "passages", "ingested", "tags")
    for s in sources:
        table.add_row(s.path, str(s.chunks), s.ingested_at.strftime("%Y-%m-%d %H:%M"), ", ".join(s.tags))
    console.print(table)


@one_line_errors
def kb_remove(
    path: Annotated[Path, typer.Argument(help="A file, or a directory to remove everything under it.")],
    project: ProjectOpt = None,
) -> None:
    """Remove a file (or everything under a directory) from the knowledge base."""
    with open_kb(settings_for(project)) as kb:
        count = kb.remove(path)
    if not count:
        fail(f"{path} is not in the knowledge base; see `taskmaster kb list`")
    console.print(f"removed {count} file(s)")


@one_line_errors
def kb_search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    limit: Annotated[int, typer.Option("--limit", "-k", min=1, max=100, help="How many passages.")] = 5,
    tag: Annotated[str | None, typer.Option("--tag", help="Only files ingested with this tag.")] = None,
    source: Annotated[Path | None, typer.Option("--source", help="Only this file.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hybrid (dense + keyword) search; retrieval only, no model."""
    if not query.strip():
        fail("the query is empty; say what to look for")
    with open_kb(settings_for(project)) as kb:
        if kb.is_empty():
            fail("the knowledge base is empty; add documents with `taskmaster kb add PATH`")
        hits = kb.search(query, limit=limit, source=str(source) if source else None, tag=tag)
    if as_json:
        _emit_json([asdict(hit) for hit in hits])
        return
    if not hits:
        console.print("No passage matched.")
        return
    for rank, hit in enumerate(hits, start=1):
        where = f"{hit.source}:{hit.line_start}-{hit.line_end}"
        console.print(f"[bold]{rank}.[/] {where}  [dim]score {hit.score:.4f}  {hit.heading}[/]", highlight=False)
        snippet = " ".join(hit.text.split())
        console.print(f"   {snippet[:240]}{'…' if len(snippet) > 240 else ''}", highlight=False, markup=False)


# --- research ------------------------------------------------------------------------------------------
def _task_context(settings: Settings, task_id: str) -> str:
    from tasks.tree import find_task

    task = find_task(task_file(settings).load(), task_id)
    return "\n".join(filter(None, [f"Task {task_id}: {task.title}", task.description, task.details]))


def _save_to_task(settings: Settings, task_id: str, text: str) -> None:
    from tasks.tree import find_task

    with task_file(settings).edit() as tasks:
        task = find_task(tasks, task_id)
        task.details = f"{task.details.rstrip()}\n\n{text}".lstrip() if task.details else text


def _stage_printer() -> Any:
    """One stderr line per research stage, with the seconds since the run started."""
    import time

    started = time.perf_counter()

    def on_stage(message: str) -> None:
        err_console.print(f"research {time.perf_counter() - started:5.1f}s  {message}", highlight=False, markup=False)

    return on_stage


def _run_research(settings: Settings, question: str, task_context: str | None) -> dict[str, Any]:
    from graphs.research import ResearchContext, build_research_graph
    from taskmaster.cli.graph_runs import run_graph, thread_id_for
    from taskmaster.workspace.checkpoints import open_checkpointer
    from taskmaster.workspace.models import model_router
    from taskmaster.workspace.research_context import research_limits

    inputs = {"question": question, "task_context": task_context}
    thread_id = thread_id_for("research", {"inputs": inputs, "profile": settings.profile})
    with open_kb(settings) as kb, open_checkpointer(settings) as saver:
        if kb.is_empty():  # answer without starting (or even configuring) a model
            context = ResearchContext.for_knowledge_base(None, kb)
            return run_graph(
                build_research_graph(saver), saver, inputs, context=context, thread_id=thread_id, fresh=True
            )
        with model_router(settings) as router:
            context = ResearchContext.for_knowledge_base(
                router, kb, limits=research_limits(settings), on_stage=_stage_printer()
            )
            state = run_graph(
                build_research_graph(saver),
                saver,
                inputs,
                context=context,
                thread_id=thread_id,
                concurrency=settings.breakdown.concurrency,
                label="researching",
            )
            err_console.print(f"[dim]{router.meter.summary()} · thread {thread_id}[/]")
    return state


@one_line_errors
def research(
    question: Annotated[str, typer.Argument(help="The question to answer from the knowledge base.")],
    task: Annotated[
        str | None, typer.Option("--task", help="Use this task's title and description as context.")
    ] = None,
    save_to: Annotated[str | None, typer.Option("--save-to", help="Append the answer to this task's details.")] = None,
    save_file: Annotated[Path | None, typer.Option("--save-file", help="Write the answer as markdown.")] = None,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question from the knowledge base with numbered citations checked against the retrieved passages."""
    from tasks.atomic import write_text_atomic

    if not question.strip():
        fail("the question is empty; ask something in a few words")
    settings = settings_for(project, tag, profile)
    if save_to:
        from tasks.tree import find_task

        find_task(task_file(settings).load(), save_to)  # fail before spending model time
    state = _run_research(settings, question.strip(), _task_context(settings, task) if task else None)
    for problem in state.get("problems", []):
        err_console.print(f"[yellow]warning:[/] {problem}")
    if "empty_knowledge_base" in state.get("flags", []):
        err_console.print("[yellow]hint:[/] add documents with `taskmaster kb add PATH`")
    from graphs.research.report import answer_markdown

    text = answer_markdown(question.strip(), state)
    if save_to:
        _save_to_task(settings, save_to, text)
        err_console.print(f"answer appended to task {save_to} in {settings.tasks_file}")
    if save_file:
        write_text_atomic(save_file, text)
        err_console.print(f"answer written to {save_file}")
    if as_json:
        defaults: dict[str, Any] = {"answer": "", "sources": [], "flags": [], "removed_sentences": 0, "queries": []}
        _emit_json(
            {"question": question.strip(), **{key: state.get(key, value) for key, value in defaults.items()}}
            | {"problems": state.get("problems", [])}
        )
        return
    if state.get("answer"):  # document text: never read as Rich markup ("[link]" would vanish)
        console.print(state["answer"], highlight=False, markup=False)
    else:
        console.print("[dim](no answer survived the citation check)[/]", highlight=False)
    if state.get("sources"):
        console.print("\n[bold]Sources[/]")
        for s in state["sources"]:
            console.print(
                f"  [{s['n']}] {s['source']}:{s['line_start']}-{s['line_end']}", highlight=False, markup=False
            )
    if state.get("flags"):
        err_console.print(f"[yellow]flags:[/] {', '.join(state['flags'])}")


# --- eval research -------------------------------------------------------------------------------------
@one_line_errors
def eval_research(
    questions: Annotated[
        Path, typer.Option("--questions", help="JSON lines: question, gold_paths, optional answer keywords.")
    ],
    limit: Annotated[int, typer.Option("--limit", "-k", min=1, max=100, help="Passages a user would read.")] = 5,
    answers: Annotated[
        bool, typer.Option("--answers", help="Also run research: keyword hits, citation precision, time.")
    ] = False,
    project: ProjectOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recall@1/5/10 and MRR of the knowledge base on your questions (and, with --answers, answer quality)."""
    from taskmaster.evals.research import checker_judge, evaluate, load_questions

    items = load_questions(questions)
    settings = settings_for(project, None, profile)

    with open_kb(settings) as kb:
        if kb.is_empty():
            fail("the knowledge base is empty; add the documents the questions are about with `taskmaster kb add`")

        def search(query: str, k: int) -> list[Any]:
            return kb.search(query, limit=k)

        if not answers:
            report = evaluate(items, search, limit=limit, on_result=progress_retrieval)
        else:
            from graphs.research import ResearchContext, answer_question
            from taskmaster.workspace.models import model_router
            from taskmaster.workspace.research_context import research_limits

            with model_router(settings) as router:
                context = ResearchContext.for_knowledge_base(router, kb, limits=research_limits(settings))
                report = evaluate(
                    items,
                    search,
                    limit=limit,
                    answer=lambda q: answer_question(context, q),
                    judge=checker_judge(router),
                    on_result=progress_answer,
                )
    if as_json:
        _emit_json(report.as_dict())
        return
    table = Table(title=f"Research evaluation ({report.questions} questions)", show_header=False)
    for key, value in report.recall.items():
        table.add_row(f"recall{key}", f"{value:.3f}")
    table.add_row("MRR@10", f"{report.mrr:.3f}")
    table.add_row("search p50", f"{report.search_ms_p50:.0f} ms")
    if answers:
        table.add_row("keyword hit rate", _fmt(report.keyword_hit_rate))
        table.add_row("citation precision", _fmt(report.citation_precision))
        counts = f"{report.extractive} / {report.uncited} / {report.attributed}"
        table.add_row("extractive / uncited / attributed", counts)
        table.add_row("seconds per answer", f"{report.answer_seconds_mean} mean, {report.answer_seconds_max} max")
    console.print(table)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def progress_retrieval(result: Any) -> None:
    rank = f"rank {result.rank:>2}" if result.rank else "miss   "
    err_console.print(f"{rank}  {result.question}", highlight=False, markup=False)


def progress_answer(result: Any) -> None:
    rank = f"rank {result.rank:>2}" if result.rank else "miss   "
    flags = ", ".join(result.flags) or "cited"
    err_console.print(
        f"{rank}  {result.answer_seconds:5.1f}s  {flags}  {result.question}", highlight=False, markup=False
    )


def register(app: typer.Typer) -> None:
    kb_app = typer.Typer(help="The knowledge base: add, list, remove and search documents.", no_args_is_help=True)
    kb_app.command("add")(kb_add)
    kb_app.command("list")(kb_list)
    kb_app.command("remove")(kb_remove)
    kb_app.command("search")(kb_search)
    app.add_typer(kb_app, name="kb")
    app.command("research")(research)
    from taskmaster.cli.code_commands import eval_app  # the `eval` group lives with the codegen commands

    eval_app.command("research")(eval_research)
