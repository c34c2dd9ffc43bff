"""code, stats and eval humaneval: the codegen graph, its attempt ledger and its benchmark from the command line."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from agents.escalation import TASK_TYPES, EscalationMatrix
from agents.llm.router import ModelRouter
from graphs.codegen import CodegenContext, build_codegen_graph, result_summary
from graphs.codegen.outputs import write_outputs
from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.graph_runs import thread_id_for
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, TagOpt, settings_for, task_file
from taskmaster.settings import Settings
from taskmaster.workspace.checkpoints import open_checkpointer
from taskmaster.workspace.ledger import Ledger, ledger_path
from taskmaster.workspace.models import model_router
from taskmaster.workspace.start_policy import start_policy_from_settings
from taskmaster.workspace.stats import LedgerStats, summarize
from tasks.model import TaskStatus
from tasks.select import set_status
from tasks.tree import find_task

TASK_STATUS_FOR = {
    "solved": TaskStatus.DONE,
    "approved": TaskStatus.DONE,
    "edited": TaskStatus.DONE,
    "failed": TaskStatus.REVIEW,
    "skipped": TaskStatus.REVIEW,
    "waiting": TaskStatus.REVIEW,
}

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
def escalation_matrix(settings: Settings, attempts: int | None = None) -> EscalationMatrix:
    """Settings' `escalation` section when the shell defines it, else the defaults."""
    configured = getattr(settings, "escalation", None)
    matrix = configured.model_copy(deep=True) if isinstance(configured, EscalationMatrix) else EscalationMatrix()
    if attempts is not None:
        for name, rule in matrix.rules.items():
            matrix.rules[name] = rule.model_copy(update={"max_attempts": attempts})
    return matrix


def cap_reply_tokens(router: ModelRouter, max_tokens: int | None) -> None:
    if max_tokens is None:
        return
    for name, tier in list(router.config.tiers.items()):
        router.config.tiers[name] = tier.model_copy(
            update={"max_output_tokens": min(tier.max_output_tokens, max_tokens)}
        )


def _ledger(settings: Settings) -> Ledger:
    return Ledger(ledger_path(settings.data_dir))


# --- code ----------------------------------------------------------------------------------------------------
def _task_inputs(settings: Settings, task_id: str) -> dict[str, Any]:
    task = find_task(task_file(settings).load(), task_id)
    parts = [task.title, task.description, task.details and f"Details: {task.details}"]
    parts.append(task.test_strategy and f"Test strategy: {task.test_strategy}")
    return {
        "spec": "\n\n".join(p for p in parts if p),
        "title": task.title,
        "task_id": task_id,
        "complexity": task.complexity,
    }


