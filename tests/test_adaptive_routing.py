"""Adaptive routing: the ledger's per-tier success decides where a task type starts, and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e import one_line_error, run_cli
from fakes import make_router

from agents.escalation import EscalationMatrix, RoutingThresholds, TierRecord, decide_start
from graphs.codegen import AttemptRecord, CodegenContext, build_codegen_graph
from taskmaster.settings import RoutingSettings, load_settings
from taskmaster.workspace.ledger import Ledger
from taskmaster.workspace.start_policy import LedgerStartPolicy, start_policy_from_settings, tier_records

CHAIN = ["fast", "coder", "planner"]
GOOD = (
    "```python\ndef add(a, b):\n    return a + b\n```\n\n"
    "```python\nfrom solution import *\n\n\ndef test_add():\n    assert add(2, 3) == 5\n```"
)


def attempt(run: str, tier: str, outcome: str, task_type: str = "standard_dev", number: int = 1) -> AttemptRecord:
    return AttemptRecord(
        run_id=run,
        task_id=run,
        task_type=task_type,
        complexity=4,
        worker_tier=tier,
        checker=None,
        outcome=outcome,
        attempt=number,
        escalations=0 if tier == "fast" else 1,
        latency_s=1.0,
    )


def history(fast_solved: int, fast_failed: int, task_type: str = "standard_dev") -> list[AttemptRecord]:
    """Runs where fast got three tries; the failed ones were then solved by coder."""
    records = []
    for i in range(fast_solved):
        records.append(attempt(f"ok{i}", "fast", "failed", task_type))
        records.append(attempt(f"ok{i}", "fast", "passed", task_type, number=2))
    for i in range(fast_failed):
        records += [attempt(f"bad{i}", "fast", "failed", task_type, number=n) for n in (1, 2, 3)]
        records.append(attempt(f"bad{i}", "coder", "passed", task_type))
    return records


def ledger_with(tmp_path: Path, records: list[AttemptRecord]) -> Ledger:
    ledger = Ledger(tmp_path / ".taskmaster" / "state" / "ledger.sqlite")
    for record in records:
        ledger(record)
    return ledger


def test_tier_records_count_tasks_not_attempts() -> None:
    stats = tier_records(history(fast_solved=2, fast_failed=3), "standard_dev", window_tasks=50)
    assert stats == {"fast": TierRecord(tasks=5, solved=2), "coder": TierRecord(tasks=3, solved=3)}
    assert tier_records(history(2, 3), "complex", 50) == {}
    assert tier_records(history(2, 3), "standard_dev", window_tasks=3)["fast"] == TierRecord(3, 0)  # newest 3


def test_failing_low_tier_starts_the_type_higher_and_says_why() -> None:
    stats = {"fast": TierRecord(10, 1), "coder": TierRecord(10, 9)}
    decision = decide_start("standard_dev", CHAIN, stats, RoutingThresholds())
    assert (decision.index, decision.tier, decision.changed) == (1, "coder", True)
    text = decision.explanation()
    assert "starts at 'coder' instead of 'fast'" in text
    assert "'fast' solved 1/10" in text and "10% < raise_below 30%" in text
    assert "'coder' solved 9/10" in text and "≥ lower_above 70%" in text


def test_high_success_starts_low() -> None:
    decision = decide_start("standard_dev", CHAIN, {"fast": TierRecord(10, 9)}, RoutingThresholds())
    assert decision.index == 0 and not decision.changed
    assert "90% ≥ lower_above" in decision.explanation()


def test_too_few_samples_keep_the_default() -> None:
    decision = decide_start("standard_dev", CHAIN, {"fast": TierRecord(4, 0)}, RoutingThresholds(min_samples=5))
    assert decision.index == 0
    assert "fewer than min_samples=5" in decision.explanation()


def test_walks_past_several_failing_tiers_but_never_off_the_chain() -> None:
    stats = {"fast": TierRecord(10, 0), "coder": TierRecord(10, 1), "planner": TierRecord(10, 0)}
    decision = decide_start("standard_dev", CHAIN, stats, RoutingThresholds())
    assert decision.tier == "planner"
    assert "last usable tier" in decision.reasons[-1]


def test_unusable_tiers_are_skipped_and_never_chosen() -> None:
    stats = {"fast": TierRecord(10, 0)}
    decision = decide_start("standard_dev", CHAIN, stats, RoutingThresholds(), usable=lambda tier: tier != "coder")
    assert decision.tier == "planner"


def test_band_between_thresholds_keeps_the_previous_decision() -> None:
    stats = {"fast": TierRecord(10, 5), "coder": TierRecord(10, 9)}
    assert decide_start("standard_dev", CHAIN, stats, RoutingThresholds()).index == 0
    held = decide_start("standard_dev", CHAIN, stats, RoutingThresholds(), previous_index=1)
    assert held.index == 1 and "previous decision started higher" in held.explanation()
    recovered = {"fast": TierRecord(10, 8), "coder": TierRecord(10, 9)}
    assert decide_start("standard_dev", CHAIN, recovered, RoutingThresholds(), previous_index=1).index == 0


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="raise_below must not exceed lower_above"):
        RoutingThresholds(raise_below=0.8, lower_above=0.5)


def test_disabled_by_default_builds_no_policy(isolated_project: Path) -> None:
    settings = load_settings(isolated_project)
    assert settings.routing.enabled is False
    assert start_policy_from_settings(settings) is None
    (isolated_project / "taskmaster.toml").write_text("[routing]\nenabled = true\nmin_samples = 3\n")
    policy = start_policy_from_settings(load_settings(isolated_project), run_id="r")
    assert isinstance(policy, LedgerStartPolicy) and policy.routing.min_samples == 3


def test_ledger_policy_logs_each_decision(tmp_path: Path) -> None:
    ledger = ledger_with(tmp_path, history(fast_solved=1, fast_failed=6))
    policy = LedgerStartPolicy(ledger, RoutingSettings(enabled=True), run_id="run-1")
    assert policy.explain("standard_dev", CHAIN).tier == "coder"
    assert ledger.decisions() == []  # explain never logs
    decision = policy("standard_dev", CHAIN, lambda _t: True)
    [row] = ledger.decisions("standard_dev")
    assert (row.run_id, row.start_tier, row.start_index, row.chain) == ("run-1", "coder", 1, tuple(CHAIN))
    assert row.explanation == decision.explanation()


def run_graph(policy, spec_type: str = "standard_dev") -> tuple[dict, list[AttemptRecord]]:
    router, _ = make_router(lambda schema, _m: {"steps": ["x"]} if schema == "CodePlan" else GOOD)
    records: list[AttemptRecord] = []
    ctx = CodegenContext(router=router, matrix=EscalationMatrix(), record=records.append, start_policy=policy)
    state = build_codegen_graph().invoke({"spec": "add(a, b) returns a + b", "task_type": spec_type}, context=ctx)
    return state, records


def test_codegen_graph_starts_where_the_policy_says(tmp_path: Path) -> None:
    ledger = ledger_with(tmp_path, history(fast_solved=1, fast_failed=6))
    state, records = run_graph(LedgerStartPolicy(ledger, RoutingSettings(enabled=True), run_id="g"))
    assert [r.worker_tier for r in records] == ["coder"]
    assert state["solved_by"] == "coder" and state["escalations"] == 0
    assert any("starts at 'coder' instead of 'fast'" in note for note in state["notes"])
    assert ledger.decisions()[0].start_tier == "coder"

    # the same ledger, but routing off (no policy): the chain's first tier, as always
    _, default_records = run_graph(None)
    assert [r.worker_tier for r in default_records] == ["fast"]


def test_codegen_graph_keeps_low_start_when_the_low_tier_does_well(tmp_path: Path) -> None:
    ledger = ledger_with(tmp_path, history(fast_solved=9, fast_failed=1))
    state, records = run_graph(LedgerStartPolicy(ledger, RoutingSettings(enabled=True)))
    assert [r.worker_tier for r in records] == ["fast"]
    assert any("starts at 'fast'" in note and "instead" not in note for note in state["notes"])


def test_routing_explain_cli(isolated_project: Path) -> None:
    ledger_with(isolated_project, history(fast_solved=1, fast_failed=6))
    result = run_cli("routing", "explain", "standard_dev", "--json", cwd=isolated_project, timeout=60)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["enabled"] is False
    assert (data["start_tier"], data["default_index"], data["changed"]) == ("coder", 0, True)
    assert data["stats"]["fast"] == {"tasks": 7, "solved": 1, "rate": round(1 / 7, 4)}
    assert any("raise_below" in reason for reason in data["reasons"])

    table = run_cli("routing", "explain", "standard_dev", cwd=isolated_project, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "coder ← start" in table.stdout and "starts at 'coder' instead of 'fast'" in table.stdout
    assert "routing is off" in table.stderr

    bad = run_cli("routing", "explain", "nonsense", cwd=isolated_project, timeout=60)
    assert "unknown task type 'nonsense'" in one_line_error(bad)


def test_code_command_builds_the_policy_from_settings(isolated_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextlib import contextmanager

    import typer
    from typer.testing import CliRunner

    from taskmaster.cli import code_commands

    @contextmanager
    def fake_router(_settings):
        yield make_router(lambda schema, _m: {"steps": ["x"]} if schema == "CodePlan" else GOOD)[0]

    monkeypatch.setattr("taskmaster.workspace.models.model_router", fake_router)
    app = typer.Typer()
    code_commands.register(app)
    ledger = ledger_with(isolated_project, history(fast_solved=1, fast_failed=6))

    def code(spec: str) -> list[str]:
        before = len(ledger.rows())
        result = CliRunner().invoke(app, ["code", "--spec", spec, "--type", "standard_dev", "--json"])
        assert result.exit_code == 0, result.output
        return [row.record.worker_tier for row in ledger.rows()[before:]]

    assert code("Write add(a, b).") == ["fast"]  # routing off by default
    assert ledger.decisions() == []
    (isolated_project / "taskmaster.toml").write_text("[routing]\nenabled = true\n")
    assert code("Write add(a, b) again.") == ["coder"]
    [decision] = ledger.decisions()
    assert decision.start_tier == "coder" and decision.run_id.startswith("code-")
