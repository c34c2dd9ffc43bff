"""The cascade, measured: HumanEval on the embedded ladder (SmolLM2-135M `fast`, Qwen2.5-Coder-1.5B `coder`).

Four runs over the same first N problems, each through `taskmaster.evals.humaneval.run_humaneval` (what
`taskmaster eval humaneval` runs) on the embedded profile's own servers, shared through the usual leases:
  135M single    policy single,   tier fast
  1.5B single    policy single,   tier coder
  1.5B verified  policy verified, tier coder   (docstring examples + self-debug retries)
  escalate       policy escalate               (135M with retries, then 1.5B; planner is skipped: same model)
and the ratios the ladder is for:
  escalate pass@1 ÷ 1.5B single pass@1   target ≥ 0.95
  escalate 1.5B tokens ÷ 1.5B-only tokens target ≤ 0.5   (1.5B-only = the 1.5B single run)
  1.5B verified pass@1 ÷ 1.5B single      target > 1

Run: nice -n 5 .venv/bin/python bench/cascade.py [--limit 40] [--out bench/results/cascade.json]
Two processes may share one --out, each with its own --only runs (the embedded servers have 2 slots).
Every problem's result (with its tokens per tier and the load average when it ended) is saved as soon as it ends,
and a re-run continues from there (a problem whose model call failed, e.g. timed out under load, is not kept but
done again): `--limit 20` and later `--limit 40` costs 40 problems per run, not 60.
`--fresh` starts over; `--report` only prints the table from the file.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS: dict[str, tuple[str, str | None]] = {
    "135M single": ("single", "fast"),
    "1.5B single": ("single", "coder"),
    "1.5B verified": ("verified", "coder"),
    "escalate": ("escalate", None),
}
STRONG_TIERS = ("coder", "planner")
MAX_RESTARTS = 5


class ModelCallFailed(Exception):
    """A model call failed (timeout under load): the problem says nothing about pass@1, so it is not kept."""


def clean_prefix(results: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The results up to the first one whose model calls failed (that one and the rest are done again)."""
    end = next((i for i, r in enumerate(results) if r.get("error")), len(results))
    return results[: min(end, limit)]


