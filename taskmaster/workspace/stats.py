"""Aggregates over the ledger for `taskmaster stats`: is the cheap tier pulling its weight, and what did
running locally save compared with the configured cloud reference price?"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from graphs.codegen.records import AttemptRecord


@dataclass
class Group:
    attempts: int = 0
    passed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    reference_cost_usd: float = 0.0

    @property
    def success_rate(self) -> float:
        return self.passed / self.attempts if self.attempts else 0.0

    def add(self, record: AttemptRecord) -> None:
        self.attempts += 1
        self.passed += record.outcome == "passed"
        self.input_tokens += record.input_tokens
        self.output_tokens += record.output_tokens
        self.latency_s += record.latency_s
        self.cost_usd += record.cost_usd
        self.reference_cost_usd += record.reference_cost_usd

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "success_rate": round(self.success_rate, 4)}


@dataclass
class LedgerStats:
    runs: int = 0
    solved_runs: int = 0
    escalated_runs: int = 0
    mean_attempts: float = 0.0
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    reference_cost_usd: float = 0.0
    by_tier: dict[str, Group] = field(default_factory=dict)
    by_type: dict[str, Group] = field(default_factory=dict)

    @property
    def escalation_rate(self) -> float:
        return self.escalated_runs / self.runs if self.runs else 0.0

    @property
    def cost_saved_usd(self) -> float:
        return self.reference_cost_usd - self.cost_usd

    def as_dict(self) -> dict[str, Any]:
        plain = {k: v for k, v in asdict(self).items() if k not in ("by_tier", "by_type")}
        return {
            **plain,
            "escalation_rate": round(self.escalation_rate, 4),
            "cost_saved_usd": round(self.cost_saved_usd, 6),
            "by_tier": {k: g.as_dict() for k, g in self.by_tier.items()},
            "by_type": {k: g.as_dict() for k, g in self.by_type.items()},
        }


def summarize(records: list[AttemptRecord]) -> LedgerStats:
    """A run is the attempts sharing a run_id (one task through the chain)."""
    stats = LedgerStats()
    by_tier: dict[str, Group] = defaultdict(Group)
    by_type: dict[str, Group] = defaultdict(Group)
    runs: dict[str, list[AttemptRecord]] = defaultdict(list)
    for record in records:
        by_tier[record.worker_tier].add(record)
        by_type[record.task_type].add(record)
        runs[record.run_id or f"{record.task_id}"].append(record)
        stats.attempts += 1
        stats.input_tokens += record.input_tokens
        stats.output_tokens += record.output_tokens
        stats.latency_s += record.latency_s
        stats.cost_usd += record.cost_usd
        stats.reference_cost_usd += record.reference_cost_usd
    stats.runs = len(runs)
    stats.solved_runs = sum(any(r.outcome == "passed" for r in run) for run in runs.values())
    stats.escalated_runs = sum(max(r.escalations for r in run) > 0 for run in runs.values())
    stats.mean_attempts = round(stats.attempts / stats.runs, 3) if stats.runs else 0.0
    stats.by_tier, stats.by_type = dict(by_tier), dict(by_type)
    return stats


def by_type_and_tier(records: list[AttemptRecord]) -> dict[tuple[str, str], Group]:
    """Success per (task type, worker tier): the cell adaptive routing and the heatmap both look at."""
    groups: dict[tuple[str, str], Group] = defaultdict(Group)
    for record in records:
        groups[(record.task_type, record.worker_tier)].add(record)
    return dict(groups)


def escalations_per_run(records: list[AttemptRecord]) -> dict[str, tuple[str, int]]:
    """Run id -> (task type, escalations it needed); a run's last attempt carries its final count."""
    runs: dict[str, tuple[str, int]] = {}
    for record in records:
        key = record.run_id or record.task_id
        previous = runs.get(key, (record.task_type, 0))[1]
        runs[key] = (record.task_type, max(previous, record.escalations))
    return runs
