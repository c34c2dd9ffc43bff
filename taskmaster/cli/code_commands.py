"""code, stats and eval humaneval: the codegen graph, its attempt ledger and its benchmark from the command line."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from agents.escalation import TASK_TYPES
from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, TagOpt
from taskmaster.workspace.coding import CodeResult, cap_reply_tokens
from taskmaster.workspace.runs import LedgerStats

if TYPE_CHECKING:
    from taskmaster.workspace.workspace import Workspace

SpecOpt = Annotated[str | None, typer.Option("--spec", help="What the code must do (instead of a task id).")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Directory for the code (default .taskmaster/code/<id>/).")]
TypeOpt = Annotated[
    str | None, typer.Option("--type", help=f"Task type instead of classifying: {', '.join(TASK_TYPES)}.")
]
TestsOpt = Annotated[
    Path | None, typer.Option("--tests", help="A pytest file the code must pass (imports `solution`).")
]
ReviewOpt = Annotated[
    str | None, typer.Option("--review", help="Answer a pending human review: approve, edit (with --code) or skip.")
]
EditedOpt = Annotated[Path | None, typer.Option("--code", help="Your edited code, for --review edit.")]
AttemptsOpt = Annotated[int | None, typer.Option("--attempts", min=1, help="Attempts per worker tier (overrides).")]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", min=16, help="Cap every tier's reply length.")]
FreshOpt = Annotated[bool, typer.Option("--fresh", help="Discard a pending review and start over.")]
ResearchOpt = Annotated[bool, typer.Option("--research", help="Add context retrieved from the knowledge base.")]
ModelClassifyOpt = Annotated[
    bool, typer.Option("--classify-with-model", help="Ask the classifier model when keyword rules are silent.")
]


# --- shared plumbing -----------------------------------------------------------------------------------------
def open_workspace(project: Path | None, tag: str | None = None, profile: str | None = None) -> Workspace:
    """The project's Workspace, its warnings printed as `warning: …` on stderr."""
    from taskmaster.workspace import Workspace

    def warn(message: str) -> None:
        err_console.print(f"warning: {message}", markup=False, highlight=False)

    return Workspace.open(project, tag=tag, profile=profile, warn=warn)


def ask_review(payload: dict[str, Any]) -> dict[str, Any] | None:
    """A pending human review, answered at the terminal (None without one: the run waits)."""
    if not sys.stdin.isatty():
        return None
    err_console.print(payload.get("code") or "(no code)", markup=False, highlight=False)
    err_console.print(f"[yellow]verification {'passed' if payload.get('passed') else 'failed'}[/]")
    action = typer.prompt("review action (approve/edit/skip)", default="skip")
    edited = Path(typer.prompt("path of your edited code")) if action == "edit" else None
    return review_answer(action, edited)


def review_answer(action: str | None, edited: Path | None) -> dict[str, Any] | None:
    """--review ACTION [--code FILE] as the graphs' decision."""
    if action is None:
        return None
    if action not in ("approve", "edit", "skip"):
        fail(f"unknown review action {action!r}; use approve, edit (with --code FILE) or skip")
    if action == "edit":
        if edited is None:
            fail("--review edit needs your code: add --code FILE")
        return {"action": "edit", "code": edited.read_text(encoding="utf-8")}
    return {"action": action}


