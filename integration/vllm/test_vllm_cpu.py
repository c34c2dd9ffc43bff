"""vLLM on CPU serving the converted SmolLM2: the conversion is faithful, and the app's breakdown works on it.

Why greedy outputs can be compared at all: the reference is llama.cpp's llama-server (the `llamacpp` launcher), and
every request to it sends `repeat_penalty: 1.0`, vLLM's behaviour (llama-cpp-python's server, the reference before,
applied 1.1 unless told otherwise). With that:

- Against llama.cpp on an F32 re-export of the same GGUF (llama.cpp's own de-quantization, written by
  `llama-quantize`, built beside llama-server), the weights are the same numbers and both sides compute in
  float32, so the texts must be identical, token for token (measured: 5/5 prompts identical to EOS or 48 tokens;
  teacher-forced logits differ by at most 0.03). A broken conversion (wrong Q/K permutation, wrong RoPE base, a
  shifted vocabulary) diverges within the first tokens by whole nats.
- Against llama.cpp on the bundled Q4_1 GGUF itself, llama.cpp's Q4_1 kernels quantize the activations to 8
  bits, which moves logits by ~0.6 on average, so at a near tie the two may pick different tokens. The rule:
  identical up to the first divergence, and there vLLM must rate llama.cpp's token within NEAR_TIE_NATS of its
  own pick (measured: divergences at gaps of 0.08 and 0.02 nats; a real conversion error gives gaps of nats).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from integration.vllm.conftest import MEASUREMENTS, SERVED_NAME, RunningServer, app_python
from tasks.model import Task

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "List three uses of a brick.",
    "Explain recursion in one sentence.",
    "Break down the task 'build a login page' into steps.",
]
MAX_TOKENS = 48
NEAR_TIE_NATS = 0.25  # Q4_1 reference only; the F32 reference allows EXACT_TIE_NATS
EXACT_TIE_NATS = 0.05
EOS = "<|im_end|>"


@dataclass(frozen=True)
class Comparison:
    prompt: str
    vllm_tokens: int
    same_tokens: int  # leading tokens identical to the reference
    gap_nats: float | None  # at the first divergence: vLLM's logprob of its pick minus that of llama.cpp's pick


def chat(server: RunningServer, prompt: str, **extra: object) -> dict:
    body = {
        "model": SERVED_NAME,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
        **extra,
    }
    response = httpx.post(server.base_url + "/chat/completions", json=body, timeout=300)
    response.raise_for_status()
    return response.json()["choices"][0]


def compare(vllm: RunningServer, reference: RunningServer, prompt: str) -> Comparison:
    """Walk vLLM's tokens along the reference text; at the first token that does not continue it, look up
    how vLLM itself rated the reference's continuation among its top-5 alternatives."""
    tokens = chat(vllm, prompt, logprobs=True, top_logprobs=5)["logprobs"]["content"]
    reference_text = chat(reference, prompt, repeat_penalty=1.0)["message"]["content"]
    position = 0
    for index, token in enumerate(tokens):
        piece = token["token"]
        if piece == EOS and position == len(reference_text):
            return Comparison(prompt, len(tokens), index, None)
        if piece and reference_text.startswith(piece, position):
            position += len(piece)
            continue
        rest = reference_text[position:] or EOS
        alternatives = [a for a in token["top_logprobs"] if a["token"] and rest.startswith(a["token"])]
        gap = token["logprob"] - alternatives[0]["logprob"] if alternatives else float("inf")
        return Comparison(prompt, len(tokens), index, gap)
    return Comparison(prompt, len(tokens), len(tokens), None)


def assert_faithful(results: list[Comparison], tolerance: float) -> None:
    bad = [r for r in results if r.gap_nats is not None and r.gap_nats > tolerance]
    assert not bad, f"vLLM and llama.cpp diverge beyond a near tie ({tolerance} nats): {bad}"


def test_vllm_greedy_output_is_identical_to_llamacpp_on_the_same_f32_weights(
    vllm_server: RunningServer, llamacpp_f32_server: RunningServer
) -> None:
    results = [compare(vllm_server, llamacpp_f32_server, prompt) for prompt in PROMPTS]

    summary = ", ".join(f"{r.same_tokens}/{r.vllm_tokens}" for r in results)
    MEASUREMENTS["greedy tokens identical, vLLM vs llama.cpp F32 GGUF"] = summary
    assert_faithful(results, EXACT_TIE_NATS)
    assert sum(r.same_tokens for r in results) >= 0.9 * sum(r.vllm_tokens for r in results)


