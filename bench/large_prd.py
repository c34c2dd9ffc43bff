"""Large-PRD benchmark: a generated 600-line, 12-section PRD through the real breakdown graph and HTTP client.

Task Master's parse-prd sends a whole PRD in one request and times out near 300 s on files this size. Here the
graph must split it by section so that no request exceeds the model's context, and send the pieces in parallel.
The model is tests/stub_server.py with a fixed latency per reply; a request whose prompt plus reply budget does not
fit the context is counted as an overflow (a real llama.cpp server would refuse it).

Prints: requests by kind, the largest prompt against the context, and wall time against the ideal parallel time
(latency x the number of dependent request waves at the run's concurrency), each with its target and ratio.
Run: .venv/bin/python bench/large_prd.py [--latency 1.0] [--context 8192] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from langchain_core.messages import HumanMessage  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from stub_server import stub_openai_server  # noqa: E402

from agents.llm.config import Backend, Endpoint, ModelConfig, Tier  # noqa: E402
from agents.llm.router import ModelRouter  # noqa: E402
from agents.planner.schemas import ComplexityScore  # noqa: E402
from graphs.breakdown import BreakdownContext, BreakdownLimits, build_breakdown_graph  # noqa: E402

SECTIONS = [
    "Overview",
    "User accounts",
    "Reading list",
    "Import and export",
    "Search",
    "Tags",
    "Notifications",
    "Sharing",
    "Offline mode",
    "Administration",
    "Security",
    "Operations",
]
LINES_PER_SECTION = 50
ASPECTS = [
    "validates its input and reports one clear error per bad field",
    "is covered by an integration test against the real database",
    "stays under 200 ms at the 95th percentile with 10,000 items",
    "logs one structured line per request with the user id redacted",
    "works with keyboard navigation and a screen reader",
    "keeps working when the network drops, and syncs when it returns",
    "writes through a migration that can be rolled back",
    "is behind a feature flag until the beta ends",
]
CHARS_PER_TOKEN_ESTIMATE = 4.0  # used only when no tokenizer is available; the splitter itself assumes 3


def generate_prd() -> str:
    """12 sections of 50 lines each (a heading, a goal, then numbered requirements) = 600 lines."""
    lines: list[str] = []
    for number, name in enumerate(SECTIONS, start=1):
        lines.append(f"## {number}. {name}")
        lines.append(f"The {name.lower()} area of the reading-list service: goals, requirements and acceptance.")
        for item in range(1, LINES_PER_SECTION - 1):
            aspect = ASPECTS[(number * 7 + item) % len(ASPECTS)]
            lines.append(f"- R{number}.{item}: the {name.lower()} feature {item} {aspect}.")
    return "\n".join(lines) + "\n"


def token_counter() -> tuple[str, object]:
    """A real tokenizer (MiniLM's word pieces, shipped locally) as a proxy for the served model's; BPE tokenizers
    of the small chat models produce a similar count on English prose."""
    try:
        from tokenizers import Tokenizer

        from knowledge.embedders import minilm_model_dir

        tokenizer = Tokenizer.from_file(str(minilm_model_dir() / "tokenizer.json"))
        tokenizer.no_truncation()
        return "MiniLM word pieces", lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
    except Exception as exc:  # reported, never silent
        print(f"note: no local tokenizer ({exc}); estimating {CHARS_PER_TOKEN_ESTIMATE} characters per token")
        return "estimated", lambda text: math.ceil(len(text) / CHARS_PER_TOKEN_ESTIMATE)


def ratio_line(name: str, value: float, target: float, unit: str, higher_is_better: bool) -> str:
    ratio = value / target if higher_is_better else target / max(value, 1e-9)
    sign = ">=" if higher_is_better else "<="
    verdict = "OK" if ratio >= 1.0 else "BELOW TARGET"
    return f"{name:<40} {value:10.2f} {unit:<9} target {sign} {target:g} {unit:<9} ratio {ratio:5.2f}  {verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=1.0, help="fixed seconds per model reply")
    parser.add_argument("--context", type=int, default=8192, help="context length of the model (tokens)")
    parser.add_argument("--max-output", type=int, default=768, help="reply budget per request (tokens)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel requests (settings.concurrency)")
    parser.add_argument("--num-tasks", type=int, default=12)
    args = parser.parse_args()

    prd = generate_prd()
    counter_name, count_tokens = token_counter()
    lock = threading.Lock()
    requests: list[tuple[str, int, float]] = []  # (kind, prompt tokens, arrival time)
    started = time.perf_counter()

    def respond(body: dict) -> str:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        kind = "parse" if "<prd>" in prompt else "score" if "Rate its complexity" in prompt else "expand"
        with lock:
            requests.append((kind, count_tokens(prompt), time.perf_counter() - started))
        if kind == "score":
            return json.dumps({"complexity": 3, "recommended_subtasks": 0, "reasoning": "small"})
        wanted, section = 1, "?"
        for line in prompt.splitlines():
            if line.startswith("Write between "):
                wanted = int(line.split()[4])
                section = line.rsplit("(section ", 1)[-1].split(" ", 1)[0]
        drafts = [
            {
                "title": f"Build section {section} part {i + 1}",
                "description": "One piece of the section.",
                "details": "Implement it.",
                "test_strategy": "Test it.",
                "priority": "medium",
                "depends_on": [],
            }
            for i in range(wanted)
        ]
        return json.dumps({"tasks": drafts})

    with stub_openai_server("", model="stub", reply_delay_s=args.latency, responder=respond) as url:
        tier = Tier(
            model="stub",
            endpoints=[Endpoint(base_url=url, backend=Backend.LLAMACPP)],
            context_length=args.context,
            max_output_tokens=args.max_output,
        )
        router = ModelRouter(ModelConfig(tiers={name: tier for name in ("planner", "fast", "coder")}))
        # The first call of a process imports the HTTP/LLM client stack and probes the server: a one-time start-up
        # cost, reported on its own so the figure below measures the graph's parallelism.
        warm_started = time.perf_counter()
        router.structured("planner", ComplexityScore, [HumanMessage(content="Rate its complexity: warm-up")])
        warm_up = time.perf_counter() - warm_started - args.latency
        requests.clear()
        with tempfile.TemporaryDirectory() as tmp:
            context = BreakdownContext(
                router=router,
                limits=BreakdownLimits(threshold=5, max_depth=1),
                context_length=args.context,
                max_output_tokens=args.max_output,
                tasks_file=Path(tmp) / "tasks.json",
            )
            graph = build_breakdown_graph(InMemorySaver())
            started = time.perf_counter()
            config = {"configurable": {"thread_id": "large-prd"}, "max_concurrency": args.concurrency}
            result = graph.invoke(
                {"mode": "parse", "source_text": prd, "num_tasks": args.num_tasks}, config, context=context
            )
            wall = time.perf_counter() - started
            sections = graph.get_state(config).values.get("sections", [])  # internal state, not the graph's output
    lines = prd.count("\n")
    kinds = {kind: sum(1 for k, _, _ in requests if k == kind) for kind in ("parse", "score", "expand")}
    largest = max(tokens for _, tokens, _ in requests)
    over = sum(1 for _, tokens, _ in requests if tokens + args.max_output > args.context)
    # Ideal: each dependent stage (parse, then score, then expand) runs its requests in ceil(n / concurrency) waves.
    waves = sum(math.ceil(n / args.concurrency) for n in kinds.values() if n)
    ideal = waves * args.latency
    fully_parallel = sum(1 for n in kinds.values() if n) * args.latency
    print(f"PRD: {lines} lines, {len(SECTIONS)} sections, {len(prd)} characters, {count_tokens(prd)} tokens")
    print(
        f"stub model: {args.latency:g} s per reply, context {args.context} tokens, reply budget {args.max_output}, "
        f"concurrency {args.concurrency}; token counts by {counter_name}"
    )
    print(
        f"requests: {len(requests)} ({kinds['parse']} parse over {len(sections)} section groups, "
        f"{kinds['score']} score, {kinds['expand']} expand); tasks written: {len(result.get('tasks', []))}"
    )
    print(ratio_line("largest prompt + reply budget", largest + args.max_output, args.context, "tokens", False))
    verdict = "OK" if over == 0 else "BELOW TARGET"
    ratio = 1.0 if over == 0 else 0.0
    print(f"{'requests over the context':<40} {over:10d} requests  target = 0          ratio {ratio:5.2f}  {verdict}")
    print(f"{'ideal parallel time':<40} {ideal:10.2f} s         ({waves} waves x {args.latency:g} s)")
    print(f"{'ideal with unlimited parallelism':<40} {fully_parallel:10.2f} s")
    first, last = min(t for _, _, t in requests), max(t for _, _, t in requests)
    print(f"{'process start-up on the first call':<40} {warm_up:10.2f} s         (imports + health probe, once)")
    print(f"{'first request sent after':<40} {first:10.2f} s; last sent after {last:.2f} s")
    print(ratio_line("total wall time vs ideal parallel", wall, ideal * 1.25, "s", False) + "  (target: ideal + 25%)")
    serial = len(requests) * args.latency
    print(f"{'serial time (one request at a time)':<40} {serial:10.2f} s         speed-up {serial / wall:.1f}x")


if __name__ == "__main__":
    main()