def run(name: str, limit: int, project: Path, saved: dict[str, Any], save: Any, caps: dict[str, float]) -> None:
    """Problems not yet in `saved[name]` up to `limit`, each saved as it ends; a failed model call redoes it."""
    from taskmaster.evals.humaneval import run_humaneval
    from taskmaster.settings import load_settings
    from taskmaster.workspace.ledger import Ledger, ledger_path
    from taskmaster.workspace.models import model_router

    policy, tier = RUNS[name]
    entry = saved.setdefault(name, {"policy": policy, "tier": tier, "results": []})
    entry["results"] = done = clean_prefix(entry["results"], limit)
    settings = load_settings(project, profile="embedded")

    def keep(result: Any) -> None:
        mark = "pass" if result.passed else "fail"
        print(f"  {result.task_id}: {mark} ({result.status}, {result.attempts} attempts, {result.seconds}s)")
        if result.error:
            raise ModelCallFailed(f"{result.task_id}: {result.error}")
        done.append({**asdict(result), "load_avg_1m": round(os.getloadavg()[0], 2)})
        save()

    for _ in range(MAX_RESTARTS):
        if len(done) >= limit:
            return
        print(f"{name}: problems {len(done)}..{limit - 1}", flush=True)
        with model_router(settings) as router:
            # reply cap and request timeout on every tier (a loaded machine needs far more than the tier's default)
            for tier_name, spec in list(router.config.tiers.items()):
                update = {"timeout_s": caps["timeout_s"]}
                if caps.get("max_tokens"):
                    update["max_output_tokens"] = min(spec.max_output_tokens, int(caps["max_tokens"]))
                router.config.tiers[tier_name] = spec.model_copy(update=update)
            entry.update(caps)
            try:
                run_humaneval(
                    router,
                    policy=policy,
                    tier=tier,
                    limit=limit,
                    start=len(done),
                    matrix=settings.escalation,
                    record=Ledger(ledger_path(settings.data_dir)),
                    on_result=keep,
                )
            except ModelCallFailed as exc:
                print(f"  not kept, done again: {exc}", flush=True)
    print(f"{name}: stopped after {MAX_RESTARTS} failed model calls; run again to continue", flush=True)


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    tokens: dict[str, dict[str, int]] = {}
    solved_by: dict[str, int] = {}
    for r in results:
        for tier, used in r["tokens_by_tier"].items():
            sums = tokens.setdefault(tier, {"input": 0, "output": 0})
            sums["input"] += used["input"]
            sums["output"] += used["output"]
        if r["passed"]:
            credited = r["solved_by"] or r["final_tier"]
            solved_by[credited] = solved_by.get(credited, 0) + 1
    passed = sum(r["passed"] for r in results)
    loads = [r["load_avg_1m"] for r in results]
    return {
        "problems": len(results),
        "passed": passed,
        "pass_at_1": passed / len(results) if results else 0.0,
        "tokens_by_tier": tokens,
        "input_tokens": sum(t["input"] for t in tokens.values()),
        "output_tokens": sum(t["output"] for t in tokens.values()),
        "strong_tokens": sum(t["input"] + t["output"] for n, t in tokens.items() if n in STRONG_TIERS),
        "seconds": sum(r["seconds"] for r in results),
        "solved_by_tier": solved_by,
        "load_avg_1m": (min(loads), sorted(loads)[len(loads) // 2], max(loads)) if loads else None,
    }


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a (divisor 0)"


def report(saved: dict[str, Any], limit: int) -> None:
    print(f"\nHumanEval, first {limit} problems; fast = SmolLM2-135M, coder = Qwen2.5-Coder-1.5B")
    head = f"{'run':14s} {'pass@1':>7s} {'solved':>7s} {'tokens in/out':>14s} {'1.5B tokens':>11s} {'model s':>8s}"
    print(f"{head}  {'load 1m min/med/max':20s} solved by")
    sums = {name: summary(clean_prefix(entry["results"], limit)) for name, entry in saved.items() if name in RUNS}
    for name, s in sums.items():
        load = "/".join(f"{x:.1f}" for x in s["load_avg_1m"]) if s["load_avg_1m"] else "-"
        print(
            f"{name:14s} {s['pass_at_1']:7.3f} {s['passed']:>3d}/{s['problems']:<3d} "
            f"{s['input_tokens']:>7d}/{s['output_tokens']:<6d} {s['strong_tokens']:>11d} {s['seconds']:>8.0f}  "
            f"{load:20s} {s['solved_by_tier']}"
        )
    runs = {name: clean_prefix(entry["results"], limit) for name, entry in saved.items() if name in RUNS}
    pairs = [
        ("escalate pass@1 ÷ 1.5B single pass@1", "escalate", "1.5B single", "pass_at_1", "≥ 0.95"),
        ("escalate 1.5B tokens ÷ 1.5B-only", "escalate", "1.5B single", "strong_tokens", "≤ 0.5"),
        ("1.5B verified ÷ single pass@1", "1.5B verified", "1.5B single", "pass_at_1", "> 1"),
    ]
    for label, top, bottom, key, target in pairs:
        if runs.get(top) and runs.get(bottom):  # on the problems both runs have done
            n = min(len(runs[top]), len(runs[bottom]))
            a, b = summary(runs[top][:n])[key], summary(runs[bottom][:n])[key]
            print(f"{label + ':':40s} {ratio(a, b):>6s}  ({target}; first {n} problems)")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # progress lines reach a log file as they happen
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cascade.json")
    parser.add_argument("--fresh", action="store_true", help="discard the results already in --out")
    parser.add_argument("--report", action="store_true", help="only print the table from --out")
    parser.add_argument("--only", help="comma-separated run names to do (default all)")
    parser.add_argument("--max-tokens", type=int, help="cap every tier's reply (SmolLM2 often rambles to its cap)")
    parser.add_argument("--timeout-s", type=float, default=3600, help="every tier's request timeout (default 3600)")
    args = parser.parse_args()

    saved: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() and not args.fresh else {}
    wanted = [n.strip() for n in args.only.split(",")] if args.only else list(RUNS)
    unknown = [n for n in wanted if n not in RUNS]
    if unknown:
        raise SystemExit(f"error: unknown run {unknown[0]!r}; use one of: {', '.join(RUNS)}")
    if not args.report:
        for key in [k for k in os.environ if k.startswith("TASKMASTER_")]:  # the embedded defaults, nothing else
            del os.environ[key]
        project = Path(os.environ.get("CASCADE_PROJECT") or ROOT / "build" / "cascade-project")
        project.mkdir(parents=True, exist_ok=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)

        def save() -> None:
            """Merge this process's runs into the file under a lock: two processes may each do other runs."""
            with open(args.out.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                current = json.loads(args.out.read_text()) if args.out.exists() else {}
                current.update({name: saved[name] for name in wanted if name in saved})
                tmp = args.out.with_suffix(".tmp")
                tmp.write_text(json.dumps(current, indent=1))
                tmp.replace(args.out)

        for name in wanted:
            run(name, args.limit, project, saved, save, {"max_tokens": args.max_tokens, "timeout_s": args.timeout_s})
        saved = json.loads(args.out.read_text()) if args.out.exists() else saved
    report(saved, args.limit)


if __name__ == "__main__":
    main()