# --- code ----------------------------------------------------------------------------------------------------
@one_line_errors
def code_command(
    task_id: Annotated[str | None, typer.Argument(help="Task id from tasks.json (e.g. 3 or 3.2).")] = None,
    spec: SpecOpt = None,
    out: OutOpt = None,
    task_type: TypeOpt = None,
    tests: TestsOpt = None,
    review: ReviewOpt = None,
    edited: EditedOpt = None,
    attempts: AttemptsOpt = None,
    max_tokens: MaxTokensOpt = None,
    fresh: FreshOpt = False,
    research: ResearchOpt = False,
    classify_with_model: ModelClassifyOpt = False,
    project: ProjectOpt = None,
    tag: TagOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write code for a task (or --spec): verify, self-debug, escalate up the tiers, human review when needed."""
    from taskmaster.workspace.coding import code

    if bool(task_id) == bool(spec):
        fail("give either a task id or --spec TEXT (not both)")
    if task_type is not None and task_type not in TASK_TYPES:
        fail(f"unknown task type {task_type!r}; use one of: {', '.join(TASK_TYPES)}")
    decision = review_answer(review, edited)
    with open_workspace(project, tag, profile) as ws:
        result = code(
            ws,
            task_id,
            spec=spec,
            task_type=task_type,
            tests=tests,
            review=decision,
            on_review=ask_review,
            attempts=attempts,
            max_tokens=max_tokens,
            fresh=fresh,
            research=research,
            classify_with_model=classify_with_model,
            out=out,
        )
    err_console.print(f"[dim]{result.usage} · thread {result.thread_id}[/]")
    _print_result(result, as_json)
    if result.status == "waiting":
        err_console.print(
            f"waiting for human review: re-run the same command with --review approve|skip "
            f"(or --review edit --code FILE); the code is in {result.out_dir}"
        )


def _print_result(result: CodeResult, as_json: bool) -> None:
    if as_json:
        console.print_json(result.model_dump_json())
        return
    table = Table(title="Code generation", show_header=False)
    summary = result.model_dump()
    for key in ("task_id", "task_type", "complexity", "status", "solved_by", "attempts", "escalations"):
        table.add_row(key.replace("_", " "), str(summary.get(key) if summary.get(key) is not None else "-"))
    table.add_row("files", "\n".join(result.files))
    console.print(table)
    for note in result.notes:
        err_console.print(f"[dim]{note}[/]")


# --- stats ---------------------------------------------------------------------------------------------------
def _parse_since(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        return datetime.fromisoformat(since)
    except ValueError:
        fail(f"--since {since!r} is not an ISO date or time; use e.g. 2026-01-31 or 2026-01-31T12:00")


def _stats_tables(stats: LedgerStats) -> list[Table]:
    from taskmaster.workspace.analytics.report import GROUP_COLUMNS, group_row

    overview = Table(title="Code generation ledger", show_header=False)
    rows = [
        ("runs (tasks)", f"{stats.runs}"),
        ("solved", f"{stats.solved_runs} ({stats.solved_runs / stats.runs:.0%})" if stats.runs else "0"),
        ("mean attempts per run", f"{stats.mean_attempts:.2f}"),
        ("escalation rate", f"{stats.escalation_rate:.0%}"),
        ("tokens in / out", f"{stats.input_tokens} / {stats.output_tokens}"),
        ("time in attempts", f"{stats.latency_s:.1f} s"),
        ("cost", f"${stats.cost_usd:.4f}"),
        ("same tokens at cloud reference price", f"${stats.reference_cost_usd:.4f}"),
        ("cost saved", f"${stats.cost_saved_usd:.4f}"),
    ]
    for key, value in rows:
        overview.add_row(key, value)
    tables = [overview]
    for title, groups in (("By worker tier", stats.by_tier), ("By task type", stats.by_type)):
        table = Table(title=title)
        for column in ("", *GROUP_COLUMNS):
            table.add_column(column, justify="left" if not column else "right")
        for name, group in sorted(groups.items()):
            table.add_row(*group_row(name, group))  # the HTML report's rows too
        tables.append(table)
    return tables


@one_line_errors
def stats_command(
    since: Annotated[str | None, typer.Option("--since", help="Only attempts at or after this ISO date/time.")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write PNG charts into this directory.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write one self-contained HTML report here.")] = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Success rate by tier and type, attempts, escalations, tokens, latency and cost saved by running locally."""
    from taskmaster.workspace.runs import ledger_records, stats

    moment = _parse_since(since)
    with open_workspace(project) as ws:
        summary = stats(ws, moment)
        if png or html:
            _write_charts(ledger_records(ws, moment), png, html, moment)
    if as_json:
        console.print_json(summary.model_dump_json())
        return
    if not summary.attempts:
        err_console.print("no code-generation attempts recorded yet; run `taskmaster code` or `taskmaster eval`")
        return
    for table in _stats_tables(summary):
        console.print(table)


def _write_charts(records: list[Any], png: Path | None, html: Path | None, since: datetime | None) -> None:
    if not records:
        fail("no code-generation attempts recorded yet, so there is nothing to plot; run `taskmaster code` first")
    from taskmaster.workspace.analytics.plots import render_all, write_pngs
    from taskmaster.workspace.analytics.report import write_html

    pngs = render_all(records)
    for written in write_pngs(pngs, png) if png else []:
        err_console.print(f"[dim]wrote {written}[/]")
    if html:
        err_console.print(f"[dim]wrote {write_html(html, records, pngs, since=since)}[/]")


# --- eval humaneval ------------------------------------------------------------------------------------------
eval_app = typer.Typer(help="Benchmark the codegen pipeline.", no_args_is_help=True)


@eval_app.command("humaneval")
@one_line_errors
def humaneval_command(
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N problems.")] = None,
    policy: Annotated[str, typer.Option("--policy", help="single, verified or escalate.")] = "escalate",
    tier: Annotated[str | None, typer.Option("--tier", help="Tier for single/verified (e.g. fast, coder).")] = None,
    attempts: AttemptsOpt = None,
    max_tokens: MaxTokensOpt = None,
    project: ProjectOpt = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """HumanEval pass@1: workers see only the prompt; official tests score the final answer in the sandbox."""
    from taskmaster.evals.humaneval import POLICIES, run_humaneval

    if policy not in POLICIES:
        fail(f"unknown policy {policy!r}; use one of: {', '.join(POLICIES)}")

    def progress(result: Any) -> None:
        mark = "[green]pass[/]" if result.passed else "[red]fail[/]"
        err_console.print(f"{result.task_id}: {mark} ({result.status}, {result.attempts} attempts, {result.seconds}s)")

    with open_workspace(project, None, profile) as ws:
        router = ws.router()
        cap_reply_tokens(router, max_tokens)
        report = run_humaneval(
            router,
            policy=policy,
            limit=limit,
            matrix=ws.escalation_matrix(),
            record=ws.ledger(),
            max_attempts=attempts,
            tier=tier,
            on_result=progress,
        )
    if as_json:
        console.print_json(data=report.as_dict())
        return
    table = Table(title=f"HumanEval ({policy}{', ' + tier if tier else ''})", show_header=False)
    table.add_row("problems", str(report.problems))
    table.add_row("pass@1", f"{report.pass_at_1:.1%} ({report.passed}/{report.problems})")
    solved = ", ".join(f"{tier}: {n}" for tier, n in report.solved_by_tier.items()) or "-"
    table.add_row("solved per tier", solved)
    table.add_row("tokens in / out", f"{report.input_tokens} / {report.output_tokens}")
    per_tier = ", ".join(f"{name}: {t['input']}/{t['output']}" for name, t in report.tokens_by_tier.items()) or "-"
    table.add_row("tokens per tier", per_tier)
    table.add_row("time", f"{report.seconds:.1f} s")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("code")(code_command)
    app.command("stats")(stats_command)
    app.add_typer(eval_app, name="eval")