def _review_decision(review: str | None, edited: Path | None, payload: dict[str, Any]) -> dict[str, Any] | None:
    if review is None and sys.stdin.isatty():
        err_console.print(payload.get("code") or "(no code)", markup=False, highlight=False)
        err_console.print(f"[yellow]verification {'passed' if payload.get('passed') else 'failed'}[/]")
        review = typer.prompt("review action (approve/edit/skip)", default="skip")
        if review == "edit" and edited is None:
            edited = Path(typer.prompt("path of your edited code"))
    if review is None:
        return None
    if review not in ("approve", "edit", "skip"):
        fail(f"unknown review action {review!r}; use approve, edit (with --code FILE) or skip")
    if review == "edit":
        if edited is None:
            fail("--review edit needs your code: add --code FILE")
        return {"action": "edit", "code": edited.read_text(encoding="utf-8")}
    return {"action": review}


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
    if bool(task_id) == bool(spec):
        fail("give either a task id or --spec TEXT (not both)")
    if task_type is not None and task_type not in TASK_TYPES:
        fail(f"unknown task type {task_type!r}; use one of: {', '.join(TASK_TYPES)}")
    settings = settings_for(project, tag, profile)
    inputs = _task_inputs(settings, task_id) if task_id else {"spec": spec, "task_id": ""}
    inputs["task_type"] = task_type
    inputs["tests"] = tests.read_text(encoding="utf-8") if tests else None
    thread_id = thread_id_for("code", {"inputs": inputs, "tag": settings.tag})
    if research:
        from taskmaster.workspace.research_context import retrieve_context

        inputs["research_context"] = retrieve_context(settings, str(inputs["spec"])[:2000])
    label = task_id or thread_id.removeprefix("code-")
    out_dir = out or settings.data_dir / "code" / label.replace(".", "_")
    matrix = escalation_matrix(settings, attempts)
    config = {"configurable": {"thread_id": thread_id}}
    with model_router(settings) as router, open_checkpointer(settings) as saver:
        cap_reply_tokens(router, max_tokens)
        graph = build_codegen_graph(saver)
        context = CodegenContext(
            router=router,
            matrix=matrix,
            record=_ledger(settings),
            run_id=thread_id,
            classify_with_model=classify_with_model,
            start_policy=start_policy_from_settings(settings, run_id=thread_id),
        )
        snapshot = graph.get_state(config)
        pending = bool(snapshot.next) and not fresh
        if snapshot.values and not pending:
            saver.delete_thread(thread_id)
        if pending and snapshot.interrupts:
            decision = _review_decision(review, edited, snapshot.interrupts[0].value)
            state = graph.invoke(_resume(decision), config, context=context) if decision else dict(snapshot.values)
        else:
            state = graph.invoke(inputs, config, context=context)
        while "__interrupt__" in state:
            decision = _review_decision(review, edited, state["__interrupt__"][0].value)
            if decision is None:
                break
            state = graph.invoke(_resume(decision), config, context=context)
        cached = f" · {router.cache.counts.summary()}" if router.cache else ""
        err_console.print(f"[dim]{router.meter.summary()}{cached} · thread {thread_id}[/]")
    waiting = "__interrupt__" in state or (pending and not state.get("status"))
    summary = {**result_summary(state), "status": "waiting" if waiting else state.get("status")}
    written = write_outputs(out_dir, state, summary)
    if task_id:
        with task_file(settings).edit() as tasks:
            set_status(tasks, task_id, TASK_STATUS_FOR[summary["status"]])
    _print_result(summary, written, state.get("notes", []), as_json)
    if waiting:
        err_console.print(
            f"waiting for human review: re-run the same command with --review approve|skip "
            f"(or --review edit --code FILE); the code is in {out_dir}"
        )


def _resume(decision: dict[str, Any]) -> Any:
    from langgraph.types import Command

    return Command(resume=decision)


def _print_result(summary: dict[str, Any], written: list[Path], notes: list[str], as_json: bool) -> None:
    if as_json:
        console.print_json(data={**summary, "files": [str(p) for p in written], "notes": notes})
        return
    table = Table(title="Code generation", show_header=False)
    for key in ("task_id", "task_type", "complexity", "status", "solved_by", "attempts", "escalations"):
        table.add_row(key.replace("_", " "), str(summary.get(key) if summary.get(key) is not None else "-"))
    table.add_row("files", "\n".join(str(p) for p in written))
    console.print(table)
    for note in notes:
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
        for column in ("", "attempts", "passed", "success rate", "tokens", "mean latency"):
            table.add_column(column, justify="left" if not column else "right")
        for name, g in sorted(groups.items()):
            mean_latency = g.latency_s / g.attempts if g.attempts else 0.0
            table.add_row(
                name,
                str(g.attempts),
                str(g.passed),
                f"{g.success_rate:.0%}",
                str(g.input_tokens + g.output_tokens),
                f"{mean_latency:.2f} s",
            )
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
    settings = settings_for(project)
    moment = _parse_since(since)
    path = ledger_path(settings.data_dir)
    records = [row.record for row in Ledger(path).rows(moment)] if path.exists() else []
    stats = summarize(records)
    if png or html:
        _write_charts(records, png, html, moment)
    if as_json:
        console.print_json(data=stats.as_dict())
        return
    if not records:
        err_console.print("no code-generation attempts recorded yet; run `taskmaster code` or `taskmaster eval`")
        return
    for table in _stats_tables(stats):
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
    settings = settings_for(project, None, profile)
    matrix = escalation_matrix(settings)

    def progress(result: Any) -> None:
        mark = "[green]pass[/]" if result.passed else "[red]fail[/]"
        err_console.print(f"{result.task_id}: {mark} ({result.status}, {result.attempts} attempts, {result.seconds}s)")

    with model_router(settings) as router:
        cap_reply_tokens(router, max_tokens)
        report = run_humaneval(
            router,
            policy=policy,
            limit=limit,
            matrix=matrix,
            record=_ledger(settings),
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
