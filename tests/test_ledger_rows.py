"""The attempt ledger: one row per attempt, filters by time, and the stats computed from it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes import make_router

from agents.escalation import EscalationMatrix
from graphs.codegen import AttemptRecord, CodegenContext, build_codegen_graph
from taskmaster.workspace.ledger import Ledger
from taskmaster.workspace.stats import summarize

BROKEN = "```python\ndef f(:\n```"
GOOD = (
    "```python\ndef f():\n    return 1\n```\n"
    "```python\nfrom solution import *\n\ndef test_f():\n    assert f() == 1\n```"
)


def record(**fields) -> AttemptRecord:
    base = dict(
        run_id="r1",
        task_id="1",
        task_type="standard_dev",
        complexity=4,
        worker_tier="fast",
        checker=None,
        outcome="passed",
        attempt=1,
        escalations=0,
        verifiers={"syntax": {"passed": True, "details": ""}},
        latency_s=1.5,
        input_tokens=100,
        output_tokens=50,
        cost_usd=0.0,
        reference_cost_usd=0.001,
    )
    return AttemptRecord(**{**base, **fields})


def test_rows_round_trip_in_wal_mode(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite")
    ledger(record())
    ledger.record(record(outcome="failed", attempt=2), at=datetime(2020, 1, 1, tzinfo=UTC))
    with sqlite3.connect(ledger.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = ledger.rows()
    assert [r.record.outcome for r in rows] == ["passed", "failed"]
    assert rows[0].record == record()
    assert [r.record.attempt for r in ledger.rows(since=datetime(2021, 1, 1))] == [1]


def test_graph_run_records_one_row_per_attempt(tmp_path: Path) -> None:
    calls = {"n": 0}

    def respond(schema: str, messages: list):
        if schema == "CodePlan":
            return {"steps": ["x"]}
        calls["n"] += 1
        return BROKEN if calls["n"] <= 3 else GOOD

    router, _ = make_router(respond)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ctx = CodegenContext(router=router, matrix=EscalationMatrix(), record=ledger, run_id="run-a")
    state = build_codegen_graph().invoke(
        {"spec": "f returns 1", "task_id": "9", "task_type": "standard_dev"}, context=ctx
    )
    assert state["solved_by"] == "coder"
    rows = [r.record for r in ledger.rows()]
    assert [(r.worker_tier, r.outcome, r.attempt, r.escalations) for r in rows] == [
        ("fast", "failed", 1, 0),
        ("fast", "failed", 2, 0),
        ("fast", "failed", 3, 0),
        ("coder", "passed", 1, 1),
    ]
    assert all(r.run_id == "run-a" and r.task_id == "9" and r.task_type == "standard_dev" for r in rows)
    # the scripted model reports 10 tokens in and 5 out per call; local tiers cost nothing
    assert all((r.input_tokens, r.output_tokens, r.cost_usd) == (10, 5, 0.0) for r in rows)
    assert all(r.reference_cost_usd == pytest.approx((10 * 3.0 + 5 * 15.0) / 1e6) for r in rows)
    assert rows[0].verifiers["syntax"]["passed"] is False and rows[-1].verifiers["tests"]["passed"] is True
    assert all(r.latency_s > 0 for r in rows)


def test_summary_rates_and_savings() -> None:
    records = [
        record(run_id="a", outcome="failed"),
        record(run_id="a", worker_tier="coder", escalations=1, attempt=1),
        record(run_id="b", task_type="quick_edit"),
        record(run_id="c", outcome="failed", cost_usd=0.0005),
    ]
    stats = summarize(records)
    assert (stats.runs, stats.solved_runs, stats.escalated_runs, stats.attempts) == (3, 2, 1, 4)
    assert stats.mean_attempts == pytest.approx(4 / 3, abs=1e-3) and stats.escalation_rate == pytest.approx(1 / 3)
    assert stats.by_tier["fast"].success_rate == pytest.approx(1 / 3) and stats.by_tier["coder"].success_rate == 1.0
    assert stats.by_type["quick_edit"].attempts == 1
    assert stats.cost_saved_usd == pytest.approx(0.004 - 0.0005)
    assert stats.as_dict()["by_tier"]["coder"]["passed"] == 1
