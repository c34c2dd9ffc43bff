"""routing explain: what adaptive routing knows about a task type and where it would start it, and why."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from agents.escalation import TASK_TYPES
from agents.escalation.adaptive import Usable
from taskmaster.cli.common import console, err_console, fail, one_line_errors
from taskmaster.cli.options import JsonOpt, ProjectOpt
from taskmaster.errors import AppError
from taskmaster.settings import Settings
from taskmaster.workspace.start_policy import LedgerStartPolicy

routing_app = typer.Typer(help="Adaptive routing: where each task type starts in its escalation chain.")


def _usable(settings: Settings) -> Usable:
    """Cloud tiers are skipped unless allowed, exactly as the graph does; the tier URLs do not matter here."""
    from taskmaster.workspace import Workspace

    try:
        config = Workspace(settings).model_config()
    except AppError:
        return lambda _tier: True
    return lambda tier: tier not in config.tiers or not config.tiers[tier].cloud or config.allow_cloud


@routing_app.command("explain")
@one_line_errors
def explain_command(
    task_type: Annotated[str, typer.Argument(help=f"One of: {', '.join(TASK_TYPES)} (or a custom type).")],
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent success per tier for TASK_TYPE, the thresholds, and the start tier the policy would pick."""
    from taskmaster.workspace import Workspace

    with Workspace.open(project) as ws:
        settings = ws.settings
        matrix = ws.escalation_matrix()
        if task_type not in matrix.rules:
            fail(f"unknown task type {task_type!r}; use one of: {', '.join(matrix.rules)}")
        chain = list(matrix.rules[task_type].chain)
        ledger = ws.ledger()
        decision = LedgerStartPolicy(ledger, settings.routing).explain(task_type, chain, _usable(settings))
        recent = ledger.decisions(task_type, limit=5)
    routing = settings.routing
    if as_json:
        console.print_json(
            data={
                **decision.as_dict(),
                "enabled": routing.enabled,
                "thresholds": routing.model_dump(mode="json"),
                "recent_decisions": [
                    {"decided_at": d.decided_at, "start_tier": d.start_tier, "run_id": d.run_id} for d in recent
                ],
            }
        )
        return
    table = Table(title=f"Adaptive routing: {task_type}")
    for column in ("tier", "recent tasks", "solved", "rate"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for tier in chain:
        record = decision.stats.get(tier)
        marker = " ← start" if tier == decision.tier else ""
        if record is None or not record.tasks:
            table.add_row(tier + marker, "0", "0", "-")
        else:
            table.add_row(tier + marker, str(record.tasks), str(record.solved), f"{record.rate:.0%}")
    console.print(table)
    window = f"last {routing.window_tasks} tasks per tier" + (
        f" within {routing.window_days:g} days" if routing.window_days else ""
    )
    console.print(
        f"thresholds: min_samples={routing.min_samples}, raise_below={routing.raise_below:.0%}, "
        f"lower_above={routing.lower_above:.0%}, window: {window}",
        highlight=False,
    )
    console.print(decision.explanation(), highlight=False, markup=False)
    if not routing.enabled:
        err_console.print(
            f"routing is off (routing.enabled = false), so {task_type} starts at {chain[decision.default_index]!r}; "
            "set [routing] enabled = true in taskmaster.toml to act on the decision above",
            markup=False,
        )
    for row in recent:
        err_console.print(f"[dim]{row.decided_at} {row.run_id or '-'}: started at {row.start_tier}[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(routing_app, name="routing")
