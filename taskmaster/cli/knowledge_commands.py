"""`kb` (add, list, remove, search, stats: the knowledge base without a model) and `research` (the research graph): thin
shells over the public API (`ws.kb`, `ws.research`). Flags are checked, the Workspace opened, the API called with
progress on stderr, the result rendered (`--json` prints the API's pydantic models)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, TagOpt

if TYPE_CHECKING:
    from taskmaster.workspace import Workspace
    from taskmaster.workspace.knowledge import IngestReport
    from taskmaster.workspace.research import ResearchAnswer

STAGES = {"scan": "reading files", "embed": "embedding passages", "store": "writing the index"}
KbTagOpt = Annotated[list[str] | None, typer.Option("--tag", help="Label the files (repeatable); search can filter.")]


def _workspace(project: Path | None, tag: str | None = None, profile: str | None = None) -> Workspace:
    from taskmaster.workspace import Workspace

    def warn(message: str) -> None:
        err_console.print(f"[yellow]warning:[/] {message}")

    return Workspace.open(project, tag=tag, profile=profile, warn=warn)


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
        f"({report.passages_embedded} passages embedded, {report.passages_reused} reused)",
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
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with _workspace(project) as ws, Progress(*columns, console=err_console, transient=True) as progress:
        bars: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(STAGES.get(stage, stage), total=total or None)
            progress.update(bars[stage], completed=done, total=total or None)

        report = ws.kb.add(
            paths, tags=tags, include_unknown=include_unknown, follow_symlinks=follow_symlinks, on_progress=on_progress
        )
    _print_report(report)


@one_line_errors
def kb_list(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """List the ingested files with their passage counts and tags."""
    with _workspace(project) as ws:
        sources = ws.kb.list()
    if as_json:
        _emit_json([s.model_dump(mode="json") for s in sources])
        return
    if not sources:
        console.print("The knowledge base is empty. Add documents with: taskmaster kb add PATH")
        return
    table = Table("path", "passages", "ingested", "tags")
    for s in sources:
        table.add_row(s.path, str(s.chunks), s.ingested_at.strftime("%Y-%m-%d %H:%M"), ", ".join(s.tags))
    console.print(table)


@one_line_errors
def kb_stats(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """How many files and passages the knowledge base holds, and its tags (no embedder is loaded)."""
    with _workspace(project) as ws:
        stats = ws.kb.stats()
    if as_json:
        typer.echo(stats.model_dump_json(indent=2))
        return
    tags = f", tags: {', '.join(stats.tags)}" if stats.tags else ""
    console.print(f"{stats.files} files, {stats.passages} passages{tags}", highlight=False, markup=False)


@one_line_errors
def kb_remove(
    path: Annotated[Path, typer.Argument(help="A file, or a directory to remove everything under it.")],
    project: ProjectOpt = None,
) -> None:
    """Remove a file (or everything under a directory) from the knowledge base."""
    with _workspace(project) as ws:
        count = ws.kb.remove(path)
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
    with _workspace(project) as ws:
        hits = ws.kb.search(query, limit=limit, tag=tag, source=source)
    if as_json:
        _emit_json([hit.model_dump(mode="json") for hit in hits])
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
def _stage_printer() -> Any:
    """One stderr line per research stage, with the seconds since the run started."""
    started = time.perf_counter()

    def on_stage(message: str) -> None:
        err_console.print(f"research {time.perf_counter() - started:5.1f}s  {message}", highlight=False, markup=False)

    return on_stage


def _show_answer(answer: ResearchAnswer) -> None:
    if answer.answer:  # document text: never read as Rich markup ("[link]" would vanish)
        console.print(answer.answer, highlight=False, markup=False)
    else:
        console.print("[dim](no answer survived the citation check)[/]", highlight=False)
    if answer.sources:
        console.print("\n[bold]Sources[/]")
        for s in answer.sources:
            console.print(f"  [{s.n}] {s.source}:{s.line_start}-{s.line_end}", highlight=False, markup=False)
    if answer.flags:
        err_console.print(f"[yellow]flags:[/] {', '.join(answer.flags)}")


@one_line_errors
def research(
    question: Annotated[str, typer.Argument(help="The question to answer from the knowledge base.")],
    task: Annotated[
        str | None, typer.Option("--task", help="Use this task's title and description as context.")
    ] = None,
    save_to: Annotated[str | None, typer.Option("--save-to", help="Append the answer to this task's details.")] = None,
    save_file: Annotated[Path | None, typer.Option("--save-file", help="Write the answer as markdown.")] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Ignore an interrupted run's checkpoint and start over.")
    ] = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question from the knowledge base with numbered citations checked against the retrieved passages."""
    from taskmaster.cli.progress import graph_progress

    if not question.strip():
        fail("the question is empty; ask something in a few words")
    with _workspace(project, tag, profile) as ws, graph_progress("researching") as on_update:
        answer = ws.research(
            question,
            tasks=task,
            save_to=save_to,
            save_file=save_file or False,
            fresh=fresh,
            on_stage=_stage_printer(),
            on_update=on_update,
        )
        tasks_file = ws.paths.tasks_file
    if answer.usage:
        resumed = " (resumed an interrupted run)" if answer.resumed else ""
        err_console.print(f"[dim]{answer.usage} · thread {answer.thread_id}{resumed}[/]")
    for problem in answer.problems:
        err_console.print(f"[yellow]warning:[/] {problem}")
    if "empty_knowledge_base" in answer.flags:
        err_console.print("[yellow]hint:[/] add documents with `taskmaster kb add PATH`")
    if "task" in answer.saved:
        err_console.print(f"answer appended to task {answer.saved['task']} in {tasks_file}")
    if "file" in answer.saved:
        err_console.print(f"answer written to {answer.saved['file']}")
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    _show_answer(answer)


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
    from taskmaster.evals.research import evaluate_workspace, load_questions

    items = load_questions(questions)
    with _workspace(project, None, profile) as ws:
        on_result = progress_answer if answers else progress_retrieval
        report = evaluate_workspace(ws, items, limit=limit, answers=answers, on_result=on_result)
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
    kb_app = typer.Typer(help="The knowledge base: add, list, remove, search, stats.", no_args_is_help=True)
    kb_app.command("add")(kb_add)
    kb_app.command("list")(kb_list)
    kb_app.command("remove")(kb_remove)
    kb_app.command("search")(kb_search)
    kb_app.command("stats")(kb_stats)
    app.add_typer(kb_app, name="kb")
    app.command("research")(research)
    from taskmaster.cli.code_commands import eval_app  # the `eval` group lives with the codegen commands

    eval_app.command("research")(eval_research)