def test_vllm_greedy_output_matches_the_bundled_q4_1_gguf_up_to_near_ties(
    vllm_server: RunningServer, llamacpp_server: RunningServer
) -> None:
    results = [compare(vllm_server, llamacpp_server, prompt) for prompt in PROMPTS]

    summary = ", ".join(
        f"{r.same_tokens}/{r.vllm_tokens}" + (f" (tie {r.gap_nats:.2f})" if r.gap_nats is not None else "")
        for r in results
    )
    MEASUREMENTS["greedy tokens identical, vLLM vs llama.cpp Q4_1 GGUF"] = summary
    assert_faithful(results, NEAR_TIE_NATS)


def tokens_per_second(server: RunningServer, extra: dict[str, object]) -> float:
    prompt = "Write a long story about a dragon who learns to cook."
    chat(server, prompt, max_tokens=8, **extra)  # warm the prompt path once
    start = time.perf_counter()
    body = {
        "model": SERVED_NAME,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0,
        "max_tokens": 96,
        **extra,
    }
    response = httpx.post(server.base_url + "/chat/completions", json=body, timeout=300).json()
    return response["usage"]["completion_tokens"] / (time.perf_counter() - start)


def test_decode_speed_is_measured_on_both_engines(vllm_server: RunningServer, llamacpp_server: RunningServer) -> None:
    vllm_tps = tokens_per_second(vllm_server, {})
    llama_tps = tokens_per_second(llamacpp_server, {"repeat_penalty": 1.0})

    MEASUREMENTS["tokens/s, one request, 96 tokens max: vLLM-CPU (F32)"] = f"{vllm_tps:.1f}"
    MEASUREMENTS["tokens/s, one request, 96 tokens max: llama.cpp (Q4_1)"] = f"{llama_tps:.1f}"
    MEASUREMENTS["ratio vLLM/llama.cpp"] = f"{vllm_tps / llama_tps:.2f}"
    assert vllm_tps > 0 and llama_tps > 0


def test_structured_output_uses_response_format_json_schema(vllm_server: RunningServer) -> None:
    """The dialect the app sends to vLLM (agents/llm/dialects.py) is enforced by this vLLM version."""
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string", "maxLength": 40}, "priority": {"enum": ["high", "low"]}},
        "required": ["title", "priority"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "Task", "schema": schema, "strict": False}}
    reply = chat(vllm_server, "Give me one task for a todo app as JSON.", response_format=fmt, max_tokens=64)

    data = json.loads(reply["message"]["content"])
    assert set(data) >= {"title", "priority"} and data["priority"] in ("high", "low")


def test_parse_prd_produces_valid_tasks_on_vllm(vllm_server: RunningServer, tmp_path: Path) -> None:
    """The real CLI from the app's venv with the vllm-cpu profile pointed at this server."""
    project = tmp_path / "project"
    project.mkdir()
    prd = project / "prd.md"
    prd.write_text(
        "# Word counter\n\nA command-line tool that counts words, lines and characters in text files.\n"
        "It reads files given as arguments or standard input, prints a table, and supports a --json flag.\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("TASKMASTER_")} | {
        "TASKMASTER_PROFILE": "vllm-cpu",
        "TASKMASTER_BASE_URL": vllm_server.base_url,
        "TASKMASTER_MODEL": SERVED_NAME,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "COLUMNS": "200",
    }
    taskmaster = app_python().parent / "taskmaster"
    start = time.perf_counter()
    result = subprocess.run(
        [str(taskmaster), "parse-prd", str(prd), "-n", "3", "--depth", "0", "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    MEASUREMENTS["parse-prd -n 3 --depth 0 on vLLM-CPU"] = f"{time.perf_counter() - start:.0f} s"

    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.loads((project / ".taskmaster" / "tasks" / "tasks.json").read_text())
    tasks = [Task.model_validate(raw) for raw in saved["master"]["tasks"]]
    assert 1 <= len(tasks) <= 3
    assert all(task.title.strip() and task.description.strip() for task in tasks)
    assert all(task.complexity is not None and 1 <= task.complexity <= 10 for task in tasks)
