"""Adaptive routing in the shell: bind the pure start-tier policy to the attempt ledger and the settings.

The graph asks "where does this type start?" through CodegenContext.start_policy; this module answers from
the ledger's recent tasks, logs every decision to the ledger's routing_decisions table (so `taskmaster
routing explain` and the previous-decision hysteresis have something to read), and builds nothing when
routing is off.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from agents.escalation import StartDecision, TierRecord, decide_start
from agents.escalation.adaptive import Usable
from graphs.codegen.records import AttemptRecord
from taskmaster.settings import RoutingSettings, Settings
from taskmaster.workspace.ledger import Ledger, ledger_path


def tier_records(records: list[AttemptRecord], task_type: str, window_tasks: int) -> dict[str, TierRecord]:
    """Per tier: the most recent `window_tasks` tasks (runs) of this type it worked on, and how many it solved.

    A run's attempts at one tier count once: solved if any of them passed (self-debug is part of the tier).
    Records come in ledger order, so later runs are more recent.
    """
    outcomes: dict[str, dict[str, bool]] = defaultdict(dict)  # tier -> run -> solved (insertion = recency)
    for record in records:
        if record.task_type != task_type:
            continue
        runs = outcomes[record.worker_tier]
        run = record.run_id or record.task_id
        solved = runs.pop(run, False) or record.outcome == "passed"
        runs[run] = solved  # re-inserted: a run's latest attempt sets its recency
    result = {}
    for tier, runs in outcomes.items():
        recent = list(runs.values())[-window_tasks:]
        result[tier] = TierRecord(tasks=len(recent), solved=sum(recent))
    return result


class LedgerStartPolicy:
    """A StartPolicy reading the ledger; `explain` decides without logging, calling it decides and logs."""

    def __init__(self, ledger: Ledger, routing: RoutingSettings, *, run_id: str = "") -> None:
        self.ledger = ledger
        self.routing = routing
        self.run_id = run_id

    def stats(self, task_type: str) -> dict[str, TierRecord]:
        since = None
        if self.routing.window_days is not None:
            since = datetime.now(UTC) - timedelta(days=self.routing.window_days)
        records = [row.record for row in self.ledger.rows(since)]
        return tier_records(records, task_type, self.routing.window_tasks)

    def explain(self, task_type: str, chain: list[str], usable: Usable | None = None) -> StartDecision:
        previous = next(iter(self.ledger.decisions(task_type, limit=1)), None)
        previous_index = previous.start_index if previous and list(previous.chain) == chain else None
        return decide_start(
            task_type, chain, self.stats(task_type), self.routing, usable=usable, previous_index=previous_index
        )

    def __call__(self, task_type: str, chain: list[str], usable: Usable) -> StartDecision:
        decision = self.explain(task_type, chain, usable)
        self.ledger.record_decision(decision, run_id=self.run_id)
        return decision


def start_policy_from_settings(settings: Settings, *, run_id: str = "") -> LedgerStartPolicy | None:
    """None when routing is off (the default): the graph then starts every type at its chain's first tier."""
    if not settings.routing.enabled:
        return None
    return LedgerStartPolicy(Ledger(ledger_path(settings.data_dir)), settings.routing, run_id=run_id)
