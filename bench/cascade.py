"""The cascade, measured: HumanEval on the embedded ladder (SmolLM2-135M `fast`, Qwen2.5-Coder-1.5B `coder`).

Four runs over the same first N problems, each through `taskmaster eval humaneval` (the real CLI, its own
embedded servers shared through the usual leases):
  135M single    --policy single   --tier fast
  1.5B single    --policy single   --tier coder
  1.5B verified  --policy verified --tier coder   (docstring examples + self-debug retries)
  escalate       --policy escalate                (135M with retries, then 1.5B; planner is skipped: same model)
and the ratios the ladder is for:
  escalate pass@1 ÷ 1.5B single pass@1   target ≥ 0.95
  escalate 1.5B tokens ÷ 1.5B-only tokens target ≤ 0.5   (1.5B-only = the 1.5B single run)
  1.5B verified pass@1 ÷ 1.5B single      target > 1

Run: nice -n 10 .venv/bin/python bench/cascade.py [--limit 40] [--out bench/results/cascade.json]
Each run's JSON is written as soon as it ends (and reused with --resume), so a long run can be stopped and picked up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "135M single": ["--policy", "single", "--tier", "fast"],
    "1.5B single": ["--policy", "single", "--tier", "coder"],
    "1.5B verified": ["--policy", "verified", "--tier", "coder"],
    "escalate": ["--policy", "escalate"],
}
STRONG_TIERS = ("coder", "planner")


def run(name: str, args: list[str], limit: int, project: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TASKMASTER_")}
    env.update({"TASKMASTER_PROFILE": "embedded", "COLUMNS": "200"})
    command = [sys.executable, "-m", "taskmaster.cli", "eval", "humaneval", "--limit", str(limit), *args, "--json"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{name}: eval failed (rc {result.returncode}): {result.stderr.strip()[-500:]}")
    report = json.loads(result.stdout)
    report["wall_s"] = round(time.perf_counter() - start, 1)
    return report


def strong_tokens(report: dict) -> int:
    return sum(t["input"] + t["output"] for name, t in report["tokens_by_tier"].items() if name in STRONG_TIERS)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a (divisor 0)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cascade.json")
    parser.add_argument("--resume", action="store_true", help="reuse runs already in --out")
    parser.add_argument("--only", help="comma-separated run names to do (default all)")
    args = parser.parse_args()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    reports: dict[str, dict] = json.loads(args.out.read_text()) if args.resume and args.out.exists() else {}
    project = Path(os.environ.get("CASCADE_PROJECT") or ROOT / "build" / "cascade-project")
    project.mkdir(parents=True, exist_ok=True)
    wanted = [n.strip() for n in args.only.split(",")] if args.only else list(RUNS)
    for name in wanted:
        if name in reports and reports[name].get("problems") == args.limit:
            continue
        print(f"{name}: running {args.limit} problems ...", flush=True)
        reports[name] = run(name, RUNS[name], args.limit, project)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(reports, indent=2))
        tmp.replace(args.out)

    print(f"\nHumanEval, first {args.limit} problems; fast = SmolLM2-135M, coder = Qwen2.5-Coder-1.5B")
    head = f"{'run':16s} {'pass@1':>8s} {'solved':>7s} {'tokens in/out':>16s} {'1.5B tokens':>12s} {'wall s':>8s}"
    print(f"{head}  solved by")
    for name, r in reports.items():
        tokens = f"{r['input_tokens']}/{r['output_tokens']}"
        print(
            f"{name:16s} {r['pass_at_1']:8.3f} {r['passed']:>3d}/{r['problems']:<3d} {tokens:>16s} "
            f"{strong_tokens(r):>12d} {r['wall_s']:>8.0f}  {r['solved_by_tier']}"
        )
    single, verified, escalate = (reports.get(k) for k in ("1.5B single", "1.5B verified", "escalate"))
    if single and escalate:
        print(f"escalate pass@1 ÷ 1.5B single pass@1:  {ratio(escalate['pass_at_1'], single['pass_at_1'])}  (≥ 0.95)")
        share = ratio(strong_tokens(escalate), strong_tokens(single))
        print(f"escalate 1.5B tokens ÷ 1.5B-only:      {share}  (≤ 0.5)")
    if single and verified:
        print(f"1.5B verified ÷ single pass@1:         {ratio(verified['pass_at_1'], single['pass_at_1'])}  (> 1)")


if __name__ == "__main__":
    main()
