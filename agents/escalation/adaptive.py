"""Adaptive start tier: learn from the attempt ledger where in its chain a task type should start.

The escalation chain always starts at the cheapest tier. When the data shows that tier rarely solves a task
type, every such task pays for its failed attempts before escalating anyway; starting one tier up saves that
time. The policy is pure (stats in, decision out) so it can be explained, tested and replayed:

- a tier with fewer than `min_samples` recent tasks is never judged: start there (explore, the default);
- a tier that solved fewer than `raise_below` of its tasks is skipped: look at the next tier the same way;
- a tier that solved at least `lower_above` is where the type starts;
- between the two thresholds the previous decision holds (hysteresis), so one lucky or unlucky task does not
  flip the start tier back and forth.

Success is per task, not per attempt: "did this tier solve the task within its self-debug attempts", which
is the question the start tier answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, model_validator


@dataclass(frozen=True)
class TierRecord:
    """Recent tasks of one type that reached one tier, and how many that tier solved."""

    tasks: int = 0
    solved: int = 0

    @property
    def rate(self) -> float:
        return self.solved / self.tasks if self.tasks else 0.0


class RoutingThresholds(BaseModel):
    min_samples: int = Field(default=5, ge=1, description="Recent tasks a tier needs before it is judged.")
    raise_below: float = Field(
        default=0.3, ge=0.0, le=1.0, description="A tier solving fewer than this share of tasks is skipped."
    )
    lower_above: float = Field(
        default=0.7, ge=0.0, le=1.0, description="A tier solving at least this share is where the type starts."
    )

    @model_validator(mode="after")
    def _band_is_ordered(self) -> RoutingThresholds:
        if self.raise_below > self.lower_above:
            raise ValueError("raise_below must not exceed lower_above")
        return self


@dataclass(frozen=True)
class StartDecision:
    task_type: str
    chain: tuple[str, ...]
    index: int
    default_index: int
    reasons: tuple[str, ...]
    stats: dict[str, TierRecord] = field(default_factory=dict)

    @property
    def tier(self) -> str:
        return self.chain[self.index]

    @property
    def changed(self) -> bool:
        return self.index != self.default_index

    def explanation(self) -> str:
        head = f"adaptive routing: {self.task_type} starts at {self.tier!r}" + (
            f" instead of {self.chain[self.default_index]!r}" if self.changed else ""
        )
        return head + ": " + "; ".join(self.reasons)

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_type": self.task_type,
            "chain": list(self.chain),
            "start_index": self.index,
            "start_tier": self.tier,
            "default_index": self.default_index,
            "changed": self.changed,
            "reasons": list(self.reasons),
            "stats": {
                t: {"tasks": r.tasks, "solved": r.solved, "rate": round(r.rate, 4)} for t, r in self.stats.items()
            },
        }


Usable = Callable[[str], bool]
StartPolicy = Callable[[str, list[str], Usable], StartDecision]
"""(task type, its chain, which tiers may run) -> where to start; the shell binds the ledger and thresholds."""


def decide_start(
    task_type: str,
    chain: list[str],
    stats: dict[str, TierRecord],
    thresholds: RoutingThresholds,
    *,
    usable: Usable | None = None,
    previous_index: int | None = None,
) -> StartDecision:
    """Walk up the chain from the default start (first usable tier) while the current tier is known to fail."""
    usable = usable or (lambda _tier: True)
    default_index = next((i for i, tier in enumerate(chain) if usable(tier)), 0)
    index = default_index
    reasons: list[str] = []
    while True:
        higher = next((i for i in range(index + 1, len(chain)) if usable(chain[i])), None)
        tier = chain[index]
        record = stats.get(tier, TierRecord())
        seen = f"{tier!r} solved {record.solved}/{record.tasks} recent {task_type} tasks"
        if higher is None:
            reasons.append(f"{tier!r} is the last usable tier of the chain")
            break
        if record.tasks < thresholds.min_samples:
            reasons.append(f"{seen}: fewer than min_samples={thresholds.min_samples}, so it keeps getting tried")
            break
        if record.rate < thresholds.raise_below:
            reasons.append(f"{seen} ({record.rate:.0%} < raise_below {thresholds.raise_below:.0%}): skip it")
            index = higher
            continue
        if record.rate >= thresholds.lower_above:
            reasons.append(f"{seen} ({record.rate:.0%} ≥ lower_above {thresholds.lower_above:.0%}): start here")
            break
        band = f"({record.rate:.0%}, between {thresholds.raise_below:.0%} and {thresholds.lower_above:.0%})"
        if previous_index is not None and previous_index > index:
            reasons.append(f"{seen} {band}: the previous decision started higher, so it still does")
            index = higher
            continue
        reasons.append(f"{seen} {band}: no reason to move, start here")
        break
    return StartDecision(task_type, tuple(chain), index, default_index, tuple(reasons), dict(stats))
